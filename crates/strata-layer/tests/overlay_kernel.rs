//! overlay2 against the real kernel (root only): deep stacks mount, mounts are counted and
//! detached, the upper directory is a native diff.

use std::path::Path;
use std::sync::Arc;

use strata_layer::driver::overlay2::{Overlay2, probe_native_diff};
use strata_layer::mount::{KernelMounter, MAX_LOWER_LAYERS, Mounter};
use strata_layer::{ChangeKind, GraphDriver};

fn is_mounted(path: &Path) -> bool {
    strata_sys::mountinfo::read().map(|t| strata_sys::mountinfo::is_mount_point(&t, path)).unwrap_or(false)
}

#[test]
fn a_stack_of_the_kernels_500_lower_layers_mounts() {
    if !strata_testkit::require_root("a_stack_of_the_kernels_500_lower_layers_mounts") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Overlay2::new(&dir.path().join("overlay2"), Arc::new(KernelMounter)).expect("driver");
    // 499 image layers, then the init layer: 500 lowers under the read-write layer.
    let mut parent: Option<String> = None;
    for i in 0..MAX_LOWER_LAYERS - 1 {
        let id = format!("layer{i:03}");
        let diff = d.create(&id, parent.as_deref()).expect("create");
        std::fs::write(diff.join(format!("f{i}")), i.to_string()).expect("write");
        parent = Some(id);
    }
    let init = d.create("rw-init", parent.as_deref()).expect("init");
    std::fs::write(init.join("hosts"), "127.0.0.1 localhost\n").expect("hosts");
    d.create("rw", Some("rw-init")).expect("rw");
    let merged = d.get("rw").expect("mount 500 lowers");
    assert!(is_mounted(&merged));
    assert_eq!(std::fs::read_to_string(merged.join("f0")).expect("bottom"), "0");
    assert_eq!(std::fs::read_to_string(merged.join("f498")).expect("top"), "498");
    assert!(merged.join("hosts").exists());
    // Counted: a second user shares the mount; the last one detaches it.
    assert_eq!(d.get("rw").expect("again"), merged);
    d.put("rw").expect("put");
    assert!(is_mounted(&merged));
    d.put("rw").expect("put");
    assert!(!is_mounted(&merged) && !merged.exists());
    d.create("too-deep", Some("rw")).expect("create");
    let lowers = d.data("too-deep").into_iter().find(|(k, _)| k == "LowerDir").map(|(_, v)| v.split(':').count());
    assert_eq!(lowers, Some(MAX_LOWER_LAYERS + 1));
    assert!(d.get("too-deep").is_err(), "501 lowers exceed the kernel's stack");
}

#[test]
fn the_upper_dir_is_a_native_diff() {
    if !strata_testkit::require_root("the_upper_dir_is_a_native_diff") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("overlay2");
    let d = Overlay2::new(&home, Arc::new(KernelMounter)).expect("driver");
    assert!(probe_native_diff(&home, &KernelMounter), "index=off,redirect_dir=off keeps the upper dir a plain diff");
    let base = d.create("base", None).expect("base");
    std::fs::create_dir_all(base.join("etc/conf.d")).expect("mkdir");
    std::fs::write(base.join("etc/passwd"), "root").expect("passwd");
    std::fs::write(base.join("etc/conf.d/a"), "a").expect("a");
    std::fs::write(base.join("gone"), "x").expect("gone");
    d.create("init", Some("base")).expect("init");
    d.create("rw", Some("init")).expect("rw");
    let m = d.get("rw").expect("mount");
    std::fs::write(m.join("etc/passwd"), "changed").expect("modify");
    std::fs::remove_file(m.join("gone")).expect("delete");
    std::fs::create_dir(m.join("new")).expect("add");
    // A lower directory cannot be renamed in place without redirects: EXDEV.
    let renamed = std::fs::rename(m.join("etc/conf.d"), m.join("etc/moved"));
    assert_eq!(renamed.err().and_then(|e| e.raw_os_error()), Some(rustix::io::Errno::XDEV.raw_os_error()));
    // Removed and made again: an opaque directory in the upper dir.
    std::fs::remove_dir_all(m.join("etc/conf.d")).expect("rm -r");
    std::fs::create_dir(m.join("etc/conf.d")).expect("mkdir again");
    std::fs::write(m.join("etc/conf.d/b"), "b").expect("b");
    d.put("rw").expect("unmount");
    let changes: Vec<(String, ChangeKind)> =
        d.changes("rw", Some("init")).expect("changes").into_iter().map(|c| (c.path, c.kind)).collect();
    assert_eq!(
        changes,
        // As the reference Docker 20.10 reports them here (`rm -rf /root; mkdir /root; touch
        // /root/x; rm /etc/group` gives `C /etc, D /etc/group, C /root, A /root/x`): every
        // directory holding a change is `C`, the re-made (opaque) directory too, its new file `A`.
        vec![
            ("/etc".to_owned(), ChangeKind::Modified),
            ("/etc/conf.d".to_owned(), ChangeKind::Modified),
            ("/etc/conf.d/b".to_owned(), ChangeKind::Added),
            ("/etc/passwd".to_owned(), ChangeKind::Modified),
            ("/gone".to_owned(), ChangeKind::Deleted),
            ("/new".to_owned(), ChangeKind::Added),
        ]
    );
    let _ = KernelMounter.unmount(&m);
}
