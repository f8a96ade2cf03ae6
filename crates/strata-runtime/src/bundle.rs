//! The OCI bundle of a container: a directory under the exec-root holding `config.json`.
//!
//! The bundle lives in the exec-root (tmpfs `/run/strata`), not the data-root: it describes a
//! container as started by this boot of the daemon (rootfs mount paths, host files) and is
//! rewritten at every start. The rootfs itself is referenced by absolute path, not copied or
//! mounted into the bundle. `config.json` is written to a temporary file and renamed, so a
//! crash never leaves a half-written spec for the runtime to choke on.

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::spec::{SpecError, to_json};

/// Directory under the exec-root holding one bundle per container.
pub const BUNDLES_DIR: &str = "bundles";
/// The spec's file name (OCI).
pub const CONFIG_FILE: &str = "config.json";
/// Bundles hold the container's configuration (environment may contain secrets).
const BUNDLE_DIR_MODE: u32 = 0o700;
const CONFIG_FILE_MODE: u32 = 0o600;

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("bundle {path}: {source}")]
    Spec { path: PathBuf, source: SpecError },
    #[error("bundle {path}: invalid config.json: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

/// A bundle directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    dir: PathBuf,
}

impl Bundle {
    /// Where the bundle of container `id` goes: `<exec-root>/bundles/<id>`.
    pub fn dir_for(exec_root: &Path, id: &str) -> PathBuf {
        exec_root.join(BUNDLES_DIR).join(id)
    }

    /// A bundle directory that exists already.
    pub fn at(dir: impl Into<PathBuf>) -> Bundle {
        Bundle { dir: dir.into() }
    }

    /// Creates `dir` (0700) and writes `spec` as its `config.json` (0600, atomically).
    pub fn write(dir: &Path, spec: &Spec) -> Result<Bundle, BundleError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| BundleError::Io { path, source }
        };
        std::fs::DirBuilder::new().recursive(true).mode(BUNDLE_DIR_MODE).create(dir).map_err(io_err(dir))?;
        let json = to_json(spec).map_err(|source| BundleError::Spec { path: dir.to_owned(), source })?;
        let tmp = dir.join(format!(".{CONFIG_FILE}.tmp"));
        let final_path = dir.join(CONFIG_FILE);
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(CONFIG_FILE_MODE)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            f.write_all(&json).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &final_path).map_err(io_err(&final_path))?;
        Ok(Bundle { dir: dir.to_owned() })
    }

    /// The bundle directory (what the runtime's `--bundle` gets).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The spec as written (an exec reads its container's process settings from here).
    pub fn load_spec(&self) -> Result<Spec, BundleError> {
        let path = self.dir.join(CONFIG_FILE);
        let bytes = std::fs::read(&path).map_err(|source| BundleError::Io { path: path.clone(), source })?;
        serde_json::from_slice(&bytes).map_err(|source| BundleError::Parse { path, source })
    }

    /// Removes the bundle directory (a missing one is fine).
    pub fn remove(&self) -> Result<(), BundleError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BundleError::Io { path: self.dir.clone(), source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ContainerSpec, HostLimits, build_spec};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_bundle_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = ContainerSpec { rootfs: "/r".into(), args: vec!["true".into()], ..ContainerSpec::default() };
        let spec = build_spec("cid", &c, &HostLimits::default()).expect("spec").spec;
        let bdir = Bundle::dir_for(dir.path(), "cid");
        let bundle = Bundle::write(&bdir, &spec).expect("write");
        assert_eq!(bundle.path(), dir.path().join("bundles/cid"));
        assert_eq!(bundle.load_spec().expect("load"), spec);
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&bdir), BUNDLE_DIR_MODE);
        assert_eq!(mode(&bdir.join(CONFIG_FILE)), CONFIG_FILE_MODE);
        assert!(!bdir.join(".config.json.tmp").exists());
        // Rewriting (a restart) replaces the file.
        Bundle::write(&bdir, &spec).expect("rewrite");
        bundle.remove().expect("remove");
        assert!(!bdir.exists());
        bundle.remove().expect("removing twice is fine");
    }
}
