//! `HostConfig.LogConfig`: which logging driver a container uses and its options, checked the
//! way Docker checks them — the driver and the option names when the container is created, the
//! values when it starts ("failed to initialize logging driver: …").
//!
//! strata has two drivers: `json-file` (the default, with Docker's `max-size`/`max-file`
//! rotation, see `strata_runtime::logs`) and `none` (nothing is kept; `docker logs` says so).
//! Docker's other built-in drivers (syslog, journald, …) send logs elsewhere; accepting them and
//! writing a json-file instead would lose the user's logs where they look for them, so they are
//! refused at create with a message that says what strata has. `compress=true` is the one option
//! accepted without being acted on: the rotated files stay uncompressed but within the same
//! limits, so a Docker host's daemon.json keeps working; create says so in its `Warnings`.

use std::collections::BTreeMap;

use serde_json::Value;
use strata_mount::gocompat;
use strata_runtime::logs::Rotation;

/// The default driver, as inspect shows it.
pub const JSON_FILE: &str = "json-file";
/// The driver that keeps nothing.
pub const NONE: &str = "none";

/// What create answers in `Warnings` for `compress=true`, which strata accepts without doing.
pub const COMPRESS_WARNING: &str = "log option compress=true: strata keeps rotated log files uncompressed (the \
     max-size and max-file limits still hold)";

/// Docker's built-in drivers strata does not have.
const DOCKER_ONLY: &[&str] =
    &["local", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries"];
/// The options Docker's json-file driver accepts (the `labels`/`env`/`tag` ones add attributes
/// to each line in Docker; strata accepts and ignores them).
const JSON_FILE_OPTS: &[&str] =
    &["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"];

/// What a container logs to, once its options are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDriver {
    JsonFile(Rotation),
    None,
}

/// `Type` (empty when not given) and `Config` of a `LogConfig` JSON value, as sent.
fn as_sent(log_config: Option<&Value>) -> (&str, BTreeMap<String, String>) {
    let driver = log_config.and_then(|c| c.get("Type")).and_then(Value::as_str).unwrap_or_default();
    let opts = log_config
        .and_then(|c| c.get("Config"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    (driver, opts)
}

/// `Type` and `Config` of a stored `LogConfig` (no `Type`: `json-file`, for containers created
/// before create recorded the driver).
pub fn parts(log_config: Option<&Value>) -> (String, BTreeMap<String, String>) {
    let (driver, opts) = as_sent(log_config);
    (if driver.is_empty() { JSON_FILE } else { driver }.to_owned(), opts)
}

/// `Type` and `Config` of a container's `LogConfig` with the daemon's defaults applied as Docker
/// applies them: no `Type` means the default driver; with the default driver, each default
/// option the request does not set is added.
pub fn with_defaults(
    log_config: Option<&Value>,
    default_driver: &str,
    default_opts: &BTreeMap<String, String>,
) -> (String, BTreeMap<String, String>) {
    let (asked, mut opts) = as_sent(log_config);
    let driver = if asked.is_empty() { default_driver } else { asked }.to_owned();
    if driver == default_driver {
        for (k, v) in default_opts {
            opts.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    (driver, opts)
}

/// Warnings for options strata accepts but does not act on (`compress=true`: the rotated files
/// stay uncompressed, so a Docker host's daemon.json still works and the limits still hold).
pub fn warnings(opts: &BTreeMap<String, String>) -> Vec<String> {
    match opts.get("compress").and_then(|v| gocompat::parse_bool(v)) {
        Some(true) => vec![COMPRESS_WARNING.to_owned()],
        _ => Vec::new(),
    }
}

/// Whether a container with this `LogConfig` keeps a log that `docker logs` can read (not with
/// the `none` driver).
pub fn keeps_log(log_config: Option<&Value>) -> bool {
    parts(log_config).0 != NONE
}

/// The create-time check: a driver strata has, and option names it takes.
pub fn check(driver: &str, opts: &BTreeMap<String, String>) -> Result<(), String> {
    let allowed: &[&str] = match driver {
        JSON_FILE => JSON_FILE_OPTS,
        NONE => &[],
        d if DOCKER_ONLY.contains(&d) => {
            return Err(format!(
                "logging driver \"{d}\" is not available in strata (it has the json-file and none drivers)"
            ));
        }
        d => return Err(format!("error looking up logging plugin {d}: plugin \"{d}\" not found")),
    };
    match opts.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown log opt '{k}' for {driver} log driver")),
        None => Ok(()),
    }
}

/// The start-time reading of the options (Docker's texts, after "failed to initialize logging
/// driver: ").
pub fn driver(driver: &str, opts: &BTreeMap<String, String>) -> Result<LogDriver, String> {
    check(driver, opts)?;
    if driver == NONE {
        return Ok(LogDriver::None);
    }
    let max_size = match opts.get("max-size").map(String::as_str) {
        None | Some("" | "-1") => None,
        Some(s) => match gocompat::ram_in_bytes(s) {
            Some(0) => return Err("max-size must be a positive number".into()),
            Some(n) => Some(n),
            None => return Err(format!("invalid size: '{s}'")),
        },
    };
    let max_file = match opts.get("max-file").map(String::as_str) {
        None | Some("") => 1,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 1 => return Err("max-file cannot be less than 1".into()),
            Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
            Err(_) => return Err(format!("strconv.Atoi: parsing \"{s}\": invalid syntax")),
        },
    };
    if let Some(s) = opts.get("compress").filter(|s| !s.is_empty()) {
        let Some(compress) = gocompat::parse_bool(s) else {
            return Err(format!("strconv.ParseBool: parsing \"{s}\": invalid syntax"));
        };
        if compress && (max_file < 2 || max_size.is_none()) {
            return Err("compress cannot be true when max-file is less than 2 or max-size is not set".into());
        }
    }
    Ok(LogDriver::JsonFile(Rotation { max_size, max_file }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn drivers_and_option_names_are_checked_at_create_with_dockers_texts() {
        assert_eq!(check("json-file", &opts(&[("max-size", "1k"), ("tag", "x")])), Ok(()));
        assert_eq!(check("none", &opts(&[])), Ok(()));
        assert_eq!(
            check("json-file", &opts(&[("foo", "bar")])),
            Err("unknown log opt 'foo' for json-file log driver".into())
        );
        assert_eq!(
            check("nosuch", &opts(&[])),
            Err("error looking up logging plugin nosuch: plugin \"nosuch\" not found".into())
        );
        assert!(check("syslog", &opts(&[])).expect_err("refused").contains("not available in strata"));
        let log_config = serde_json::json!({"Type": "", "Config": {"max-size": "1k"}});
        assert_eq!(parts(Some(&log_config)), ("json-file".to_owned(), opts(&[("max-size", "1k")])));
        assert_eq!(parts(None).0, "json-file");
    }

    #[test]
    fn the_daemons_defaults_apply_as_in_docker() {
        let defaults = opts(&[("max-size", "10m"), ("max-file", "3")]);
        let with = |v: serde_json::Value| with_defaults(Some(&v), "json-file", &defaults);
        // No type: the default driver with its options, the request's own options winning.
        assert_eq!(
            with(serde_json::json!({"Type": "", "Config": {"max-size": "1m"}})),
            ("json-file".into(), opts(&[("max-size", "1m"), ("max-file", "3")]))
        );
        assert_eq!(with_defaults(None, "json-file", &defaults), ("json-file".into(), defaults.clone()));
        // Another driver does not get the default driver's options.
        assert_eq!(with(serde_json::json!({"Type": "none", "Config": {}})), ("none".into(), opts(&[])));
    }

    #[test]
    fn values_are_read_at_start_with_dockers_texts() {
        let rot = |max_size, max_file| Ok(LogDriver::JsonFile(Rotation { max_size, max_file }));
        assert_eq!(driver("json-file", &opts(&[])), rot(None, 1));
        assert_eq!(driver("json-file", &opts(&[("max-size", "10m"), ("max-file", "3")])), rot(Some(10 << 20), 3));
        assert_eq!(driver("json-file", &opts(&[("max-size", "1.5k")])), rot(Some(1536), 1));
        assert_eq!(driver("json-file", &opts(&[("max-size", "10")])), rot(Some(10), 1));
        assert_eq!(driver("json-file", &opts(&[("max-size", "2KiB")])), rot(Some(2048), 1));
        assert_eq!(driver("none", &opts(&[])), Ok(LogDriver::None));
        let err = |pairs: &[(&str, &str)]| driver("json-file", &opts(pairs)).expect_err("refused");
        assert_eq!(err(&[("max-size", "abc")]), "invalid size: 'abc'");
        assert_eq!(err(&[("max-size", "0")]), "max-size must be a positive number");
        assert_eq!(err(&[("max-file", "0")]), "max-file cannot be less than 1");
        assert_eq!(err(&[("max-file", "x")]), "strconv.Atoi: parsing \"x\": invalid syntax");
        assert_eq!(err(&[("compress", "maybe")]), "strconv.ParseBool: parsing \"maybe\": invalid syntax");
        assert_eq!(
            err(&[("compress", "true")]),
            "compress cannot be true when max-file is less than 2 or max-size is not set"
        );
        let compressed = opts(&[("compress", "true"), ("max-size", "1m"), ("max-file", "2")]);
        assert_eq!(driver("json-file", &compressed), rot(Some(1 << 20), 2), "accepted, with a warning");
        assert_eq!(warnings(&compressed), vec![COMPRESS_WARNING.to_owned()]);
        assert!(warnings(&opts(&[("max-size", "1m")])).is_empty());
        assert_eq!(driver("json-file", &opts(&[("compress", "false")])), rot(None, 1));
    }
}
