//! Process-wide settings of the daemon.

use std::io;

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`).
///
/// Containers are started by the OCI runtime, which exits once the container's init process runs;
/// the kernel then re-parents that init process to the nearest subreaper. Being one is how the
/// daemon gets to `wait` for its containers and learn their exit codes without a shim per
/// container.
pub fn become_child_subreaper() -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

/// Whether this process is a child subreaper.
pub fn is_child_subreaper() -> io::Result<bool> {
    Ok(rustix::process::child_subreaper()?.is_some())
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The hard and soft limit of open files of this process.
pub fn nofile_limit() -> (Option<u64>, Option<u64>) {
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    (lim.current, lim.maximum)
}
