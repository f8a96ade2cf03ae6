//! Progress of the transfers that can take a while (import, restore, clone), for callers that
//! show it (the API's `?progress=1` JSON lines, the CLI's bar).
//!
//! A transfer calls its [`ProgressFn`] from whichever of its threads does the counting, at most
//! every [`REPORT_EVERY`], then once more with the final count, and once with
//! [`Stage::Syncing`] before it waits for the data to reach the disk (the last step, which can
//! take seconds after a large fill). Reports are cheap to drop: a caller that cannot keep up may
//! skip some.

use std::time::{Duration, Instant};

/// Shortest interval between two reports of the same stage.
pub const REPORT_EVERY: Duration = Duration::from_millis(200);

/// What a transfer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading an archive into a volume; `current` counts the archive's bytes as received.
    Importing,
    /// Reading a backup into a volume; `current` counts the backup's data bytes as stored.
    Restoring,
    /// Copying a volume; `current` counts bytes of file contents.
    Cloning,
    /// Everything is written; waiting for the filesystem to have it on disk.
    Syncing,
}

impl Stage {
    /// The word the API and the CLI show.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Importing => "Importing",
            Stage::Restoring => "Restoring",
            Stage::Cloning => "Cloning",
            Stage::Syncing => "Syncing",
        }
    }
}

/// One report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub stage: Stage,
    /// Bytes done so far (see [`Stage`] for which bytes).
    pub current: u64,
    /// Bytes to do in all, when known.
    pub total: Option<u64>,
}

/// Where reports go. Called from the transfer's threads, so it must be `Sync`.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// A [`ProgressFn`] that drops every report.
pub fn ignore(_: Progress) {}

/// Rate-limits the reports of one stage.
pub(crate) struct Reporter<'a> {
    sink: ProgressFn<'a>,
    stage: Stage,
    total: Option<u64>,
    last: Option<Instant>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(sink: ProgressFn<'a>, stage: Stage, total: Option<u64>) -> Reporter<'a> {
        Reporter { sink, stage, total, last: None }
    }

    /// Reports `current` unless the last report is younger than [`REPORT_EVERY`] (the first one
    /// always goes).
    pub(crate) fn update(&mut self, current: u64) {
        if self.last.is_some_and(|t| t.elapsed() < REPORT_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        (self.sink)(Progress { stage: self.stage, current, total: self.total });
    }

    /// Reports the final count.
    pub(crate) fn finish(&mut self, current: u64) {
        self.last = Some(Instant::now());
        (self.sink)(Progress { stage: self.stage, current, total: self.total });
    }
}

/// Reports that the data is being synced.
pub(crate) fn syncing(sink: ProgressFn<'_>) {
    sink(Progress { stage: Stage::Syncing, current: 0, total: None });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn reports_are_rate_limited_but_the_first_and_last_go_through() {
        let seen = Mutex::new(Vec::new());
        let sink = |p: Progress| seen.lock().expect("lock").push(p.current);
        let mut r = Reporter::new(&sink, Stage::Restoring, Some(100));
        r.update(1);
        r.update(2);
        r.update(3);
        r.finish(100);
        assert_eq!(*seen.lock().expect("lock"), [1, 100]);
        std::thread::sleep(REPORT_EVERY);
        r.update(100);
        assert_eq!(seen.lock().expect("lock").len(), 3);
        assert_eq!(Stage::Syncing.as_str(), "Syncing");
    }
}
