//! The `HostConfig.Mounts` objects exactly as clients send them, and as `docker inspect` echoes
//! them back.
//!
//! These types are the wire shape, not the validated meaning (that is [`crate::plan`]). Two
//! properties matter more than tidiness:
//!
//! - **Lenient decoding.** Docker decodes with Go's `encoding/json`: unknown fields are ignored,
//!   `null` means "not set", and a mount `Type` it does not know still decodes — validation then
//!   answers `invalid mount config for type "foo": mount type unknown`. A serde error instead
//!   would turn that 400 into a JSON decode error, so [`MountType`] accepts any string and every
//!   scalar field accepts `null`.
//! - **Faithful echo.** `docker inspect` shows `HostConfig.Mounts` as stored; field order and
//!   `omitempty` rules follow Docker's Go structs so the echo is byte-for-byte familiar.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// `Mount.Type`. Any string decodes; unknown ones are kept verbatim for the error message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
    /// `image` (honoured from API 1.48).
    Image,
    /// Anything else, including the empty string and Docker types that do not exist on Linux
    /// (`npipe`, `cluster`). Matching is case-sensitive, as in Docker (`BIND` is unknown).
    Other(String),
    /// The field was absent; Docker reports it as `""`.
    #[default]
    Unset,
}

impl MountType {
    /// The type as the client spelled it.
    pub fn as_str(&self) -> &str {
        match self {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
            MountType::Image => "image",
            MountType::Other(s) => s,
            MountType::Unset => "",
        }
    }

    fn is_unset(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl From<String> for MountType {
    fn from(s: String) -> MountType {
        match s.as_str() {
            "bind" => MountType::Bind,
            "volume" => MountType::Volume,
            "tmpfs" => MountType::Tmpfs,
            "image" => MountType::Image,
            "" => MountType::Unset,
            _ => MountType::Other(s),
        }
    }
}

impl From<&str> for MountType {
    fn from(s: &str) -> MountType {
        MountType::from(s.to_owned())
    }
}

impl From<MountType> for String {
    fn from(t: MountType) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Display for MountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `HostConfig.Mounts` (`docker run --mount ...`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mount {
    #[serde(rename = "Type", default, skip_serializing_if = "MountType::is_unset")]
    pub mount_type: MountType,
    #[serde(rename = "Source", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(rename = "Target", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(rename = "ReadOnly", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `consistent|cached|delegated`; meaningful only on Docker Desktop, never validated.
    #[serde(rename = "Consistency", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(rename = "BindOptions", default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(rename = "VolumeOptions", default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(rename = "ImageOptions", default, skip_serializing_if = "Option::is_none")]
    pub image_options: Option<ImageOptions>,
    #[serde(rename = "TmpfsOptions", default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Swarm cluster-volume options: not used by strata, kept only to echo them back.
    #[serde(rename = "ClusterOptions", default, skip_serializing_if = "Option::is_none")]
    pub cluster_options: Option<serde_json::Value>,
}

/// `Mount.BindOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BindOptions {
    #[serde(rename = "Propagation", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(rename = "NonRecursive", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    #[serde(rename = "CreateMountpoint", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub create_mountpoint: bool,
    #[serde(rename = "ReadOnlyNonRecursive", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub read_only_non_recursive: bool,
    #[serde(
        rename = "ReadOnlyForceRecursive",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub read_only_force_recursive: bool,
}

/// `Mount.VolumeOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VolumeOptions {
    #[serde(rename = "NoCopy", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub no_copy: bool,
    #[serde(rename = "Labels", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Honoured from API 1.45.
    #[serde(rename = "Subpath", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub subpath: String,
    #[serde(rename = "DriverConfig", default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<Driver>,
}

/// `VolumeOptions.DriverConfig`: the driver to create a missing volume with, and its options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Driver {
    #[serde(rename = "Name", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "Options", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `Mount.ImageOptions` (API 1.48).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageOptions {
    #[serde(rename = "Subpath", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// `Mount.TmpfsOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TmpfsOptions {
    /// Size limit in bytes; 0 means the kernel default. The CLI converts `tmpfs-size=64m`.
    #[serde(rename = "SizeBytes", default, deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub size_bytes: i64,
    /// Permission bits as a number (the CLI turns `tmpfs-mode=0700` into 448); 0 means default.
    #[serde(rename = "Mode", default, deserialize_with = "nullable", skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
    /// Extra options as `[name]` or `[name, value]` pairs; only `exec`/`noexec` are allowed.
    #[serde(rename = "Options", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Vec<String>>,
}

/// Decodes `null` as the type's default, as Go does for non-pointer fields.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Mount {
        match serde_json::from_str(json) {
            Ok(m) => m,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn any_type_string_decodes() {
        let cases = [
            (r#"{"Type":"bind"}"#, MountType::Bind),
            (r#"{"Type":"volume"}"#, MountType::Volume),
            (r#"{"Type":"tmpfs"}"#, MountType::Tmpfs),
            (r#"{"Type":"image"}"#, MountType::Image),
            (r#"{"Type":"foo"}"#, MountType::Other("foo".into())),
            (r#"{"Type":"BIND"}"#, MountType::Other("BIND".into())),
            (r#"{"Type":"npipe"}"#, MountType::Other("npipe".into())),
            (r#"{"Type":""}"#, MountType::Unset),
            (r#"{}"#, MountType::Unset),
        ];
        for (json, want) in cases {
            assert_eq!(decode(json).mount_type, want, "{json}");
        }
    }

    #[test]
    fn nulls_and_unknown_fields_are_ignored() {
        let m = decode(
            r#"{"Type":"volume","Source":null,"Target":"/d","ReadOnly":null,"Bogus":1,
                "VolumeOptions":{"NoCopy":null,"Labels":null,"DriverConfig":{"Name":null,"Options":null}},
                "TmpfsOptions":null,"BindOptions":null}"#,
        );
        assert_eq!(m.source, "");
        assert!(!m.read_only);
        assert_eq!(
            m.volume_options,
            Some(VolumeOptions { driver_config: Some(Driver::default()), ..Default::default() })
        );
        assert_eq!(m.tmpfs_options, None);
    }

    #[test]
    fn cli_shapes_round_trip_unchanged() {
        // Exact bodies the docker 28.2.2 CLI sends (captured on the wire).
        let cases = [
            r#"{"Type":"bind","Source":"/tmp/msp/proj/config","Target":"/app/config","ReadOnly":true}"#,
            r#"{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":67108864}}"#,
            r#"{"Type":"tmpfs","Target":"/run/secrets","TmpfsOptions":{"Mode":448}}"#,
            r#"{"Type":"volume","Source":"msp_v6","Target":"/d","VolumeOptions":{"Subpath":"sub","DriverConfig":{}}}"#,
            r#"{"Type":"volume","Source":"msp_v5","Target":"/d","ReadOnly":true,"VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Options":{"device":"tmpfs","type":"tmpfs"}}}}"#,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"Propagation":"rshared","NonRecursive":true}}"#,
            r#"{"Type":"volume","Target":"/anon"}"#,
            r#"{"Type":"foo","Target":"/x"}"#,
            r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Options":[["exec"]]}}"#,
        ];
        for json in cases {
            let back = serde_json::to_string(&decode(json)).expect("encode");
            assert_eq!(back, json);
        }
    }

    #[test]
    fn negative_mode_is_a_decode_error_like_go() {
        // Go: json: cannot unmarshal number -1 into Go struct field ... of type fs.FileMode
        assert!(serde_json::from_str::<Mount>(r#"{"TmpfsOptions":{"Mode":-1}}"#).is_err());
        assert_eq!(decode(r#"{"TmpfsOptions":{"SizeBytes":-1}}"#).tmpfs_options.map(|t| t.size_bytes), Some(-1));
    }
}
