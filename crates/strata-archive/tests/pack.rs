//! Packing: pack → apply round trips give identical trees (overlay whiteouts included), output
//! is deterministic and readable by GNU tar, and the `docker cp`/export options do what they say.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Node, privileged, snapshot};
use strata_archive::{ApplyOptions, Ownership, PackOptions, WhiteoutMode, apply, pack};

const MTIME: i64 = 1_650_000_000;

/// Sets whole-second times on every path below `root`, deepest first (the archive keeps
/// seconds only, like Docker's).
fn settle_times(root: &Path) {
    let mut paths: Vec<PathBuf> = snapshot(root).into_keys().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, rel) in paths.iter().enumerate() {
        let t = rustix::fs::Timespec { tv_sec: MTIME + i as i64, tv_nsec: 0 };
        let times = rustix::fs::Timestamps { last_access: t, last_modification: t };
        rustix::fs::utimensat(rustix::fs::CWD, root.join(rel).as_path(), &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .expect("utimensat");
    }
}

/// A tree with one of everything (owners, devices and trusted xattrs only as root).
fn build_tree(root: &Path, privileged: bool) {
    fs::create_dir_all(root.join("usr/bin")).expect("tree");
    fs::create_dir_all(root.join("empty-dir")).expect("tree");
    fs::create_dir_all(root.join("etc")).expect("tree");
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").expect("tree");
    for (i, size) in [0usize, 1, 511, 512, 513, 100_000, 3 << 20].into_iter().enumerate() {
        fs::write(root.join(format!("usr/bin/f{i}")), (0..size).map(|b| (b % 253) as u8).collect::<Vec<_>>())
            .expect("tree");
    }
    fs::hard_link(root.join("usr/bin/f5"), root.join("usr/hardlink")).expect("tree");
    fs::hard_link(root.join("usr/bin/f5"), root.join("etc/another-link")).expect("tree");
    symlink("../usr/bin/f1", root.join("etc/rel-link")).expect("tree");
    symlink("/nonexistent/target", root.join("dangling")).expect("tree");
    symlink("l".repeat(200), root.join("long-target")).expect("tree");
    let long = root.join("x".repeat(120)).join("y".repeat(140));
    fs::create_dir_all(long.parent().expect("parent")).expect("tree");
    fs::write(&long, "long path").expect("tree");
    fs::set_permissions(root.join("usr/bin/f2"), fs::Permissions::from_mode(0o4755)).expect("mode");
    fs::set_permissions(root.join("empty-dir"), fs::Permissions::from_mode(0o1777)).expect("mode");
    fs::set_permissions(root.join("usr/bin/f3"), fs::Permissions::from_mode(0o640)).expect("mode");
    rustix::fs::setxattr(
        root.join("etc/hosts").as_path(),
        "user.origin",
        b"test\0bin",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("xattr");
    rustix::fs::setxattr(root.join("etc").as_path(), "user.dir", b"d", rustix::fs::XattrFlags::empty()).expect("xattr");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("fifo").as_path(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("fifo");
    if privileged {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("null").as_path(),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .expect("char");
        std::os::unix::fs::lchown(root.join("usr/bin/f4"), Some(1000), Some(1001)).expect("chown");
        std::os::unix::fs::lchown(root.join("etc/rel-link"), Some(7), Some(8)).expect("lchown");
        std::os::unix::fs::lchown(root.join("usr"), Some(2), Some(3)).expect("chown");
        rustix::fs::setxattr(root.join("usr/bin/f1").as_path(), "trusted.t", b"v", rustix::fs::XattrFlags::empty())
            .expect("xattr");
        fs::set_permissions(root.join("usr/bin/f4"), fs::Permissions::from_mode(0o2755)).expect("mode");
    }
    settle_times(root);
}

fn pack_to_vec(root: &Path, options: &PackOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let report = pack(root, options, &mut out).expect("pack");
    assert_eq!(report.stream_len, out.len() as u64);
    assert_eq!(report.digest.hex(), common::hex_sha256(&out));
    out
}

fn entry_names(archive: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(archive);
    archive
        .entries()
        .expect("entries")
        .map(|e| String::from_utf8_lossy(&e.expect("entry").path_bytes()).into_owned())
        .collect()
}

#[test]
fn round_trip_gives_identical_trees() {
    // Without root the tree has no owners, devices or trusted xattrs, and the rest still runs.
    let privileged = privileged("round_trip_gives_identical_trees (owners, devices)");
    let src = tempfile::tempdir().expect("src");
    build_tree(src.path(), privileged);
    let archive = pack_to_vec(src.path(), &PackOptions::default());
    // Deterministic: the same tree packs to the same bytes.
    assert_eq!(archive, pack_to_vec(src.path(), &PackOptions::default()));
    let names = entry_names(&archive);
    assert_eq!(names.first().map(String::as_str), Some("dangling"), "sorted, no entry for the root itself");
    let dst = tempfile::tempdir().expect("dst");
    let ownership = if privileged { Ownership::FromArchive } else { Ownership::Keep };
    let report =
        apply(&archive[..], dst.path(), &ApplyOptions { ownership, ..ApplyOptions::default() }).expect("apply");
    assert_eq!(report.diff_id.expect("diff id").hex(), common::hex_sha256(&archive));
    let (want, got) = (snapshot(src.path()), snapshot(dst.path()));
    assert_eq!(want.len(), got.len());
    for (path, node) in &want {
        assert_eq!(Some(node), got.get(path), "{}", path.display());
    }
    // Hardlink identity survived: three names, one inode.
    let link_of = |p: &str| got[Path::new(p)].hardlink_of.clone();
    assert_eq!(link_of("usr/hardlink"), link_of("usr/bin/f5"));
    assert_eq!(link_of("etc/another-link"), Some(PathBuf::from("etc/another-link")));
}

#[test]
fn gnu_tar_reads_what_we_pack() {
    if !privileged("gnu_tar_reads_what_we_pack") {
        return;
    }
    let src = tempfile::tempdir().expect("src");
    build_tree(src.path(), true);
    let archive = pack_to_vec(src.path(), &PackOptions::default());
    let dst = tempfile::tempdir().expect("dst");
    let mut child = Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--same-owner", "-xpf", "-", "-C"])
        .arg(dst.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("tar");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &archive).expect("feed tar");
    assert!(child.wait().expect("tar").success());
    assert_eq!(snapshot(src.path()), snapshot(dst.path()));
}

#[test]
fn overlay_whiteouts_round_trip() {
    if !privileged("overlay_whiteouts_round_trip") {
        return;
    }
    let src = tempfile::tempdir().expect("src");
    let s = src.path();
    fs::create_dir_all(s.join("opaque/inner")).expect("tree");
    fs::write(s.join("opaque/inner/f"), "x").expect("tree");
    fs::write(s.join("plain"), "y").expect("tree");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        s.join("gone").as_path(),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::empty(),
        0,
    )
    .expect("whiteout");
    rustix::fs::setxattr(s.join("opaque").as_path(), "trusted.overlay.opaque", b"y", rustix::fs::XattrFlags::empty())
        .expect("opaque");
    settle_times(s);
    let layer = PackOptions { whiteouts: WhiteoutMode::Overlay, ..PackOptions::default() };
    let archive = pack_to_vec(s, &layer);
    assert_eq!(
        entry_names(&archive),
        [".wh.gone", "opaque/", "opaque/.wh..wh..opq", "opaque/inner/", "opaque/inner/f", "plain"]
    );
    let mut reader = tar::Archive::new(&archive[..]);
    for entry in reader.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let pax: Vec<String> = entry
            .pax_extensions()
            .expect("pax")
            .map(|p| p.map(|e| String::from_utf8_lossy(e.expect("rec").key_bytes()).into_owned()).collect())
            .unwrap_or_default();
        assert!(pax.iter().all(|k| !k.contains("overlay")), "overlay xattrs must not be archived: {pax:?}");
    }
    let dst = tempfile::tempdir().expect("dst");
    apply(&archive[..], dst.path(), &ApplyOptions { whiteouts: WhiteoutMode::Overlay, ..ApplyOptions::default() })
        .expect("apply");
    assert_eq!(snapshot(s), snapshot(dst.path()));
    // Without conversion the device is archived as a device.
    let plain = pack_to_vec(s, &PackOptions::default());
    assert!(entry_names(&plain).contains(&"gone".to_owned()));
}

#[test]
fn docker_cp_options() {
    let src = tempfile::tempdir().expect("src");
    let s = src.path();
    fs::create_dir_all(s.join("etc/sub")).expect("tree");
    fs::write(s.join("etc/hosts"), "h").expect("tree");
    fs::write(s.join("etc/sub/f"), "f").expect("tree");
    fs::create_dir_all(s.join("vol/data")).expect("tree");
    fs::write(s.join("vol/data/big"), "volume contents").expect("tree");
    fs::write(s.join("bind-file"), "bind").expect("tree");
    symlink("/etc/hosts", s.join("link")).expect("tree");
    let cases: Vec<(&str, PackOptions, &[&str])> = vec![
        ("single file", PackOptions { path: "/etc/hosts".into(), ..PackOptions::default() }, &["hosts"]),
        (
            "rebased file",
            PackOptions { path: "etc/hosts".into(), name: Some(OsString::from("renamed")), ..PackOptions::default() },
            &["renamed"],
        ),
        (
            "subtree",
            PackOptions { path: "etc".into(), ..PackOptions::default() },
            &["etc/", "etc/hosts", "etc/sub/", "etc/sub/f"],
        ),
        (
            "rebased subtree",
            PackOptions { path: "etc/sub".into(), name: Some(OsString::from("x")), ..PackOptions::default() },
            &["x/", "x/f"],
        ),
        ("symlink is not followed", PackOptions { path: "link".into(), ..PackOptions::default() }, &["link"]),
        (
            "whole root under a name",
            PackOptions {
                path: "/".into(),
                name: Some(OsString::from("r")),
                excludes: vec!["vol".into(), "etc".into()],
                ..PackOptions::default()
            },
            &["r/", "r/bind-file", "r/etc/", "r/link", "r/vol/"],
        ),
        (
            "excluded mountpoints",
            PackOptions {
                excludes: vec!["/vol/data".into(), "bind-file".into(), "etc/sub".into()],
                ..PackOptions::default()
            },
            &["etc/", "etc/hosts", "etc/sub/", "link", "vol/", "vol/data/"],
        ),
    ];
    for (case, options, want) in cases {
        assert_eq!(entry_names(&pack_to_vec(s, &options)), want, "{case}");
    }
    let err = pack(s, &PackOptions { path: "../outside".into(), ..PackOptions::default() }, std::io::sink())
        .expect_err("escape");
    assert!(err.to_string().contains("path leaves the root"), "{err}");
    let err = pack(s, &PackOptions { path: "missing".into(), ..PackOptions::default() }, std::io::sink())
        .expect_err("missing");
    assert!(err.to_string().contains("cannot stat \"missing\" while packing"), "{err}");
}

#[test]
fn one_file_system_stops_at_mounts() {
    if !privileged("one_file_system_stops_at_mounts") {
        return;
    }
    let src = tempfile::tempdir().expect("src");
    let mnt = src.path().join("mnt");
    fs::create_dir(&mnt).expect("mnt");
    fs::write(src.path().join("top"), "t").expect("top");
    let status = Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&mnt).status().expect("mount");
    assert!(status.success(), "mount tmpfs");
    fs::write(mnt.join("inner"), "i").expect("inner");
    let both = entry_names(&pack_to_vec(src.path(), &PackOptions::default()));
    let one = entry_names(&pack_to_vec(src.path(), &PackOptions { one_file_system: true, ..PackOptions::default() }));
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(both, ["mnt/", "mnt/inner", "top"]);
    assert_eq!(one, ["mnt/", "top"]);
}

/// Packing reads through a root given as a file descriptor, and compressed output decompresses
/// back to the same archive.
#[test]
fn compressed_pack_applies() {
    let src = tempfile::tempdir().expect("src");
    fs::write(src.path().join("f"), vec![9u8; 300_000]).expect("f");
    let fd = rustix::fs::open(
        src.path(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .expect("open");
    let mut tar = Vec::new();
    pack(&fd, &PackOptions::default(), &mut tar).expect("pack");
    for compressed in [
        {
            let mut w = strata_archive::CompressWriter::zstd(Vec::new(), 3, 2).expect("zstd");
            std::io::Write::write_all(&mut w, &tar).expect("write");
            w.finish().expect("finish")
        },
        {
            let mut w = strata_archive::CompressWriter::gzip(Vec::new(), 6);
            std::io::Write::write_all(&mut w, &tar).expect("write");
            w.finish().expect("finish")
        },
    ] {
        let mut plain = Vec::new();
        strata_archive::decompress(&compressed[..]).expect("sniff").read_to_end(&mut plain).expect("read");
        assert_eq!(plain, tar);
        let dst = tempfile::tempdir().expect("dst");
        let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
        let report =
            apply(strata_archive::decompress(&compressed[..]).expect("sniff"), dst.path(), &options).expect("apply");
        assert_eq!(
            report.diff_id.expect("diff id").hex(),
            common::hex_sha256(&tar),
            "diff id is of the uncompressed stream"
        );
        let nodes: BTreeMap<PathBuf, Node> = snapshot(dst.path());
        assert_eq!(nodes.len(), 1);
    }
}
