//! From a plain [`ContainerSpec`] to the OCI `config.json` runc runs, with Docker's defaults.
//!
//! Users of the docker CLI expect a container to look the same on strata as on Docker: the same
//! mounts under `/dev` and `/sys`, the same 14 capabilities, the same masked and read-only
//! `/proc` paths, the same device rules, the same environment defaults. Those defaults live
//! here, in one place, with the reasons; the container service only says what differs per
//! container.
//!
//! Deliberate differences from Docker, said plainly:
//!
//! - **No seccomp profile and no AppArmor/SELinux label.** Docker's default seccomp profile is a
//!   large policy to carry and keep current; strata runs containers with capabilities, masked
//!   paths and namespaces only, for now.
//! - **rlimits never exceed the daemon's own hard limits.** runc applies `process.rlimits` with
//!   `setrlimit`, and raising a hard limit above the daemon's fails container start on hosts with
//!   low limits (Podman's `RLIMIT_NOFILE` of 1048576 does on our machines). The daemon's
//!   `RLIMIT_NOFILE` is copied into every spec and requested ulimits are clamped, with a
//!   warning.
//! - **`/dev/shm` is a tmpfs of the container's own** (no `--ipc=shareable` sharing yet).
//! - **Networking is `host` or `none`** (DESIGN.md): no bridge, no port publishing.
//! - `--privileged` gives every capability, a writable `/sys` and cgroup mount, no masked
//!   paths and access to every device node, but does not copy the host's device nodes in.
//!
//! The JSON is written canonically (object keys sorted, capability lists sorted), so a
//! bundle's `config.json` is reproducible and can be compared in tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use oci_spec::runtime::{
    Capability, LinuxCapabilities, LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespace, LinuxNamespaceType,
    LinuxResources, Mount, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, Root, Spec, User,
};

use crate::console::WinSize;
use crate::user::UserIds;

/// `PATH` when the image sets none (Docker's).
pub const DEFAULT_PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// `TERM` of a TTY process when none is set.
const DEFAULT_TERM_ENV: &str = "TERM=xterm";
/// Size of `/dev/shm` when not configured (Docker's 64 MB).
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;
/// The cgroup every container's cgroup is created under (cgroupfs driver: `/strata/<id>`).
pub const DEFAULT_CGROUP_PARENT: &str = "strata";
/// The OCI runtime spec version written.
const OCI_VERSION: &str = "1.0.2-dev";
/// Size of the `/dev` tmpfs (it only holds device nodes).
const DEV_TMPFS_OPTIONS: &[&str] = &["nosuid", "strictatime", "mode=755", "size=65536k"];
/// Kernel magic of a cgroup v2 filesystem (`statfs(2)`).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Docker's default capabilities.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability of Linux 5.9+, in kernel order (`--privileged`, `--cap-add ALL`).
const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Paths hidden from non-privileged containers (kernel information that leaks the host or
/// helps attacks), as Docker masks them.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths non-privileged containers may read but not write, as Docker sets them.
pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Where the files the container service provides are bind-mounted.
const ETC_HOSTS: &str = "/etc/hosts";
const ETC_HOSTNAME: &str = "/etc/hostname";
const ETC_RESOLV_CONF: &str = "/etc/resolv.conf";

/// Why a spec could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command specified")]
    NoCommand,
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    RelativeWorkingDir(String),
    #[error("the rootfs path {0} must be absolute")]
    RelativeRootfs(PathBuf),
    #[error("invalid mount destination {0:?}: mount path must be absolute")]
    RelativeMount(String),
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    #[error("invalid ulimit {name}: {why}")]
    BadUlimit { name: String, why: &'static str },
    #[error("network mode {0:?} is not supported by strata yet: use \"host\" (the default) or \"none\"")]
    UnsupportedNetworkMode(String),
    #[error("invalid environment variable {0:?}")]
    BadEnv(String),
    #[error("cannot encode the OCI spec: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("invalid OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// One mount of the container, in OCI terms (what the mount plan produces).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OciMount {
    /// Absolute path inside the container.
    pub destination: String,
    /// `bind`, `tmpfs`, …
    pub typ: String,
    /// Host path for binds, the filesystem's source name otherwise.
    pub source: String,
    /// `rbind`, `ro`, `nosuid`, `size=…`, …
    pub options: Vec<String>,
}

impl OciMount {
    fn to_oci(&self) -> Mount {
        let mut m = Mount::default();
        m.set_destination(PathBuf::from(&self.destination));
        m.set_typ(Some(self.typ.clone()));
        m.set_source(Some(PathBuf::from(&self.source)));
        m.set_options((!self.options.is_empty()).then(|| self.options.clone()));
        m
    }
}

/// How the container is networked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// The host's network namespace (Docker's `host`; strata's `default`).
    #[default]
    Host,
    /// A private network namespace with only loopback.
    None,
}

impl NetworkMode {
    /// `HostConfig.NetworkMode`: `default`/`host`/`""` → host, `none` → none; anything else is
    /// refused with a message saying what strata supports.
    pub fn parse(mode: &str) -> Result<NetworkMode, SpecError> {
        match mode {
            "" | "default" | "host" => Ok(NetworkMode::Host),
            "none" => Ok(NetworkMode::None),
            other => Err(SpecError::UnsupportedNetworkMode(other.to_owned())),
        }
    }
}

/// Host files bind-mounted over the container's `/etc/hosts`, `/etc/hostname` and
/// `/etc/resolv.conf` (the container service writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcFiles {
    pub hosts: Option<PathBuf>,
    pub hostname: Option<PathBuf>,
    pub resolv_conf: Option<PathBuf>,
}

/// A `--ulimit name=soft:hard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// `nofile`, `nproc`, `core`, … (Docker's names).
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// One resource limit of the daemon; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// What the spec builder needs to know about the host and the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostLimits {
    /// The daemon's rlimits by Docker name (`nofile`, …).
    pub rlimits: BTreeMap<String, Limit>,
    /// The host mounts the unified cgroup v2 hierarchy at `/sys/fs/cgroup` (then containers get a
    /// private cgroup namespace, as Docker does on v2).
    pub cgroup_v2: bool,
}

/// Docker's ulimit names, their OCI type and the daemon's resource.
const RLIMITS: [(&str, PosixRlimitType, rustix::process::Resource); 16] = {
    use PosixRlimitType as T;
    use rustix::process::Resource as R;
    [
        ("core", T::RlimitCore, R::Core),
        ("cpu", T::RlimitCpu, R::Cpu),
        ("data", T::RlimitData, R::Data),
        ("fsize", T::RlimitFsize, R::Fsize),
        ("locks", T::RlimitLocks, R::Locks),
        ("memlock", T::RlimitMemlock, R::Memlock),
        ("msgqueue", T::RlimitMsgqueue, R::Msgqueue),
        ("nice", T::RlimitNice, R::Nice),
        ("nofile", T::RlimitNofile, R::Nofile),
        ("nproc", T::RlimitNproc, R::Nproc),
        ("rss", T::RlimitRss, R::Rss),
        ("rtprio", T::RlimitRtprio, R::Rtprio),
        ("rttime", T::RlimitRttime, R::Rttime),
        ("sigpending", T::RlimitSigpending, R::Sigpending),
        ("stack", T::RlimitStack, R::Stack),
        ("as", T::RlimitAs, R::As),
    ]
};

impl HostLimits {
    /// Reads this process's rlimits and the cgroup layout.
    pub fn probe() -> HostLimits {
        let rlimits = RLIMITS
            .iter()
            .map(|(name, _, res)| {
                let l = rustix::process::getrlimit(*res);
                (name.to_string(), Limit { soft: l.current, hard: l.maximum })
            })
            .collect();
        let cgroup_v2 = rustix::fs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.f_type == CGROUP2_SUPER_MAGIC);
        HostLimits { rlimits, cgroup_v2 }
    }
}

/// Everything that makes one container's OCI spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The mounted root filesystem (absolute).
    pub rootfs: PathBuf,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// Entrypoint + command, resolved.
    pub args: Vec<String>,
    /// The container's environment (`Config.Env`: image env with `-e` applied).
    pub env: Vec<String>,
    /// Variables the daemon adds on top (they win).
    pub extra_env: Vec<String>,
    /// Working directory; empty for `/`.
    pub cwd: String,
    /// Resolved `--user` (see [`crate::user::resolve_user`]).
    pub user: UserIds,
    pub hostname: String,
    pub tty: bool,
    pub console_size: Option<WinSize>,
    /// Volumes, binds and tmpfs from the mount plan.
    pub mounts: Vec<OciMount>,
    pub network: NetworkMode,
    pub etc_files: EtcFiles,
    /// `Config.Labels`, written as OCI annotations.
    pub labels: BTreeMap<String, String>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `/dev/shm` size in bytes; `None` for [`DEFAULT_SHM_SIZE`].
    pub shm_size: Option<u64>,
    pub ulimits: Vec<Ulimit>,
    /// Parent cgroup; `None` for [`DEFAULT_CGROUP_PARENT`].
    pub cgroup_parent: Option<String>,
}

/// A built spec and what the client should be warned about (Docker prints `WARNING: …`).
#[derive(Debug, Clone)]
pub struct BuiltSpec {
    pub spec: Spec,
    pub warnings: Vec<String>,
}

/// Docker's environment of a container: `PATH`, `HOSTNAME` (and `TERM` for a TTY), each
/// overridden by `layers` in order (`KEY=value` replaces or appends, a bare `KEY` removes).
pub fn docker_env(hostname: &str, tty: bool, layers: &[&[String]]) -> Result<Vec<String>, SpecError> {
    let mut env = vec![DEFAULT_PATH_ENV.to_owned(), format!("HOSTNAME={hostname}")];
    if tty {
        env.push(DEFAULT_TERM_ENV.to_owned());
    }
    for layer in layers {
        merge_env(&mut env, layer)?;
    }
    Ok(env)
}

/// Applies `overrides` to `env`: `KEY=value` replaces `KEY` or appends, `KEY` alone removes it.
pub fn merge_env(env: &mut Vec<String>, overrides: &[String]) -> Result<(), SpecError> {
    for o in overrides {
        if o.is_empty() || o.starts_with('=') || o.contains('\0') {
            return Err(SpecError::BadEnv(o.clone()));
        }
        let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
        let pos = env.iter().position(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key);
        match (pos, o.contains('=')) {
            (Some(i), true) => env[i] = o.clone(),
            (None, true) => env.push(o.clone()),
            (Some(i), false) => {
                env.remove(i);
            }
            (None, false) => {}
        }
    }
    Ok(())
}

/// The capability set for `--privileged`, `--cap-add` and `--cap-drop`, as Docker computes it:
/// defaults (or all with `ALL` added, or none with `ALL` dropped), minus drops, plus adds.
/// Names may have the `CAP_` prefix or not, in any case.
pub fn resolve_capabilities(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect());
    }
    let normalise = |c: &String| -> Result<String, SpecError> {
        let up = c.trim().to_ascii_uppercase();
        if up == "ALL" {
            return Ok(up);
        }
        let full = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
        if ALL_CAPABILITIES.contains(&full.as_str()) { Ok(full) } else { Err(SpecError::UnknownCapability(c.clone())) }
    };
    let add: Vec<String> = add.iter().map(normalise).collect::<Result<_, _>>()?;
    let drop: Vec<String> = drop.iter().map(normalise).collect::<Result<_, _>>()?;
    let has_all = |v: &[String]| v.iter().any(|c| c == "ALL");
    let mut caps: Vec<String> = if has_all(&drop) {
        Vec::new()
    } else if has_all(&add) {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    };
    caps.retain(|c| !drop.contains(c));
    for c in add.into_iter().filter(|c| c != "ALL") {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    Ok(caps)
}

fn oci_capabilities(names: &[String]) -> Result<LinuxCapabilities, SpecError> {
    let set = names
        .iter()
        .map(|n| {
            let bare = n.strip_prefix("CAP_").unwrap_or(n);
            Capability::from_str(bare).map_err(|_| SpecError::UnknownCapability(n.clone()))
        })
        .collect::<Result<oci_spec::runtime::Capabilities, _>>()?;
    let mut caps = LinuxCapabilities::default();
    // Docker sets no inheritable or ambient capabilities: a non-root user gets none.
    caps.set_bounding(Some(set.clone()));
    caps.set_effective(Some(set.clone()));
    caps.set_permitted(Some(set));
    caps.set_inheritable(None);
    caps.set_ambient(None);
    Ok(caps)
}

/// The container's rlimits: the daemon's `RLIMIT_NOFILE`, then the requested ulimits, each
/// clamped to the daemon's hard limit.
fn rlimits(ulimits: &[Ulimit], host: &HostLimits, warnings: &mut Vec<String>) -> Result<Vec<PosixRlimit>, SpecError> {
    let finite = |v: Option<u64>| v.unwrap_or(u64::MAX);
    let mut out: BTreeMap<&str, (PosixRlimitType, u64, u64)> = BTreeMap::new();
    if let Some(l) = host.rlimits.get("nofile") {
        out.insert("nofile", (PosixRlimitType::RlimitNofile, finite(l.soft), finite(l.hard)));
    }
    for u in ulimits {
        let Some((name, typ, _)) = RLIMITS.iter().find(|(n, _, _)| *n == u.name) else {
            return Err(SpecError::BadUlimit { name: u.name.clone(), why: "unknown resource" });
        };
        if u.soft > u.hard {
            return Err(SpecError::BadUlimit { name: u.name.clone(), why: "soft limit is above the hard limit" });
        }
        let (mut soft, mut hard) = (u.soft, u.hard);
        if let Some(max) = host.rlimits.get(*name).and_then(|l| l.hard)
            && hard > max
        {
            warnings.push(format!("ulimit {name} hard limit {hard} lowered to the daemon's hard limit {max}"));
            hard = max;
            soft = soft.min(max);
        }
        out.insert(name, (*typ, soft, hard));
    }
    out.into_values()
        .map(|(typ, soft, hard)| Ok(PosixRlimitBuilder::default().typ(typ).soft(soft).hard(hard).build()?))
        .collect()
}

fn default_mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> OciMount {
    OciMount {
        destination: destination.to_owned(),
        typ: typ.to_owned(),
        source: source.to_owned(),
        options: options.iter().map(|s| s.to_string()).collect(),
    }
}

/// The default mounts (Docker's), without those the container's own mounts replace.
fn default_mounts(c: &ContainerSpec, user_destinations: &[&str]) -> Vec<OciMount> {
    let sys_mode = if c.privileged { "rw" } else { "ro" };
    let shm_size = format!("size={}k", c.shm_size.unwrap_or(DEFAULT_SHM_SIZE) / 1024);
    let defaults = vec![
        default_mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        default_mount("/dev", "tmpfs", "tmpfs", DEV_TMPFS_OPTIONS),
        default_mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        default_mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", sys_mode]),
        default_mount("/sys/fs/cgroup", "cgroup", "cgroup", &[sys_mode, "nosuid", "noexec", "nodev"]),
        default_mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        default_mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", &shm_size]),
    ];
    // A mount of the container's own at /dev replaces everything Docker would put under it.
    let own_dev = user_destinations.contains(&"/dev");
    defaults
        .into_iter()
        .filter(|m| !user_destinations.contains(&m.destination.as_str()))
        .filter(|m| !(own_dev && m.destination.starts_with("/dev/")))
        .collect()
}

fn path_depth(p: &str) -> usize {
    p.split('/').filter(|s| !s.is_empty()).count()
}

/// The device cgroup rules: deny everything, then allow what Docker allows (the standard
/// character devices, pseudo-terminals, `/dev/net/tun`, and `mknod` of any device).
fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    let rule = |allow: bool, typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(allow);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_owned()));
        r
    };
    use LinuxDeviceType::{A, B, C};
    if privileged {
        return vec![rule(true, A, None, None, "rwm")];
    }
    const RWM: &str = "rwm";
    vec![
        rule(false, A, None, None, RWM),
        rule(true, C, None, None, "m"),
        rule(true, B, None, None, "m"),
        rule(true, C, Some(1), Some(3), RWM),    // null
        rule(true, C, Some(1), Some(5), RWM),    // zero
        rule(true, C, Some(1), Some(7), RWM),    // full
        rule(true, C, Some(1), Some(8), RWM),    // random
        rule(true, C, Some(1), Some(9), RWM),    // urandom
        rule(true, C, Some(5), Some(0), RWM),    // tty
        rule(true, C, Some(5), Some(1), RWM),    // console
        rule(true, C, Some(5), Some(2), RWM),    // ptmx
        rule(true, C, Some(136), None, RWM),     // pts/*
        rule(true, C, Some(10), Some(200), RWM), // net/tun
    ]
}

fn namespaces(c: &ContainerSpec, host: &HostLimits) -> Vec<LinuxNamespace> {
    use LinuxNamespaceType as N;
    let mut kinds = vec![N::Mount];
    if c.network == NetworkMode::None {
        kinds.push(N::Network);
    }
    kinds.extend([N::Uts, N::Pid, N::Ipc]);
    if host.cgroup_v2 {
        kinds.push(N::Cgroup);
    }
    kinds
        .into_iter()
        .map(|k| {
            let mut ns = LinuxNamespace::default();
            ns.set_typ(k);
            ns
        })
        .collect()
}

/// The `process` of a spec, shared by containers and execs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: UserIds,
    pub tty: bool,
    pub console_size: Option<WinSize>,
    /// `CAP_*` names.
    pub capabilities: Vec<String>,
    pub rlimits: Vec<PosixRlimit>,
}

/// The OCI `consoleSize` of a terminal size.
pub(crate) fn console_box(size: WinSize) -> Result<oci_spec::runtime::Box, SpecError> {
    Ok(oci_spec::runtime::BoxBuilder::default().height(u64::from(size.rows)).width(u64::from(size.cols)).build()?)
}

fn build_process(p: &ProcessSpec) -> Result<Process, SpecError> {
    if p.args.is_empty() || p.args[0].is_empty() {
        return Err(SpecError::NoCommand);
    }
    let cwd = if p.cwd.is_empty() { "/" } else { p.cwd.as_str() };
    if !cwd.starts_with('/') {
        return Err(SpecError::RelativeWorkingDir(p.cwd.clone()));
    }
    let mut user = User::default();
    user.set_uid(p.user.uid);
    user.set_gid(p.user.gid);
    user.set_additional_gids((!p.user.additional_gids.is_empty()).then(|| p.user.additional_gids.clone()));
    let mut process = Process::default();
    process.set_terminal(Some(p.tty));
    process.set_console_size(p.console_size.filter(|_| p.tty).map(console_box).transpose()?);
    process.set_user(user);
    process.set_args(Some(p.args.clone()));
    process.set_env(Some(p.env.clone()));
    process.set_cwd(PathBuf::from(cwd));
    process.set_capabilities(Some(oci_capabilities(&p.capabilities)?));
    process.set_rlimits((!p.rlimits.is_empty()).then(|| p.rlimits.clone()));
    // Docker's default: setuid binaries in the image work.
    process.set_no_new_privileges(None);
    process.set_oom_score_adj(None);
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);
    Ok(process)
}

/// Builds the OCI spec of container `id`.
pub fn build_spec(id: &str, c: &ContainerSpec, host: &HostLimits) -> Result<BuiltSpec, SpecError> {
    if !c.rootfs.is_absolute() {
        return Err(SpecError::RelativeRootfs(c.rootfs.clone()));
    }
    let mut warnings = Vec::new();
    let env = docker_env(&c.hostname, c.tty, &[&c.env, &c.extra_env])?;
    let process = build_process(&ProcessSpec {
        args: c.args.clone(),
        env,
        cwd: c.cwd.clone(),
        user: c.user.clone(),
        tty: c.tty,
        console_size: c.console_size,
        capabilities: resolve_capabilities(c.privileged, &c.cap_add, &c.cap_drop)?,
        rlimits: rlimits(&c.ulimits, host, &mut warnings)?,
    })?;

    // The container's own mounts and the /etc files, parents before children (stable, so
    // the mount plan's order is kept among equals).
    let etc_mode: &[&str] = if c.readonly_rootfs { &["rbind", "rprivate", "ro"] } else { &["rbind", "rprivate"] };
    let mut own: Vec<OciMount> = c.mounts.clone();
    for m in &own {
        if !m.destination.starts_with('/') {
            return Err(SpecError::RelativeMount(m.destination.clone()));
        }
    }
    for (dest, file) in [
        (ETC_RESOLV_CONF, &c.etc_files.resolv_conf),
        (ETC_HOSTNAME, &c.etc_files.hostname),
        (ETC_HOSTS, &c.etc_files.hosts),
    ] {
        if let Some(file) = file
            && !own.iter().any(|m| m.destination == dest)
        {
            own.push(default_mount(dest, "bind", &file.to_string_lossy(), etc_mode));
        }
    }
    own.sort_by_key(|m| path_depth(&m.destination));
    let destinations: Vec<&str> = own.iter().map(|m| m.destination.as_str()).collect();
    let mut mounts = default_mounts(c, &destinations);
    mounts.extend(own.iter().cloned());

    let mut root = Root::default();
    root.set_path(c.rootfs.clone());
    root.set_readonly(Some(c.readonly_rootfs));

    let mut resources = LinuxResources::default();
    resources.set_devices(Some(device_rules(c.privileged)));

    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_namespaces(Some(namespaces(c, host)));
    linux.set_resources(Some(resources));
    let parent = c.cgroup_parent.as_deref().unwrap_or(DEFAULT_CGROUP_PARENT).trim_matches('/');
    linux.set_cgroups_path(Some(PathBuf::from(format!("/{parent}/{id}"))));
    linux.set_devices(None);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(None);
    linux.set_seccomp(None);
    if c.privileged {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else {
        linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|s| s.to_string()).collect()));
        linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|s| s.to_string()).collect()));
    }
    // Shared or slave bind propagation only works when the rootfs propagates too.
    let has_option = |opts: &[&str]| own.iter().any(|m| m.options.iter().any(|o| opts.contains(&o.as_str())));
    if has_option(&["shared", "rshared"]) {
        linux.set_rootfs_propagation(Some("rshared".to_owned()));
    } else if has_option(&["slave", "rslave"]) {
        linux.set_rootfs_propagation(Some("rslave".to_owned()));
    }

    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.to_owned());
    spec.set_root(Some(root));
    spec.set_process(Some(process));
    spec.set_hostname((!c.hostname.is_empty()).then(|| c.hostname.clone()));
    spec.set_mounts(Some(mounts.iter().map(OciMount::to_oci).collect()));
    spec.set_annotations((!c.labels.is_empty()).then(|| c.labels.clone().into_iter().collect()));
    spec.set_linux(Some(linux));
    spec.set_hooks(None);
    Ok(BuiltSpec { spec, warnings })
}

/// What `docker exec` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecSpec {
    pub args: Vec<String>,
    /// `-e`: applied over the container's environment.
    pub env: Vec<String>,
    /// `-w`; `None` for the container's.
    pub cwd: Option<String>,
    /// `-u`, resolved; `None` for the container's user.
    pub user: Option<UserIds>,
    pub tty: bool,
    pub console_size: Option<WinSize>,
    /// `--privileged`: every capability.
    pub privileged: bool,
}

/// The `process.json` of an exec in a container whose spec is `container` (read back from its
/// bundle, so the exec runs exactly with the container's environment, user, capabilities and
/// limits unless told otherwise).
pub fn build_exec_process(container: &Spec, exec: &ExecSpec) -> Result<Process, SpecError> {
    let base = container.process().clone().unwrap_or_default();
    let mut env = base.env().clone().unwrap_or_default();
    merge_env(&mut env, &exec.env)?;
    if exec.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push(DEFAULT_TERM_ENV.to_owned());
    }
    let user = exec.user.clone().unwrap_or_else(|| UserIds {
        uid: base.user().uid(),
        gid: base.user().gid(),
        additional_gids: base.user().additional_gids().clone().unwrap_or_default(),
    });
    let capabilities = if exec.privileged {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else {
        let mut names: Vec<String> = base
            .capabilities()
            .as_ref()
            .and_then(|c| c.bounding().clone())
            .unwrap_or_default()
            .iter()
            .map(|c| format!("CAP_{c}"))
            .collect();
        names.sort();
        names
    };
    build_process(&ProcessSpec {
        args: exec.args.clone(),
        env,
        cwd: exec.cwd.clone().unwrap_or_else(|| base.cwd().to_string_lossy().into_owned()),
        user,
        tty: exec.tty,
        console_size: exec.console_size,
        capabilities,
        rlimits: base.rlimits().clone().unwrap_or_default(),
    })
}

/// The spec as canonical JSON: keys sorted, capability sets sorted (they are hash sets in
/// memory), pretty-printed for operators reading bundles.
pub fn to_json<T: serde::Serialize>(spec: &T) -> Result<Vec<u8>, SpecError> {
    let mut value = serde_json::to_value(spec)?;
    sort_capabilities(&mut value);
    sort_keys(&mut value);
    Ok(serde_json::to_vec_pretty(&value)?)
}

/// Sorts every object's keys: the spec holds hash maps (annotations, sysctls), and the workspace's
/// JSON maps keep insertion order, so without this two builds of one spec could differ.
fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort_keys(&mut v);
                map.insert(k, v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn sort_capabilities(value: &mut serde_json::Value) {
    let caps = if value.get("capabilities").is_some() {
        value.get_mut("capabilities")
    } else {
        value.get_mut("process").and_then(|p| p.get_mut("capabilities"))
    };
    if let Some(serde_json::Value::Object(sets)) = caps {
        for set in sets.values_mut() {
            if let serde_json::Value::Array(items) = set {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn host() -> HostLimits {
        let mut rlimits = BTreeMap::new();
        rlimits.insert("nofile".to_owned(), Limit { soft: Some(1024), hard: Some(20000) });
        rlimits.insert("nproc".to_owned(), Limit { soft: Some(1000), hard: None });
        HostLimits { rlimits, cgroup_v2: false }
    }

    fn busybox() -> ContainerSpec {
        ContainerSpec {
            rootfs: PathBuf::from("/var/lib/strata/overlay2/abc/merged"),
            args: vec!["sh".into(), "-c".into(), "echo hi".into()],
            hostname: "0123456789ab".into(),
            ..ContainerSpec::default()
        }
    }

    fn json_of(c: &ContainerSpec) -> Value {
        let built = build_spec("cid", c, &host()).expect("build");
        serde_json::from_slice(&to_json(&built.spec).expect("json")).expect("parse")
    }

    #[test]
    fn a_typical_container_gets_docker_s_defaults() {
        let v = json_of(&busybox());
        let sorted_default_caps = {
            let mut c: Vec<&str> = DEFAULT_CAPABILITIES.to_vec();
            c.sort();
            c
        };
        assert_eq!(
            v["process"],
            json!({
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": ["sh", "-c", "echo hi"],
                "env": [DEFAULT_PATH_ENV, "HOSTNAME=0123456789ab"],
                "cwd": "/",
                "capabilities": {
                    "bounding": sorted_default_caps,
                    "effective": sorted_default_caps,
                    "permitted": sorted_default_caps,
                },
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 20000}],
            })
        );
        assert_eq!(v["ociVersion"], "1.0.2-dev");
        assert_eq!(v["root"], json!({"path": "/var/lib/strata/overlay2/abc/merged", "readonly": false}));
        assert_eq!(v["hostname"], "0123456789ab");
        assert_eq!(
            v["mounts"],
            json!([
                {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]},
                {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            ])
        );
        let linux = &v["linux"];
        assert_eq!(linux["cgroupsPath"], "/strata/cid");
        assert_eq!(linux["namespaces"], json!([{"type": "mount"}, {"type": "uts"}, {"type": "pid"}, {"type": "ipc"}]));
        assert_eq!(linux["maskedPaths"], json!(MASKED_PATHS));
        assert_eq!(linux["readonlyPaths"], json!(READONLY_PATHS));
        let rules = linux["resources"]["devices"].as_array().expect("device rules");
        assert_eq!(rules[0], json!({"allow": false, "type": "a", "access": "rwm"}));
        assert!(rules.contains(&json!({"allow": true, "type": "c", "major": 136, "access": "rwm"})));
        assert!(rules.contains(&json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"})));
        for absent in ["seccomp", "devices", "sysctl", "uidMappings", "rootfsPropagation"] {
            assert!(linux.get(absent).is_none(), "linux.{absent} should not be set");
        }
        for absent in ["annotations", "hooks", "domainname"] {
            assert!(v.get(absent).is_none(), "{absent} should not be set");
        }
    }

    #[test]
    fn the_json_is_byte_for_byte_reproducible() {
        let c = ContainerSpec { labels: [("a".into(), "1".into()), ("b".into(), "2".into())].into(), ..busybox() };
        let a = to_json(&build_spec("cid", &c, &host()).expect("build").spec).expect("json");
        let b = to_json(&build_spec("cid", &c, &host()).expect("build").spec).expect("json");
        assert_eq!(a, b);
        let v: Value = serde_json::from_slice(&a).expect("parse");
        assert_eq!(v["annotations"], json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn tty_user_env_cwd_and_read_only() {
        let c = ContainerSpec {
            tty: true,
            console_size: Some(WinSize { rows: 40, cols: 100 }),
            env: vec!["PATH=/bin".into(), "A=1".into(), "HOSTNAME".into()],
            extra_env: vec!["A=2".into()],
            cwd: "/work".into(),
            user: UserIds { uid: 1000, gid: 100, additional_gids: vec![10, 20] },
            readonly_rootfs: true,
            ..busybox()
        };
        let v = json_of(&c);
        let p = &v["process"];
        assert_eq!(p["terminal"], true);
        assert_eq!(p["consoleSize"], json!({"height": 40, "width": 100}));
        assert_eq!(p["env"], json!(["PATH=/bin", "TERM=xterm", "A=2"]));
        assert_eq!(p["cwd"], "/work");
        assert_eq!(p["user"], json!({"uid": 1000, "gid": 100, "additionalGids": [10, 20]}));
        assert_eq!(v["root"]["readonly"], true);
    }

    #[test]
    fn network_none_gets_its_own_namespace_and_host_shares() {
        let none = json_of(&ContainerSpec { network: NetworkMode::None, ..busybox() });
        assert!(none["linux"]["namespaces"].as_array().expect("ns").contains(&json!({"type": "network"})));
        let host_net = json_of(&busybox());
        assert!(!host_net["linux"]["namespaces"].as_array().expect("ns").contains(&json!({"type": "network"})));
        assert_eq!(NetworkMode::parse("default").expect("default"), NetworkMode::Host);
        assert_eq!(NetworkMode::parse("none").expect("none"), NetworkMode::None);
        assert_eq!(
            NetworkMode::parse("bridge").expect_err("bridge").to_string(),
            "network mode \"bridge\" is not supported by strata yet: use \"host\" (the default) or \"none\""
        );
    }

    #[test]
    fn cgroup_v2_hosts_get_a_cgroup_namespace() {
        let mut h = host();
        h.cgroup_v2 = true;
        let built = build_spec("cid", &busybox(), &h).expect("build");
        let v: Value = serde_json::from_slice(&to_json(&built.spec).expect("json")).expect("parse");
        assert!(v["linux"]["namespaces"].as_array().expect("ns").contains(&json!({"type": "cgroup"})));
    }

    #[test]
    fn own_mounts_are_sorted_and_replace_defaults() {
        let c = ContainerSpec {
            mounts: vec![
                OciMount {
                    destination: "/data/sub".into(),
                    typ: "bind".into(),
                    source: "/h/sub".into(),
                    options: vec!["rbind".into()],
                },
                OciMount {
                    destination: "/data".into(),
                    typ: "bind".into(),
                    source: "/h/data".into(),
                    options: vec!["rbind".into(), "ro".into()],
                },
                OciMount {
                    destination: "/dev/shm".into(),
                    typ: "tmpfs".into(),
                    source: "tmpfs".into(),
                    options: vec!["size=1m".into()],
                },
            ],
            etc_files: EtcFiles {
                hosts: Some("/var/lib/strata/containers/cid/hosts".into()),
                hostname: Some("/var/lib/strata/containers/cid/hostname".into()),
                resolv_conf: Some("/var/lib/strata/containers/cid/resolv.conf".into()),
            },
            readonly_rootfs: true,
            ..busybox()
        };
        let v = json_of(&c);
        let dests: Vec<&str> =
            v["mounts"].as_array().expect("mounts").iter().map(|m| m["destination"].as_str().expect("d")).collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/data",
                "/data/sub",
                "/dev/shm",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts",
            ]
        );
        let hosts =
            v["mounts"].as_array().expect("mounts").iter().find(|m| m["destination"] == "/etc/hosts").expect("hosts");
        assert_eq!(
            hosts["options"],
            json!(["rbind", "rprivate", "ro"]),
            "read-only rootfs makes the etc files read-only"
        );
        assert_eq!(hosts["source"], "/var/lib/strata/containers/cid/hosts");

        let own_dev = ContainerSpec {
            mounts: vec![OciMount {
                destination: "/dev".into(),
                typ: "bind".into(),
                source: "/dev".into(),
                options: vec!["rbind".into()],
            }],
            ..busybox()
        };
        let v = json_of(&own_dev);
        let dests: Vec<&str> =
            v["mounts"].as_array().expect("mounts").iter().map(|m| m["destination"].as_str().expect("d")).collect();
        assert_eq!(dests, ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]);
    }

    #[test]
    fn shm_size_and_propagation() {
        let c = ContainerSpec {
            shm_size: Some(128 * 1024 * 1024),
            mounts: vec![OciMount {
                destination: "/m".into(),
                typ: "bind".into(),
                source: "/m".into(),
                options: vec!["rbind".into(), "rshared".into()],
            }],
            ..busybox()
        };
        let v = json_of(&c);
        let shm = v["mounts"].as_array().expect("mounts").iter().find(|m| m["destination"] == "/dev/shm").expect("shm");
        assert!(shm["options"].as_array().expect("opts").contains(&json!("size=131072k")));
        assert_eq!(v["linux"]["rootfsPropagation"], "rshared");
    }

    #[test]
    fn privileged_opens_everything() {
        let v = json_of(&ContainerSpec { privileged: true, ..busybox() });
        assert_eq!(v["process"]["capabilities"]["bounding"].as_array().expect("caps").len(), ALL_CAPABILITIES.len());
        assert!(v["linux"].get("maskedPaths").is_none());
        assert!(v["linux"].get("readonlyPaths").is_none());
        assert_eq!(v["linux"]["resources"]["devices"], json!([{"allow": true, "type": "a", "access": "rwm"}]));
        let sys = v["mounts"].as_array().expect("mounts").iter().find(|m| m["destination"] == "/sys").expect("sys");
        assert!(sys["options"].as_array().expect("opts").contains(&json!("rw")));
    }

    #[test]
    fn capabilities_follow_docker_s_add_and_drop() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let caps = resolve_capabilities(false, &s(&["net_admin", "CAP_SYS_TIME"]), &s(&["MKNOD"])).expect("caps");
        assert!(caps.contains(&"CAP_NET_ADMIN".to_owned()) && caps.contains(&"CAP_SYS_TIME".to_owned()));
        assert!(!caps.contains(&"CAP_MKNOD".to_owned()));
        assert_eq!(caps.len(), DEFAULT_CAPABILITIES.len() + 1);
        assert_eq!(resolve_capabilities(false, &s(&["CHOWN"]), &s(&["ALL"])).expect("caps"), s(&["CAP_CHOWN"]));
        let all_but = resolve_capabilities(false, &s(&["ALL"]), &s(&["SYS_ADMIN"])).expect("caps");
        assert_eq!(all_but.len(), ALL_CAPABILITIES.len() - 1);
        assert!(matches!(resolve_capabilities(false, &s(&["BOGUS"]), &[]), Err(SpecError::UnknownCapability(_))));
        // Every name we know is one oci-spec knows.
        let all: Vec<String> = ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect();
        oci_capabilities(&all).expect("all capabilities parse");
    }

    #[test]
    fn ulimits_are_clamped_to_the_daemon_s_hard_limits() {
        let c = ContainerSpec {
            ulimits: vec![
                Ulimit { name: "nofile".into(), soft: 1_048_576, hard: 1_048_576 },
                Ulimit { name: "nproc".into(), soft: 100, hard: 200 },
                Ulimit { name: "core".into(), soft: 0, hard: 0 },
            ],
            ..busybox()
        };
        let built = build_spec("cid", &c, &host()).expect("build");
        let v: Value = serde_json::from_slice(&to_json(&built.spec).expect("json")).expect("parse");
        assert_eq!(
            v["process"]["rlimits"],
            json!([
                {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                {"type": "RLIMIT_NOFILE", "soft": 20000, "hard": 20000},
                {"type": "RLIMIT_NPROC", "soft": 100, "hard": 200},
            ])
        );
        assert_eq!(built.warnings, ["ulimit nofile hard limit 1048576 lowered to the daemon's hard limit 20000"]);
        let bad = ContainerSpec { ulimits: vec![Ulimit { name: "bogus".into(), soft: 1, hard: 1 }], ..busybox() };
        assert!(matches!(build_spec("cid", &bad, &host()), Err(SpecError::BadUlimit { .. })));
        let inverted = ContainerSpec { ulimits: vec![Ulimit { name: "nofile".into(), soft: 2, hard: 1 }], ..busybox() };
        assert!(matches!(build_spec("cid", &inverted, &host()), Err(SpecError::BadUlimit { .. })));
    }

    #[test]
    fn invalid_specs_are_refused_with_docker_s_messages() {
        let cases: Vec<(ContainerSpec, &str)> = vec![
            (ContainerSpec { args: vec![], ..busybox() }, "no command specified"),
            (
                ContainerSpec { cwd: "rel".into(), ..busybox() },
                "the working directory 'rel' is invalid, it needs to be an absolute path",
            ),
            (ContainerSpec { rootfs: "rootfs".into(), ..busybox() }, "the rootfs path rootfs must be absolute"),
            (ContainerSpec { env: vec!["=x".into()], ..busybox() }, "invalid environment variable \"=x\""),
        ];
        for (c, msg) in cases {
            assert_eq!(build_spec("cid", &c, &host()).expect_err(msg).to_string(), msg);
        }
    }

    #[test]
    fn env_merging_replaces_appends_and_removes() {
        let mut env = vec!["A=1".to_owned(), "B=2".to_owned()];
        merge_env(&mut env, &["B=3".into(), "C=4".into(), "A".into(), "Z".into()]).expect("merge");
        assert_eq!(env, ["B=3", "C=4"]);
    }

    #[test]
    fn an_exec_inherits_the_container_s_process() {
        let c = ContainerSpec {
            env: vec!["A=1".into()],
            cwd: "/srv".into(),
            user: UserIds { uid: 7, gid: 8, additional_gids: vec![9] },
            cap_drop: vec!["ALL".into()],
            cap_add: vec!["KILL".into()],
            ..busybox()
        };
        let container = build_spec("cid", &c, &host()).expect("build").spec;
        let exec = ExecSpec { args: vec!["ls".into()], env: vec!["B=2".into()], tty: true, ..ExecSpec::default() };
        let p: Value =
            serde_json::from_slice(&to_json(&build_exec_process(&container, &exec).expect("exec")).expect("json"))
                .expect("parse");
        assert_eq!(p["args"], json!(["ls"]));
        assert_eq!(p["env"], json!([DEFAULT_PATH_ENV, "HOSTNAME=0123456789ab", "A=1", "B=2", "TERM=xterm"]));
        assert_eq!(p["cwd"], "/srv");
        assert_eq!(p["user"], json!({"uid": 7, "gid": 8, "additionalGids": [9]}));
        assert_eq!(p["capabilities"]["effective"], json!(["CAP_KILL"]));
        assert_eq!(p["terminal"], true);
        assert_eq!(p["rlimits"], json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 20000}]));

        let root = ExecSpec {
            args: vec!["id".into()],
            cwd: Some("/".into()),
            user: Some(UserIds::default()),
            privileged: true,
            ..ExecSpec::default()
        };
        let p: Value =
            serde_json::from_slice(&to_json(&build_exec_process(&container, &root).expect("exec")).expect("json"))
                .expect("parse");
        assert_eq!(p["user"], json!({"uid": 0, "gid": 0}));
        assert_eq!(p["capabilities"]["bounding"].as_array().expect("caps").len(), ALL_CAPABILITIES.len());
        assert!(matches!(build_exec_process(&container, &ExecSpec::default()), Err(SpecError::NoCommand)));
    }
}
