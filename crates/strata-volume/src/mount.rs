//! Performing mount plans: the kernel, or a recording fake for tests.
//!
//! Volumes with `type`/`device`/`o` are mounted on their first use and unmounted after their
//! last. The decisions (which calls, in which order, when) are the service's and are unit-tested
//! with [`RecordingMounter`]; [`KernelMounter`] only executes them. Network filesystems can block
//! inside mount(2) for minutes when the server does not answer, so the kernel mounter runs their
//! mount on a helper thread and gives up waiting after [`NETWORK_MOUNT_TIMEOUT`] — the request
//! gets a clear error instead of hanging, and a mount that completes after all is undone.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::options::{MountPlan, MountStep};

/// The longest a network filesystem's mount(2) may take before the caller gets an error.
pub const NETWORK_MOUNT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a host name lookup for `addr=` may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Executes mount plans and answers whether a path is mounted.
pub trait Mounter: Send + Sync + std::fmt::Debug {
    /// Runs the steps of `plan` in order. On failure of a later step the earlier ones are undone.
    fn mount(&self, plan: &MountPlan) -> io::Result<()>;
    /// Detaches whatever is mounted on `target`.
    fn unmount(&self, target: &Path) -> io::Result<()>;
    /// Whether something is mounted on `target`.
    fn is_mounted(&self, target: &Path) -> io::Result<bool>;
    /// Resolves a host name to an address (for `addr=` of network filesystems).
    fn resolve(&self, host: &str) -> Result<IpAddr, String>;
}

/// The real thing: mount(2), umount2(2) and the resolver of the C library.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelMounter;

fn run_steps(steps: &[MountStep]) -> io::Result<()> {
    for (i, s) in steps.iter().enumerate() {
        if let Err(e) = strata_sys::mountcall::mount(&s.source, &s.target, &s.fstype, s.flags, &s.data) {
            if i > 0 {
                let _ = strata_sys::mountinfo::unmount_detach(&s.target);
            }
            return Err(e);
        }
    }
    Ok(())
}

impl Mounter for KernelMounter {
    fn mount(&self, plan: &MountPlan) -> io::Result<()> {
        if !plan.network {
            return run_steps(&plan.steps);
        }
        let steps = plan.steps.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let flag = abandoned.clone();
        std::thread::Builder::new().name("volume-mount".into()).spawn(move || {
            let result = run_steps(&steps);
            // The caller stopped waiting: nobody will use or count this mount, so undo it.
            if flag.load(Ordering::SeqCst)
                && result.is_ok()
                && let Some(first) = steps.first()
            {
                let _ = strata_sys::mountinfo::unmount_detach(&first.target);
            }
            let _ = tx.send(result);
        })?;
        match rx.recv_timeout(NETWORK_MOUNT_TIMEOUT) {
            Ok(result) => result,
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                // The thread may have finished between the timeout and the flag.
                if let Ok(Ok(())) = rx.try_recv()
                    && let Some(first) = plan.steps.first()
                {
                    let _ = strata_sys::mountinfo::unmount_detach(&first.target);
                }
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the server did not answer within {}s (is it reachable, and does it export this path?)",
                        NETWORK_MOUNT_TIMEOUT.as_secs()
                    ),
                ))
            }
        }
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        match strata_sys::mountinfo::unmount_detach(target) {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => Ok(()), // not mounted
            other => other,
        }
    }

    fn is_mounted(&self, target: &Path) -> io::Result<bool> {
        strata_sys::mountcall::is_mount_root(target)
    }

    fn resolve(&self, host: &str) -> Result<IpAddr, String> {
        let (tx, rx) = mpsc::channel();
        let name = format!("{host}:0");
        std::thread::Builder::new()
            .name("volume-resolve".into())
            .spawn(move || {
                let _ = tx.send(name.to_socket_addrs().map(|mut a| a.next()));
            })
            .map_err(|e| e.to_string())?;
        match rx.recv_timeout(RESOLVE_TIMEOUT) {
            Ok(Ok(Some(addr))) => Ok(addr.ip()),
            Ok(Ok(None)) => Err(format!("lookup {host}: no address found")),
            Ok(Err(e)) => Err(format!("lookup {host}: {e}")),
            Err(_) => Err(format!("lookup {host}: no answer within {}s", RESOLVE_TIMEOUT.as_secs())),
        }
    }
}

/// A mounter that records calls instead of making them, for tests (also of the crates above).
#[derive(Debug, Default)]
pub struct RecordingMounter {
    state: Mutex<RecordingState>,
}

#[derive(Debug, Default)]
struct RecordingState {
    calls: Vec<String>,
    mounted: BTreeSet<PathBuf>,
    fail_next: Option<io::ErrorKind>,
}

impl RecordingMounter {
    pub fn new() -> RecordingMounter {
        RecordingMounter::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RecordingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, one line each: `mount SRC TARGET TYPE 0xFLAGS DATA`, `unmount TARGET`.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Makes the next mount fail with `kind`.
    pub fn fail_next_mount(&self, kind: io::ErrorKind) {
        self.state().fail_next = Some(kind);
    }

    /// Marks `target` as mounted (or not) behind the service's back.
    pub fn set_mounted(&self, target: &Path, mounted: bool) {
        let mut s = self.state();
        if mounted {
            s.mounted.insert(target.to_owned());
        } else {
            s.mounted.remove(target);
        }
    }
}

impl Mounter for RecordingMounter {
    fn mount(&self, plan: &MountPlan) -> io::Result<()> {
        let mut s = self.state();
        if let Some(kind) = s.fail_next.take() {
            return Err(io::Error::from(kind));
        }
        for step in &plan.steps {
            s.calls.push(format!(
                "mount {} {} {} {:#x} {}",
                step.source,
                step.target.display(),
                step.fstype,
                step.flags,
                step.data
            ));
        }
        if let Some(first) = plan.steps.first() {
            s.mounted.insert(first.target.clone());
        }
        Ok(())
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        let mut s = self.state();
        s.calls.push(format!("unmount {}", target.display()));
        s.mounted.remove(target);
        Ok(())
    }

    fn is_mounted(&self, target: &Path) -> io::Result<bool> {
        Ok(self.state().mounted.contains(target))
    }

    fn resolve(&self, host: &str) -> Result<IpAddr, String> {
        Err(format!("lookup {host}: the recording mounter resolves nothing"))
    }
}
