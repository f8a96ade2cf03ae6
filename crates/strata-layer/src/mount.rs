//! Overlay mounts behind a small trait, so that mount sequences are tested without root.
//!
//! [`KernelMounter`] mounts with the new mount API: `fsopen("overlay")`, one
//! `fsconfig("lowerdir+", dir)` per lower layer, `upperdir`, `workdir`, `index=off`,
//! `redirect_dir=off`, then `fsmount` + `move_mount`. Appending lowers one at a time is what
//! lifts Docker's 125/128-layer limit: classic `mount(2)` copies its whole option string into one
//! page, which 128 absolute layer paths overflow, while each `lowerdir+` value is a path of its
//! own. The kernel itself stacks at most [`MAX_LOWER_LAYERS`]. Kernels without `lowerdir+`
//! (before 6.8) get one classic `mount(2)` with the short `l/<link>` paths, as long as they fit.
//!
//! `index=off` and `redirect_dir=off` are always passed: with them a renamed directory is copied
//! up whole instead of getting a redirect xattr, so the upper directory is always a complete
//! native diff (what `docker diff` and `docker commit` read), whatever the module defaults are.
//!
//! [`RecordingMounter`] records every call; tests assert the exact options.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The most lower layers the kernel stacks in one overlay (`OVL_MAX_STACK`).
pub const MAX_LOWER_LAYERS: usize = 500;
/// The size of the page `mount(2)` copies its data into; the classic fallback must fit.
pub const MOUNT_DATA_PAGE: usize = 4096;

/// One overlay mount: lowers (top-most first), an optional upper and work dir, and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayMount {
    pub lowers: Vec<PathBuf>,
    pub upper: Option<PathBuf>,
    pub work: Option<PathBuf>,
    pub target: PathBuf,
}

impl OverlayMount {
    /// The `fsconfig` key/value pairs, in the order they are given to the kernel.
    pub fn fsconfig_options(&self) -> Vec<(&'static str, String)> {
        let mut opts: Vec<(&'static str, String)> =
            self.lowers.iter().map(|l| ("lowerdir+", l.display().to_string())).collect();
        if let Some(upper) = &self.upper {
            opts.push(("upperdir", upper.display().to_string()));
        }
        if let Some(work) = &self.work {
            opts.push(("workdir", work.display().to_string()));
        }
        opts.push(("index", "off".to_owned()));
        opts.push(("redirect_dir", "off".to_owned()));
        opts
    }

    /// The option string of a classic `mount(2)`.
    pub fn legacy_data(&self) -> String {
        let lowers: Vec<String> = self.lowers.iter().map(|l| l.display().to_string()).collect();
        let mut data = format!("lowerdir={}", lowers.join(":"));
        if let Some(upper) = &self.upper {
            data.push_str(&format!(",upperdir={}", upper.display()));
        }
        if let Some(work) = &self.work {
            data.push_str(&format!(",workdir={}", work.display()));
        }
        data.push_str(",index=off,redirect_dir=off");
        data
    }
}

/// Mounting and unmounting overlays.
pub trait Mounter: Debug + Send + Sync {
    /// Mounts `m` at `m.target`.
    fn mount_overlay(&self, m: &OverlayMount) -> io::Result<()>;
    /// Detaches the mount at `target` (`MNT_DETACH`: a busy mount never blocks).
    fn unmount(&self, target: &Path) -> io::Result<()>;
}

/// The real kernel.
#[derive(Debug, Default)]
pub struct KernelMounter;

impl Mounter for KernelMounter {
    fn mount_overlay(&self, m: &OverlayMount) -> io::Result<()> {
        if m.lowers.len() > MAX_LOWER_LAYERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} lower layers exceed the kernel's limit of {MAX_LOWER_LAYERS}", m.lowers.len()),
            ));
        }
        match mount_new_api(m) {
            Ok(()) => Ok(()),
            // EINVAL on `lowerdir+`: a kernel before 6.8. Fall back to one classic mount.
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
                    && !new_api_has_lowerdir_plus() =>
            {
                mount_legacy(m)
            }
            Err(e) => Err(e),
        }
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH)?;
        Ok(())
    }
}

fn mount_new_api(m: &OverlayMount) -> io::Result<()> {
    use rustix::mount::{
        FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, fsconfig_create, fsconfig_set_string, fsmount,
        fsopen, move_mount,
    };
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for (key, value) in m.fsconfig_options() {
        fsconfig_set_string(&fs, key, value.as_str())?;
    }
    fsconfig_create(&fs)?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())?;
    move_mount(&mnt, "", rustix::fs::CWD, &m.target, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
    Ok(())
}

/// Whether the running kernel's overlay knows `lowerdir+` (Linux ≥ 6.8).
fn new_api_has_lowerdir_plus() -> bool {
    use rustix::mount::{FsOpenFlags, fsconfig_set_string, fsopen};
    let Ok(fs) = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC) else { return false };
    fsconfig_set_string(&fs, "lowerdir+", "/").is_ok()
}

fn mount_legacy(m: &OverlayMount) -> io::Result<()> {
    let data = m.legacy_data();
    if data.len() >= MOUNT_DATA_PAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot mount {} lower layers on this kernel: the mount options ({} bytes) exceed one page and the kernel lacks overlay's lowerdir+ (Linux 6.8)",
                m.lowers.len(),
                data.len()
            ),
        ));
    }
    let data = std::ffi::CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount options"))?;
    rustix::mount::mount("overlay", &m.target, "overlay", rustix::mount::MountFlags::empty(), Some(data.as_c_str()))?;
    Ok(())
}

/// A mount call recorded by [`RecordingMounter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountCall {
    Mount(OverlayMount),
    Unmount(PathBuf),
}

/// A fake that records calls and succeeds (or fails every mount when told to).
#[derive(Debug, Default)]
pub struct RecordingMounter {
    calls: Mutex<Vec<MountCall>>,
    fail_mounts: bool,
}

impl RecordingMounter {
    /// A fake whose mounts all fail with `EPERM`.
    pub fn failing() -> RecordingMounter {
        RecordingMounter { calls: Mutex::default(), fail_mounts: true }
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<MountCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Mounter for RecordingMounter {
    fn mount_overlay(&self, m: &OverlayMount) -> io::Result<()> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(MountCall::Mount(m.clone()));
        if self.fail_mounts {
            Err(io::Error::from_raw_os_error(rustix::io::Errno::PERM.raw_os_error()))
        } else {
            Ok(())
        }
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(MountCall::Unmount(target.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> OverlayMount {
        OverlayMount {
            lowers: (0..n).map(|i| PathBuf::from(format!("/d/overlay2/l/L{i:025}"))).collect(),
            upper: Some(PathBuf::from("/d/overlay2/abc/diff")),
            work: Some(PathBuf::from("/d/overlay2/abc/work")),
            target: PathBuf::from("/d/overlay2/abc/merged"),
        }
    }

    #[test]
    fn options_append_lowers_top_first_and_turn_index_and_redirect_off() {
        let opts = sample(2).fsconfig_options();
        assert_eq!(
            opts,
            vec![
                ("lowerdir+", "/d/overlay2/l/L0000000000000000000000000".to_owned()),
                ("lowerdir+", "/d/overlay2/l/L0000000000000000000000001".to_owned()),
                ("upperdir", "/d/overlay2/abc/diff".to_owned()),
                ("workdir", "/d/overlay2/abc/work".to_owned()),
                ("index", "off".to_owned()),
                ("redirect_dir", "off".to_owned()),
            ]
        );
        assert_eq!(
            sample(2).legacy_data(),
            "lowerdir=/d/overlay2/l/L0000000000000000000000000:/d/overlay2/l/L0000000000000000000000001,\
             upperdir=/d/overlay2/abc/diff,workdir=/d/overlay2/abc/work,index=off,redirect_dir=off"
        );
    }

    #[test]
    fn deep_stacks_do_not_fit_a_classic_mount_but_do_fit_lowerdir_plus() {
        // 500 lowers: one `lowerdir+` each, every value far below PATH_MAX …
        let deep = sample(MAX_LOWER_LAYERS);
        assert!(deep.fsconfig_options().iter().all(|(_, v)| v.len() < 256));
        // … while the classic option string would need several pages.
        assert!(deep.legacy_data().len() > MOUNT_DATA_PAGE * 4);
    }

    #[test]
    fn the_fake_records_calls() {
        let fake = RecordingMounter::default();
        fake.mount_overlay(&sample(1)).expect("mount");
        fake.unmount(Path::new("/x")).expect("unmount");
        assert_eq!(fake.calls(), vec![MountCall::Mount(sample(1)), MountCall::Unmount(PathBuf::from("/x"))]);
        assert!(RecordingMounter::failing().mount_overlay(&sample(1)).is_err());
    }
}
