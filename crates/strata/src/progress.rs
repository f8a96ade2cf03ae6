//! A one-line progress bar on standard error for transfers that may take more than a second
//! (volume export, import, clone, backup, restore): bytes so far, the rate, and with a known
//! total a bar and the time left.
//!
//! It draws only when standard error is a terminal, so scripts that read the commands' output
//! see exactly what they saw before. The line is redrawn in place (`\r`, erase to the end) at
//! most every [`DRAW_EVERY`], cut to the terminal's width, and erased when the bar is dropped
//! or [`Bar::clear`]ed, before the command prints its result.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::units::human_size;

/// How often the line is redrawn.
pub const DRAW_EVERY: Duration = Duration::from_millis(200);
/// How long bytes are counted before a rate and a time left are shown (the first reports come
/// before the transfer found its pace).
const RATE_AFTER: Duration = Duration::from_secs(1);
/// The rate is measured over about this much of the recent past, so that the time left follows
/// changes of pace (a burst into buffers at the start, small files at the end).
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Width of the bar between its brackets.
const BAR_WIDTH: usize = 30;
/// Width assumed when the terminal does not say.
const DEFAULT_COLUMNS: usize = 80;

/// A progress line for one transfer.
pub struct Bar {
    label: String,
    stage: String,
    current: u64,
    total: Option<u64>,
    /// The stage has no byte count (`Syncing`): only its name is shown.
    status_only: bool,
    /// (when, bytes) of recent updates, oldest first, for the rate.
    samples: std::collections::VecDeque<(Instant, u64)>,
    started: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
    shown: bool,
}

impl Bar {
    /// A bar for `label` (a volume name) doing `stage` ("Restoring"); draws nothing until the
    /// first update, and nothing at all unless standard error is a terminal.
    pub fn new(label: &str, stage: &str, total: Option<u64>) -> Bar {
        Bar::with_output(label, stage, total, std::io::stderr().is_terminal())
    }

    fn with_output(label: &str, stage: &str, total: Option<u64>, enabled: bool) -> Bar {
        Bar {
            label: label.to_owned(),
            stage: stage.to_owned(),
            current: 0,
            total,
            status_only: false,
            samples: std::collections::VecDeque::new(),
            started: Instant::now(),
            last_draw: None,
            enabled,
            shown: false,
        }
    }

    /// Bytes done so far in `stage`, and the total when it became known; redraws if it is time
    /// to (at once when the stage changed).
    pub fn update(&mut self, stage: &str, current: u64, total: Option<u64>) {
        let changed = self.set_stage(stage, false);
        self.current = current;
        self.sample(Instant::now(), current);
        if total.is_some() {
            self.total = total;
        }
        if changed || self.last_draw.is_none_or(|t| t.elapsed() >= DRAW_EVERY) {
            self.draw();
        }
    }

    /// A stage without a byte count ("Syncing"), shown at once.
    pub fn status(&mut self, stage: &str) {
        if self.set_stage(stage, true) {
            self.draw();
        }
    }

    fn set_stage(&mut self, stage: &str, status_only: bool) -> bool {
        let changed = self.stage != stage || self.status_only != status_only;
        if changed {
            stage.clone_into(&mut self.stage);
            self.status_only = status_only;
            self.samples.clear();
        }
        changed
    }

    /// Remembers `bytes` at `now`, forgetting samples older than the window (keeping two).
    fn sample(&mut self, now: Instant, bytes: u64) {
        self.samples.push_back((now, bytes));
        while self.samples.len() > 2 && self.samples.get(1).is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the recent window, once the transfer has run for [`RATE_AFTER`].
    fn rate(&self) -> Option<f64> {
        if self.started.elapsed() < RATE_AFTER {
            return None;
        }
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        let secs = t1.duration_since(t0).as_secs_f64();
        (secs >= 0.5).then(|| b1.saturating_sub(b0) as f64 / secs)
    }

    /// Erases the line (before the command prints its result or an error).
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
        }
    }

    fn draw(&mut self) {
        self.last_draw = Some(Instant::now());
        if !self.enabled {
            return;
        }
        let line = if self.status_only {
            let line = format!("{}: {}", self.label, self.stage);
            line.chars().take(columns().saturating_sub(1)).collect()
        } else {
            render(
                &Line {
                    label: &self.label,
                    stage: &self.stage,
                    current: self.current,
                    total: self.total,
                    rate: self.rate(),
                },
                columns(),
            )
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.shown = true;
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The columns of the terminal on standard error.
fn columns() -> usize {
    rustix::termios::tcgetwinsize(std::io::stderr().as_fd())
        .ok()
        .map(|ws| usize::from(ws.ws_col))
        .filter(|&c| c > 0)
        .unwrap_or(DEFAULT_COLUMNS)
}

/// What one drawing of the bar shows.
struct Line<'a> {
    label: &'a str,
    stage: &'a str,
    current: u64,
    total: Option<u64>,
    /// Bytes per second, when known.
    rate: Option<f64>,
}

/// `pgdata: Restoring [=========>         ] 312MB/600MB 45.2MB/s ETA 7s`, without the bar
/// and the time left when the total is unknown, without the rate when there is none yet, cut to
/// `columns - 1` characters (the bar goes first when it does not fit).
fn render(l: &Line<'_>, columns: usize) -> String {
    let rate = l.rate.unwrap_or(0.0);
    let mut head = format!("{}: {}", l.label, l.stage);
    let mut tail = String::new();
    let mut bar = String::new();
    match l.total.filter(|&t| t > 0) {
        Some(total) => {
            let done = l.current.min(total);
            let filled = (BAR_WIDTH as u64 * done / total) as usize;
            bar.push('[');
            bar.push_str(&"=".repeat(filled));
            if filled < BAR_WIDTH {
                bar.push('>');
                bar.push_str(&" ".repeat(BAR_WIDTH - filled - 1));
            }
            bar.push(']');
            tail.push_str(&format!("{}/{}", human_size(done as f64), human_size(total as f64)));
            if rate > 0.0 {
                tail.push_str(&format!(" {}/s", human_size(rate)));
                if done < total {
                    tail.push_str(&format!(" ETA {}", eta(Duration::from_secs_f64((total - done) as f64 / rate))));
                }
            }
        }
        None => {
            tail.push_str(&human_size(l.current as f64));
            if rate > 0.0 {
                tail.push_str(&format!(" {}/s", human_size(rate)));
            }
        }
    }
    let limit = columns.saturating_sub(1);
    let with_bar = if bar.is_empty() { format!("{head} {tail}") } else { format!("{head} {bar} {tail}") };
    if with_bar.chars().count() <= limit {
        return with_bar;
    }
    head.push(' ');
    head.push_str(&tail);
    head.chars().take(limit).collect()
}

/// `7s`, `1m05s`, `2h03m`.
fn eta(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(current: u64, total: Option<u64>, rate: Option<f64>) -> String {
        render(&Line { label: "pgdata", stage: "Restoring", current, total, rate }, 120)
    }

    #[test]
    fn known_totals_get_a_bar_a_rate_and_the_time_left() {
        assert_eq!(
            line(300_000_000, Some(600_000_000), Some(30e6)),
            "pgdata: Restoring [===============>              ] 300MB/600MB 30MB/s ETA 10s"
        );
        assert_eq!(
            line(600_000_000, Some(600_000_000), Some(30e6)),
            "pgdata: Restoring [==============================] 600MB/600MB 30MB/s"
        );
        // Nothing measured yet: no rate, no guess.
        assert_eq!(line(6, Some(1000), None), "pgdata: Restoring [>                             ] 6B/1kB");
    }

    #[test]
    fn unknown_totals_show_bytes_and_rate() {
        assert_eq!(line(45_000_000, None, Some(15e6)), "pgdata: Restoring 45MB 15MB/s");
    }

    #[test]
    fn narrow_terminals_lose_the_bar_first() {
        let l = Line { label: "pgdata", stage: "Restoring", current: 1, total: Some(2), rate: Some(1.0) };
        assert_eq!(render(&l, 40), "pgdata: Restoring 1B/2B 1B/s ETA 1s");
        assert_eq!(render(&l, 12), "pgdata: Res");
    }

    #[test]
    fn times_left_read_like_durations() {
        assert_eq!(eta(Duration::from_secs(7)), "7s");
        assert_eq!(eta(Duration::from_secs(65)), "1m05s");
        assert_eq!(eta(Duration::from_secs(7380)), "2h03m");
    }

    #[test]
    fn a_bar_off_a_terminal_draws_nothing() {
        let mut b = Bar::with_output("v", "Importing", None, false);
        b.update("Importing", 10, Some(20));
        b.status("Syncing");
        assert!(!b.shown && b.status_only);
        assert_eq!(b.total, Some(20));
        b.update("Importing", 20, None);
        assert!(!b.status_only);
        assert_eq!(b.total, Some(20));
    }

    #[test]
    fn the_rate_follows_the_recent_pace() {
        let mut b = Bar::with_output("v", "Restoring", Some(1000), false);
        assert_eq!(b.rate(), None, "not in the first second");
        let t = Instant::now() - Duration::from_secs(20);
        b.started = t;
        // Fast at first, then 10 B/s over the last ten seconds.
        b.sample(t, 0);
        b.sample(t + Duration::from_secs(1), 500);
        for i in 0..=10u64 {
            b.sample(t + Duration::from_secs(10 + i), 500 + 10 * i);
        }
        let rate = b.rate().expect("a rate");
        assert!((rate - 10.0).abs() < 0.01, "{rate}");
    }
}
