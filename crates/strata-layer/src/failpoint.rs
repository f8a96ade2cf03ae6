//! Crash injection for the crash-safety tests.
//!
//! `STRATA_FAILPOINT=<name>` in the daemon's environment makes the process abort (as abruptly as
//! `kill -9`: no destructors, no unwinding) when it reaches the point of that name. The tests
//! start a daemon with a failpoint, drive it to the point, restart it without one and check that
//! the start-up reconcile left no trace of the interrupted operation. Without the variable a
//! failpoint is one relaxed atomic load.

use std::sync::OnceLock;

/// The environment variable naming the active failpoint.
pub const FAILPOINT_ENV: &str = "STRATA_FAILPOINT";

fn active() -> Option<&'static str> {
    static ACTIVE: OnceLock<Option<String>> = OnceLock::new();
    ACTIVE.get_or_init(|| std::env::var(FAILPOINT_ENV).ok().filter(|s| !s.is_empty())).as_deref()
}

/// Aborts the process when `name` is the active failpoint.
pub fn hit(name: &str) {
    if active() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
