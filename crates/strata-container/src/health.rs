//! Healthchecks: `Config.Healthcheck` (from the request, or inherited from the image) probed
//! while the container runs, through the exec machinery, as Docker does.
//!
//! The monitor of a container starts with it and ends with it (or at its next start, which
//! starts a new one): each start bumps the container's generation and a monitor stops as soon as
//! the generation it was started for is no longer current. Results are kept in memory, like
//! exec instances: `State.Health` shows the status (`starting`, `healthy`, `unhealthy`), the
//! failing streak and the last five probes; a stopped container shows `unhealthy` (Docker 20.10
//! does the same), and a restart or a restarted daemon starts over at `starting`.
//!
//! Docker's rules: the first probe runs one interval after the start; exit code 0 is healthy,
//! anything else (or a probe that cannot start, or one that exceeds the timeout and is killed)
//! a failure; failures during the start period do not count while the status is `starting`;
//! `Retries` consecutive failures make the container unhealthy; one success makes it healthy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::exec::ExecConfig;
use crate::service::Containers;
use crate::spec::Config;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// Docker keeps this many probe results.
const MAX_LOG_ENTRIES: usize = 5;
/// And this much of each probe's output.
const MAX_OUTPUT: usize = 4096;

/// A container's resolved healthcheck.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    /// The probe's argv (`CMD-SHELL` already wrapped in the shell).
    pub args: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
}

fn duration_of(v: &Value, key: &str, default: Duration) -> Duration {
    match v.get(key).and_then(Value::as_i64) {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

impl HealthConfig {
    /// The healthcheck of a (merged) container config, `None` when there is none or it is
    /// disabled (`["NONE"]`).
    pub fn of(config: &Config) -> Option<HealthConfig> {
        let hc = config.healthcheck.as_ref()?;
        let test: Vec<String> = hc.get("Test").and_then(|t| serde_json::from_value(t.clone()).ok()).unwrap_or_default();
        let args = match test.split_first() {
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
            Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
                let mut shell = config
                    .shell
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned()]);
                shell.push(rest.join(" "));
                shell
            }
            _ => return None,
        };
        let retries = hc.get("Retries").and_then(Value::as_i64).filter(|r| *r > 0).map(|r| r as u32);
        Some(HealthConfig {
            args,
            interval: duration_of(hc, "Interval", DEFAULT_INTERVAL),
            timeout: duration_of(hc, "Timeout", DEFAULT_TIMEOUT),
            start_period: duration_of(hc, "StartPeriod", Duration::ZERO),
            retries: retries.unwrap_or(DEFAULT_RETRIES),
        })
    }
}

/// `State.Health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<ProbeResult>,
}

/// `State.Health.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One entry of `State.Health.Log`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeResult {
    #[serde(serialize_with = "rfc3339")]
    pub start: SystemTime,
    #[serde(serialize_with = "rfc3339")]
    pub end: SystemTime,
    pub exit_code: i32,
    pub output: String,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_nanos(*t).to_string())
}

impl Health {
    fn new() -> Health {
        Health { status: HealthStatus::Starting, failing_streak: 0, log: Vec::new() }
    }

    /// Applies one probe result by Docker's rules.
    pub fn record(&mut self, result: ProbeResult, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HealthStatus::Healthy;
        } else if !(in_start_period && self.status == HealthStatus::Starting) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.log.push(result);
        if self.log.len() > MAX_LOG_ENTRIES {
            let extra = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..extra);
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    generation: u64,
    health: Option<Health>,
}

/// The health of every container that has a healthcheck.
#[derive(Debug, Default)]
pub struct Monitors {
    slots: Mutex<HashMap<String, Slot>>,
}

impl Monitors {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The container's health (`State.Health`), if it has a healthcheck and has run.
    pub fn get(&self, id: &str) -> Option<Health> {
        self.slots().get(id).and_then(|s| s.health.clone())
    }

    /// Ends the current monitor of a container (it exited). As in Docker, a stopped container
    /// shows `unhealthy`, with its last probes.
    pub(crate) fn stop(&self, id: &str) {
        if let Some(s) = self.slots().get_mut(id) {
            s.generation += 1;
            if let Some(h) = s.health.as_mut() {
                h.status = HealthStatus::Unhealthy;
            }
        }
    }

    /// Forgets a removed container.
    pub(crate) fn forget(&self, id: &str) {
        self.slots().remove(id);
    }

    fn begin(&self, id: &str) -> u64 {
        let mut slots = self.slots();
        let slot = slots.entry(id.to_owned()).or_default();
        slot.generation += 1;
        slot.health = Some(Health::new());
        slot.generation
    }

    fn current(&self, id: &str, generation: u64) -> bool {
        self.slots().get(id).is_some_and(|s| s.generation == generation)
    }

    /// Applies a probe's result; returns the new status when it changed.
    fn record(
        &self,
        id: &str,
        generation: u64,
        result: ProbeResult,
        retries: u32,
        in_start_period: bool,
    ) -> Option<HealthStatus> {
        let mut slots = self.slots();
        let slot = slots.get_mut(id).filter(|s| s.generation == generation)?;
        let h = slot.health.as_mut()?;
        let before = h.status;
        h.record(result, retries, in_start_period);
        (h.status != before).then_some(h.status)
    }
}

impl Containers {
    /// Starts the health monitor of a container that just started (no-op without a
    /// healthcheck).
    pub(crate) fn start_health_monitor(self: &Arc<Self>, id: &str, config: &Config) {
        let Some(hc) = HealthConfig::of(config) else {
            self.health().forget(id);
            return;
        };
        let generation = self.health().begin(id);
        let weak = Arc::downgrade(self);
        let id = id.to_owned();
        tokio::spawn(async move { monitor(weak, id, generation, hc).await });
    }
}

async fn monitor(weak: Weak<Containers>, id: String, generation: u64, hc: HealthConfig) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(hc.interval).await;
        let Some(svc) = weak.upgrade() else { return };
        if !svc.health().current(&id, generation) || !svc.is_live(&id) {
            return;
        }
        let in_start_period = started.elapsed() < hc.start_period;
        let result = probe(&svc, &id, &hc).await;
        tracing::debug!(id = %id, exit_code = result.exit_code, "healthcheck probe");
        if !svc.runs_undisturbed(&id) {
            return;
        }
        if let Some(status) = svc.health().record(&id, generation, result, hc.retries, in_start_period) {
            svc.emit_for(&id, &format!("health_status: {}", status.as_str()), &[]);
        }
    }
}

/// Runs the probe once as an exec in the container.
async fn probe(svc: &Arc<Containers>, id: &str, hc: &HealthConfig) -> ProbeResult {
    let start = SystemTime::now();
    let failed = |text: String| ProbeResult { start, end: SystemTime::now(), exit_code: -1, output: text };
    let config =
        ExecConfig { cmd: Some(hc.args.clone()), attach_stdout: true, attach_stderr: true, ..Default::default() };
    let exec_id = match svc.exec_create(id, config) {
        Ok(e) => e,
        Err(e) => return failed(e.to_string()),
    };
    let result = run_exec(svc, &exec_id, hc.timeout).await;
    svc.forget_exec(&exec_id);
    match result {
        Ok((exit_code, output)) => ProbeResult { start, end: SystemTime::now(), exit_code, output },
        Err(text) => failed(text),
    }
}

async fn run_exec(svc: &Arc<Containers>, exec_id: &str, timeout: Duration) -> Result<(i32, String), String> {
    let mut stream = svc.exec_start(exec_id, false, None).await.map_err(|e| e.to_string())?;
    let exec = svc.exec_get(exec_id).map_err(|e| e.to_string())?;
    let mut output = Vec::new();
    let run = async {
        while let Some(chunk) = stream.output.next().await {
            if let Ok(chunk) = chunk
                && output.len() < MAX_OUTPUT
            {
                let room = MAX_OUTPUT - output.len();
                output.extend_from_slice(&chunk.bytes[..chunk.bytes.len().min(room)]);
            }
        }
        // The exit code is recorded just after the output closes.
        loop {
            if let Some(code) = exec.state().exit_code {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(code) => Ok((code, String::from_utf8_lossy(&output).into_owned())),
        Err(_) => {
            let pid = exec.state().pid;
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            Err(format!("Health check exceeded timeout ({})", humantime::format_duration(timeout)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hc: Value) -> Config {
        Config { healthcheck: Some(hc), ..Default::default() }
    }

    #[test]
    fn tests_resolve_like_docker() {
        let c = config(serde_json::json!({"Test": ["CMD-SHELL", "test -f /x"], "Interval": 1_000_000_000}));
        let hc = HealthConfig::of(&c).expect("hc");
        assert_eq!(hc.args, vec!["/bin/sh", "-c", "test -f /x"]);
        assert_eq!(hc.interval, Duration::from_secs(1));
        assert_eq!(hc.timeout, DEFAULT_TIMEOUT);
        assert_eq!(hc.retries, 3);
        let c = config(serde_json::json!({"Test": ["CMD", "true", "x"], "Retries": 1}));
        assert_eq!(HealthConfig::of(&c).expect("cmd").args, vec!["true", "x"]);
        assert!(HealthConfig::of(&config(serde_json::json!({"Test": ["NONE"]}))).is_none());
        assert!(HealthConfig::of(&Config::default()).is_none());
    }

    #[test]
    fn status_follows_results() {
        let r = |code| ProbeResult {
            start: SystemTime::now(),
            end: SystemTime::now(),
            exit_code: code,
            output: String::new(),
        };
        let mut h = Health::new();
        h.record(r(1), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        h.record(r(1), 2, false);
        h.record(r(1), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Unhealthy, 2));
        h.record(r(0), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        for _ in 0..6 {
            h.record(r(0), 2, false);
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
    }
}
