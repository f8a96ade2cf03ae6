//! Image configs: what strata writes for imported and committed images, what it reads from
//! loaded ones, and Dockerfile-style `changes` (`docker import -c`, `docker commit -c`).
//!
//! A config is kept as the exact bytes it arrived as (the image id is their sha256), and read
//! through [`ImageConfig`], a parsed view that keeps every unknown field.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strata_layer::{DiffId, Digest};

/// The parsed fields of an image config strata uses; everything else stays in `rest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    pub rootfs: RootFs,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One history entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// `rootfs`: the layers, by diff id, base first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// A config that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid image config: {0}")]
    Json(String),
    #[error("invalid image config: rootfs type {0:?} is not \"layers\"")]
    RootFsType(String),
    #[error("invalid image config: {0}")]
    DiffId(String),
}

impl ImageConfig {
    /// Parses and checks a config.
    pub fn parse(raw: &[u8]) -> Result<ImageConfig, ConfigError> {
        let c: ImageConfig = serde_json::from_slice(raw).map_err(|e| ConfigError::Json(e.to_string()))?;
        if c.rootfs.kind != "layers" {
            return Err(ConfigError::RootFsType(c.rootfs.kind.clone()));
        }
        c.diff_ids()?;
        Ok(c)
    }

    /// The layers' diff ids, base first.
    pub fn diff_ids(&self) -> Result<Vec<DiffId>, ConfigError> {
        self.rootfs.diff_ids.iter().map(|d| Digest::parse(d).map_err(|e| ConfigError::DiffId(e.to_string()))).collect()
    }

    /// `created` as unix seconds (0 when absent or unreadable).
    pub fn created_unix(&self) -> i64 {
        self.created.as_deref().map(parse_time_unix).unwrap_or(0)
    }

    /// The container config's labels.
    pub fn labels(&self) -> Map<String, Value> {
        self.config.as_ref().and_then(|c| c.get("Labels")).and_then(Value::as_object).cloned().unwrap_or_default()
    }
}

/// RFC 3339 (with any fraction) to unix seconds; 0 when unreadable.
pub fn parse_time_unix(s: &str) -> i64 {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z').split('.').next().unwrap_or(""))
        .ok()
        .or_else(|| humantime::parse_rfc3339(s).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Now in RFC 3339 with nanoseconds, as Docker writes `created`.
pub fn now_rfc3339_nanos() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

/// Docker's `container.Config` in the field order Docker writes it (for configs strata makes).
pub fn empty_container_config() -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("Hostname", Value::from("")),
        ("Domainname", Value::from("")),
        ("User", Value::from("")),
        ("AttachStdin", Value::from(false)),
        ("AttachStdout", Value::from(false)),
        ("AttachStderr", Value::from(false)),
        ("Tty", Value::from(false)),
        ("OpenStdin", Value::from(false)),
        ("StdinOnce", Value::from(false)),
        ("Env", Value::Null),
        ("Cmd", Value::Null),
        ("Image", Value::from("")),
        ("Volumes", Value::Null),
        ("WorkingDir", Value::from("")),
        ("Entrypoint", Value::Null),
        ("OnBuild", Value::Null),
        ("Labels", Value::Null),
    ] {
        m.insert(k.to_owned(), v);
    }
    m
}

/// A `changes` line that is not one of the instructions import and commit accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("{0} is not a valid change command")]
    NotAllowed(String),
    #[error("dockerfile parse error on line {line}: {why}")]
    Parse { line: usize, why: String },
}

/// The instructions `docker import -c` and `docker commit -c` accept.
pub const CHANGE_COMMANDS: &[&str] =
    &["cmd", "entrypoint", "env", "expose", "label", "onbuild", "user", "volume", "workdir"];

/// Applies Dockerfile-style `changes` to a container config (`docker import -c 'CMD ["sh"]'`).
pub fn apply_changes(config: &mut Map<String, Value>, changes: &[String]) -> Result<(), ChangeError> {
    for (i, change) in changes.iter().enumerate() {
        let line = i + 1;
        let change = change.trim();
        if change.is_empty() {
            continue;
        }
        let (instr, args) = change.split_once(char::is_whitespace).unwrap_or((change, ""));
        let args = args.trim();
        let lower = instr.to_ascii_lowercase();
        if !CHANGE_COMMANDS.contains(&lower.as_str()) {
            return Err(ChangeError::NotAllowed(instr.to_ascii_uppercase()));
        }
        let perr = |why: &str| ChangeError::Parse { line, why: why.to_owned() };
        match lower.as_str() {
            "cmd" | "entrypoint" => {
                let list = json_or_shell(args);
                let key = if lower == "cmd" { "Cmd" } else { "Entrypoint" };
                config.insert(key.to_owned(), Value::from(list));
            }
            "env" | "label" => {
                let pairs = key_values(args)
                    .ok_or_else(|| perr(&format!("{} requires at least one argument", instr.to_ascii_uppercase())))?;
                if lower == "env" {
                    let mut env: Vec<String> = config
                        .get("Env")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                    for (k, v) in pairs {
                        env.retain(|e| e.split('=').next() != Some(k.as_str()));
                        env.push(format!("{k}={v}"));
                    }
                    config.insert("Env".to_owned(), Value::from(env));
                } else {
                    let mut labels = config.get("Labels").and_then(Value::as_object).cloned().unwrap_or_default();
                    for (k, v) in pairs {
                        labels.insert(k, Value::from(v));
                    }
                    config.insert("Labels".to_owned(), Value::Object(labels));
                }
            }
            "expose" => {
                let mut ports = config.get("ExposedPorts").and_then(Value::as_object).cloned().unwrap_or_default();
                for p in args.split_whitespace() {
                    let p = if p.contains('/') { p.to_owned() } else { format!("{p}/tcp") };
                    ports.insert(p, Value::Object(Map::new()));
                }
                config.insert("ExposedPorts".to_owned(), Value::Object(ports));
            }
            "volume" => {
                let mut vols = config.get("Volumes").and_then(Value::as_object).cloned().unwrap_or_default();
                let list = match serde_json::from_str::<Vec<String>>(args) {
                    Ok(l) => l,
                    Err(_) => args.split_whitespace().map(str::to_owned).collect(),
                };
                for v in list {
                    vols.insert(v, Value::Object(Map::new()));
                }
                config.insert("Volumes".to_owned(), Value::Object(vols));
            }
            "onbuild" => {
                let mut list: Vec<Value> = config.get("OnBuild").and_then(Value::as_array).cloned().unwrap_or_default();
                list.push(Value::from(args));
                config.insert("OnBuild".to_owned(), Value::from(list));
            }
            "user" => {
                config.insert("User".to_owned(), Value::from(args));
            }
            "workdir" => {
                config.insert("WorkingDir".to_owned(), Value::from(args));
            }
            _ => return Err(ChangeError::NotAllowed(instr.to_ascii_uppercase())),
        }
    }
    Ok(())
}

/// `["a","b"]` (exec form) or `a b` (shell form → `/bin/sh -c "a b"`).
fn json_or_shell(args: &str) -> Vec<String> {
    if args.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<String>>(args)
    {
        return list;
    }
    vec!["/bin/sh".to_owned(), "-c".to_owned(), args.to_owned()]
}

/// `k=v k2="v 2"` or the legacy `k v` form.
fn key_values(args: &str) -> Option<Vec<(String, String)>> {
    if args.is_empty() {
        return None;
    }
    let words = shell_words(args);
    if !words.first()?.contains('=') {
        let (k, v) = args.split_once(char::is_whitespace)?;
        return Some(vec![(k.to_owned(), v.trim().to_owned())]);
    }
    words.into_iter().map(|w| w.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))).collect()
}

/// Splits on whitespace outside double or single quotes, removing the quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    any = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The fields of `Config` that API 1.50 omits when they are unset, to line up with OCI's image
/// config (moby 28.3's image inspect).
pub const TRIMMED_AT_1_50: &[&str] = &[
    "Hostname",
    "Domainname",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Image",
    "NetworkDisabled",
    "MacAddress",
    "StopTimeout",
];

/// Removes the unset [`TRIMMED_AT_1_50`] fields of a `Config` object.
pub fn trim_config_for_1_50(config: &mut Value) {
    if let Some(m) = config.as_object_mut() {
        for k in TRIMMED_AT_1_50 {
            let unset = match m.get(*k) {
                Some(Value::Bool(b)) => !b,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::Null) => true,
                _ => false,
            };
            if unset {
                m.remove(*k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_like_docker_import() {
        let mut c = empty_container_config();
        let changes: Vec<String> = [
            r#"CMD ["/bin/sh"]"#,
            "ENV A=b",
            "ENV C d e",
            r#"LABEL x=1 "y"="two words""#,
            "EXPOSE 80 53/udp",
            "VOLUME /data",
            "WORKDIR /w",
            "USER nobody",
            "ENTRYPOINT echo hi",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        apply_changes(&mut c, &changes).expect("apply");
        assert_eq!(c["Cmd"], serde_json::json!(["/bin/sh"]));
        assert_eq!(c["Env"], serde_json::json!(["A=b", "C=d e"]));
        assert_eq!(c["Labels"], serde_json::json!({"x": "1", "y": "two words"}));
        assert_eq!(c["ExposedPorts"], serde_json::json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["Volumes"], serde_json::json!({"/data": {}}));
        assert_eq!(c["WorkingDir"], "/w");
        assert_eq!(c["User"], "nobody");
        assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c", "echo hi"]));
        let err = apply_changes(&mut c, &["RUN true".to_owned()]).expect_err("run");
        assert_eq!(err.to_string(), "RUN is not a valid change command");
    }

    #[test]
    fn configs_keep_unknown_fields_and_check_rootfs() {
        let raw = br#"{"architecture":"amd64","os":"linux","created":"2026-11-26T18:18:58.48096602Z","rootfs":{"type":"layers","diff_ids":["sha256:32f20e41a4192df606c29f82bbabd5e6bf4917461032321bf0aa77d9a7b55ae9"]},"variant":"v8"}"#;
        let c = ImageConfig::parse(raw).expect("parse");
        assert_eq!(c.rest["variant"], "v8");
        assert_eq!(c.created_unix(), 1_795_717_138);
        assert_eq!(c.diff_ids().expect("ids").len(), 1);
        assert!(ImageConfig::parse(br#"{"rootfs":{"type":"x","diff_ids":[]}}"#).is_err());
        assert!(ImageConfig::parse(br#"{"rootfs":{"type":"layers","diff_ids":["md5:x"]}}"#).is_err());
    }

    #[test]
    fn api_1_50_trims_unset_config_fields() {
        let mut v = Value::Object(empty_container_config());
        v["Tty"] = Value::from(true);
        trim_config_for_1_50(&mut v);
        let keys: Vec<&str> = v.as_object().expect("obj").keys().map(String::as_str).collect();
        assert!(keys.contains(&"Tty") && keys.contains(&"Env") && keys.contains(&"User"));
        assert!(!keys.contains(&"Hostname") && !keys.contains(&"AttachStdin") && !keys.contains(&"Image"));
    }
}
