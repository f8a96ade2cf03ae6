//! strata's execution layer: everything that runs a process for a container goes through here.
//!
//! The container service (lifecycle, API routes, mounts, images) sits on top of this crate and
//! never talks to `runc`, a pipe or a pty itself. The parts, in the order a container meets them:
//!
//! - [`spec`] turns a plain [`ContainerSpec`] into an OCI `config.json` with Docker's defaults
//!   (mounts, capabilities, masked paths, devices, rlimits clamped to the daemon's), and
//!   [`bundle`] writes it into a bundle directory under the exec-root. [`user`] resolves
//!   `--user name:group` from the container's own `/etc/passwd`, reading inside the rootfs
//!   safely.
//! - [`runtime`] is the [`Runtime`] trait (create, start, kill, delete, state, pause, resume,
//!   exec, list) and [`RuncRuntime`], which drives any runc-compatible binary.
//! - [`io`] is the container's stdio: pipes, or a pty received over runc's console socket
//!   ([`console`]); output fans out to the log and to any number of attached clients, input
//!   comes from at most one attached stdin. [`logs`] writes and reads Docker's `json-file` format.
//! - [`launch`] puts these together: create a container or an exec with its stdio wired and its
//!   exit status watched.
//! - [`reaper`] collects the exit status of every child of the daemon.
//!
//! # The waiting rule
//!
//! **The daemon is a child subreaper and the [`reaper`] waits for every child
//! (`waitpid(-1)`).** No code in the daemon may wait for a child any other way:
//! `std::process::Command::output`/`status`, `Child::wait` and `tokio::process` all lose the
//! race against the reaper and fail with `ECHILD`. Run commands with
//! [`Reaper::output`](reaper::Reaper::output), [`Reaper::output_blocking`](reaper::Reaper::output_blocking)
//! or [`Reaper::spawn`](reaper::Reaper::spawn) instead. Test binaries that must keep using std's
//! waiting install the reaper with [`ReapMode::RegisteredOnly`].
//!
//! # A container's life, as the container service drives it
//!
//! ```no_run
//! # async fn demo(exec_root: &std::path::Path, data_root: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use strata_runtime::{reaper, spec, Bundle, ContainerSpec, IoOptions, LogWriter, ReapMode,
//!     RuncConfig, RuncRuntime, Runtime};
//! // Once, at daemon start (stratad does this right after becoming a child subreaper).
//! let reaper = reaper::install(ReapMode::AllChildren)?;
//! let runc = RuncRuntime::new(RuncConfig::new("runc", "/usr/sbin/runc", vec![], exec_root), reaper)?;
//!
//! // `docker run -i busybox cat`, once the rootfs is mounted and the mounts are planned.
//! let id = "4f1c…";
//! let user = strata_runtime::user::resolve_user("/…/merged".as_ref(), "", &[])?;
//! let container = ContainerSpec { rootfs: "/…/merged".into(), args: vec!["cat".into()], user,
//!     hostname: "4f1c".into(), ..ContainerSpec::default() };
//! let built = spec::build_spec(id, &container, &spec::HostLimits::probe())?;
//! let bundle = Bundle::write(&Bundle::dir_for(exec_root, id), &built.spec)?;
//! let log = LogWriter::open(&data_root.join("containers").join(id).join(format!("{id}-json.log")))?;
//! let io = IoOptions { open_stdin: true, stdin_once: true, ..IoOptions::default() };
//! let mut process = strata_runtime::create_container(&runc, reaper, id, bundle.path(), io, Some(log)).await?;
//! // Attach: output frames from `process.output` (or `process.io.subscribe()`), input through
//! // `process.io.take_stdin()?.copy_from(&mut client).await`.
//! runc.start(id).await?;
//! let status = process.exit.wait().await;     // the reaper delivers it
//! process.io.wait_closed().await;             // all output logged and sent
//! runc.delete(id, false).await?;
//! bundle.remove()?;
//! println!("exit code {}", status.exit_code());
//! # Ok(()) }
//! ```
//!
//! # Threads and ownership
//!
//! Everything async here runs on any tokio runtime; nothing blocks a worker for longer than a
//! page-cache write. The reaper has its own thread. [`ContainerIo`] and [`ExitWatch`] are cheap
//! handles that can be cloned into as many tasks as there are attached clients and waiters.

pub mod bundle;
pub mod console;
pub mod io;
pub mod launch;
pub mod logs;
pub mod reaper;
pub mod runtime;
pub mod spec;
pub mod user;

pub use bundle::Bundle;
pub use console::WinSize;
pub use io::{ContainerIo, IoOptions, OutputChunk, OutputSubscription, StdinWriter, Stream};
pub use launch::{LaunchError, RunningProcess, create_container, exec_process};
pub use logs::{LogEntry, LogOptions, LogReader, LogWriter, Rotation};
pub use reaper::{ExitStatus, ExitWatch, ReapMode, Reaper};
pub use runtime::{ContainerState, ContainerStatus, RuncConfig, RuncRuntime, Runtime, RuntimeError, RuntimeStdio};
pub use spec::{ContainerSpec, ExecSpec, HostLimits, NetworkMode, OciMount, build_exec_process, build_spec};
pub use user::UserIds;
