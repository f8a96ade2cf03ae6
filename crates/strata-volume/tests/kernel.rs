//! The volume service with the real kernel (root only): tmpfs, bind and block-device volumes
//! mounted on first use and unmounted after the last, stray mounts repaired, deletion that never
//! enters a mount, and clear errors for filesystems the kernel does not have.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use strata_store::Store;
use strata_volume::{CreateRequest, MIGRATIONS, Volumes};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    volumes: Volumes,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = strata_sys::mountinfo::unmount_all_under(&self.root);
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_owned();
    let store = Arc::new(Store::open(&root.join("strata.db"), &[MIGRATIONS]).expect("store"));
    let volumes = Volumes::open(store, &root).expect("volumes");
    volumes.reconcile().expect("reconcile");
    Fixture { _dir: dir, root, volumes }
}

fn opts(name: &str, pairs: &[(&str, &str)]) -> CreateRequest {
    CreateRequest {
        name: Some(name.into()),
        options: pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        ..Default::default()
    }
}

fn mounted(p: &Path) -> bool {
    strata_sys::mountcall::is_mount_root(p).expect("statx")
}

fn fs_type(p: &Path) -> String {
    let out = Command::new("stat").args(["-f", "-c", "%T"]).arg(p).output().expect("stat");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn tmpfs_volume_is_mounted_while_used() {
    if !strata_testkit::require_root("tmpfs_volume_is_mounted_while_used") {
        return;
    }
    let f = fixture();
    let v = f
        .volumes
        .create(opts("ram", &[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=64m,uid=1000,mode=0750")]))
        .expect("create");
    assert!(!mounted(&v.mountpoint), "not mounted at create");
    let path = f.volumes.mount_for("ram", "c1").expect("mount");
    assert!(mounted(&path));
    assert_eq!(fs_type(&path), "tmpfs");
    let meta = std::fs::metadata(&path).expect("stat");
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.mode() & 0o777), (1000, 0o750), "o= options reach the filesystem");
    std::fs::write(path.join("f"), b"in memory").expect("write");
    f.volumes.mount_for("ram", "c2").expect("second user");
    f.volumes.unmount_for("ram", "c1").expect("release");
    assert!(mounted(&path), "still used by c2");
    assert_eq!(std::fs::read(path.join("f")).expect("read"), b"in memory");
    f.volumes.unmount_for("ram", "c2").expect("release");
    assert!(!mounted(&path), "unmounted after the last user");
    assert!(!path.join("f").exists());
    f.volumes.remove("ram", false).expect("remove");
}

#[test]
fn bind_volume_shows_the_host_directory_and_removal_keeps_it() {
    if !strata_testkit::require_root("bind_volume_shows_the_host_directory_and_removal_keeps_it") {
        return;
    }
    let f = fixture();
    let host = tempfile::tempdir().expect("host dir");
    std::fs::write(host.path().join("host-file"), b"host data").expect("write");
    let device = host.path().display().to_string();
    f.volumes.create(opts("uploads", &[("type", "none"), ("o", "bind"), ("device", &device)])).expect("create");
    let path = f.volumes.mount_for("uploads", "c1").expect("mount");
    assert_eq!(std::fs::read(path.join("host-file")).expect("read"), b"host data");
    std::fs::write(path.join("from-container"), b"x").expect("write");
    assert!(host.path().join("from-container").exists());
    f.volumes.unmount_for("uploads", "c1").expect("unmount");
    f.volumes.remove("uploads", false).expect("remove");
    assert_eq!(
        std::fs::read(host.path().join("host-file")).expect("kept"),
        b"host data",
        "removal never deletes the device"
    );
    assert!(host.path().join("from-container").exists());

    let ro = f.volumes.create(opts("ro", &[("type", "none"), ("o", "bind,ro"), ("device", &device)])).expect("create");
    f.volumes.mount_for("ro", "c1").expect("mount");
    let err = std::fs::write(ro.mountpoint.join("nope"), b"x").expect_err("read-only");
    assert_eq!(err.raw_os_error(), Some(30), "EROFS: {err}");
    f.volumes.unmount_for("ro", "c1").expect("unmount");
}

#[test]
fn block_device_volume_mounts_the_device() {
    if !strata_testkit::require_root("block_device_volume_mounts_the_device") {
        return;
    }
    let f = fixture();
    let image = f.root.join("ext4.img");
    std::fs::File::create(&image).and_then(|file| file.set_len(32 << 20)).expect("image");
    let ok = Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().expect("mkfs.ext4");
    assert!(ok.success());
    let out = Command::new("losetup").args(["--find", "--show"]).arg(&image).output().expect("losetup");
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(dev.starts_with("/dev/loop"), "losetup: {}", String::from_utf8_lossy(&out.stderr));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.volumes.create(opts("blk", &[("type", "ext4"), ("device", &dev), ("o", "noatime")])).expect("create");
        let path = f.volumes.mount_for("blk", "c1").expect("mount");
        assert_eq!(fs_type(&path), "ext2/ext3");
        assert!(path.join("lost+found").is_dir());
        f.volumes.unmount_for("blk", "c1").expect("unmount");
        assert!(!mounted(&path));
    }));
    let _ = strata_sys::mountinfo::unmount_all_under(&f.root);
    let _ = Command::new("losetup").args(["-d", &dev]).status();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn missing_filesystems_and_devices_fail_at_once_with_a_clear_error() {
    if !strata_testkit::require_root("missing_filesystems_and_devices_fail_at_once_with_a_clear_error") {
        return;
    }
    let f = fixture();
    f.volumes.create(opts("nofs", &[("type", "nosuchfs"), ("device", "x")])).expect("create");
    let t0 = std::time::Instant::now();
    let err = f.volumes.mount_for("nofs", "c1").expect_err("no such fs").to_string();
    assert!(err.contains("unknown filesystem type \"nosuchfs\""), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    f.volumes
        .create(opts("nodev", &[("type", "none"), ("o", "bind"), ("device", "/nonexistent/dir")]))
        .expect("create");
    let err = f.volumes.mount_for("nodev", "c1").expect_err("no device").to_string();
    assert!(err.starts_with("mount nodev: failed to mount local volume: mount /nonexistent/dir:"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(f.volumes.holders("nodev").expect("holders").is_empty());
    f.volumes.remove("nodev", false).expect("nothing holds it");
}

#[test]
fn start_up_repair_removes_stray_mounts_and_never_deletes_into_mounts() {
    if !strata_testkit::require_root("start_up_repair_removes_stray_mounts_and_never_deletes_into_mounts") {
        return;
    }
    let f = fixture();
    let v = f.volumes.create(opts("stray", &[("type", "tmpfs"), ("device", "tmpfs")])).expect("create");
    // A crash between mount(2) and its record leaves a mount nobody counts.
    strata_sys::mountcall::mount("tmpfs", &v.mountpoint, "tmpfs", 0, "").expect("mount");
    let report = f.volumes.reconcile().expect("reconcile");
    assert_eq!(report.unmounted, vec!["stray"]);
    assert!(!mounted(&v.mountpoint));

    // A filesystem mounted inside a plain volume (by hand) survives the volume's removal.
    let plain = f.volumes.create(CreateRequest { name: Some("plain".into()), ..Default::default() }).expect("create");
    let inner = plain.mountpoint.join("inner");
    std::fs::create_dir(&inner).expect("mkdir");
    let host = tempfile::tempdir().expect("host");
    std::fs::write(host.path().join("precious"), b"do not delete").expect("write");
    strata_sys::mountcall::mount(&host.path().display().to_string(), &inner, "none", 4096, "").expect("bind");
    f.volumes.remove("plain", false).expect("removed from the list");
    assert_eq!(std::fs::read(host.path().join("precious")).expect("kept"), b"do not delete");
    assert!(f.volumes.inspect("plain").is_err());
}

/// A loop-mounted filesystem made by `mkfs` (`args`), removed on drop.
struct LoopFs {
    _dir: tempfile::TempDir,
    mnt: PathBuf,
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = strata_sys::mountinfo::unmount_all_under(&self.mnt);
    }
}

fn loop_fs(mkfs: &str, args: &[&str], size_mb: u64) -> Option<LoopFs> {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("fs.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    std::fs::File::create(&image).expect("image").set_len(size_mb << 20).expect("size");
    let made = Command::new(mkfs).args(args).arg(&image).output().ok()?;
    if !made.status.success() {
        eprintln!("{mkfs} failed: {}", String::from_utf8_lossy(&made.stderr));
        return None;
    }
    let mounted = Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mnt).output().ok()?;
    if !mounted.status.success() {
        eprintln!("mount of {mkfs} image failed: {}", String::from_utf8_lossy(&mounted.stderr));
        return None;
    }
    Some(LoopFs { _dir: dir, mnt })
}

#[test]
fn clone_shares_blocks_on_a_reflink_filesystem() {
    if !strata_testkit::require_root("clone_shares_blocks_on_a_reflink_filesystem") {
        return;
    }
    let Some(fs) = loop_fs("mkfs.xfs", &["-q", "-m", "reflink=1"], 320) else {
        assert!(!strata_testkit::in_ci(), "xfs with reflink is needed under CI");
        eprintln!("SKIPPED clone_shares_blocks_on_a_reflink_filesystem: no xfs");
        return;
    };
    let store = Arc::new(Store::open(&fs.mnt.join("strata.db"), &[MIGRATIONS]).expect("store"));
    let volumes = Volumes::open(store, &fs.mnt).expect("volumes");
    let src = volumes.create(opts("src", &[])).expect("create");
    let big = src.mountpoint.join("big");
    std::fs::write(&big, vec![0x5au8; 8 << 20]).expect("write");
    let fifo = src.mountpoint.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    rustix::fs::setxattr(big.as_path(), "user.origin", b"test", rustix::fs::XattrFlags::empty()).expect("xattr");
    let dst = volumes.clone_volume("src", "dst", None).expect("clone");
    let copy = dst.mountpoint.join("big");
    assert_eq!(std::fs::read(&copy).expect("read").len(), 8 << 20);
    let extents = Command::new("filefrag").arg("-v").arg(&copy).output().expect("filefrag");
    let text = String::from_utf8_lossy(&extents.stdout);
    assert!(text.contains("shared"), "the clone's extents are not shared with the source:\n{text}");
    let mut value = [0u8; 16];
    let n = rustix::fs::getxattr(copy.as_path(), "user.origin", &mut value[..]).expect("xattr copied");
    assert_eq!(&value[..n], b"test");
    assert!(std::fs::symlink_metadata(dst.mountpoint.join("fifo")).expect("fifo").file_type().is_fifo());
    // Independent: a write to the clone unshares its blocks only.
    std::fs::write(&copy, b"changed").expect("write");
    assert_eq!(std::fs::read(&big).expect("read").len(), 8 << 20);
}
