//! The flags of `create` and `run`, and the `POST /containers/create` body they become.
//!
//! The body is what the docker CLI sends for the same flags, field for field (captured with
//! `docker-wire` against Docker 20.10 and docker CLI 28): daemons, proxies and the merge tests
//! compare them, and a daemon written against Docker's behaviour sees nothing new. The typed
//! structs below keep docker's field order; the many resource fields strata does not use are
//! sent with the zero values docker sends.
//!
//! Parsing is separate from I/O: [`ContainerOptions::to_request`] takes the flags, the current
//! directory, the environment and the terminal size, so the mapping is unit-tested without a
//! daemon.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};
use strata_mount::gocompat::{parse_bool, ram_in_bytes};

/// The API version from which the daemon takes `HostConfig.ConsoleSize`; older clients send 0×0.
const CONSOLE_SIZE_API: &str = "1.42";

/// The flags `create` and `run` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ContainerOptions {
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string")]
    pub hostname: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Logging driver for the container
    #[arg(long = "log-driver", value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "string")]
    pub volume_driver: Option<String>,
    /// Storage driver options for the container
    #[arg(long = "storage-opt", value_name = "list")]
    pub storage_opt: Vec<String>,
    /// Connect a container to a network (default, host or none)
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// A flag value the docker CLI refuses before sending anything (exit status 125).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// `invalid argument "<value>" for "<flag>" flag: <why>`, followed by the usage.
    InvalidArgument { flag: &'static str, value: String, why: String },
    /// Any other message, printed as is.
    Other(String),
}

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionError::InvalidArgument { flag, value, why } => {
                write!(f, "invalid argument \"{value}\" for \"{flag}\" flag: {why}")
            }
            OptionError::Other(m) => f.write_str(m),
        }
    }
}

/// What the process around the flags contributes.
pub struct Environment<'a> {
    /// Relative `-v` sources are made absolute against this.
    pub cwd: &'a Path,
    /// `-e NAME` takes NAME's value from here when it is set.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// The local terminal's (rows, columns) when `-t` and stdout is a terminal.
    pub console: Option<(u16, u16)>,
    /// The negotiated API version.
    pub api_version: &'a str,
}

/// A create request: the query's `name` and the body.
#[derive(Debug)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub image: String,
    pub body: CreateBody,
}

impl CreateRequest {
    /// The path and query of the request.
    pub fn path(&self) -> String {
        match &self.name {
            Some(n) => format!("/containers/create?name={}", strata_client::encode(n)),
            None => "/containers/create".to_owned(),
        }
    }
}

/// `POST /containers/create`: the container config at the top level, then `HostConfig` and
/// `NetworkingConfig`, as the docker CLI sends it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateBody {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub image: String,
    pub volumes: BTreeMap<String, Value>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    pub host_config: HostConfig,
    pub networking_config: NetworkingConfig,
}

/// `HostConfig` with docker's field order and zero values.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    #[serde(rename = "ContainerIDFile")]
    pub container_id_file: String,
    pub log_config: LogConfig,
    pub network_mode: String,
    pub port_bindings: Value,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub volume_driver: String,
    pub volumes_from: Option<Vec<String>>,
    pub console_size: [u16; 2],
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub cgroupns_mode: String,
    pub dns: Vec<String>,
    pub dns_options: Vec<String>,
    pub dns_search: Vec<String>,
    pub extra_hosts: Option<Vec<String>>,
    pub group_add: Option<Vec<String>>,
    pub ipc_mode: String,
    pub cgroup: String,
    pub links: Option<Vec<String>>,
    pub oom_score_adj: i64,
    pub pid_mode: String,
    pub privileged: bool,
    pub publish_all_ports: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub userns_mode: String,
    pub shm_size: i64,
    pub isolation: String,
    pub cpu_shares: i64,
    pub memory: i64,
    pub nano_cpus: i64,
    pub cgroup_parent: String,
    pub blkio_weight: i64,
    pub blkio_weight_device: Vec<Value>,
    pub blkio_device_read_bps: Vec<Value>,
    pub blkio_device_write_bps: Vec<Value>,
    #[serde(rename = "BlkioDeviceReadIOps")]
    pub blkio_device_read_iops: Vec<Value>,
    #[serde(rename = "BlkioDeviceWriteIOps")]
    pub blkio_device_write_iops: Vec<Value>,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_realtime_period: i64,
    pub cpu_realtime_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub devices: Vec<Value>,
    pub device_cgroup_rules: Option<Vec<String>>,
    pub device_requests: Option<Vec<Value>>,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub memory_swappiness: i64,
    pub oom_kill_disable: bool,
    pub pids_limit: i64,
    pub ulimits: Vec<Value>,
    pub cpu_count: i64,
    pub cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps")]
    pub io_maximum_iops: i64,
    #[serde(rename = "IOMaximumBandwidth")]
    pub io_maximum_bandwidth: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Value>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            binds: None,
            container_id_file: String::new(),
            log_config: LogConfig::default(),
            network_mode: "default".to_owned(),
            port_bindings: json!({}),
            restart_policy: RestartPolicy { name: "no".to_owned(), maximum_retry_count: 0 },
            auto_remove: false,
            volume_driver: String::new(),
            volumes_from: None,
            console_size: [0, 0],
            cap_add: None,
            cap_drop: None,
            cgroupns_mode: String::new(),
            dns: Vec::new(),
            dns_options: Vec::new(),
            dns_search: Vec::new(),
            extra_hosts: None,
            group_add: None,
            ipc_mode: String::new(),
            cgroup: String::new(),
            links: None,
            oom_score_adj: 0,
            pid_mode: String::new(),
            privileged: false,
            publish_all_ports: false,
            readonly_rootfs: false,
            security_opt: None,
            storage_opt: BTreeMap::new(),
            tmpfs: BTreeMap::new(),
            uts_mode: String::new(),
            userns_mode: String::new(),
            shm_size: 0,
            isolation: String::new(),
            cpu_shares: 0,
            memory: 0,
            nano_cpus: 0,
            cgroup_parent: String::new(),
            blkio_weight: 0,
            blkio_weight_device: Vec::new(),
            blkio_device_read_bps: Vec::new(),
            blkio_device_write_bps: Vec::new(),
            blkio_device_read_iops: Vec::new(),
            blkio_device_write_iops: Vec::new(),
            cpu_period: 0,
            cpu_quota: 0,
            cpu_realtime_period: 0,
            cpu_realtime_runtime: 0,
            cpuset_cpus: String::new(),
            cpuset_mems: String::new(),
            devices: Vec::new(),
            device_cgroup_rules: None,
            device_requests: None,
            memory_reservation: 0,
            memory_swap: 0,
            memory_swappiness: -1,
            oom_kill_disable: false,
            pids_limit: 0,
            ulimits: Vec::new(),
            cpu_count: 0,
            cpu_percent: 0,
            io_maximum_iops: 0,
            io_maximum_bandwidth: 0,
            mounts: Vec::new(),
            masked_paths: None,
            readonly_paths: None,
        }
    }
}

/// `HostConfig.LogConfig` (empty: the daemon's default driver).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub config: BTreeMap<String, String>,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

/// The endpoint settings the docker CLI sends for the `default` network (all empty).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<Value>,
    links: Option<Vec<String>>,
    aliases: Option<Vec<String>>,
    mac_address: String,
    driver_opts: Option<Value>,
    gw_priority: i64,
    #[serde(rename = "NetworkID")]
    network_id: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    gateway: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: i64,
    #[serde(rename = "DNSNames")]
    dns_names: Option<Vec<String>>,
}

/// `NetworkingConfig`: the endpoints to connect at create.
#[derive(Debug, Serialize)]
pub struct NetworkingConfig {
    #[serde(rename = "EndpointsConfig")]
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}

impl ContainerOptions {
    /// The image and the command after it.
    pub fn image(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }

    /// Turns the flags into the create request. `detach` is `run -d` (no stream attached).
    pub fn to_request(&self, detach: bool, env: &Environment<'_>) -> Result<CreateRequest, OptionError> {
        let image = self.image().to_owned();
        let cmd: Vec<String> = self.args.iter().skip(1).cloned().collect();
        let mut host = HostConfig::default();

        let mut volumes = BTreeMap::new();
        let mut binds = Vec::new();
        for spec in &self.volume {
            match parse_volume(spec, env.cwd)? {
                VolumeSpec::Anonymous(target) => {
                    volumes.insert(target, json!({}));
                }
                VolumeSpec::Bind(bind) => binds.push(bind),
            }
        }
        if !binds.is_empty() {
            host.binds = Some(binds);
        }
        for spec in &self.mount {
            let mount = parse_mount(spec).map_err(|why| OptionError::InvalidArgument {
                flag: "--mount",
                value: spec.clone(),
                why,
            })?;
            host.mounts.push(mount);
        }
        for spec in &self.tmpfs {
            let (path, opts) = spec.split_once(':').unwrap_or((spec, ""));
            host.tmpfs.insert(path.to_owned(), opts.to_owned());
        }
        host.log_config.kind = self.log_driver.clone().unwrap_or_default();
        for opt in &self.log_opt {
            // As the docker CLI: `key` alone is `key` with an empty value (the daemon judges it).
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            host.log_config.config.insert(k.to_owned(), v.to_owned());
        }
        for opt in &self.storage_opt {
            let (k, v) = opt.split_once('=').ok_or_else(|| OptionError::Other("invalid storage option".to_owned()))?;
            host.storage_opt.insert(k.to_owned(), v.to_owned());
        }
        if !self.volumes_from.is_empty() {
            host.volumes_from = Some(self.volumes_from.clone());
        }
        host.readonly_rootfs = self.read_only;
        host.volume_driver = self.volume_driver.clone().unwrap_or_default();
        host.auto_remove = self.rm;
        host.privileged = self.privileged;
        if let Some(r) = &self.restart {
            host.restart_policy = parse_restart(r)?;
        }
        let mut endpoints = BTreeMap::new();
        match &self.network {
            None => {
                endpoints.insert("default".to_owned(), EndpointSettings::default());
            }
            Some(n) => host.network_mode = n.clone(),
        }
        let networking = NetworkingConfig { endpoints_config: endpoints };
        if self.tty
            && let Some((rows, cols)) = env.console
            && !strata_client::version_lt(env.api_version, CONSOLE_SIZE_API)
        {
            host.console_size = [rows, cols];
        }

        let entrypoint = self.entrypoint.as_ref().map(|e| vec![e.clone()]);
        let env_list: Vec<String> = self.env.iter().map(|e| expand_env(e, env.lookup)).collect();
        let mut labels = BTreeMap::new();
        for l in &self.label {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            labels.insert(k.to_owned(), v.to_owned());
        }
        let attach = !detach;
        let body = CreateBody {
            hostname: self.hostname.clone().unwrap_or_default(),
            domainname: String::new(),
            user: self.user.clone().unwrap_or_default(),
            attach_stdin: attach && self.interactive,
            attach_stdout: attach,
            attach_stderr: attach,
            tty: self.tty,
            open_stdin: self.interactive,
            stdin_once: attach && self.interactive,
            env: if env_list.is_empty() { None } else { Some(env_list) },
            cmd: if cmd.is_empty() { None } else { Some(cmd) },
            image: image.clone(),
            volumes,
            working_dir: self.workdir.clone().unwrap_or_default(),
            entrypoint,
            on_build: None,
            labels,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            host_config: host,
            networking_config: networking,
        };
        Ok(CreateRequest { name: self.name.clone(), image, body })
    }
}

/// `-e NAME` without a value takes NAME's value from the CLI's environment when it is set
/// (and is sent as is otherwise, as docker does).
fn expand_env(e: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if e.contains('=') {
        return e.to_owned();
    }
    match lookup(e) {
        Some(v) => format!("{e}={v}"),
        None => e.to_owned(),
    }
}

/// `--restart no|always|unless-stopped|on-failure[:max-retries]`.
fn parse_restart(s: &str) -> Result<RestartPolicy, OptionError> {
    let (name, count) = s.split_once(':').unwrap_or((s, ""));
    let max: i64 = match (name, count) {
        (_, "") => 0,
        ("on-failure", n) => n.parse().map_err(|_| {
            OptionError::Other("invalid restart policy format: maximum retry count must be an integer".to_owned())
        })?,
        _ => {
            return Err(OptionError::Other(
                "invalid restart policy format: maximum retry count can only be used with 'on-failure'".to_owned(),
            ));
        }
    };
    match name {
        "no" | "always" | "unless-stopped" | "on-failure" | "" => {
            Ok(RestartPolicy { name: if name.is_empty() { "no" } else { name }.to_owned(), maximum_retry_count: max })
        }
        other => Err(OptionError::Other(format!("invalid restart policy '{other}'"))),
    }
}

/// What one `-v` means on the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum VolumeSpec {
    /// `-v /data`: an anonymous volume, `Config.Volumes["/data"]`.
    Anonymous(String),
    /// `-v src:/dst[:mode]`: an entry of `HostConfig.Binds`.
    Bind(String),
}

/// Parses a `-v` spec the way the docker CLI does before sending it: at most three
/// colon-separated parts, none empty; a relative `./` or `../` source is made absolute; a
/// one-letter source reads as a Windows drive, which makes the whole spec a volume target (a
/// quirk the daemon then rejects — kept so both CLIs send the same thing).
pub fn parse_volume(spec: &str, cwd: &Path) -> Result<VolumeSpec, OptionError> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(OptionError::Other(format!("invalid spec: {spec}: empty section between colons")));
    }
    if parts.len() > 3 {
        return Err(OptionError::Other(format!("invalid spec: {spec}: too many colons")));
    }
    if parts.len() == 1 || (parts[0].len() == 1 && parts[0].chars().all(|c| c.is_ascii_alphabetic())) {
        return Ok(VolumeSpec::Anonymous(spec.to_owned()));
    }
    let source = parts[0];
    if source.starts_with('.') {
        let abs = cwd.join(source);
        let normalized = normalize(&abs);
        let mut out = vec![normalized.as_str()];
        out.extend_from_slice(&parts[1..]);
        return Ok(VolumeSpec::Bind(out.join(":")));
    }
    Ok(VolumeSpec::Bind(spec.to_owned()))
}

/// Lexical clean-up of an absolute path (`/a/./b/../c` → `/a/c`), as Go's `filepath.Abs`.
fn normalize(p: &Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.to_str().unwrap_or("").split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Parses a `--mount` spec into the `Mount` object docker sends (keys omitted when empty).
/// The errors are docker's texts for the part after `for "--mount" flag: `.
pub fn parse_mount(spec: &str) -> Result<Value, String> {
    let mut kind = "volume".to_owned();
    let mut source = None;
    let mut target = None;
    let mut read_only = None;
    let mut consistency = None;
    let mut bind = serde_json::Map::new();
    let mut volume = serde_json::Map::new();
    let mut driver = serde_json::Map::new();
    let mut volume_labels = serde_json::Map::new();
    let mut driver_opts = serde_json::Map::new();
    let mut tmpfs = serde_json::Map::new();
    let mut image = serde_json::Map::new();
    let mut used = Vec::new();
    let bool_of = |key: &str, v: Option<&str>| -> Result<bool, String> {
        match v {
            None => Ok(true),
            Some(v) => parse_bool(v).ok_or_else(|| format!("invalid value for {key}: {v}")),
        }
    };
    for field in spec.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let needs_value = !matches!(key.as_str(), "readonly" | "ro" | "volume-nocopy" | "bind-nonrecursive");
        if value.is_none() && needs_value {
            return Err(format!("invalid field '{field}' must be a key=value pair"));
        }
        let v = value.unwrap_or("");
        let family = key.split('-').next().unwrap_or("");
        if matches!(family, "volume" | "bind" | "tmpfs" | "image") && key.contains('-') {
            used.push(family.to_owned());
        }
        match key.as_str() {
            "type" => kind = v.to_ascii_lowercase(),
            "source" | "src" => source = Some(v.to_owned()),
            "target" | "dst" | "destination" => target = Some(v.to_owned()),
            "readonly" | "ro" => read_only = Some(bool_of(&key, value)?),
            "consistency" => consistency = Some(v.to_owned()),
            "bind-propagation" => {
                bind.insert("Propagation".into(), json!(v.to_ascii_lowercase()));
            }
            "bind-nonrecursive" => {
                bind.insert("NonRecursive".into(), json!(bool_of(&key, value)?));
            }
            "bind-recursive" => match v {
                "enabled" => {}
                "disabled" => {
                    bind.insert("NonRecursive".into(), json!(true));
                }
                "writable" => {
                    bind.insert("ReadOnlyNonRecursive".into(), json!(true));
                }
                "readonly" => {
                    bind.insert("ReadOnlyForceRecursive".into(), json!(true));
                }
                other => return Err(format!("invalid value for {key}: {other}")),
            },
            "volume-nocopy" => {
                volume.insert("NoCopy".into(), json!(bool_of(&key, value)?));
            }
            "volume-label" => {
                let (k, lv) = v.split_once('=').unwrap_or((v, ""));
                volume_labels.insert(k.to_owned(), json!(lv));
            }
            "volume-driver" => {
                driver.insert("Name".into(), json!(v));
            }
            "volume-opt" => {
                let (k, ov) = v.split_once('=').ok_or_else(|| format!("invalid value for {key}: {v}"))?;
                driver_opts.insert(k.to_owned(), json!(ov));
            }
            "volume-subpath" => {
                volume.insert("Subpath".into(), json!(v));
            }
            "image-subpath" => {
                image.insert("Subpath".into(), json!(v));
            }
            "tmpfs-size" => {
                let size = ram_in_bytes(v)
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| format!("invalid value for {key}: {v}"))?;
                tmpfs.insert("SizeBytes".into(), json!(size));
            }
            "tmpfs-mode" => {
                let mode = u32::from_str_radix(v, 8).map_err(|_| format!("invalid value for {key}: {v}"))?;
                tmpfs.insert("Mode".into(), json!(mode));
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    let target = target.filter(|t| !t.is_empty()).ok_or_else(|| "target is required".to_owned())?;
    for family in &used {
        if *family != kind {
            return Err(format!("cannot mix '{family}-*' options with mount type '{kind}'"));
        }
    }
    if bind.contains_key("ReadOnlyNonRecursive") && read_only != Some(true) {
        return Err("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".to_owned());
    }
    if bind.contains_key("ReadOnlyForceRecursive") {
        if read_only != Some(true) {
            return Err(
                "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".to_owned()
            );
        }
        if bind.get("Propagation").and_then(Value::as_str) != Some("rprivate") {
            return Err(
                "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction"
                    .to_owned(),
            );
        }
    }
    let mut m = serde_json::Map::new();
    m.insert("Type".into(), json!(kind));
    if let Some(s) = source.filter(|s| !s.is_empty()) {
        m.insert("Source".into(), json!(s));
    }
    m.insert("Target".into(), json!(target));
    if read_only == Some(true) {
        m.insert("ReadOnly".into(), json!(true));
    }
    if let Some(c) = consistency.filter(|c| !c.is_empty()) {
        m.insert("Consistency".into(), json!(c));
    }
    if !bind.is_empty() {
        m.insert("BindOptions".into(), Value::Object(bind));
    }
    if used.iter().any(|f| f == "volume") {
        if !volume_labels.is_empty() {
            volume.insert("Labels".into(), Value::Object(volume_labels));
        }
        if !driver_opts.is_empty() {
            driver.insert("Options".into(), Value::Object(driver_opts));
        }
        volume.insert("DriverConfig".into(), Value::Object(driver));
        m.insert("VolumeOptions".into(), Value::Object(volume));
    }
    if !image.is_empty() {
        m.insert("ImageOptions".into(), Value::Object(image));
    }
    if !tmpfs.is_empty() {
        m.insert("TmpfsOptions".into(), Value::Object(tmpfs));
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    #[command(disable_help_flag = true)]
    struct Wrapper {
        #[command(flatten)]
        opts: ContainerOptions,
    }

    fn opts(args: &[&str]) -> ContainerOptions {
        let mut argv = vec!["create"];
        argv.extend_from_slice(args);
        Wrapper::try_parse_from(argv).expect("flags parse").opts
    }

    fn body(args: &[&str], detach: bool) -> Value {
        let lookup = |k: &str| (k == "FROM_ENV").then(|| "x".to_owned());
        let env =
            Environment { cwd: Path::new("/home/u"), lookup: &lookup, console: Some((40, 100)), api_version: "1.41" };
        let req = opts(args).to_request(detach, &env).expect("valid flags");
        serde_json::to_value(&req.body).expect("serializes")
    }

    /// The body docker CLI 28.2.2 sent (at API 1.41) for
    /// `docker create --name wcap -i -t -e A=1 -e B -w /tmp -u 1000 --entrypoint sh -v /tmp/rtbind:/b:ro
    /// -v named:/n -v /anon --mount type=volume,src=mv,dst=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-nocopy
    /// --mount type=tmpfs,dst=/tm,tmpfs-size=10m,tmpfs-mode=1770 --tmpfs /t:size=1m --read-only --network none -l a=b
    /// --label c --restart on-failure:3 --privileged --volume-driver local --hostname hh busybox -c 'echo hi'`.
    const CAPTURED_FULL: &str = r#"{"Hostname":"hh","Domainname":"","User":"1000","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,"OpenStdin":true,"StdinOnce":true,"Env":["A=1","B"],"Cmd":["-c","echo hi"],"Image":"busybox","Volumes":{"/anon":{}},"WorkingDir":"/tmp","Entrypoint":["sh"],"OnBuild":null,"Labels":{"a":"b","c":""},"HostConfig":{"Binds":["/tmp/rtbind:/b:ro","named:/n"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"none","PortBindings":{},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"local","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":true,"PublishAllPorts":false,"ReadonlyRootfs":true,"SecurityOpt":null,"Tmpfs":{"/t":"size=1m"},"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"Mounts":[{"Type":"volume","Source":"mv","Target":"/m","VolumeOptions":{"NoCopy":true,"DriverConfig":{"Options":{"device":"tmpfs","type":"tmpfs"}}}},{"Type":"tmpfs","Target":"/tm","TmpfsOptions":{"SizeBytes":10485760,"Mode":1016}}],"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}"#;

    /// The body of `docker run --rm busybox sh -c '…'` (same capture).
    const CAPTURED_RUN_RM: &str = r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh","-c","echo hi; echo err >&2; exit 3"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}"#;

    #[test]
    fn the_body_is_the_one_docker_sends_for_every_mount_flag() {
        let got = body(
            &[
                "--name",
                "wcap",
                "-i",
                "-t",
                "-e",
                "A=1",
                "-e",
                "B",
                "-w",
                "/tmp",
                "-u",
                "1000",
                "--entrypoint",
                "sh",
                "-v",
                "/tmp/rtbind:/b:ro",
                "-v",
                "named:/n",
                "-v",
                "/anon",
                "--mount",
                "type=volume,src=mv,dst=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-nocopy",
                "--mount",
                "type=tmpfs,dst=/tm,tmpfs-size=10m,tmpfs-mode=1770",
                "--tmpfs",
                "/t:size=1m",
                "--read-only",
                "--network",
                "none",
                "-l",
                "a=b",
                "--label",
                "c",
                "--restart",
                "on-failure:3",
                "--privileged",
                "--volume-driver",
                "local",
                "--hostname",
                "hh",
                "busybox",
                "-c",
                "echo hi",
            ],
            false,
        );
        let want: Value = serde_json::from_str(CAPTURED_FULL).expect("captured JSON");
        assert_eq!(got, want);
    }

    #[test]
    fn the_plain_run_body_is_byte_for_byte_dockers() {
        let lookup = |_: &str| None;
        let env = Environment { cwd: Path::new("/"), lookup: &lookup, console: None, api_version: "1.41" };
        let req = opts(&["--rm", "busybox", "sh", "-c", "echo hi; echo err >&2; exit 3"])
            .to_request(false, &env)
            .expect("valid");
        assert_eq!(serde_json::to_string(&req.body).expect("json"), CAPTURED_RUN_RM);
        assert_eq!(req.path(), "/containers/create");
    }

    #[test]
    fn detach_attaches_nothing_and_interactive_keeps_stdin_open() {
        let b = body(&["busybox"], true);
        assert_eq!(
            (b["AttachStdout"].clone(), b["AttachStderr"].clone(), b["AttachStdin"].clone()),
            (json!(false), json!(false), json!(false))
        );
        let b = body(&["-i", "busybox"], true);
        assert_eq!(
            (b["OpenStdin"].clone(), b["StdinOnce"].clone(), b["AttachStdin"].clone()),
            (json!(true), json!(false), json!(false))
        );
    }

    #[test]
    fn the_command_after_the_image_keeps_its_flags() {
        let o = opts(&["-e", "FROM_ENV", "busybox", "ls", "-l", "--name", "x"]);
        assert_eq!(o.args, ["busybox", "ls", "-l", "--name", "x"]);
        assert_eq!(o.name, None);
        let b = body(&["-e", "FROM_ENV", "-e", "UNSET", "busybox", "-x"], false);
        assert_eq!(b["Env"], json!(["FROM_ENV=x", "UNSET"]));
        assert_eq!(b["Cmd"], json!(["-x"]));
    }

    #[test]
    fn an_empty_entrypoint_is_sent_as_one_empty_word() {
        assert_eq!(body(&["--entrypoint", "", "busybox"], false)["Entrypoint"], json!([""]));
        assert_eq!(body(&["busybox"], false)["Entrypoint"], Value::Null);
    }

    #[test]
    fn console_size_only_from_api_1_42() {
        let lookup = |_: &str| None;
        let mk = |v| Environment { cwd: Path::new("/"), lookup: &lookup, console: Some((40, 100)), api_version: v };
        let o = opts(&["-t", "busybox"]);
        let size = |v| {
            serde_json::to_value(o.to_request(false, &mk(v)).expect("ok").body).expect("json")["HostConfig"]["ConsoleSize"].clone()
        };
        assert_eq!(size("1.41"), json!([0, 0]));
        assert_eq!(size("1.47"), json!([40, 100]));
    }

    #[test]
    fn volume_specs_split_as_dockers() {
        let cwd = Path::new("/home/u/proj");
        let cases: &[(&str, Result<VolumeSpec, OptionError>)] = &[
            ("/data", Ok(VolumeSpec::Anonymous("/data".into()))),
            ("name:/d", Ok(VolumeSpec::Bind("name:/d".into()))),
            ("/h:/d:ro", Ok(VolumeSpec::Bind("/h:/d:ro".into()))),
            ("./rel:/d", Ok(VolumeSpec::Bind("/home/u/proj/rel:/d".into()))),
            ("../up:/d:rw", Ok(VolumeSpec::Bind("/home/u/up:/d:rw".into()))),
            ("a:/d", Ok(VolumeSpec::Anonymous("a:/d".into()))),
            (":/d", Err(OptionError::Other("invalid spec: :/d: empty section between colons".into()))),
            ("a:b:c:d", Err(OptionError::Other("invalid spec: a:b:c:d: too many colons".into()))),
        ];
        for (spec, want) in cases {
            assert_eq!(&parse_volume(spec, cwd), want, "{spec}");
        }
    }

    #[test]
    fn mount_specs_map_to_dockers_mount_objects() {
        let cases: &[(&str, &str)] = &[
            ("type=bind,src=/h,dst=/b,ro", r#"{"Type":"bind","Source":"/h","Target":"/b","ReadOnly":true}"#),
            (
                "type=BIND,source=/h,target=/b,bind-propagation=rshared",
                r#"{"Type":"bind","Source":"/h","Target":"/b","BindOptions":{"Propagation":"rshared"}}"#,
            ),
            (
                "src=v,dst=/d,volume-subpath=sub",
                r#"{"Type":"volume","Source":"v","Target":"/d","VolumeOptions":{"Subpath":"sub","DriverConfig":{}}}"#,
            ),
            (
                "type=volume,source=rtv4,destination=/d,readonly=true,volume-nocopy=true,volume-label=a=b,volume-driver=local,volume-opt=device=tmpfs,volume-opt=type=tmpfs",
                r#"{"Type":"volume","Source":"rtv4","Target":"/d","ReadOnly":true,"VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Name":"local","Options":{"device":"tmpfs","type":"tmpfs"}}}}"#,
            ),
            (
                "type=tmpfs,dst=/t,tmpfs-size=10m,tmpfs-mode=700",
                r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":10485760,"Mode":448}}"#,
            ),
            (
                "type=bind,src=/h,dst=/b,bind-nonrecursive",
                r#"{"Type":"bind","Source":"/h","Target":"/b","BindOptions":{"NonRecursive":true}}"#,
            ),
        ];
        for (spec, want) in cases {
            let want: Value = serde_json::from_str(want).expect("json");
            assert_eq!(parse_mount(spec), Ok(want), "{spec}");
        }
    }

    #[test]
    fn bad_mount_specs_fail_with_dockers_texts() {
        let cases: &[(&str, &str)] = &[
            ("type=bind,src=/h", "target is required"),
            ("bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
            ("x,dst=/d", "invalid field 'x' must be a key=value pair"),
            ("type=bind,src=/h,dst=/d,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
            ("type=volume,dst=/d,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'volume'"),
            ("dst=/d,readonly=maybe", "invalid value for readonly: maybe"),
            ("type=tmpfs,dst=/d,tmpfs-size=abc", "invalid value for tmpfs-size: abc"),
            (
                "type=bind,src=/h,dst=/d,bind-recursive=writable",
                "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction",
            ),
            (
                "type=bind,src=/h,dst=/d,ro,bind-recursive=readonly",
                "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(parse_mount(spec), Err((*want).to_owned()), "{spec}");
        }
        let e = opts(&["--mount", "bogus=1", "busybox"]).to_request(
            false,
            &Environment { cwd: Path::new("/"), lookup: &|_| None, console: None, api_version: "1.41" },
        );
        assert_eq!(
            e.map(|_| ()).map_err(|e| e.to_string()),
            Err(r#"invalid argument "bogus=1" for "--mount" flag: unexpected key 'bogus' in 'bogus=1'"#.to_owned())
        );
    }

    #[test]
    fn restart_policies() {
        let policy = |n: &str, c| RestartPolicy { name: n.to_owned(), maximum_retry_count: c };
        assert_eq!(parse_restart("always"), Ok(policy("always", 0)));
        assert_eq!(parse_restart("on-failure:3"), Ok(policy("on-failure", 3)));
        assert!(parse_restart("sometimes").is_err());
        assert!(parse_restart("always:3").is_err());
    }
}
