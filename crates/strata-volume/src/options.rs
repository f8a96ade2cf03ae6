//! Options of the local driver (`type`, `device`, `o`, `size`): validation with Docker's texts,
//! and the exact `mount(2)` calls a volume with mount options needs.
//!
//! Everything here is pure: parsing takes the option map, planning takes a resolver function for
//! host names. That is what lets the NFS and CIFS mount calls be asserted in unit tests on a
//! machine that has neither.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// `-o type=…`: the filesystem type given to mount(2).
pub const OPT_TYPE: &str = "type";
/// `-o device=…`: what is mounted.
pub const OPT_DEVICE: &str = "device";
/// `-o o=…`: mount options, as for mount(8).
pub const OPT_O: &str = "o";
/// `-o size=…`: a size limit on the volume's directory (project quota or btrfs qgroup).
pub const OPT_SIZE: &str = "size";
/// The keys the local driver accepts.
pub const VALID_OPTIONS: [&str; 4] = [OPT_TYPE, OPT_O, OPT_DEVICE, OPT_SIZE];

/// The parsed options of one local volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// Set when the volume is a mount of something (`type`/`device`/`o`).
    pub mount: Option<MountOptions>,
    /// The size limit in bytes (`size`, 0 or absent = none).
    pub size_bytes: Option<u64>,
}

/// `type`, `device` and `o` of a volume that is mounted on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub fstype: String,
    pub device: String,
    pub options: String,
}

/// Why options are refused; the text follows Docker's (the `create NAME: ` prefix is added by
/// the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("invalid option: {0:?}")]
    Invalid(String),
    #[error("missing required option: {0:?}")]
    Missing(&'static str),
    #[error("invalid size: '{0}'")]
    BadSize(String),
    #[error("port not allowed in CIFS device URL, include 'port' in 'o='")]
    CifsPort,
    #[error(
        "invalid option: \"size\" cannot be combined with \"type\" or \"device\": limit the size with the options of \
         the mounted filesystem instead (for tmpfs: o=size=64m)"
    )]
    SizeWithMount,
}

/// Parses and validates the options of a local volume, in Docker's order: unknown keys, the CIFS
/// device, `size`, then the keys that require each other (`o` needs `device` and `type`; `type`
/// and `device` need each other).
pub fn parse(opts: &BTreeMap<String, String>) -> Result<LocalOptions, OptionError> {
    if let Some(bad) = opts.keys().find(|k| !VALID_OPTIONS.contains(&k.as_str())) {
        return Err(OptionError::Invalid(bad.clone()));
    }
    if opts.get(OPT_TYPE).map(String::as_str) == Some("cifs")
        && let Some(device) = opts.get(OPT_DEVICE)
        && cifs_device_has_port(device)
    {
        return Err(OptionError::CifsPort);
    }
    let size_bytes = match opts.get(OPT_SIZE) {
        Some(v) => Some(parse_ram_size(v)?).filter(|&n| n > 0),
        None => None,
    };
    const REQUIRED: [(&str, &[&str]); 3] =
        [(OPT_O, &[OPT_DEVICE, OPT_TYPE]), (OPT_TYPE, &[OPT_DEVICE]), (OPT_DEVICE, &[OPT_TYPE])];
    for (key, needs) in REQUIRED {
        if opts.contains_key(key) {
            for &need in needs {
                if !opts.contains_key(need) {
                    return Err(OptionError::Missing(need));
                }
            }
        }
    }
    let mount = match (opts.get(OPT_TYPE), opts.get(OPT_DEVICE)) {
        (Some(fstype), Some(device)) => Some(MountOptions {
            fstype: fstype.clone(),
            device: device.clone(),
            options: opts.get(OPT_O).cloned().unwrap_or_default(),
        }),
        _ => None,
    };
    if mount.is_some() && size_bytes.is_some() {
        return Err(OptionError::SizeWithMount);
    }
    Ok(LocalOptions { mount, size_bytes })
}

/// Whether a CIFS device (`//host:port/share`) names a port.
fn cifs_device_has_port(device: &str) -> bool {
    let Some(rest) = device.strip_prefix("//") else { return false };
    let host = rest.split('/').next().unwrap_or("");
    // An IPv6 literal is bracketed: [::1]:445.
    match host.rsplit_once(']') {
        Some((_, after)) => after.starts_with(':'),
        None => host.contains(':'),
    }
}

/// go-units' `RAMInBytes` ([`strata_mount::gocompat::ram_in_bytes`]), e.g. `64m`, `1.5GiB`, `100`.
pub fn parse_ram_size(text: &str) -> Result<u64, OptionError> {
    strata_mount::gocompat::ram_in_bytes(text).ok_or_else(|| OptionError::BadSize(text.to_owned()))
}

/// `MS_*` flags of mount(2) (`linux/mount.h`).
pub mod ms {
    pub const RDONLY: u64 = 1;
    pub const NOSUID: u64 = 2;
    pub const NODEV: u64 = 4;
    pub const NOEXEC: u64 = 8;
    pub const SYNCHRONOUS: u64 = 16;
    pub const REMOUNT: u64 = 32;
    pub const MANDLOCK: u64 = 64;
    pub const DIRSYNC: u64 = 128;
    pub const NOATIME: u64 = 1024;
    pub const NODIRATIME: u64 = 2048;
    pub const BIND: u64 = 4096;
    pub const REC: u64 = 16384;
    pub const UNBINDABLE: u64 = 1 << 17;
    pub const PRIVATE: u64 = 1 << 18;
    pub const SLAVE: u64 = 1 << 19;
    pub const SHARED: u64 = 1 << 20;
    pub const RELATIME: u64 = 1 << 21;
    pub const STRICTATIME: u64 = 1 << 24;
    pub const LAZYTIME: u64 = 1 << 25;
    /// The propagation types: they must be set by a call of their own.
    pub const PROPAGATION: u64 = UNBINDABLE | PRIVATE | SLAVE | SHARED;
}

/// What a word of `o=` does to the flags: sets bits, clears bits, or is filesystem data.
fn flag_word(word: &str) -> Option<(bool, u64)> {
    use ms::*;
    Some(match word {
        "defaults" => (true, 0),
        "ro" => (true, RDONLY),
        "rw" => (false, RDONLY),
        "nosuid" => (true, NOSUID),
        "suid" => (false, NOSUID),
        "nodev" => (true, NODEV),
        "dev" => (false, NODEV),
        "noexec" => (true, NOEXEC),
        "exec" => (false, NOEXEC),
        "sync" => (true, SYNCHRONOUS),
        "async" => (false, SYNCHRONOUS),
        "remount" => (true, REMOUNT),
        "mand" => (true, MANDLOCK),
        "nomand" => (false, MANDLOCK),
        "dirsync" => (true, DIRSYNC),
        "noatime" => (true, NOATIME),
        "atime" => (false, NOATIME),
        "nodiratime" => (true, NODIRATIME),
        "diratime" => (false, NODIRATIME),
        "bind" => (true, BIND),
        "rbind" => (true, BIND | REC),
        "relatime" => (true, RELATIME),
        "norelatime" => (false, RELATIME),
        "strictatime" => (true, STRICTATIME),
        "nostrictatime" => (false, STRICTATIME),
        "lazytime" => (true, LAZYTIME),
        "nolazytime" => (false, LAZYTIME),
        "unbindable" => (true, UNBINDABLE),
        "runbindable" => (true, UNBINDABLE | REC),
        "private" => (true, PRIVATE),
        "rprivate" => (true, PRIVATE | REC),
        "slave" => (true, SLAVE),
        "rslave" => (true, SLAVE | REC),
        "shared" => (true, SHARED),
        "rshared" => (true, SHARED | REC),
        _ => return None,
    })
}

/// Splits `o=` into mount flags and the data string passed to the filesystem.
pub fn split_options(options: &str) -> (u64, String) {
    let mut flags = 0u64;
    let mut data = Vec::new();
    for word in options.split(',').filter(|w| !w.is_empty()) {
        match flag_word(word) {
            Some((true, bits)) => flags |= bits,
            Some((false, bits)) => flags &= !bits,
            None => data.push(word),
        }
    }
    (flags, data.join(","))
}

/// One mount(2) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStep {
    pub source: String,
    pub target: PathBuf,
    pub fstype: String,
    pub flags: u64,
    pub data: String,
}

/// The calls that mount one volume, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    pub steps: Vec<MountStep>,
    /// Network filesystems may block in the kernel; the mounter bounds their wait.
    pub network: bool,
    /// A password given in `o=`, to be redacted from error messages.
    pub secret: Option<String>,
}

/// Why a mount plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("error resolving passed in network volume address {host:?}: {why}")]
    Resolve { host: String, why: String },
}

/// Filesystem types reached over the network.
pub fn is_network_fs(fstype: &str) -> bool {
    matches!(fstype, "nfs" | "nfs4" | "cifs" | "smb3")
}

/// The mount(2) calls for `opts` onto `target`, as Docker's local driver makes them:
///
/// 1. `mount(device, target, type, flags, data)` with every flag of `o=` except propagation;
/// 2. the propagation type, if `o=` names one, in a call of its own (the kernel requires it);
/// 3. for a read-only bind mount, a remount that makes it read-only (a bind ignores `MS_RDONLY`).
///
/// For `nfs`/`cifs`, a host name in `addr=` (and the host of a CIFS `//host/share` device) is
/// resolved with `resolve` first, as Docker does, since the kernel takes addresses only.
pub fn plan(
    opts: &MountOptions,
    target: &Path,
    resolve: &mut dyn FnMut(&str) -> Result<IpAddr, String>,
) -> Result<MountPlan, PlanError> {
    let network = is_network_fs(&opts.fstype);
    let mut options = opts.options.clone();
    let mut device = opts.device.clone();
    if network {
        let addr = options.split(',').find_map(|w| w.strip_prefix("addr=")).map(str::to_owned);
        if let Some(host) = addr.filter(|h| h.parse::<IpAddr>().is_err()) {
            let ip = resolve(&host).map_err(|why| PlanError::Resolve { host: host.clone(), why })?;
            options = options
                .split(',')
                .map(|w| if w == format!("addr={host}") { format!("addr={ip}") } else { w.to_owned() })
                .collect::<Vec<_>>()
                .join(",");
        } else if matches!(opts.fstype.as_str(), "cifs" | "smb3")
            && let Some(rest) = device.strip_prefix("//")
        {
            let (host, share) = rest.split_once('/').unwrap_or((rest, ""));
            if !host.is_empty() && host.parse::<IpAddr>().is_err() {
                let ip = resolve(host).map_err(|why| PlanError::Resolve { host: host.to_owned(), why })?;
                device = format!("//{ip}/{share}");
            }
        }
    }
    let (flags, data) = split_options(&options);
    let base = flags & !ms::PROPAGATION;
    let mut steps =
        vec![MountStep { source: device, target: target.to_owned(), fstype: opts.fstype.clone(), flags: base, data }];
    if flags & ms::PROPAGATION != 0 {
        steps.push(MountStep {
            source: String::new(),
            target: target.to_owned(),
            fstype: String::new(),
            flags: flags & (ms::PROPAGATION | ms::REC),
            data: String::new(),
        });
    }
    if base & (ms::BIND | ms::RDONLY) == ms::BIND | ms::RDONLY {
        steps.push(MountStep {
            source: String::new(),
            target: target.to_owned(),
            fstype: String::new(),
            flags: (base & !ms::REC) | ms::REMOUNT,
            data: String::new(),
        });
    }
    let secret = opts.options.split(',').find_map(|w| w.strip_prefix("password=")).map(str::to_owned);
    Ok(MountPlan { steps, network, secret })
}

/// `text` with the password of `o=` replaced by asterisks, as Docker redacts it.
pub fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(&format!("password={s}"), "password=********"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// Options given, and the start of the expected error (`Ok` when valid).
    type Case<'a> = (&'a [(&'a str, &'a str)], Result<(), &'a str>);

    #[test]
    fn validation_follows_docker() {
        let cases: &[Case<'_>] = &[
            (&[], Ok(())),
            (&[("foo", "1")], Err("invalid option: \"foo\"")),
            (&[("", "v")], Err("invalid option: \"\"")),
            (&[("type", "tmpfs")], Err("missing required option: \"device\"")),
            (&[("o", "size=1m")], Err("missing required option: \"device\"")),
            (&[("device", "/x")], Err("missing required option: \"type\"")),
            (&[("o", "bind"), ("device", "/x")], Err("missing required option: \"type\"")),
            (&[("size", "abc")], Err("invalid size: 'abc'")),
            (
                &[("type", "cifs"), ("device", "//h:445/s")],
                Err("port not allowed in CIFS device URL, include 'port' in 'o='"),
            ),
            (&[("type", "cifs"), ("device", "//h/s")], Ok(())),
            (&[("type", "none"), ("device", "/nonexist"), ("o", "bind")], Ok(())),
            (&[("size", "10m")], Ok(())),
            (
                &[("size", "10m"), ("type", "tmpfs"), ("device", "tmpfs")],
                Err("invalid option: \"size\" cannot be combined"),
            ),
        ];
        for (opts, want) in cases {
            let got = parse(&map(opts)).map(|_| ()).map_err(|e| e.to_string());
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(w)) => assert!(e.starts_with(w), "{opts:?}: {e:?} does not start with {w:?}"),
                (got, want) => panic!("{opts:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn parsed_options_carry_mount_and_size() {
        let p = parse(&map(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=64m,uid=1000")])).expect("ok");
        assert_eq!(
            p.mount,
            Some(MountOptions { fstype: "tmpfs".into(), device: "tmpfs".into(), options: "size=64m,uid=1000".into() })
        );
        assert_eq!(p.size_bytes, None);
        assert_eq!(parse(&map(&[("size", "10m")])).expect("ok").size_bytes, Some(10 << 20));
        assert_eq!(parse(&map(&[("size", "0")])).expect("ok").size_bytes, None);
    }

    #[test]
    fn ram_sizes_follow_go_units() {
        let cases: &[(&str, Option<u64>)] = &[
            ("100", Some(100)),
            ("64m", Some(64 << 20)),
            ("64M", Some(64 << 20)),
            ("1k", Some(1024)),
            ("1kb", Some(1024)),
            ("1KiB", Some(1024)),
            ("1.5g", Some(3 << 29)),
            ("2 GB", Some(2 << 30)),
            ("1t", Some(1 << 40)),
            ("abc", None),
            ("", None),
            ("-1", None),
            ("1x", None),
            ("1.2.3", None),
            ("10mm", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_ram_size(text).ok(), *want, "{text:?}");
        }
    }

    fn no_dns(host: &str) -> Result<IpAddr, String> {
        Err(format!("lookup {host}: no such host"))
    }

    fn step(source: &str, fstype: &str, flags: u64, data: &str) -> MountStep {
        MountStep {
            source: source.into(),
            target: PathBuf::from("/v/_data"),
            fstype: fstype.into(),
            flags,
            data: data.into(),
        }
    }

    fn mo(fstype: &str, device: &str, options: &str) -> MountOptions {
        MountOptions { fstype: fstype.into(), device: device.into(), options: options.into() }
    }

    #[test]
    fn mount_plans_are_the_calls_docker_makes() {
        let target = Path::new("/v/_data");
        let mut dns = |host: &str| match host {
            "nfs.example" => Ok("192.0.2.7".parse().expect("ip")),
            "files.example" => Ok("192.0.2.9".parse().expect("ip")),
            other => no_dns(other),
        };
        let cases: Vec<(MountOptions, Vec<MountStep>)> = vec![
            (mo("tmpfs", "tmpfs", "size=64m,uid=1000"), vec![step("tmpfs", "tmpfs", 0, "size=64m,uid=1000")]),
            (mo("none", "/srv/data", "bind"), vec![step("/srv/data", "none", ms::BIND, "")]),
            (
                mo("none", "/srv/data", "bind,ro"),
                vec![
                    step("/srv/data", "none", ms::BIND | ms::RDONLY, ""),
                    step("", "", ms::BIND | ms::RDONLY | ms::REMOUNT, ""),
                ],
            ),
            (
                mo("none", "/srv/data", "rbind,rshared"),
                vec![step("/srv/data", "none", ms::BIND | ms::REC, ""), step("", "", ms::SHARED | ms::REC, "")],
            ),
            (
                mo("nfs", ":/export", "addr=192.0.2.1,rw,nfsvers=4"),
                vec![step(":/export", "nfs", 0, "addr=192.0.2.1,nfsvers=4")],
            ),
            (
                mo("nfs", ":/exports/data", "addr=nfs.example,rw"),
                vec![step(":/exports/data", "nfs", 0, "addr=192.0.2.7")],
            ),
            (
                mo("cifs", "//files.example/share", "username=u,password=p,vers=3.0"),
                vec![step("//192.0.2.9/share", "cifs", 0, "username=u,password=p,vers=3.0")],
            ),
            (mo("ext4", "/dev/vdb1", "noatime,nodev"), vec![step("/dev/vdb1", "ext4", ms::NOATIME | ms::NODEV, "")]),
        ];
        for (opts, want) in cases {
            let got = plan(&opts, target, &mut dns).expect("plan");
            assert_eq!(got.steps, want, "{opts:?}");
            assert_eq!(got.network, is_network_fs(&opts.fstype));
        }
    }

    #[test]
    fn unresolvable_hosts_and_passwords() {
        let err = plan(&mo("nfs", ":/x", "addr=nowhere.invalid"), Path::new("/t"), &mut no_dns).expect_err("dns");
        assert_eq!(
            err.to_string(),
            "error resolving passed in network volume address \"nowhere.invalid\": lookup nowhere.invalid: no such host"
        );
        let p = plan(&mo("cifs", "//192.0.2.1/s", "password=hunter2"), Path::new("/t"), &mut no_dns).expect("plan");
        assert_eq!(
            redact("mount failed: password=hunter2,x", p.secret.as_deref()),
            "mount failed: password=********,x"
        );
    }
}
