//! What `apply` makes of well-formed archives: metadata, ownership modes, overwrite rules,
//! whiteouts in each mode, and agreement with GNU tar. Most of it needs root (chown, device
//! nodes, trusted.* xattrs).

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{CHAR, FIFO, Raw, Sandbox, TarWriter, privileged, snapshot};
use strata_archive::{ApplyOptions, ArchiveError, Ownership, StreamRecord, WhiteoutMode, apply};

fn layer() -> ApplyOptions {
    ApplyOptions { whiteouts: WhiteoutMode::Overlay, ..ApplyOptions::default() }
}

#[test]
fn metadata_is_applied() {
    if !privileged("metadata_is_applied") {
        return;
    }
    let sandbox = Sandbox::new();
    let archive = TarWriter::of(&[
        Raw::dir("d").mode(0o1777).owner(1000, 1001).mtime(1_500_000_000),
        Raw::file("d/suid", "#!/bin/true\n").mode(0o4755).owner(1000, 1001).mtime(1_400_000_000),
        Raw::file("d/frac", "x").pax("mtime", "1400000000.25").pax("SCHILY.xattr.user.note", "hello"),
        Raw::file("d/trusted", "x").pax("SCHILY.xattr.trusted.mark", [0u8, 1, 2]),
        Raw::symlink("d/link", "suid").owner(1002, 1003).mtime(1_300_000_000),
        Raw { dev: (1, 3), ..Raw::new("d/null", CHAR).mode(0o666) },
        Raw::new("d/fifo", FIFO).mode(0o620).owner(5, 6),
        Raw::file("deep/er/file", "parents were not listed"),
    ]);
    let report = apply(&archive[..], &sandbox.root, &layer()).expect("apply");
    assert_eq!(report.entries, 8);
    assert_eq!(report.size, 12 + 1 + 1 + 23);
    let tree = snapshot(&sandbox.root);
    let d = &tree[Path::new("d")];
    assert_eq!((d.mode, d.uid, d.gid, d.mtime), (0o1777, 1000, 1001, 1_500_000_000), "dir mtime survives its children");
    let suid = &tree[Path::new("d/suid")];
    assert_eq!(
        (suid.mode, suid.uid, suid.gid, suid.mtime),
        (0o4755, 1000, 1001, 1_400_000_000),
        "setuid survives chown"
    );
    let frac = fs::metadata(sandbox.root.join("d/frac")).expect("frac");
    assert_eq!((frac.mtime(), frac.mtime_nsec()), (1_400_000_000, 250_000_000));
    assert_eq!(tree[Path::new("d/frac")].xattrs, [("user.note".to_owned(), b"hello".to_vec())]);
    assert_eq!(tree[Path::new("d/trusted")].xattrs, [("trusted.mark".to_owned(), vec![0, 1, 2])]);
    let link = fs::symlink_metadata(sandbox.root.join("d/link")).expect("link");
    assert_eq!((link.uid(), link.gid(), link.mtime()), (1002, 1003, 1_300_000_000));
    let null = fs::metadata(sandbox.root.join("d/null")).expect("null");
    assert!(null.file_type().is_char_device());
    assert_eq!((null.rdev(), null.mode() & 0o7777), (rustix::fs::makedev(1, 3), 0o666), "mode not cut by umask");
    let fifo = fs::symlink_metadata(sandbox.root.join("d/fifo")).expect("fifo");
    assert!(fifo.file_type().is_fifo());
    assert_eq!((fifo.mode() & 0o7777, fifo.uid(), fifo.gid()), (0o620, 5, 6));
    let implicit = fs::metadata(sandbox.root.join("deep/er")).expect("implicit parent");
    assert_eq!(implicit.permissions().mode() & 0o7777, 0o755);
}

#[test]
fn ownership_modes() {
    if !privileged("ownership_modes") {
        return;
    }
    let archive = TarWriter::of(&[
        Raw::dir("a").owner(7, 7),
        Raw::file("a/f", "x").owner(7, 7),
        Raw::file("b/c/g", "y").owner(7, 7),
    ]);
    let cases = [
        (Ownership::FromArchive, [7, 7, 0]),
        (Ownership::Fixed(1234, 5678), [1234, 1234, 1234]),
        (Ownership::Keep, [0, 0, 0]),
    ];
    for (ownership, [dir_uid, file_uid, implicit_uid]) in cases {
        let sandbox = Sandbox::new();
        apply(&archive[..], &sandbox.root, &ApplyOptions { ownership, ..ApplyOptions::default() }).expect("apply");
        let uid = |p: &str| fs::symlink_metadata(sandbox.root.join(p)).expect("stat").uid();
        assert_eq!([uid("a"), uid("a/f"), uid("b/c")], [dir_uid, file_uid, implicit_uid], "{ownership:?}");
    }
}

#[test]
fn existing_entries_are_replaced_or_merged() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.root.join("dir_becomes_file/child")).expect("seed");
    fs::write(sandbox.root.join("file_becomes_dir"), "old").expect("seed");
    fs::create_dir(sandbox.root.join("merged")).expect("seed");
    fs::write(sandbox.root.join("merged/old"), "kept").expect("seed");
    let archive = TarWriter::of(&[
        Raw::file("dir_becomes_file", "new"),
        Raw::dir("file_becomes_dir"),
        Raw::dir("merged").mode(0o700),
        Raw::file("merged/new", "added"),
    ]);
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    apply(&archive[..], &sandbox.root, &options).expect("apply");
    assert_eq!(fs::read(sandbox.root.join("dir_becomes_file")).expect("file"), b"new");
    assert!(sandbox.root.join("file_becomes_dir").is_dir());
    assert_eq!(fs::read(sandbox.root.join("merged/old")).expect("merge keeps"), b"kept");
    assert_eq!(fs::metadata(sandbox.root.join("merged")).expect("merged").permissions().mode() & 0o777, 0o700);
}

#[test]
fn no_overwrite_dir_non_dir() {
    let options =
        ApplyOptions { ownership: Ownership::Keep, no_overwrite_dir_non_dir: true, ..ApplyOptions::default() };
    let cases = [
        ("a", Raw::file("a", "x"), true, "entry 1 \"a\": cannot overwrite directory with non-directory"),
        ("a", Raw::symlink("a", "b"), true, "cannot overwrite directory with non-directory"),
        ("a", Raw::dir("a"), false, "entry 1 \"a\": cannot overwrite non-directory with directory"),
    ];
    for (path, entry, existing_dir, message) in cases {
        let sandbox = Sandbox::new();
        if existing_dir {
            fs::create_dir(sandbox.root.join(path)).expect("seed");
        } else {
            fs::write(sandbox.root.join(path), "x").expect("seed");
        }
        let err = apply(&TarWriter::of(&[entry])[..], &sandbox.root, &options).expect_err(message);
        assert!(matches!(err, ArchiveError::DirNonDir { .. }));
        assert!(err.to_string().contains(message), "{err}");
        assert!(err.is_bad_input());
    }
    // Same kinds still replace or merge.
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.root.join("d")).expect("seed");
    fs::write(sandbox.root.join("f"), "old").expect("seed");
    apply(&TarWriter::of(&[Raw::dir("d"), Raw::file("f", "new")])[..], &sandbox.root, &options).expect("apply");
    assert_eq!(fs::read(sandbox.root.join("f")).expect("f"), b"new");
}

#[test]
fn overlay_whiteouts() {
    if !privileged("overlay_whiteouts") {
        return;
    }
    let archive = TarWriter::of(&[
        Raw::dir("d"),
        Raw::file("d/.wh..wh..opq", ""),
        Raw::file("d/kept", "x"),
        Raw::file(".wh.gone", "").mode(0o600).owner(3, 4),
        Raw::file("sub/.wh.x", ""),
        Raw::dir(".wh..wh.plnk"),
        Raw::file(".wh..wh.plnk/123.456", "aufs"),
    ]);
    let sandbox = Sandbox::new();
    apply(&archive[..], &sandbox.root, &layer()).expect("apply");
    let gone = fs::symlink_metadata(sandbox.root.join("gone")).expect("whiteout device");
    assert!(gone.file_type().is_char_device());
    assert_eq!((gone.rdev(), gone.uid(), gone.gid()), (0, 3, 4));
    assert!(fs::symlink_metadata(sandbox.root.join("sub/x")).expect("nested whiteout").file_type().is_char_device());
    assert_eq!(common::xattrs(&sandbox.root.join("d")), [("trusted.overlay.opaque".to_owned(), b"y".to_vec())]);
    assert!(sandbox.root.join("d/kept").is_file());
    for absent in [".wh.gone", "d/.wh..wh..opq", ".wh..wh.plnk"] {
        assert!(fs::symlink_metadata(sandbox.root.join(absent)).is_err(), "{absent} must not be extracted");
    }

    // Plain leaves the names alone.
    let plain = Sandbox::new();
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    apply(&archive[..], &plain.root, &options).expect("apply");
    assert!(plain.root.join(".wh.gone").is_file());
    assert!(plain.root.join("d/.wh..wh..opq").is_file());
}

#[test]
fn delete_whiteouts() {
    // The vfs driver applies onto a copy of the parent layer.
    let seed = |root: &Path| {
        fs::create_dir_all(root.join("old/deeper")).expect("seed");
        fs::write(root.join("old/deeper/f"), "lower").expect("seed");
        fs::write(root.join("keep"), "lower").expect("seed");
        fs::create_dir(root.join("d")).expect("seed");
        fs::write(root.join("d/lower1"), "lower").expect("seed");
        fs::create_dir(root.join("d/lowerdir")).expect("seed");
    };
    let before =
        TarWriter::of(&[Raw::file(".wh.old", ""), Raw::file("d/.wh..wh..opq", ""), Raw::file("d/new", "upper")]);
    let after = TarWriter::of(&[
        Raw::file(".wh.old", ""),
        Raw::file("d/new", "upper"),
        Raw::file("d/sub/n", "upper"),
        Raw::file("d/.wh..wh..opq", ""),
    ]);
    for (case, archive) in [("opaque first", before), ("opaque last", after)] {
        let sandbox = Sandbox::new();
        seed(&sandbox.root);
        let options =
            ApplyOptions { whiteouts: WhiteoutMode::Delete, ownership: Ownership::Keep, ..ApplyOptions::default() };
        apply(&archive[..], &sandbox.root, &options).expect("apply");
        assert!(!sandbox.root.join("old").exists(), "{case}: whiteout removes recursively");
        assert!(sandbox.root.join("keep").is_file(), "{case}");
        let mut names: Vec<_> =
            fs::read_dir(sandbox.root.join("d")).expect("d").map(|e| e.expect("e").file_name()).collect();
        names.sort();
        let want: &[&str] = if case == "opaque first" { &["new"] } else { &["new", "sub"] };
        assert_eq!(names, want, "{case}: the opaque directory keeps only this layer's entries");
        assert!(!sandbox.root.join(".wh.old").exists());
    }
}

#[test]
fn sync_and_report() {
    let sandbox = Sandbox::new();
    let archive = TarWriter::of(&[Raw::file("a", vec![1u8; 1000]), Raw::file("b", ""), Raw::dir("c")]);
    let options = ApplyOptions { sync: true, ownership: Ownership::Keep, ..ApplyOptions::default() };
    let report = apply(&archive[..], &sandbox.root, &options).expect("apply");
    assert_eq!((report.entries, report.size, report.stream_len), (3, 1000, archive.len() as u64));
    assert_eq!(report.diff_id.expect("diff id").hex(), common::hex_sha256(&archive));
    assert!(report.diff_id.expect("diff id").to_string().starts_with("sha256:"));
}

/// Without a record (volume imports) the tree is the same, replaced and hard-linked names
/// included; only the diff id and the tar-split are missing. Early writeback changes nothing
/// visible either.
#[test]
fn skipping_the_record_extracts_the_same_tree() {
    let big = vec![9u8; 3 * strata_archive::WRITEBACK_MIN as usize];
    let huge = vec![3u8; 5 << 20];
    let mut entries = vec![
        Raw::dir("d").mode(0o750).mtime(1_000_000),
        Raw::file("d/small", "x").mode(0o4711).mtime(1_200_000),
        Raw::file("d/big", big.clone()),
        Raw::file("d/huge", huge.clone()),
        Raw::symlink("d/link", "big"),
        Raw::hardlink("d/small-again", "d/small"),
        Raw::file("d/small", "replaced").mode(0o640),
        Raw::file("d/gone", "soon a directory"),
        Raw::dir("d/gone"),
        Raw::file("d/gone/inside", "y"),
    ];
    // (Listed with a time: an implicit directory would get the time of its extraction.)
    entries.push(Raw::dir("many").mtime(1_050_000));
    for i in 0..200 {
        entries.push(Raw::file(format!("many/{i}"), format!("file {i}")).mtime(1_100_000 + i));
    }
    let archive = TarWriter::of(&entries);
    let keep = Sandbox::new();
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    let kept = apply(&archive[..], &keep.root, &options).expect("apply");
    let skip = Sandbox::new();
    let options = ApplyOptions {
        ownership: Ownership::Keep,
        record: StreamRecord::Skip,
        writeback: true,
        sync: true,
        ..ApplyOptions::default()
    };
    let skipped = apply(&archive[..], &skip.root, &options).expect("apply");
    assert!(kept.diff_id.is_some() && kept.tar_split.is_some());
    assert!(skipped.diff_id.is_none() && skipped.tar_split.is_none());
    assert_eq!((skipped.entries, skipped.size, skipped.stream_len), (kept.entries, kept.size, kept.stream_len));
    assert_eq!(snapshot(&skip.root), snapshot(&keep.root));
    assert_eq!(fs::read(skip.root.join("d/small")).expect("read"), b"replaced");
    assert_eq!(fs::read(skip.root.join("d/small-again")).expect("read"), b"x");
    assert_eq!(fs::metadata(skip.root.join("d/small-again")).expect("stat").mode() & 0o7777, 0o4711);
    assert_eq!(fs::read(skip.root.join("d/big")).expect("read"), big);
    assert_eq!(fs::read(skip.root.join("d/huge")).expect("read"), huge);
    assert_eq!(fs::read(skip.root.join("many/199")).expect("read"), b"file 199");
}

/// A root given as a file descriptor works like a path.
#[test]
fn root_as_fd() {
    let sandbox = Sandbox::new();
    let fd = rustix::fs::open(
        &sandbox.root,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .expect("open");
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    apply(&TarWriter::of(&[Raw::file("x", "y")])[..], &fd, &options).expect("apply");
    assert!(sandbox.root.join("x").is_file());
}

fn have_gnu_tar() -> bool {
    Command::new("tar").arg("--version").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU tar"))
}

/// GNU tar and strata extract the same tree from archives GNU tar wrote (gnu and posix formats).
#[test]
fn agrees_with_gnu_tar() {
    if !privileged("agrees_with_gnu_tar") || !have_gnu_tar() {
        return;
    }
    let src = tempfile::tempdir().expect("src");
    let s = src.path();
    fs::create_dir_all(s.join("dir/sub")).expect("tree");
    fs::write(s.join("dir/file"), vec![5u8; 70_000]).expect("tree");
    fs::write(s.join("dir/empty"), "").expect("tree");
    let long = "l".repeat(180);
    fs::write(s.join("dir/sub").join(&long), "long name").expect("tree");
    std::os::unix::fs::symlink("../file", s.join("dir/sub/link")).expect("tree");
    std::os::unix::fs::symlink("x".repeat(150), s.join("dir/longlink")).expect("tree");
    fs::hard_link(s.join("dir/file"), s.join("dir/hard")).expect("tree");
    fs::set_permissions(s.join("dir/file"), fs::Permissions::from_mode(0o4751)).expect("tree");
    rustix::fs::setxattr(s.join("dir/empty").as_path(), "user.k", b"v", rustix::fs::XattrFlags::empty())
        .expect("xattr");
    std::os::unix::fs::chown(s.join("dir/sub"), Some(1000), Some(1000)).expect("chown");
    for format in ["gnu", "posix"] {
        let tarball = src.path().join(format!("../strata-gnu-{format}-{}.tar", std::process::id()));
        // GNU tar writes xattrs in POSIX archives only.
        let xattr_args: &[&str] = if format == "posix" { &["--xattrs", "--xattrs-include=user.*"] } else { &[] };
        let status = Command::new("tar")
            .args(xattr_args)
            .args([&format!("--format={format}"), "-C"])
            .arg(s)
            .args(["-cf"])
            .arg(&tarball)
            .arg("dir")
            .status()
            .expect("tar -c");
        assert!(status.success());
        let bytes = fs::read(&tarball).expect("read tarball");
        fs::remove_file(&tarball).expect("cleanup");
        let ours = Sandbox::new();
        let report = apply(&bytes[..], &ours.root, &ApplyOptions::default()).expect("apply");
        assert_eq!(
            report.diff_id.expect("diff id").hex(),
            common::hex_sha256(&bytes),
            "{format}: diff id covers the whole stream"
        );
        let theirs = tempfile::tempdir().expect("theirs");
        let status = Command::new("tar")
            .args(["--xattrs", "--xattrs-include=*", "--same-owner", "-xpf", "-", "-C"])
            .arg(theirs.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(&bytes)?;
                child.wait()
            })
            .expect("tar -x");
        assert!(status.success());
        let (ours, theirs) = (snapshot(&ours.root), snapshot(theirs.path()));
        assert_eq!(ours.len(), 8, "{format}: {ours:#?}");
        assert_eq!(ours, theirs, "{format}");
    }
}
