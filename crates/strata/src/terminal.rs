//! The local terminal for `run -it`, `start -ai`, `attach` and `exec -it`: raw mode while a
//! container owns the keyboard, and the window size the daemon's pseudo-TTY should have.
//!
//! Raw mode is held by a guard that restores the saved settings when dropped, so the terminal
//! comes back on a normal exit, on an error and on a panic (the CLI unwinds). Everything here
//! goes through rustix's safe termios calls; the CLI has no `unsafe`.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};

/// Raw mode on standard input until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts standard input's terminal in raw mode (no echo, no line editing, no signals from
    /// keys: Ctrl-C goes to the container). `None` when stdin is not a terminal.
    pub fn enable() -> std::io::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let saved = tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw)?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &self.saved);
    }
}

/// The (rows, columns) of the terminal on standard output, if it is one and has a size.
pub fn size() -> Option<(u16, u16)> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    let ws = tcgetwinsize(stdout.as_fd()).ok()?;
    (ws.ws_row > 0 || ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}
