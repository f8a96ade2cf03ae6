//! The per-mount checks Docker applies to `HostConfig.Mounts` entries (and, minus the source
//! existence check, to each parsed `-v` spec).
//!
//! The order of the checks is part of the behaviour: a mount with both an empty target and an
//! unknown type reports the target (`field Target must not be empty`), because Docker looks at the
//! target before the type. The same function serves `--mount` (errors are 400, prefixed
//! `invalid mount config for type "<t>": `) and `-v` (the caller wraps the same problem in the
//! 500-class `invalid volume specification: '<spec>': ...`).

use std::path::Path;

use crate::error::{ConfigProblem, MountError};
use crate::gocompat;
use crate::host::{HostFs, go_error_text};
use crate::propagation::Propagation;
use crate::spec::{Mount, MountType};
use crate::tmpfs;

/// Checks one mount. `host` is consulted for bind sources (`None` skips the existence check, as
/// Docker does for `-v`); `image_mounts` says whether the request's API version knows `image`.
pub fn validate_mount(m: &Mount, image_mounts: bool, host: Option<&dyn HostFs>) -> Result<(), MountError> {
    check(m, image_mounts, host)
        .map_err(|problem| MountError::InvalidMountConfig { mount_type: m.mount_type.as_str().to_owned(), problem })
}

pub(crate) fn check(m: &Mount, image_mounts: bool, host: Option<&dyn HostFs>) -> Result<(), ConfigProblem> {
    if m.target.is_empty() {
        return Err(ConfigProblem::MissingField("Target"));
    }
    check_not_root(&m.target)?;
    check_absolute(&m.target)?;

    match &m.mount_type {
        MountType::Bind => {
            if m.source.is_empty() {
                return Err(ConfigProblem::MissingField("Source"));
            }
            if let Some(bo) = &m.bind_options
                && !bo.propagation.is_empty()
                && bo.propagation.parse::<Propagation>().is_err()
            {
                return Err(ConfigProblem::InvalidPropagation(bo.propagation.clone()));
            }
            if m.volume_options.is_some() {
                return Err(ConfigProblem::ExtraField("VolumeOptions"));
            }
            check_absolute(&m.source)?;
            if let Some(host) = host {
                let create = m.bind_options.as_ref().is_some_and(|bo| bo.create_mountpoint);
                match host.exists(Path::new(&m.source)) {
                    Ok(true) => {}
                    Ok(false) if create => {}
                    Ok(false) => return Err(ConfigProblem::BindSourceMissing(m.source.clone())),
                    Err(e) => {
                        return Err(ConfigProblem::BindSourceStat {
                            path: m.source.clone(),
                            reason: go_error_text(&e),
                        });
                    }
                }
            }
        }
        MountType::Volume => {
            if m.bind_options.is_some() {
                return Err(ConfigProblem::ExtraField("BindOptions"));
            }
            let anonymous = m.source.is_empty();
            if let Some(subpath) = m.volume_options.as_ref().map(|vo| vo.subpath.as_str()).filter(|s| !s.is_empty()) {
                if anonymous {
                    return Err(ConfigProblem::SubpathAnonymousVolume);
                }
                if !gocompat::is_local(subpath) {
                    return Err(ConfigProblem::SubpathNotLocal);
                }
            }
            if m.read_only && anonymous {
                return Err(ConfigProblem::ReadOnlyAnonymousVolume);
            }
        }
        MountType::Tmpfs => {
            if m.bind_options.is_some() {
                return Err(ConfigProblem::ExtraField("BindOptions"));
            }
            if !m.source.is_empty() {
                return Err(ConfigProblem::ExtraField("Source"));
            }
            tmpfs::options_from_mount(m.tmpfs_options.as_ref(), m.read_only)?;
        }
        MountType::Image if image_mounts => {
            if m.bind_options.is_some() {
                return Err(ConfigProblem::ExtraField("BindOptions"));
            }
            if m.source.is_empty() {
                return Err(ConfigProblem::MissingField("Source"));
            }
        }
        MountType::Image | MountType::Other(_) | MountType::Unset => return Err(ConfigProblem::UnknownType),
    }
    Ok(())
}

/// Docker first turns backslashes into slashes, so `\` alone counts as the root.
pub(crate) fn check_not_root(path: &str) -> Result<(), ConfigProblem> {
    if gocompat::clean(&path.replace('\\', "/")) == "/" { Err(ConfigProblem::DestinationIsRoot) } else { Ok(()) }
}

/// The message shows the path with backslashes already turned into slashes, as Docker's does.
pub(crate) fn check_absolute(path: &str) -> Result<(), ConfigProblem> {
    let slashed = path.replace('\\', "/");
    if gocompat::is_abs(&slashed) { Ok(()) } else { Err(ConfigProblem::NotAbsolute(slashed)) }
}

/// Docker's check of a `HostConfig.Tmpfs` key (400, no prefix).
pub fn validate_tmpfs_destination(destination: &str) -> Result<(), MountError> {
    check_not_root(destination).and_then(|()| check_absolute(destination)).map_err(MountError::InvalidTmpfsDestination)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use crate::spec::{BindOptions, Driver, TmpfsOptions, VolumeOptions};

    /// Paths that "exist" on the fake host.
    fn fake_host(path: &Path) -> bool {
        ["/tmp", "/tmp/", "/", "/var/lib/strata", "/home/user/src"].iter().any(|p| Path::new(p) == path)
    }

    fn mount(t: &str, source: &str, target: &str) -> Mount {
        Mount { mount_type: t.into(), source: source.into(), target: target.into(), ..Default::default() }
    }

    fn with(mut m: Mount, f: impl FnOnce(&mut Mount)) -> Mount {
        f(&mut m);
        m
    }

    fn prop(p: &str) -> Option<BindOptions> {
        Some(BindOptions { propagation: p.into(), ..Default::default() })
    }

    /// One row per `--mount` rule of reference §7, with the exact text dockerd 20.10 answered
    /// (all of them 400).
    #[test]
    fn mount_rules_match_docker() {
        let cases: Vec<(Mount, Option<&str>)> = vec![
            (mount("bind", "", "/x"), Some(r#"invalid mount config for type "bind": field Source must not be empty"#)),
            (
                mount("bind", "/tmp", ""),
                Some(r#"invalid mount config for type "bind": field Target must not be empty"#),
            ),
            (
                mount("bind", "/tmp", "/"),
                Some(r#"invalid mount config for type "bind": invalid specification: destination can't be '/'"#),
            ),
            (
                mount("bind", "/tmp", "/x/.."),
                Some(r#"invalid mount config for type "bind": invalid specification: destination can't be '/'"#),
            ),
            (
                mount("bind", "/tmp", "\\"),
                Some(r#"invalid mount config for type "bind": invalid specification: destination can't be '/'"#),
            ),
            (
                mount("bind", "/tmp", "rel"),
                Some(r#"invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute"#),
            ),
            (
                mount("bind", "/tmp", "a\\b"),
                Some(r#"invalid mount config for type "bind": invalid mount path: 'a/b' mount path must be absolute"#),
            ),
            (
                mount("bind", "rel", "/x"),
                Some(r#"invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute"#),
            ),
            (
                mount("bind", "", "rel"),
                Some(r#"invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute"#),
            ),
            (
                mount("bind", "/nonexist", "/x"),
                Some(r#"invalid mount config for type "bind": bind source path does not exist: /nonexist"#),
            ),
            (
                with(mount("bind", "/nonexist", "/x"), |m| {
                    m.bind_options = Some(BindOptions { create_mountpoint: true, ..Default::default() })
                }),
                None,
            ),
            (
                with(mount("bind", "/tmp", "/x"), |m| m.bind_options = prop("bogus")),
                Some(r#"invalid mount config for type "bind": invalid propagation mode: bogus"#),
            ),
            (
                with(mount("bind", "/nonexist", "/x"), |m| m.bind_options = prop("bogus")),
                Some(r#"invalid mount config for type "bind": invalid propagation mode: bogus"#),
            ),
            (
                with(mount("bind", "/tmp", "/x"), |m| m.volume_options = Some(VolumeOptions::default())),
                Some(r#"invalid mount config for type "bind": field VolumeOptions must not be specified"#),
            ),
            (with(mount("bind", "/tmp", "/x"), |m| m.bind_options = prop("rshared")), None),
            (with(mount("bind", "/tmp", "/x"), |m| m.read_only = true), None),
            (with(mount("bind", "/tmp", "/x"), |m| m.consistency = "bogus".into()), None),
            (with(mount("bind", "/tmp", "/x"), |m| m.tmpfs_options = Some(TmpfsOptions::default())), None),
            (mount("bind", "/tmp/", "/x/"), None),
            (mount("bind", "/", "/x"), None),
            (
                with(mount("volume", "", "/x"), |m| m.read_only = true),
                Some(
                    r#"invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes"#,
                ),
            ),
            (
                with(mount("volume", "", "/x"), |m| m.bind_options = Some(BindOptions::default())),
                Some(r#"invalid mount config for type "volume": field BindOptions must not be specified"#),
            ),
            (
                mount("volume", "v", "rel"),
                Some(
                    r#"invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute"#,
                ),
            ),
            (
                with(mount("volume", "", "/x"), |m| {
                    m.volume_options = Some(VolumeOptions { subpath: "sub".into(), ..Default::default() })
                }),
                Some(r#"invalid mount config for type "volume": must not set Subpath when using anonymous volumes"#),
            ),
            (
                with(mount("volume", "v", "/x"), |m| {
                    m.volume_options = Some(VolumeOptions { subpath: "../x".into(), ..Default::default() })
                }),
                Some(r#"invalid mount config for type "volume": subpath must be a relative path within the volume"#),
            ),
            (
                with(mount("volume", "v", "/x"), |m| {
                    m.volume_options = Some(VolumeOptions { subpath: "/abs".into(), ..Default::default() })
                }),
                Some(r#"invalid mount config for type "volume": subpath must be a relative path within the volume"#),
            ),
            (
                with(mount("volume", "v", "/x"), |m| {
                    m.volume_options = Some(VolumeOptions { subpath: "a/b".into(), ..Default::default() })
                }),
                None,
            ),
            (mount("volume", "v", "/x"), None),
            (mount("volume", "/abs", "/x"), None), // the name check happens at volume creation
            (mount("volume", "", "/x"), None),
            (
                with(mount("volume", "v", "/x"), |m| {
                    m.read_only = true;
                    m.volume_options = Some(VolumeOptions {
                        no_copy: true,
                        driver_config: Some(Driver { name: "local".into(), ..Default::default() }),
                        ..Default::default()
                    });
                }),
                None,
            ),
            (
                mount("tmpfs", "x", "/x"),
                Some(r#"invalid mount config for type "tmpfs": field Source must not be specified"#),
            ),
            (
                with(mount("tmpfs", "", "/x"), |m| m.bind_options = Some(BindOptions::default())),
                Some(r#"invalid mount config for type "tmpfs": field BindOptions must not be specified"#),
            ),
            (
                mount("tmpfs", "", "rel"),
                Some(r#"invalid mount config for type "tmpfs": invalid mount path: 'rel' mount path must be absolute"#),
            ),
            (
                mount("tmpfs", "", "/"),
                Some(r#"invalid mount config for type "tmpfs": invalid specification: destination can't be '/'"#),
            ),
            (
                with(mount("tmpfs", "", "/x"), |m| {
                    m.tmpfs_options = Some(TmpfsOptions { options: vec![vec!["noatime".into()]], ..Default::default() })
                }),
                Some(r#"invalid mount config for type "tmpfs": invalid option: noatime"#),
            ),
            (with(mount("tmpfs", "", "/x"), |m| m.volume_options = Some(VolumeOptions::default())), None),
            (
                with(mount("tmpfs", "", "/x"), |m| {
                    m.tmpfs_options = Some(TmpfsOptions { size_bytes: -1, ..Default::default() })
                }),
                None,
            ),
            (mount("image", "busybox", "/x"), Some(r#"invalid mount config for type "image": mount type unknown"#)),
            (mount("npipe", "x", "/x"), Some(r#"invalid mount config for type "npipe": mount type unknown"#)),
            (mount("cluster", "x", "/x"), Some(r#"invalid mount config for type "cluster": mount type unknown"#)),
            (mount("", "x", "/x"), Some(r#"invalid mount config for type "": mount type unknown"#)),
            (mount("BIND", "/tmp", "/x"), Some(r#"invalid mount config for type "BIND": mount type unknown"#)),
            (mount("foo", "", ""), Some(r#"invalid mount config for type "foo": field Target must not be empty"#)),
            (
                mount("foo", "", "rel"),
                Some(r#"invalid mount config for type "foo": invalid mount path: 'rel' mount path must be absolute"#),
            ),
        ];
        for (m, want) in cases {
            let got = validate_mount(&m, false, Some(&fake_host));
            match want {
                None => assert_eq!(got, Ok(()), "{m:?}"),
                Some(text) => {
                    let err = got.expect_err(text);
                    assert_eq!(err.to_string(), text, "{m:?}");
                    assert_eq!(err.status_class(), ErrorClass::InvalidParameter, "{m:?}");
                }
            }
        }
    }

    #[test]
    fn image_mounts_are_validated_only_when_the_api_knows_them() {
        let cases: Vec<(Mount, Option<&str>)> = vec![
            (mount("image", "busybox", "/x"), None),
            (
                mount("image", "", "/x"),
                Some(r#"invalid mount config for type "image": field Source must not be empty"#),
            ),
            (
                with(mount("image", "busybox", "/x"), |m| m.bind_options = Some(BindOptions::default())),
                Some(r#"invalid mount config for type "image": field BindOptions must not be specified"#),
            ),
        ];
        for (m, want) in cases {
            let got = validate_mount(&m, true, Some(&fake_host)).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), want, "{m:?}");
        }
    }

    #[test]
    fn bind_source_stat_errors_are_reported_not_hidden() {
        struct Denied;
        impl HostFs for Denied {
            fn exists(&self, _: &Path) -> std::io::Result<bool> {
                Err(std::io::Error::from_raw_os_error(13))
            }
        }
        let err = validate_mount(&mount("bind", "/secret/x", "/x"), false, Some(&Denied)).expect_err("denied");
        assert_eq!(err.to_string(), r#"invalid mount config for type "bind": stat /secret/x: permission denied"#);
    }

    #[test]
    fn tmpfs_destinations_match_docker() {
        let cases = [
            ("/t", None),
            ("/run/secrets", None),
            ("/t/", None),
            ("relative", Some("invalid mount path: 'relative' mount path must be absolute")),
            ("/", Some("invalid specification: destination can't be '/'")),
            ("/t/..", Some("invalid specification: destination can't be '/'")),
        ];
        for (dest, want) in cases {
            let got = validate_tmpfs_destination(dest);
            assert_eq!(got.as_ref().err().map(ToString::to_string).as_deref(), want, "{dest}");
            if let Err(e) = got {
                assert_eq!(e.status_class(), ErrorClass::InvalidParameter);
            }
        }
    }
}
