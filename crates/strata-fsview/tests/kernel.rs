//! The view over real kernel mounts (root only): a container rootfs that is an overlay mount,
//! with a volume beside it (a stopped container's view), and a rootfs with a tmpfs mounted
//! inside it and listed without a source (a running container's view through
//! `/proc/<pid>/root`).

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use strata_fsview::{ContainerView, ExtractOptions, MountKind, ViewMount, export, extract, prepare_archive};

/// Unmounts on drop, also when the test panics.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

fn names(tar: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = String::new();
        if e.header().entry_type().is_file() {
            e.read_to_string(&mut data).expect("read");
        }
        out.push((name, data));
    }
    out
}

fn has(entries: &[(String, String)], name: &str) -> Option<String> {
    entries.iter().find(|(n, _)| n.trim_end_matches('/') == name).map(|(_, d)| d.clone())
}

fn one_file(name: &str, data: &[u8], uid: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o640);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_cksum();
    b.append_data(&mut h, name, data).expect("append");
    b.into_inner().expect("tar")
}

fn mount_overlay(base: &Path) -> (PathBuf, Mounted) {
    for d in ["lower/etc", "lower/data", "upper", "work", "merged", "vol"] {
        fs::create_dir_all(base.join(d)).expect("mkdir");
    }
    fs::write(base.join("lower/etc/passwd"), "root:x:0:0\n").expect("write");
    fs::write(base.join("lower/data/from-image"), "image\n").expect("write");
    fs::write(base.join("vol/v"), "volume\n").expect("write");
    let merged = base.join("merged");
    let data = format!(
        "lowerdir={},upperdir={},workdir={},index=off,redirect_dir=off",
        base.join("lower").display(),
        base.join("upper").display(),
        base.join("work").display()
    );
    strata_sys::mountcall::mount("overlay", &merged, "overlay", 0, &data).expect("mount overlay");
    (merged.clone(), Mounted(merged))
}

#[test]
fn stopped_container_on_overlay_with_a_volume() {
    if !strata_testkit::require_root("stopped_container_on_overlay_with_a_volume") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    let (merged, _mounted) = mount_overlay(base);
    let view = ContainerView {
        rootfs: merged.clone(),
        readonly_rootfs: false,
        mounts: vec![ViewMount {
            destination: "/data".into(),
            source: Some(base.join("vol")),
            read_only: false,
            kind: MountKind::Volume,
        }],
    };
    // Copies land in the upper dir, or in the volume under it.
    extract(&view, "/etc", &one_file("new", b"n", 0)[..], &ExtractOptions::default()).expect("into /etc");
    assert!(base.join("upper/etc/new").exists());
    extract(&view, "/data/", &one_file("copied", b"c", 0)[..], &ExtractOptions::default()).expect("into /data");
    assert!(base.join("vol/copied").exists());
    assert!(!base.join("upper/data/copied").exists() && !merged.join("data/copied").exists());

    // cp out sees the volume, not the image's /data.
    let mut tar = Vec::new();
    prepare_archive(&view, "/").expect("prepare").write_to(&mut tar).expect("get");
    let got = names(&tar);
    assert_eq!(has(&got, "/data/v").as_deref(), Some("volume\n"));
    assert_eq!(has(&got, "/data/from-image"), None);
    assert_eq!(has(&got, "/etc/new").as_deref(), Some("n"));

    // export is the merged rootfs: the image's /data, no volume.
    let mut tar = Vec::new();
    export(&view, &mut tar).expect("export");
    let got = names(&tar);
    assert_eq!(has(&got, "data/from-image").as_deref(), Some("image\n"));
    assert_eq!(has(&got, "data/v"), None);
    assert_eq!(has(&got, "etc/passwd").as_deref(), Some("root:x:0:0\n"));
    assert_eq!(has(&got, "etc/new").as_deref(), Some("n"));

    // Ownership: from the archive, or the container's user with copyUIDGID.
    extract(&view, "/etc", &one_file("owned", b"o", 1234)[..], &ExtractOptions::default()).expect("owned");
    assert_eq!(fs::metadata(merged.join("etc/owned")).expect("stat").uid(), 1234);
    let as_user = ExtractOptions { copy_uid_gid: true, container_user: Some((42, 43)), ..Default::default() };
    extract(&view, "/etc", &one_file("user", b"u", 1234)[..], &as_user).expect("as user");
    let md = fs::metadata(merged.join("etc/user")).expect("stat");
    assert_eq!((md.uid(), md.gid()), (42, 43));
}

#[test]
fn running_container_view_with_a_tmpfs_inside_the_rootfs() {
    if !strata_testkit::require_root("running_container_view_with_a_tmpfs_inside_the_rootfs") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("run")).expect("mkdir");
    fs::create_dir_all(root.join("cache")).expect("mkdir");
    fs::write(root.join("run/under"), "rootfs\n").expect("write");
    strata_sys::mountcall::mount("tmpfs", &root.join("run"), "tmpfs", 0, "size=1m").expect("mount tmpfs");
    let _run = Mounted(root.join("run"));
    strata_sys::mountcall::mount("tmpfs", &root.join("cache"), "tmpfs", 0, "size=1m").expect("mount tmpfs");
    let _cache = Mounted(root.join("cache"));
    fs::write(root.join("run/pid"), "42\n").expect("write");
    std::os::unix::fs::symlink("/run", root.join("varrun")).expect("symlink");
    let tmpfs =
        |dest: &str, read_only| ViewMount { destination: dest.into(), source: None, read_only, kind: MountKind::Tmpfs };
    let view = ContainerView {
        rootfs: root.clone(),
        readonly_rootfs: true,
        mounts: vec![tmpfs("/run", false), tmpfs("/cache", true)],
    };
    let mut tar = Vec::new();
    prepare_archive(&view, "/varrun/").expect("prepare").write_to(&mut tar).expect("get");
    let got = names(&tar);
    assert_eq!(has(&got, "varrun/pid").as_deref(), Some("42\n"), "{got:?}");
    assert_eq!(has(&got, "varrun/under"), None);

    // The rootfs is read-only, its writable tmpfs is not; the read-only one is refused.
    extract(&view, "/varrun", &one_file("x", b"x", 0)[..], &ExtractOptions::default()).expect("into tmpfs");
    assert!(root.join("run/x").exists());
    let err = extract(&view, "/cache", &one_file("x", b"x", 0)[..], &ExtractOptions::default()).expect_err("ro");
    assert_eq!(err.to_string(), "mounted volume is marked read-only");
    let err = extract(&view, "/", &one_file("x", b"x", 0)[..], &ExtractOptions::default()).expect_err("ro rootfs");
    assert_eq!(err.to_string(), "container rootfs is marked read-only");

    // export does not descend into mounts.
    let mut tar = Vec::new();
    export(&view, &mut tar).expect("export");
    let got = names(&tar);
    assert!(has(&got, "run").is_some());
    assert_eq!(has(&got, "run/pid"), None);
    assert_eq!(has(&got, "varrun").as_deref(), Some(""));
}

#[test]
fn runtime_mount_points_from_the_init_layer_leave_the_upper_dir_empty() {
    if !strata_testkit::require_root("runtime_mount_points_from_the_init_layer_leave_the_upper_dir_empty") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    for d in ["image/etc", "image/bin", "init", "upper", "work", "merged"] {
        fs::create_dir_all(base.join(d)).expect("mkdir");
    }
    fs::write(base.join("image/etc/passwd"), "root:x:0:0\n").expect("write");
    strata_fsview::populate_init_layer(&base.join("init"), |p| base.join("image").join(p).exists()).expect("init");
    let merged = base.join("merged");
    let data = format!(
        "lowerdir={}:{},upperdir={},workdir={},index=off,redirect_dir=off",
        base.join("init").display(),
        base.join("image").display(),
        base.join("upper").display(),
        base.join("work").display()
    );
    strata_sys::mountcall::mount("overlay", &merged, "overlay", 0, &data).expect("mount overlay");
    let _root = Mounted(merged.clone());
    // What runc mounts on every container: all mount points exist, nothing is created.
    fs::write(base.join("hosts"), "127.0.0.1 localhost\n").expect("write");
    let bind = rustix::mount::MountFlags::BIND.bits() as u64;
    let mut mounted = Vec::new();
    for (src, dest, fstype, flags) in [
        (base.join("hosts"), "etc/hosts", "", bind),
        (base.join("hosts"), "etc/hostname", "", bind),
        (base.join("hosts"), "etc/resolv.conf", "", bind),
        (PathBuf::from("tmpfs"), "dev/shm", "tmpfs", 0),
        (PathBuf::from("tmpfs"), "proc", "tmpfs", 0),
        (PathBuf::from("tmpfs"), "sys", "tmpfs", 0),
    ] {
        let target = merged.join(dest);
        strata_sys::mountcall::mount(&src.to_string_lossy(), &target, fstype, flags, "").expect(dest);
        mounted.push(Mounted(target));
    }
    drop(mounted);
    let upper: Vec<_> = fs::read_dir(base.join("upper")).expect("read upper").collect();
    assert!(upper.is_empty(), "runtime mounts changed the read-write layer: {upper:?}");
}

/// Kills and reaps the child on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn proc_pid_root_shows_mounts_of_another_mount_namespace() {
    if !strata_testkit::require_root("proc_pid_root_shows_mounts_of_another_mount_namespace") {
        return;
    }
    // A process in its own mount namespace with a tmpfs the host's namespace does not see, as
    // a running container's tmpfs.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ctr-tmpfs");
    fs::create_dir_all(&dir).expect("mkdir");
    let script = format!("mount -t tmpfs t '{0}' && echo inside > '{0}/f' && exec sleep 60", dir.display());
    let child = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .spawn()
        .expect("unshare");
    let child = Child(child);
    let root = PathBuf::from(format!("/proc/{}/root", child.0.id()));
    let seen = root.join(dir.strip_prefix("/").expect("absolute"));
    for _ in 0..100 {
        if seen.join("f").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!dir.join("f").exists(), "the tmpfs is private to the child's namespace");
    let view = ContainerView {
        rootfs: root,
        readonly_rootfs: true,
        mounts: vec![ViewMount {
            destination: dir.to_string_lossy().into_owned(),
            source: None,
            read_only: false,
            kind: MountKind::Tmpfs,
        }],
    };
    let path = dir.to_string_lossy().into_owned();
    let mut tar = Vec::new();
    prepare_archive(&view, &path).expect("prepare").write_to(&mut tar).expect("get");
    assert_eq!(has(&names(&tar), "ctr-tmpfs/f").as_deref(), Some("inside\n"));
    extract(&view, &path, &one_file("copied", b"c", 0)[..], &ExtractOptions::default()).expect("put into tmpfs");
    assert!(seen.join("copied").exists() && !dir.join("copied").exists());
}
