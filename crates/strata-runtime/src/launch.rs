//! Creating a container or an exec with its stdio wired and its exit watched, in one call.
//!
//! The order matters and is easy to get wrong, so it lives here once:
//!
//! 1. stdio is prepared (pipes, or a console socket) and the caller's first output subscription
//!    is taken *before* anything runs, so not a byte of an exec's output is lost;
//! 2. the runtime creates the process (`runc create` / `runc exec --detach`);
//! 3. the pid is watched with the instant taken before step 2, so an exec that already exited
//!    still delivers its status (see [`crate::reaper`]);
//! 4. the terminal is received / the output pump starts.
//!
//! If a step after the runtime's fails, the container is deleted (or the exec killed) so that
//! nothing is left running that no one watches.

use std::path::Path;
use std::time::Instant;

use oci_spec::runtime::Process;

use crate::io::{ContainerIo, IoError, IoOptions, OutputSubscription, PreparedIo};
use crate::logs::LogWriter;
use crate::reaper::{ExitWatch, Reaper, ReaperError};
use crate::runtime::{Runtime, RuntimeError};
use crate::spec::{SpecError, console_box};

/// Why launching failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Reaper(#[from] ReaperError),
    #[error(transparent)]
    Spec(SpecError),
}

/// A created container's init process, or a started exec.
#[derive(Debug)]
pub struct RunningProcess {
    /// Its pid on the host.
    pub pid: u32,
    /// Its stdio (clone it into each attach).
    pub io: ContainerIo,
    /// Its exit status (clone it into each waiter).
    pub exit: ExitWatch,
    /// A subscription to its output taken before it could write anything; drop it if unused.
    pub output: OutputSubscription,
}

/// Creates container `id` from `bundle` with stdio per `options`, its output logged to `log`.
/// The container is *created*, not started: call [`Runtime::start`] next (after attaching).
pub async fn create_container(
    runtime: &dyn Runtime,
    reaper: &'static Reaper,
    id: &str,
    bundle: &Path,
    options: IoOptions,
    log: Option<LogWriter>,
) -> Result<RunningProcess, LaunchError> {
    let (prepared, stdio) = PreparedIo::new(options, runtime.work_dir())?;
    let output = prepared.subscribe();
    let since = Instant::now();
    let pid = runtime.create(id, bundle, stdio).await?;
    let wired = async {
        let exit = reaper.watch(pid, since)?;
        let io = prepared.connect(log).await?;
        Ok::<_, LaunchError>((exit, io))
    };
    match wired.await {
        Ok((exit, io)) => Ok(RunningProcess { pid, io, exit, output }),
        Err(e) => {
            if let Err(cleanup) = runtime.delete(id, true).await {
                tracing::warn!(id, error = %cleanup, "cannot delete a container whose stdio failed");
            }
            Err(e)
        }
    }
}

/// Starts `process` in running container `id` with stdio per `options` (`process.terminal`
/// and the console size are set from `options`). Exec output is not logged, as in Docker, and
/// an exec's stdin is always closed when the attached client's input ends (Docker's exec has no
/// `StdinOnce` setting: `psql < dump.sql` must see end of input).
pub async fn exec_process(
    runtime: &dyn Runtime,
    reaper: &'static Reaper,
    id: &str,
    process: &Process,
    options: IoOptions,
) -> Result<RunningProcess, LaunchError> {
    let options = IoOptions { stdin_once: true, ..options };
    let mut process = process.clone();
    process.set_terminal(Some(options.tty));
    if let Some(size) = options.console_size.filter(|_| options.tty) {
        process.set_console_size(Some(console_box(size).map_err(LaunchError::Spec)?));
    }
    let (prepared, stdio) = PreparedIo::new(options, runtime.work_dir())?;
    let output = prepared.subscribe();
    let since = Instant::now();
    let pid = runtime.exec(id, &process, stdio).await?;
    let exit = reaper.watch(pid, since)?;
    match prepared.connect(None).await {
        Ok(io) => Ok(RunningProcess { pid, io, exit, output }),
        Err(e) => {
            let _ = exit.signal(rustix::process::Signal::KILL);
            Err(e.into())
        }
    }
}
