//! The OCI `config.json` mount for each planned mount: type, source and option list.
//!
//! Docker's choices here are what the runtime (runc) sees, so they decide behaviour: binds and
//! volumes are `rbind` (`bind` when non-recursive) with the propagation spelled out only when the
//! mount point has one (binds and image mounts, not volumes); read-only mounts are `rro`
//! (recursively read-only) when the kernel and runtime support it, unless the bind asked for
//! non-recursive read-only — which is also what every read-only *bind* gets for clients below API
//! 1.44; tmpfs gets Docker's `noexec,nosuid,nodev,rprivate` merged with its own options.

use serde::{Deserialize, Serialize};

use crate::error::MountError;
use crate::plan::{MountKind, PlannedMount, bind_option_conflict};
use crate::tmpfs;

/// Bind mount options: recursive or not.
const RBIND: &str = "rbind";
const BIND: &str = "bind";
/// Read-only, and recursively read-only (`mount_setattr(AT_RECURSIVE)`, kernel >= 5.12).
const RO: &str = "ro";
const RRO: &str = "rro";
/// The OCI mount types strata emits.
pub const OCI_TYPE_BIND: &str = "bind";
pub const OCI_TYPE_TMPFS: &str = "tmpfs";
/// The source Docker gives tmpfs mounts.
const TMPFS_SOURCE: &str = "tmpfs";

/// Whether recursive read-only mounts can be used on this host with this runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecursiveReadOnly {
    Supported,
    /// Not available; `reason` is the message reported when a mount insists on it (Docker's e.g.
    /// `rro is not supported by runtime "runc"`).
    Unsupported {
        reason: String,
    },
}

/// One entry of the OCI spec's `mounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciMount {
    pub destination: String,
    #[serde(rename = "type")]
    pub mount_type: String,
    pub source: String,
    pub options: Vec<String>,
}

impl PlannedMount {
    /// The OCI mount for this entry. `source` is the host path to mount for volumes and image
    /// mounts (the volume's `_data`, or the subpath below it resolved safely by the engine); when
    /// `None`, the path recorded in the mount point is used, which is refused for a volume with a
    /// subpath so the whole volume is never mounted by mistake.
    pub fn oci_mount(&self, source: Option<&str>, rro: &RecursiveReadOnly) -> Result<OciMount, MountError> {
        let recorded = || self.mount_point.as_ref().map(|mp| mp.source.clone()).unwrap_or_default();
        let (mount_type, source, options) = match &self.kind {
            MountKind::Tmpfs(t) => (OCI_TYPE_TMPFS, TMPFS_SOURCE.to_owned(), tmpfs::oci_options(&t.options)?),
            MountKind::Bind(b) => {
                if let Some(what) = bind_option_conflict(self.read_only, b) {
                    return Err(MountError::BindOptionsConflict(what));
                }
                let mut options = vec![if b.non_recursive { BIND } else { RBIND }.to_owned()];
                if self.read_only {
                    options.push(read_only_option(!b.read_only_non_recursive, b.read_only_force_recursive, rro)?);
                }
                options.push(b.propagation.as_str().to_owned());
                (OCI_TYPE_BIND, source.map_or_else(|| b.source.clone(), str::to_owned), options)
            }
            MountKind::Volume(v) => {
                let source = match (source, &v.subpath) {
                    (Some(s), _) => s.to_owned(),
                    (None, None) => recorded(),
                    (None, Some(subpath)) => {
                        return Err(MountError::UnresolvedSubpath {
                            destination: self.destination.clone(),
                            subpath: subpath.clone(),
                        });
                    }
                };
                let mut options = vec![RBIND.to_owned()];
                if self.read_only {
                    options.push(read_only_option(true, false, rro)?);
                }
                (OCI_TYPE_BIND, source, options)
            }
            MountKind::Image(_) => {
                let mut options = vec![RBIND.to_owned(), read_only_option(true, false, rro)?];
                if let Some(mp) = &self.mount_point
                    && !mp.propagation.is_empty()
                {
                    options.push(mp.propagation.clone());
                }
                (OCI_TYPE_BIND, source.map_or_else(recorded, str::to_owned), options)
            }
        };
        Ok(OciMount { destination: self.destination.clone(), mount_type: mount_type.to_owned(), source, options })
    }
}

/// `rro` where wanted and possible, else `ro`; an error only when the mount insists on `rro`.
fn read_only_option(recursive_wanted: bool, forced: bool, rro: &RecursiveReadOnly) -> Result<String, MountError> {
    match (recursive_wanted, rro) {
        (true, RecursiveReadOnly::Supported) => Ok(RRO.to_owned()),
        (true, RecursiveReadOnly::Unsupported { reason }) if forced => {
            Err(MountError::RecursiveReadOnlyUnsupported { reason: reason.clone() })
        }
        _ => Ok(RO.to_owned()),
    }
}
