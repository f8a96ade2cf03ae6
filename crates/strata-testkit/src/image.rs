//! A small real image: a root filesystem made of Debian's static busybox (one binary, every
//! applet a symlink to it), `/etc/passwd` and `/etc/group`, as a tar ready for `docker import`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where Debian's busybox-static puts the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Builds the busybox rootfs into `root` (which must not exist yet or be empty).
pub fn build_busybox_rootfs(root: &Path) {
    for dir in ["bin", "etc", "tmp", "root", "home", "var", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir rootfs dir");
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox"))
        .unwrap_or_else(|e| panic!("cannot copy {BUSYBOX} (apt-get install busybox-static): {e}"));
    let list = Command::new(BUSYBOX).arg("--list").output().expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" {
            continue;
        }
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .expect("passwd");
    std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("group");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).expect("chmod tmp");
}

/// A tar of the busybox rootfs, built once per test process.
pub fn busybox_rootfs_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("strata-busybox-").tempdir().expect("tempdir").keep();
        let root = dir.join("rootfs");
        build_busybox_rootfs(&root);
        let tar = dir.join("busybox.tar");
        let status = Command::new("tar")
            .args(["--numeric-owner", "-C"])
            .arg(&root)
            .args(["-cf"])
            .arg(&tar)
            .arg(".")
            .status()
            .expect("run tar");
        assert!(status.success(), "tar of the busybox rootfs failed");
        tar
    })
}
