//! `-v` strings (`HostConfig.Binds`) and `--volumes-from` specs.
//!
//! A bind string is `target`, `source:target` or `source:target:mode`. The source decides the
//! kind: an absolute path is a bind of that host path, anything else is a volume *name* (so a
//! mistyped relative path becomes a volume name, and the local driver's name rule is what catches
//! it). The mode is a comma list with at most one of each family:
//!
//! | family | values | allowed on |
//! |---|---|---|
//! | access | `rw`, `ro` | all |
//! | SELinux label | `z`, `Z` | all |
//! | propagation | `shared`, `rshared`, `slave`, `rslave`, `private`, `rprivate` | binds |
//! | copy | `nocopy` | volumes |
//! | consistency | `consistent`, `cached`, `delegated` | all (ignored on Linux) |
//!
//! Docker turns a bind string into the same structure as a `--mount` object and runs the same
//! checks on it, but reports failures as plain (500-class) errors prefixed with the whole spec —
//! a quirk clients have lived with for years and which strata keeps.

use crate::error::MountError;
use crate::gocompat;
use crate::propagation::Propagation;
use crate::spec::{BindOptions, Driver, Mount, MountType, VolumeOptions};
use crate::validate;

const ACCESS_MODES: [&str; 2] = ["rw", "ro"];
const LABEL_MODES: [&str; 2] = ["z", "Z"];
const COPY_MODES: [&str; 1] = ["nocopy"];
const CONSISTENCY_MODES: [&str; 3] = ["consistent", "cached", "delegated"];
/// The mode that makes a mount read-only.
const READ_ONLY_MODE: &str = "ro";
/// The maximum number of `:`-separated fields in a bind string.
const MAX_BIND_FIELDS: usize = 3;

/// A `-v` string turned into Docker's mount structure, plus the mode text as given (Docker
/// reports it as `Mode` in `docker inspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedBind {
    pub mount: Mount,
    pub mode: String,
}

/// Whether every comma-separated element of `mode` is known and no family repeats (`""` is
/// valid: no mode).
pub fn is_valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let families: [&[&str]; 4] = [&ACCESS_MODES, &LABEL_MODES, &COPY_MODES, &CONSISTENCY_MODES];
    let mut counts = [0usize; 5];
    for part in mode.split(',') {
        if let Some(i) = families.iter().position(|f| f.contains(&part)) {
            counts[i] += 1;
        } else if part.parse::<Propagation>().is_ok() {
            counts[families.len()] += 1;
        } else {
            return false;
        }
    }
    counts.iter().all(|&n| n <= 1)
}

/// A valid mode without `ro`.
pub fn is_read_write(mode: &str) -> bool {
    is_valid_mode(mode) && !mode.split(',').any(|p| p == READ_ONLY_MODE)
}

/// The propagation named in a mode, if any.
pub fn propagation_in(mode: &str) -> Option<Propagation> {
    mode.split(',').find_map(|p| p.parse().ok())
}

fn has_copy_mode(mode: &str) -> bool {
    mode.split(',').any(|p| COPY_MODES.contains(&p))
}

/// Parses and checks one `-v` string. `volume_driver` is `HostConfig.VolumeDriver` (applies to
/// volumes only).
pub fn parse_bind(raw: &str, volume_driver: &str) -> Result<ParsedBind, MountError> {
    let invalid = || MountError::InvalidBindSpec { spec: raw.to_owned() };
    // Split into at most one more field than allowed, so "a:b:c:d" is seen as too many.
    let fields: Vec<&str> = raw.splitn(MAX_BIND_FIELDS + 1, ':').collect();
    if fields[0].is_empty() {
        return Err(invalid());
    }
    let (source, target, mode) = match fields.as_slice() {
        [target] => ("", *target, ""),
        // `/foo:rw` is a destination with a mode but no source: not a valid volume.
        [_, second] if is_valid_mode(second) => return Err(invalid()),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(invalid()),
    };
    if !is_valid_mode(mode) {
        return Err(MountError::InvalidBindMode { mode: mode.to_owned() });
    }

    let mount_type = if gocompat::is_abs(source) { MountType::Bind } else { MountType::Volume };
    let mut mount = Mount {
        mount_type,
        source: source.to_owned(),
        target: target.to_owned(),
        read_only: !is_read_write(mode),
        ..Default::default()
    };
    if !volume_driver.is_empty() && mount.mount_type == MountType::Volume {
        mount.volume_options = Some(VolumeOptions {
            driver_config: Some(Driver { name: volume_driver.to_owned(), ..Default::default() }),
            ..Default::default()
        });
    }
    if has_copy_mode(mode) {
        mount.volume_options.get_or_insert_with(VolumeOptions::default).no_copy = true;
    }
    if let Some(p) = propagation_in(mode) {
        mount.bind_options = Some(BindOptions { propagation: p.as_str().to_owned(), ..Default::default() });
    }

    validate::check(&mount, false, None).map_err(|problem| MountError::InvalidBindConfig {
        spec: raw.to_owned(),
        mount_type: mount.mount_type.as_str().to_owned(),
        problem,
    })?;
    Ok(ParsedBind { mount, mode: mode.to_owned() })
}

/// A `--volumes-from` spec: the container and whether its mounts become read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub container: String,
    pub read_only: bool,
}

/// Parses `c`, `c:ro`, `c:rw` (and `c:z`, `c:ro,Z`…). Propagation and copy modes are refused:
/// the mounts keep the source container's settings.
pub fn parse_volumes_from(spec: &str) -> Result<VolumesFrom, MountError> {
    if spec.is_empty() {
        return Err(MountError::EmptyVolumesFrom);
    }
    let (container, mode) = spec.split_once(':').unwrap_or((spec, ""));
    let bad_mode = || MountError::InvalidVolumesFromMode { mode: mode.to_owned() };
    if !is_valid_mode(mode) || propagation_in(mode).is_some() || has_copy_mode(mode) {
        return Err(bad_mode());
    }
    Ok(VolumesFrom { container: container.to_owned(), read_only: !is_read_write(mode) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn modes_allow_one_of_each_family() {
        let cases = [
            ("", true),
            ("ro", true),
            ("rw", true),
            ("z", true),
            ("Z", true),
            ("nocopy", true),
            ("cached", true),
            ("delegated", true),
            ("consistent", true),
            ("shared", true),
            ("rprivate", true),
            ("ro,Z,slave", true),
            ("slave,ro,Z", true),
            ("rw,z,shared,nocopy", true),
            ("ro,rw", false),
            ("Z,z", false),
            ("shared,slave", false),
            ("delegated,consistent", false),
            ("nocopy,nocopy", false),
            ("copy", false),
            ("badmode", false),
            ("rwz", false),
            ("ro,", false),
            ("RO", false),
        ];
        for (mode, want) in cases {
            assert_eq!(is_valid_mode(mode), want, "{mode:?}");
        }
    }

    /// Each row is a `-v` value the CLI passes verbatim in `HostConfig.Binds`, with the text and
    /// class dockerd 20.10 answered.
    #[test]
    fn invalid_binds_match_docker() {
        let cases = [
            (
                "/tmp:/",
                r#"invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'"#,
            ),
            (
                "/tmp:\\",
                r#"invalid volume specification: '/tmp:\': invalid mount config for type "bind": invalid specification: destination can't be '/'"#,
            ),
            (
                "/a:/b/../",
                r#"invalid volume specification: '/a:/b/../': invalid mount config for type "bind": invalid specification: destination can't be '/'"#,
            ),
            (
                "/tmp:rel",
                r#"invalid volume specification: '/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute"#,
            ),
            (
                "vol:rel",
                r#"invalid volume specification: 'vol:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute"#,
            ),
            (
                "relative",
                r#"invalid volume specification: 'relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute"#,
            ),
            (
                "/tmp/x:/y:rw,z,shared,nocopy",
                r#"invalid volume specification: '/tmp/x:/y:rw,z,shared,nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified"#,
            ),
            (
                "/tmp/x:/y:nocopy",
                r#"invalid volume specification: '/tmp/x:/y:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified"#,
            ),
            (
                "v1:/d:shared",
                r#"invalid volume specification: 'v1:/d:shared': invalid mount config for type "volume": field BindOptions must not be specified"#,
            ),
            (
                "name:/abs:rprivate",
                r#"invalid volume specification: 'name:/abs:rprivate': invalid mount config for type "volume": field BindOptions must not be specified"#,
            ),
            (
                "/a::ro",
                r#"invalid volume specification: '/a::ro': invalid mount config for type "bind": field Target must not be empty"#,
            ),
            ("/tmp/x:/y:badmode", "invalid mode: badmode"),
            ("/tmp/x:/y:ro,rw", "invalid mode: ro,rw"),
            ("/tmp/x:/y:shared,slave", "invalid mode: shared,slave"),
            ("/a:/b:Z,z", "invalid mode: Z,z"),
            ("/a:/b:delegated,consistent", "invalid mode: delegated,consistent"),
            ("/a:/b:copy", "invalid mode: copy"),
            ("v1:/b:nocopy,copy", "invalid mode: nocopy,copy"),
            ("/d:ro", "invalid volume specification: '/d:ro'"),
            ("/path:shared", "invalid volume specification: '/path:shared'"),
            ("path:ro", "invalid volume specification: 'path:ro'"),
            ("/tmp:", "invalid volume specification: '/tmp:'"),
            ("", "invalid volume specification: ''"),
            (":/d", "invalid volume specification: ':/d'"),
            (":", "invalid volume specification: ':'"),
            ("/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"),
            ("/tmp:::", "invalid volume specification: '/tmp:::'"),
        ];
        for (spec, want) in cases {
            let err = parse_bind(spec, "").expect_err(spec);
            assert_eq!(err.to_string(), want, "{spec:?}");
            assert_eq!(err.status_class(), ErrorClass::System, "{spec:?} is a 500 in Docker");
        }
    }

    #[test]
    fn valid_binds_parse_into_docker_mounts() {
        // (spec, volume driver, type, source, target, read-only, propagation, nocopy, driver, mode)
        type Row = (
            &'static str,
            &'static str,
            MountType,
            &'static str,
            &'static str,
            bool,
            &'static str,
            bool,
            &'static str,
            &'static str,
        );
        let cases: &[Row] = &[
            ("/home/user/src:/app/src", "", MountType::Bind, "/home/user/src", "/app/src", false, "", false, "", ""),
            (
                "/home/user/config:/app/config:ro",
                "",
                MountType::Bind,
                "/home/user/config",
                "/app/config",
                true,
                "",
                false,
                "",
                "ro",
            ),
            (
                "pgdata:/var/lib/postgresql/data",
                "",
                MountType::Volume,
                "pgdata",
                "/var/lib/postgresql/data",
                false,
                "",
                false,
                "",
                "",
            ),
            ("shared_data:/data:ro", "", MountType::Volume, "shared_data", "/data", true, "", false, "", "ro"),
            ("/d", "", MountType::Volume, "", "/d", false, "", false, "", ""),
            ("/d", "flocker", MountType::Volume, "", "/d", false, "", false, "flocker", ""),
            ("v:/d:nocopy", "", MountType::Volume, "v", "/d", false, "", true, "", "nocopy"),
            ("v:/d:ro,nocopy", "other", MountType::Volume, "v", "/d", true, "", true, "other", "ro,nocopy"),
            ("/h:/c:ro,Z,slave", "", MountType::Bind, "/h", "/c", true, "slave", false, "", "ro,Z,slave"),
            ("/h:/c:rshared", "flocker", MountType::Bind, "/h", "/c", false, "rshared", false, "", "rshared"),
            ("/a:/b:", "", MountType::Bind, "/a", "/b", false, "", false, "", ""),
            ("/a:/b:cached", "", MountType::Bind, "/a", "/b", false, "", false, "", "cached"),
            ("/rw:/ro", "", MountType::Bind, "/rw", "/ro", false, "", false, "", ""),
            ("/with space:/x", "", MountType::Bind, "/with space", "/x", false, "", false, "", ""),
            ("foo/bar:/d", "", MountType::Volume, "foo/bar", "/d", false, "", false, "", ""),
            ("a:/d", "", MountType::Volume, "a", "/d", false, "", false, "", ""),
        ];
        for &(spec, driver, ref t, source, target, ro, propagation, nocopy, vdriver, mode) in cases {
            let got = parse_bind(spec, driver).expect(spec);
            assert_eq!(&got.mount.mount_type, t, "{spec}");
            assert_eq!(got.mount.source, source, "{spec}");
            assert_eq!(got.mount.target, target, "{spec}");
            assert_eq!(got.mount.read_only, ro, "{spec}");
            assert_eq!(got.mount.bind_options.map(|b| b.propagation).unwrap_or_default(), propagation, "{spec}");
            let vo = got.mount.volume_options.unwrap_or_default();
            assert_eq!(vo.no_copy, nocopy, "{spec}");
            assert_eq!(vo.driver_config.map(|d| d.name).unwrap_or_default(), vdriver, "{spec}");
            assert_eq!(got.mode, mode, "{spec}");
        }
    }

    #[test]
    fn volumes_from_specs_match_docker() {
        let ok = [
            ("c", "c", false),
            ("c:ro", "c", true),
            ("c:rw", "c", false),
            ("c:", "c", false),
            ("c:z", "c", false),
            ("c:ro,Z", "c", true),
            ("0123abcd", "0123abcd", false),
        ];
        for (spec, container, ro) in ok {
            assert_eq!(
                parse_volumes_from(spec),
                Ok(VolumesFrom { container: container.into(), read_only: ro }),
                "{spec}"
            );
        }
        let bad = [
            ("", "volumes-from specification cannot be an empty string"),
            ("c:bad", "invalid mode: bad"),
            ("c:shared", "invalid mode: shared"),
            ("c:nocopy", "invalid mode: nocopy"),
            ("c:ro,rw", "invalid mode: ro,rw"),
            ("c:ro:x", "invalid mode: ro:x"),
        ];
        for (spec, want) in bad {
            let err = parse_volumes_from(spec).expect_err(spec);
            assert_eq!(err.to_string(), want, "{spec:?}");
            assert_eq!(err.status_class(), ErrorClass::InvalidParameter, "{spec:?} is a 400 in Docker");
        }
    }
}
