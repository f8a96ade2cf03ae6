//! The daemon's configuration: a JSON file in the shape of Docker's `daemon.json`, overridden by
//! command-line flags named as `dockerd` names them.
//!
//! Parsing is separate from I/O ([`ConfigFile::parse`] takes text), and validation turns the
//! loose, all-optional [`ConfigFile`] into a [`DaemonConfig`] in which every value is known good.
//! An unknown key or a bad value stops the daemon at start with a message naming the key: a typo
//! in a config file must never be silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the daemon looks for its configuration when `--config-file` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/strata/daemon.json";
/// Persistent state: the metadata database, layers, volumes, container directories.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/strata";
/// Runtime state that does not survive a reboot: OCI bundles, runtime state, sockets.
pub const DEFAULT_EXEC_ROOT: &str = "/run/strata";
/// The API socket.
pub const DEFAULT_HOST: &str = "unix:///run/strata.sock";
/// The pid file.
pub const DEFAULT_PIDFILE: &str = "/run/strata.pid";
/// The runtime used when a container does not name one.
pub const DEFAULT_RUNTIME: &str = "runc";
/// The group that may use the API socket, when it exists (as with dockerd's `docker` group).
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

/// The configuration file as written by a user: every key optional, unknown keys refused.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub data_root: Option<PathBuf>,
    pub exec_root: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
    pub storage_driver: Option<String>,
    pub default_runtime: Option<String>,
    pub runtimes: Option<BTreeMap<String, RuntimeEntry>>,
    pub log_level: Option<String>,
    pub debug: Option<bool>,
    pub pidfile: Option<PathBuf>,
    pub group: Option<String>,
    /// Containers' default logging driver (`json-file` or `none`).
    pub log_driver: Option<String>,
    /// Options of the default logging driver (`{"max-size": "10m", "max-file": "3"}`).
    pub log_opts: Option<BTreeMap<String, String>>,
}

/// One entry of `runtimes`, as in Docker's daemon.json: `{"path": "/usr/bin/crun", "runtimeArgs": []}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEntry {
    pub path: String,
    #[serde(default, rename = "runtimeArgs")]
    pub runtime_args: Vec<String>,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {key} {value:?}: {why}")]
    Value { key: &'static str, value: String, why: String },
}

/// How much the daemon logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    const NAMES: &'static str = "debug, info, warn, error, fatal";

    fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" | "warning" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "fatal" | "panic" => LogLevel::Fatal,
            _ => return None,
        })
    }

    /// The `tracing` filter directive for this level.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Fatal => "error",
        }
    }
}

/// Which graph driver stores layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDriverName {
    /// Kernel OverlayFS over plain directories (the default).
    Overlay2,
    /// A full copy per layer, for filesystems where overlay cannot run.
    Vfs,
}

impl StorageDriverName {
    /// The name used in configuration and in `docker info`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageDriverName::Overlay2 => "overlay2",
            StorageDriverName::Vfs => "vfs",
        }
    }

    fn parse(s: &str) -> Option<StorageDriverName> {
        match s {
            "overlay2" => Some(StorageDriverName::Overlay2),
            "vfs" => Some(StorageDriverName::Vfs),
            _ => None,
        }
    }
}

/// A configured OCI runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The binary: an absolute path, or a name looked up in `PATH` when used.
    pub path: String,
    /// Extra arguments put before every runtime command.
    pub args: Vec<String>,
}

/// A validated daemon configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    /// Unix socket paths to listen on (from `unix://` addresses).
    pub sockets: Vec<PathBuf>,
    /// `None` picks overlay2 when the backing filesystem allows it, else vfs.
    pub storage_driver: Option<StorageDriverName>,
    pub default_runtime: String,
    pub runtimes: BTreeMap<String, RuntimeConfig>,
    pub log_level: LogLevel,
    pub pidfile: PathBuf,
    /// The group given the socket; `explicit` is false when it is only the default.
    pub group: SocketGroup,
    /// Containers' default logging driver and its options (daemon.json `log-driver`,
    /// `log-opts`).
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
}

/// The group that owns the API socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketGroup {
    pub name: String,
    /// A configured group that does not exist is an error; the default one may be missing.
    pub explicit: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        match ConfigFile::default().validate() {
            Ok(config) => config,
            Err(e) => unreachable!("the embedded defaults are valid: {e}"),
        }
    }
}

impl ConfigFile {
    /// Parses the text of a configuration file. `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })
    }

    /// Reads the configuration file. A missing default file means "all defaults"; a missing file
    /// that was asked for explicitly is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<ConfigFile, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ConfigFile::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(ConfigFile::default()),
            Err(source) => Err(ConfigError::Read { path: path.to_owned(), source }),
        }
    }

    /// Every key set in `flags` replaces the same key of `self`.
    pub fn overridden_by(self, flags: ConfigFile) -> ConfigFile {
        ConfigFile {
            data_root: flags.data_root.or(self.data_root),
            exec_root: flags.exec_root.or(self.exec_root),
            hosts: flags.hosts.or(self.hosts),
            storage_driver: flags.storage_driver.or(self.storage_driver),
            default_runtime: flags.default_runtime.or(self.default_runtime),
            runtimes: match (self.runtimes, flags.runtimes) {
                (Some(mut file), Some(flag)) => {
                    file.extend(flag);
                    Some(file)
                }
                (file, flag) => flag.or(file),
            },
            log_level: flags.log_level.or(self.log_level),
            debug: flags.debug.or(self.debug),
            pidfile: flags.pidfile.or(self.pidfile),
            group: flags.group.or(self.group),
            log_driver: flags.log_driver.or(self.log_driver),
            log_opts: flags.log_opts.or(self.log_opts),
        }
    }

    /// Checks every value and fills in the defaults.
    pub fn validate(self) -> Result<DaemonConfig, ConfigError> {
        let data_root = absolute("data-root", self.data_root.unwrap_or_else(|| DEFAULT_DATA_ROOT.into()))?;
        let exec_root = absolute("exec-root", self.exec_root.unwrap_or_else(|| DEFAULT_EXEC_ROOT.into()))?;
        let pidfile = absolute("pidfile", self.pidfile.unwrap_or_else(|| DEFAULT_PIDFILE.into()))?;
        if data_root == Path::new("/") {
            return Err(value_err("data-root", "/", "the data-root cannot be the root directory"));
        }

        let hosts = self.hosts.unwrap_or_else(|| vec![DEFAULT_HOST.to_owned()]);
        if hosts.is_empty() {
            return Err(value_err("hosts", "[]", "at least one address is needed"));
        }
        let mut sockets = Vec::with_capacity(hosts.len());
        for host in &hosts {
            sockets.push(parse_host(host)?);
        }

        let storage_driver = match self.storage_driver.as_deref() {
            None | Some("") => None,
            Some(name) => Some(StorageDriverName::parse(name).ok_or_else(|| {
                value_err("storage-driver", name, "strata supports the storage drivers overlay2 and vfs")
            })?),
        };

        let mut runtimes = BTreeMap::new();
        runtimes.insert(DEFAULT_RUNTIME.to_owned(), RuntimeConfig { path: DEFAULT_RUNTIME.to_owned(), args: vec![] });
        for (name, entry) in self.runtimes.unwrap_or_default() {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(value_err("runtimes", &name, "runtime names may only use [a-zA-Z0-9._-]"));
            }
            if entry.path.is_empty() {
                return Err(value_err("runtimes", &name, "the runtime has no path"));
            }
            runtimes.insert(name, RuntimeConfig { path: entry.path, args: entry.runtime_args });
        }
        let default_runtime = self.default_runtime.unwrap_or_else(|| DEFAULT_RUNTIME.to_owned());
        if !runtimes.contains_key(&default_runtime) {
            let known = runtimes.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(value_err(
                "default-runtime",
                &default_runtime,
                &format!("it is not a configured runtime (configured: {known})"),
            ));
        }

        let log_level = match (self.log_level.as_deref(), self.debug) {
            (Some(level), _) => LogLevel::parse(level)
                .ok_or_else(|| value_err("log-level", level, &format!("must be one of {}", LogLevel::NAMES)))?,
            (None, Some(true)) => LogLevel::Debug,
            (None, _) => LogLevel::Info,
        };

        let group = match self.group {
            Some(name) if name.is_empty() => return Err(value_err("group", "", "the group name is empty")),
            Some(name) => SocketGroup { name, explicit: true },
            None => SocketGroup { name: DEFAULT_SOCKET_GROUP.to_owned(), explicit: false },
        };

        let log_driver = match self.log_driver {
            Some(d) if !d.is_empty() => d,
            _ => strata_container::logconfig::JSON_FILE.to_owned(),
        };
        let log_opts = self.log_opts.unwrap_or_default();
        strata_container::logconfig::driver(&log_driver, &log_opts)
            .map_err(|why| value_err("log-driver/log-opts", &log_driver, &why))?;

        Ok(DaemonConfig {
            data_root,
            exec_root,
            sockets,
            storage_driver,
            default_runtime,
            runtimes,
            log_level,
            pidfile,
            group,
            log_driver,
            log_opts,
        })
    }
}

fn value_err(key: &'static str, value: &str, why: &str) -> ConfigError {
    ConfigError::Value { key, value: value.to_owned(), why: why.to_owned() }
}

fn absolute(key: &'static str, path: PathBuf) -> Result<PathBuf, ConfigError> {
    if !path.is_absolute() {
        return Err(value_err(key, &path.display().to_string(), "must be an absolute path"));
    }
    Ok(path)
}

/// `unix:///run/strata.sock` → `/run/strata.sock`. Only unix sockets are served: the API gives
/// root on the host, and strata does not offer it over TCP.
fn parse_host(host: &str) -> Result<PathBuf, ConfigError> {
    let Some(path) = host.strip_prefix("unix://") else {
        return Err(value_err("hosts", host, "only unix:// socket addresses are supported"));
    };
    let path = if path.is_empty() { DEFAULT_HOST.trim_start_matches("unix://") } else { path };
    absolute("hosts", PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
        ConfigFile::parse(text, Path::new("daemon.json"))?.validate()
    }

    #[test]
    fn empty_file_gives_the_documented_defaults() {
        let c = parse("{}").expect("valid");
        assert_eq!(c.data_root, Path::new("/var/lib/strata"));
        assert_eq!(c.exec_root, Path::new("/run/strata"));
        assert_eq!(c.sockets, vec![PathBuf::from("/run/strata.sock")]);
        assert_eq!(c.storage_driver, None);
        assert_eq!(c.default_runtime, "runc");
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c, DaemonConfig::default());
    }

    #[test]
    fn a_full_file_is_read() {
        let c = parse(
            r#"{"data-root":"/srv/strata","exec-root":"/run/s","hosts":["unix:///tmp/a.sock","unix:///tmp/b.sock"],
                "storage-driver":"vfs","default-runtime":"crun",
                "runtimes":{"crun":{"path":"/usr/bin/crun","runtimeArgs":["--debug"]}},
                "log-level":"warn","pidfile":"/run/s.pid","group":"wheel"}"#,
        )
        .expect("valid");
        assert_eq!(c.sockets.len(), 2);
        assert_eq!(c.storage_driver, Some(StorageDriverName::Vfs));
        assert_eq!(c.runtimes["crun"].args, vec!["--debug".to_owned()]);
        assert!(c.runtimes.contains_key("runc"), "runc is always available");
        assert_eq!(c.group, SocketGroup { name: "wheel".into(), explicit: true });
    }

    #[test]
    fn bad_input_is_refused_with_the_key_named() {
        let cases = [
            (r#"{"data-roots":"/x"}"#, "unknown field `data-roots`"),
            (r#"{"data-root":"relative"}"#, "invalid data-root \"relative\": must be an absolute path"),
            (r#"{"data-root":"/"}"#, "invalid data-root"),
            (r#"{"hosts":["tcp://0.0.0.0:2375"]}"#, "only unix:// socket addresses"),
            (r#"{"hosts":[]}"#, "at least one address"),
            (r#"{"storage-driver":"aufs"}"#, "invalid storage-driver \"aufs\""),
            (r#"{"log-level":"loud"}"#, "must be one of debug, info, warn, error, fatal"),
            (r#"{"default-runtime":"crun"}"#, "not a configured runtime (configured: runc)"),
            (r#"{"runtimes":{"bad/name":{"path":"/x"}}}"#, "runtime names may only use"),
            (r#"{"runtimes":{"x":{"path":"/x","bogus":1}}}"#, "unknown field `bogus`"),
            (r#"{"log-level": 3}"#, "invalid type"),
            (r#"{"log-opts":{"max-size":"big"}}"#, "invalid log-driver/log-opts \"json-file\": invalid size: 'big'"),
            (r#"{"log-opts":{"foo":"1"}}"#, "unknown log opt 'foo' for json-file log driver"),
            (r#"{"log-driver":"syslog"}"#, "not available in strata"),
            ("not json", "invalid configuration file daemon.json"),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text}: {err:?} should contain {want:?}");
        }
    }

    #[test]
    fn flags_override_the_file() {
        let file = ConfigFile::parse(r#"{"data-root":"/a","log-level":"warn"}"#, Path::new("f")).expect("parse");
        let flags = ConfigFile { data_root: Some("/b".into()), ..Default::default() };
        let c = file.overridden_by(flags).validate().expect("valid");
        assert_eq!(c.data_root, Path::new("/b"));
        assert_eq!(c.log_level, LogLevel::Warn);
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_missing_explicit_one_is_not() {
        let missing = Path::new("/nonexistent/strata/daemon.json");
        assert_eq!(ConfigFile::load(missing, false).expect("defaults"), ConfigFile::default());
        assert!(ConfigFile::load(missing, true).is_err());
    }

    #[test]
    fn dockers_usual_log_settings_are_read() {
        let c = parse(r#"{"log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"3"}}"#).expect("valid");
        assert_eq!(c.log_driver, "json-file");
        assert_eq!(c.log_opts.get("max-size").map(String::as_str), Some("10m"));
        assert_eq!(parse("{}").expect("valid").log_driver, "json-file");
    }

    #[test]
    fn debug_true_means_debug_logs() {
        assert_eq!(parse(r#"{"debug":true}"#).expect("valid").log_level, LogLevel::Debug);
    }
}
