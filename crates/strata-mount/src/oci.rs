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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::api_version::ApiVersion;
    use crate::host::NoContainers;
    use crate::plan::{MountPlan, MountRequest, PlanContext, plan_mounts};

    const NO_RRO: &str = "rro is not supported by runtime \"runc\"";

    fn plan(api: (u16, u16), binds: &[&str], mounts: &str, tmpfs: &[(&str, &str)]) -> MountPlan {
        let req = MountRequest {
            binds: binds.iter().map(|s| (*s).to_owned()).collect(),
            mounts: serde_json::from_str(mounts).expect("mounts"),
            tmpfs: tmpfs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Default::default()
        };
        let exists = |_: &Path| true;
        let ctx = PlanContext {
            api_version: ApiVersion::new(api.0, api.1),
            daemon_root: "/var/lib/strata",
            host: &exists,
            containers: &NoContainers,
        };
        plan_mounts(&req, &ctx).expect("plan")
    }

    fn unsupported() -> RecursiveReadOnly {
        RecursiveReadOnly::Unsupported { reason: NO_RRO.into() }
    }

    #[test]
    fn options_match_dockers_spec() {
        // (api, -v binds, --mount json, --tmpfs, destination, rro support, volume source, type, source, options)
        type Row = (
            (u16, u16),
            &'static [&'static str],
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static str,
            RecursiveReadOnly,
            Option<&'static str>,
            &'static str,
            &'static str,
            &'static [&'static str],
        );
        let sup = RecursiveReadOnly::Supported;
        let cases: Vec<Row> = vec![
            (
                (1, 47),
                &["/home/user/src:/app/src"],
                "[]",
                &[],
                "/app/src",
                sup.clone(),
                None,
                "bind",
                "/home/user/src",
                &["rbind", "rprivate"],
            ),
            (
                (1, 47),
                &["/home/user/config:/app/config:ro"],
                "[]",
                &[],
                "/app/config",
                sup.clone(),
                None,
                "bind",
                "/home/user/config",
                &["rbind", "rro", "rprivate"],
            ),
            (
                (1, 47),
                &["/home/user/config:/app/config:ro"],
                "[]",
                &[],
                "/app/config",
                unsupported(),
                None,
                "bind",
                "/home/user/config",
                &["rbind", "ro", "rprivate"],
            ),
            // Old clients get non-recursive read-only binds even where rro works.
            (
                (1, 41),
                &["/home/user/config:/app/config:ro"],
                "[]",
                &[],
                "/app/config",
                sup.clone(),
                None,
                "bind",
                "/home/user/config",
                &["rbind", "ro", "rprivate"],
            ),
            (
                (1, 47),
                &["/var/lib/strata/volumes:/x"],
                "[]",
                &[],
                "/x",
                sup.clone(),
                None,
                "bind",
                "/var/lib/strata/volumes",
                &["rbind", "rslave"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"Propagation":"rshared","NonRecursive":true}}]"#,
                &[],
                "/d",
                sup.clone(),
                None,
                "bind",
                "/tmp",
                &["bind", "rshared"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":true}}]"#,
                &[],
                "/d",
                sup.clone(),
                None,
                "bind",
                "/tmp",
                &["rbind", "ro", "rprivate"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}]"#,
                &[],
                "/d",
                sup.clone(),
                None,
                "bind",
                "/tmp",
                &["rbind", "rro", "rprivate"],
            ),
            (
                (1, 47),
                &["pgdata:/var/lib/postgresql/data"],
                "[]",
                &[],
                "/var/lib/postgresql/data",
                sup.clone(),
                Some("/var/lib/strata/volumes/pgdata/_data"),
                "bind",
                "/var/lib/strata/volumes/pgdata/_data",
                &["rbind"],
            ),
            (
                (1, 47),
                &["shared_data:/data:ro"],
                "[]",
                &[],
                "/data",
                sup.clone(),
                Some("/v/_data"),
                "bind",
                "/v/_data",
                &["rbind", "rro"],
            ),
            // Volumes are never "non-recursive read-only", whatever the client version.
            (
                (1, 41),
                &["shared_data:/data:ro"],
                "[]",
                &[],
                "/data",
                sup.clone(),
                Some("/v/_data"),
                "bind",
                "/v/_data",
                &["rbind", "rro"],
            ),
            (
                (1, 47),
                &["shared_data:/data:ro"],
                "[]",
                &[],
                "/data",
                unsupported(),
                Some("/v/_data"),
                "bind",
                "/v/_data",
                &["rbind", "ro"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"volume","Source":"v6","Target":"/d","VolumeOptions":{"Subpath":"sub"}}]"#,
                &[],
                "/d",
                sup.clone(),
                Some("/v6/_data/sub"),
                "bind",
                "/v6/_data/sub",
                &["rbind"],
            ),
            (
                (1, 48),
                &[],
                r#"[{"Type":"image","Source":"busybox","Target":"/img"}]"#,
                &[],
                "/img",
                sup.clone(),
                Some("/layers/x/merged"),
                "bind",
                "/layers/x/merged",
                &["rbind", "rro", "rprivate"],
            ),
            (
                (1, 47),
                &[],
                "[]",
                &[("/tmp", "rw,size=64m")],
                "/tmp",
                sup.clone(),
                None,
                "tmpfs",
                "tmpfs",
                &["noexec", "nosuid", "nodev", "rprivate", "rw", "size=64m"],
            ),
            (
                (1, 47),
                &[],
                "[]",
                &[("/run", "")],
                "/run",
                sup.clone(),
                None,
                "tmpfs",
                "tmpfs",
                &["noexec", "nosuid", "nodev", "rprivate"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":67108864}}]"#,
                &[],
                "/tmp",
                sup.clone(),
                None,
                "tmpfs",
                "tmpfs",
                &["noexec", "nosuid", "nodev", "rprivate", "size=64m"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"tmpfs","Target":"/run/secrets","TmpfsOptions":{"Mode":448}}]"#,
                &[],
                "/run/secrets",
                sup.clone(),
                None,
                "tmpfs",
                "tmpfs",
                &["noexec", "nosuid", "nodev", "rprivate", "mode=700"],
            ),
            (
                (1, 47),
                &[],
                r#"[{"Type":"tmpfs","Target":"/t","ReadOnly":true,"TmpfsOptions":{"Options":[["exec"]]}}]"#,
                &[],
                "/t",
                sup,
                None,
                "tmpfs",
                "tmpfs",
                &["nosuid", "nodev", "rprivate", "ro", "exec"],
            ),
        ];
        for (api, binds, mounts, tmpfs, destination, rro, source, t, want_source, options) in cases {
            let p = plan(api, binds, mounts, tmpfs);
            let m = p.get(destination).expect(destination);
            let got = m.oci_mount(source, &rro).unwrap_or_else(|e| panic!("{destination}: {e}"));
            let want = OciMount {
                destination: destination.into(),
                mount_type: t.into(),
                source: want_source.into(),
                options: options.iter().map(|s| (*s).to_owned()).collect(),
            };
            assert_eq!(got, want, "{binds:?} {mounts} {tmpfs:?}");
        }
    }

    #[test]
    fn refusals() {
        let forced = plan(
            (1, 47),
            &[],
            r#"[{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}]"#,
            &[],
        );
        let err = forced.mounts[0].oci_mount(None, &unsupported()).expect_err("forced rro");
        assert_eq!(err.to_string(), NO_RRO);

        let subpath = plan(
            (1, 47),
            &[],
            r#"[{"Type":"volume","Source":"v6","Target":"/d","VolumeOptions":{"Subpath":"sub"}}]"#,
            &[],
        );
        let err = subpath.mounts[0].oci_mount(None, &RecursiveReadOnly::Supported).expect_err("unresolved");
        assert_eq!(err.to_string(), "mount at /d: volume subpath sub has not been resolved to a host path");

        let bogus = plan((1, 47), &[], "[]", &[("/t", "bogus")]);
        let err = bogus.mounts[0].oci_mount(None, &RecursiveReadOnly::Supported).expect_err("bogus");
        assert_eq!(err.to_string(), r#"invalid tmpfs option ["bogus"]"#);
    }

    #[test]
    fn volume_source_defaults_to_the_recorded_path() {
        let mut p = plan((1, 47), &["pgdata:/data"], "[]", &[]);
        p.mounts[0].set_volume("pgdata", "local", "/var/lib/strata/volumes/pgdata/_data");
        let m = p.mounts[0].oci_mount(None, &RecursiveReadOnly::Supported).expect("oci");
        assert_eq!(m.source, "/var/lib/strata/volumes/pgdata/_data");
        assert_eq!(serde_json::to_value(&m).expect("json")["type"], "bind");
    }
}
