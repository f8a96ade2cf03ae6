//! What `POST /containers/create` carries: the container `Config` and `HostConfig`, as the docker
//! CLI and docker-py send them.
//!
//! Only the fields strata acts on are typed; everything else is kept verbatim (`rest`) so that
//! `docker inspect` echoes the request back as Docker does, and so that a field strata does not
//! know yet is never silently dropped from the record.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The body of `POST /containers/create`: `Config` fields at the top level, plus `HostConfig`
/// and `NetworkingConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateBody {
    #[serde(flatten)]
    pub config: Config,
    #[serde(default)]
    pub host_config: Option<HostConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<Value>,
}

/// The container's configuration (`Config` in inspect): what runs, and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    pub image: String,
    pub volumes: Option<BTreeMap<String, Value>>,
    pub working_dir: String,
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Fields strata keeps but does not interpret.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// How the container is hosted (`HostConfig` in inspect).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub volume_driver: String,
    pub volumes_from: Option<Vec<String>>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_opt: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub shm_size: i64,
    pub runtime: String,
    pub console_size: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<strata_mount::Mount>>,
    /// Fields strata keeps but does not interpret (resources, DNS, …).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

/// Docker's `strslice`: a JSON string or a list of strings (or null).
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_create_body_parses_and_keeps_unknown_fields() {
        let body = r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,
            "AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,
            "Cmd":["sh","-c","echo hi"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,
            "OnBuild":null,"Labels":{},"HostConfig":{"Binds":["pgdata:/data"],"ContainerIDFile":"",
            "LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},
            "RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"",
            "VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"",
            "ReadonlyRootfs":false,"Memory":0,"Tmpfs":{"/t":"size=1m"}},"NetworkingConfig":{"EndpointsConfig":{}}}"#;
        let b: CreateBody = serde_json::from_str(body).expect("parse");
        assert_eq!(b.config.cmd, Some(vec!["sh".into(), "-c".into(), "echo hi".into()]));
        let hc = b.host_config.expect("host config");
        assert!(hc.auto_remove);
        assert_eq!(hc.binds, Some(vec!["pgdata:/data".into()]));
        assert_eq!(hc.rest.get("Memory"), Some(&Value::from(0)));
        assert_eq!(hc.tmpfs.as_ref().and_then(|t| t.get("/t")).map(String::as_str), Some("size=1m"));
        let echoed = serde_json::to_value(&hc).expect("encode");
        assert_eq!(echoed["CgroupnsMode"], "");
    }

    #[test]
    fn cmd_may_be_a_plain_string() {
        let c: Config = serde_json::from_str(r#"{"Cmd":"echo hi","Entrypoint":null}"#).expect("parse");
        assert_eq!(c.cmd, Some(vec!["echo hi".into()]));
        assert_eq!(c.entrypoint, None);
    }
}
