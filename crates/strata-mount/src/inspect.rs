//! The `Mounts` entries of `docker inspect` / `docker ps`, exactly as Docker fills them.
//!
//! Clients read these fields (`docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}'`, compose's
//! volume reuse, `docker system df -v` counting `volume` entries), so their values follow Docker
//! rather than what would be most informative: `Mode` is the `-v` mode text as typed, or `z` for a
//! named or `--mount` local volume (Docker's SELinux-shared default), or empty for anonymous
//! volumes from `Config.Volumes`; `Propagation` is empty for volumes; `Name` and `Driver` are
//! omitted when empty.

use serde::{Deserialize, Serialize};

/// One element of a container's `Mounts` array.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub mount_type: String,
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host path: the bind source, the volume's `_data` directory (filled in by the engine once the
    /// volume exists), empty for tmpfs.
    #[serde(rename = "Source")]
    pub source: String,
    #[serde(rename = "Destination")]
    pub destination: String,
    #[serde(rename = "Driver", default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(rename = "Mode")]
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    #[serde(rename = "Propagation")]
    pub propagation: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_dockers_field_names_and_omissions() {
        let bind = MountPoint {
            mount_type: "bind".into(),
            source: "/tmp/rtbind".into(),
            destination: "/b".into(),
            mode: "ro".into(),
            rw: false,
            propagation: "rprivate".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&bind).expect("json"),
            r#"{"Type":"bind","Source":"/tmp/rtbind","Destination":"/b","Mode":"ro","RW":false,"Propagation":"rprivate"}"#
        );
        let volume = MountPoint {
            mount_type: "volume".into(),
            name: "pgdata".into(),
            source: "/var/lib/strata/volumes/pgdata/_data".into(),
            destination: "/data".into(),
            driver: "local".into(),
            mode: "z".into(),
            rw: true,
            propagation: String::new(),
        };
        assert_eq!(
            serde_json::to_string(&volume).expect("json"),
            r#"{"Type":"volume","Name":"pgdata","Source":"/var/lib/strata/volumes/pgdata/_data","Destination":"/data","Driver":"local","Mode":"z","RW":true,"Propagation":""}"#
        );
    }
}
