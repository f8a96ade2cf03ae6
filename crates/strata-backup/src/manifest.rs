//! The manifest of one backup: enough to recreate the volume as it was and to prove the data
//! stream is the one that was written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest format this strata writes; newer ones are refused when restoring.
pub const FORMAT_VERSION: u32 = 1;
/// The compression of the data stream (the only one written).
pub const COMPRESSION_ZSTD: &str = "zstd";

/// What a backup is (the `.manifest.json` file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The volume's name when it was backed up (the default name to restore to).
    pub volume: String,
    pub driver: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When the volume was created (RFC 3339, UTC).
    pub volume_created_at: String,
    /// When the backup was taken (RFC 3339, UTC): the moment its data started to be read.
    pub created_at: String,
    /// Entries in the tar stream (files, directories, links…).
    pub entries: u64,
    /// Bytes of regular-file contents.
    pub bytes: u64,
    /// Length of the uncompressed tar stream.
    pub tar_bytes: u64,
    /// Length of the stored (compressed) data file.
    pub stored_bytes: u64,
    /// sha256 of the stored data file, lower-case hex.
    pub sha256: String,
    /// [`COMPRESSION_ZSTD`].
    pub compression: String,
    /// The strata version that wrote it.
    pub strata_version: String,
    /// Whether writers were frozen while the data was read (false with `--no-pause`).
    pub paused: bool,
    /// The containers frozen while the data was read.
    #[serde(default)]
    pub paused_containers: Vec<String>,
    /// Permission bits of the volume's top directory (the tar stream holds its contents only).
    #[serde(default)]
    pub root_mode: u32,
    /// Owner of the volume's top directory.
    #[serde(default)]
    pub root_uid: u32,
    #[serde(default)]
    pub root_gid: u32,
}

impl Manifest {
    /// `created_at` as seconds since the epoch (0 when unreadable, sorting such backups first).
    pub fn created_secs(&self) -> i64 {
        parse_time(&self.created_at).unwrap_or(0)
    }
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_secs()).ok())
}

/// RFC 3339 (UTC, whole seconds) of seconds since the epoch.
pub fn format_time(secs: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
pub(crate) fn sample(volume: &str, created_at: &str) -> Manifest {
    Manifest {
        format: FORMAT_VERSION,
        volume: volume.into(),
        driver: "local".into(),
        options: BTreeMap::new(),
        labels: BTreeMap::from([("env".into(), "prod".into())]),
        volume_created_at: "2026-01-01T00:00:00Z".into(),
        created_at: created_at.into(),
        entries: 3,
        bytes: 10,
        tar_bytes: 2048,
        stored_bytes: 100,
        sha256: "00".repeat(32),
        compression: COMPRESSION_ZSTD.into(),
        strata_version: "0.1.0".into(),
        paused: true,
        paused_containers: vec![],
        root_mode: 0o755,
        root_uid: 0,
        root_gid: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(format_time(1_795_716_732), "2026-11-26T18:12:12Z");
        assert_eq!(parse_time("2026-11-26T18:12:12Z"), Some(1_795_716_732));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn manifest_json_round_trips() {
        let m = sample("pgdata", "2026-11-26T18:12:12Z");
        let text = serde_json::to_string(&m).expect("json");
        assert!(text.contains(r#""Volume":"pgdata""#), "{text}");
        let back: Manifest = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, m);
        assert_eq!(back.created_secs(), 1_795_716_732);
    }
}
