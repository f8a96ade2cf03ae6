//! A directory of backups (the `--to DIR` of `strata volume backup`).
//!
//! A backup is complete when its manifest exists: the data is written to `<id>.tar.zst.partial`,
//! synced and renamed to `<id>.tar.zst`, then the manifest is written to a temporary name,
//! synced and renamed, then the directory is synced. Anything without a manifest is ignored by
//! [`list`] (and so never restored or counted by retention); removing a backup deletes the
//! manifest first, so a crash midway leaves an ignored data file, never a manifest without data.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::Manifest;

/// Suffix of data files.
pub const DATA_SUFFIX: &str = ".tar.zst";
/// Suffix of manifests.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// Suffix of data files still being written.
pub const PARTIAL_SUFFIX: &str = ".partial";
/// Suffix of manifests being written.
const TMP_SUFFIX: &str = ".tmp";

/// A filesystem error with the path it happened on.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("cannot {what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },
    #[error("{path}: not a backup manifest: {why}")]
    Manifest { path: PathBuf, why: String },
    #[error("{path}: no such backup (give the .tar.zst or .manifest.json of a complete backup)")]
    NotFound { path: PathBuf },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DirError + 'a {
    move |source| DirError::Io { what, path: path.to_owned(), source }
}

/// One complete backup in a directory.
#[derive(Debug, Clone)]
pub struct Backup {
    /// `<volume>_<time>`: the file names without suffix.
    pub id: String,
    pub data: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

/// The complete backups in `dir`, ordered by volume, then time. Unreadable manifests are
/// reported in the second list (path and reason) rather than failing the listing.
pub fn list(dir: &Path) -> Result<(Vec<Backup>, Vec<DirError>), DirError> {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("read directory", dir))? {
        let entry = entry.map_err(io_err("read directory", dir))?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(MANIFEST_SUFFIX)) else { continue };
        match open(dir, id) {
            Ok(b) => found.push(b),
            Err(e) => bad.push(e),
        }
    }
    found.sort_by(|a, b| {
        (a.manifest.volume.as_str(), a.manifest.created_secs(), a.id.as_str()).cmp(&(
            b.manifest.volume.as_str(),
            b.manifest.created_secs(),
            b.id.as_str(),
        ))
    });
    Ok((found, bad))
}

/// The backup `id` in `dir`, which must be complete.
pub fn open(dir: &Path, id: &str) -> Result<Backup, DirError> {
    let manifest_path = dir.join(format!("{id}{MANIFEST_SUFFIX}"));
    let data = dir.join(format!("{id}{DATA_SUFFIX}"));
    let text = match fs::read(&manifest_path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(DirError::NotFound { path: manifest_path }),
        Err(e) => return Err(DirError::Io { what: "read", path: manifest_path, source: e }),
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| DirError::Manifest { path: manifest_path.clone(), why: e.to_string() })?;
    if !data.is_file() {
        return Err(DirError::Manifest {
            path: manifest_path,
            why: format!("its data file {} is missing", data.display()),
        });
    }
    Ok(Backup { id: id.to_owned(), data, manifest_path, manifest })
}

/// The backup a user named by one of its files (or its id inside the directory).
pub fn find(path: &Path) -> Result<Backup, DirError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let id = name.strip_suffix(MANIFEST_SUFFIX).or_else(|| name.strip_suffix(DATA_SUFFIX)).unwrap_or(name);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if id.is_empty() {
        return Err(DirError::NotFound { path: path.to_owned() });
    }
    open(dir, id)
}

/// `<volume>_<YYYYmmddTHHMMSSZ>`: the id of a backup of `volume` taken at `secs`, before any
/// suffix that makes it unique.
pub fn id_for(volume: &str, secs: i64) -> String {
    let stamp: String = crate::manifest::format_time(secs).chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("{volume}_{stamp}")
}

/// The id of a new backup of `volume` taken at `secs`: `<volume>_<YYYYmmddTHHMMSSZ>`, with a
/// `-N` suffix when that name is taken in `dir` (two backups within one second).
pub fn new_id(dir: &Path, volume: &str, secs: i64) -> String {
    let base = id_for(volume, secs);
    let taken = |id: &str| {
        [DATA_SUFFIX, MANIFEST_SUFFIX, &format!("{DATA_SUFFIX}{PARTIAL_SUFFIX}")]
            .iter()
            .any(|s| dir.join(format!("{id}{s}")).exists())
    };
    if !taken(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}-{n}")).find(|id| !taken(id)).unwrap_or(base)
}

/// A backup being written into a directory.
#[derive(Debug)]
pub struct Pending {
    dir: PathBuf,
    id: String,
    partial: PathBuf,
    file: File,
    committed: bool,
}

impl Pending {
    /// Starts backup `id` in `dir`: creates `<id>.tar.zst.partial`.
    pub fn create(dir: &Path, id: &str) -> Result<Pending, DirError> {
        let partial = dir.join(format!("{id}{DATA_SUFFIX}{PARTIAL_SUFFIX}"));
        let file = File::options().write(true).create_new(true).open(&partial).map_err(io_err("create", &partial))?;
        Ok(Pending { dir: dir.to_owned(), id: id.to_owned(), partial, file, committed: false })
    }

    /// The data file being written.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Makes the backup complete: the data (cut to `data_len` bytes) synced and renamed, then
    /// the manifest written last.
    pub fn commit(mut self, data_len: u64, manifest: &Manifest) -> Result<Backup, DirError> {
        self.file.set_len(data_len).map_err(io_err("truncate", &self.partial))?;
        self.file.sync_all().map_err(io_err("sync", &self.partial))?;
        let data = self.dir.join(format!("{}{DATA_SUFFIX}", self.id));
        fs::rename(&self.partial, &data).map_err(io_err("rename", &self.partial))?;
        self.committed = true;
        let manifest_path = self.dir.join(format!("{}{MANIFEST_SUFFIX}", self.id));
        let tmp = self.dir.join(format!("{}{MANIFEST_SUFFIX}{TMP_SUFFIX}", self.id));
        let mut text = serde_json::to_vec_pretty(manifest).unwrap_or_default();
        text.push(b'\n');
        let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(&text).and_then(|()| f.sync_all()).map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, &manifest_path).map_err(io_err("rename", &tmp))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_err("sync", &self.dir))?;
        Ok(Backup { id: std::mem::take(&mut self.id), data, manifest_path, manifest: manifest.clone() })
    }
}

impl Drop for Pending {
    /// An abandoned backup leaves nothing: its partial data file is deleted.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// Deletes a backup: the manifest first (it stops being a backup), then the data.
pub fn remove(backup: &Backup) -> Result<(), DirError> {
    fs::remove_file(&backup.manifest_path).map_err(io_err("delete", &backup.manifest_path))?;
    match fs::remove_file(&backup.data) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(DirError::Io { what: "delete", path: backup.data.clone(), source: e })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sample;

    #[test]
    fn only_complete_backups_are_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = new_id(dir.path(), "v", 1_795_716_732);
        assert_eq!(id, "v_20261126T181212Z");
        let mut p = Pending::create(dir.path(), &id).expect("create");
        p.file().write_all(b"datatrailer").expect("write");
        // While writing: nothing listed.
        assert!(list(dir.path()).expect("list").0.is_empty());
        let m = sample("v", "2026-11-26T18:12:12Z");
        p.commit(4, &m).expect("commit");
        let (found, bad) = list(dir.path()).expect("list");
        assert!(bad.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(fs::read(&found[0].data).expect("data"), b"data");
        assert_eq!(found[0].manifest, m);
        // The same second again gets a suffix.
        assert_eq!(new_id(dir.path(), "v", 1_795_716_732), "v_20261126T181212Z-2");
        // A data file alone (a crash before the manifest) is ignored; so is an abandoned one.
        fs::write(dir.path().join("w_1.tar.zst"), b"x").expect("write");
        drop(Pending::create(dir.path(), "w_2").expect("create"));
        assert!(!dir.path().join("w_2.tar.zst.partial").exists());
        assert_eq!(list(dir.path()).expect("list").0.len(), 1);
        // Found by either file.
        assert_eq!(find(&found[0].data).expect("by data").id, id);
        assert_eq!(find(&found[0].manifest_path).expect("by manifest").id, id);
        remove(&found[0]).expect("remove");
        assert!(list(dir.path()).expect("list").0.is_empty());
        assert!(matches!(find(&found[0].data), Err(DirError::NotFound { .. })));
    }
}
