//! A container's state, and the words Docker uses for it (`Up 5 seconds`, `Exited (0) 4 minutes
//! ago`), which users read in `docker ps` and scripts parse.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    /// The lower-case word of the API (`State.Status`, the `status` filter).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Parses a `status` filter value.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => return None,
        })
    }
}

/// The persistent state of a container (`State` in inspect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The init process, while running.
    pub pid: u32,
    pub exit_code: i32,
    /// Why the last start failed, or empty.
    pub error: String,
    pub oom_killed: bool,
    /// When the container last started / stopped (`None` = never, Go's zero time on the wire).
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    /// Stopped or killed by a user (restart policies leave it alone until the next start, and
    /// `unless-stopped` also across daemon restarts).
    #[serde(default)]
    pub manually_stopped: bool,
}

impl Default for State {
    fn default() -> State {
        State {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: None,
            finished_at: None,
            manually_stopped: false,
        }
    }
}

/// Go's zero time as Docker prints it for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A time as Docker's JSON has it (RFC3339 with nanoseconds), or Go's zero time.
pub fn rfc3339_nanos(t: Option<SystemTime>) -> String {
    match t {
        Some(t) => humantime::format_rfc3339_nanos(t).to_string(),
        None => ZERO_TIME.to_owned(),
    }
}

impl State {
    /// The `Status` column of `docker ps` at time `now`.
    pub fn describe(&self, now: SystemTime) -> String {
        let since = |t: Option<SystemTime>| t.and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
        match self.status {
            Status::Created => "Created".to_owned(),
            Status::Running => format!("Up {}", human_duration(since(self.started_at))),
            Status::Paused => format!("Up {} (Paused)", human_duration(since(self.started_at))),
            Status::Restarting => {
                format!("Restarting ({}) {} ago", self.exit_code, human_duration(since(self.finished_at)))
            }
            Status::Removing => "Removal In Progress".to_owned(),
            Status::Exited if self.finished_at.is_none() => format!("Exited ({})", self.exit_code),
            Status::Exited => format!("Exited ({}) {} ago", self.exit_code, human_duration(since(self.finished_at))),
            Status::Dead => "Dead".to_owned(),
        }
    }

    /// Whether the container's process is alive (running or paused).
    pub fn is_running(&self) -> bool {
        matches!(self.status, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// go-units `HumanDuration`, which Docker uses in `Status`.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    match seconds {
        0 => "Less than a second".to_owned(),
        1 => "1 second".to_owned(),
        2..=59 => format!("{seconds} seconds"),
        _ => {
            let minutes = seconds / 60;
            if minutes == 1 {
                return "About a minute".to_owned();
            }
            if minutes < 60 {
                return format!("{minutes} minutes");
            }
            let hours = (seconds as f64 / 3600.0).round() as u64;
            match hours {
                1 => "About an hour".to_owned(),
                2..=47 => format!("{hours} hours"),
                _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
                _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
                _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
                _ => format!("{} years", hours / 24 / 365),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn status_words_match_docker_ps() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let mut s = State::default();
        assert_eq!(s.describe(now), "Created");
        s.status = Status::Running;
        s.started_at = at(10_000 - 5);
        assert_eq!(s.describe(now), "Up 5 seconds");
        s.status = Status::Paused;
        assert_eq!(s.describe(now), "Up 5 seconds (Paused)");
        s.status = Status::Exited;
        s.exit_code = 137;
        s.finished_at = at(10_000 - 240);
        assert_eq!(s.describe(now), "Exited (137) 4 minutes ago");
        s.finished_at = at(10_000);
        assert_eq!(s.describe(now), "Exited (137) Less than a second ago");
    }

    #[test]
    fn zero_time_is_go_zero() {
        assert_eq!(rfc3339_nanos(None), "0001-01-01T00:00:00Z");
        assert!(rfc3339_nanos(at(1)).starts_with("1970-01-01T00:00:01"));
    }

    #[test]
    fn status_words_round_trip() {
        for s in [Status::Created, Status::Running, Status::Paused, Status::Exited, Status::Dead, Status::Removing] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("bogus"), None);
    }
}
