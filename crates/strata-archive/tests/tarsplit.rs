//! Bit-exact reassembly: for many generated archives, rebuilding the stream from the tar-split
//! record and the extracted files gives the very bytes that were applied (so the digest equals
//! the diff id), also when the extracted form differs from the archived one.

mod common;

use std::fs;
use std::io::Write;

use common::{Raw, Sandbox, TarWriter};
use strata_archive::{ApplyOptions, ArchiveError, Ownership, TarSplit, WhiteoutMode, apply, reassemble};

const MIB: usize = 1 << 20;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Archives written by the `tar` crate's Builder in GNU mode (long names as `L`/`K` entries).
fn gnu_builder_archive() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut add = |path: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).expect("append");
    };
    let long_dir = "g".repeat(120);
    add(&format!("{long_dir}/{}", "n".repeat(130)), b"gnu long name");
    for (i, size) in [0usize, 1, 511, 512, 513, 1023, 1024, 1025, 4096, 10_000].into_iter().enumerate() {
        add(&format!("sizes/{i:02}-{size}"), &pattern(size, i as u8));
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder.append_link(&mut link, "longlink", "t".repeat(200)).expect("link");
    builder.into_inner().expect("finish")
}

/// A layer-like archive with PAX headers, hardlinks, whiteouts and a replaced file.
fn pax_archive(big: usize) -> Vec<u8> {
    let long = format!("{}/{}", "p".repeat(90), "q".repeat(90));
    TarWriter::of(&[
        Raw::dir("etc"),
        Raw::file("etc/passwd", "root:x:0:0\n").pax("mtime", "1600000000.123"),
        Raw::file(&long, pattern(777, 3)),
        Raw::hardlink("etc/passwd.link", "etc/passwd"),
        Raw::file("empty", ""),
        Raw::file("big", pattern(big, 9)),
        Raw::file("x.attr", "x").pax("SCHILY.xattr.user.a", "b"),
        Raw::file(".wh.gone", ""),
        Raw::dir("opq"),
        Raw::file("opq/.wh..wh..opq", ""),
        Raw::file("dup", "first version, replaced later"),
        Raw::dir("d"),
        Raw::file("d/inner", pattern(3000, 1)),
        Raw::file("d", "a file replaces the directory and its file"),
        Raw::file("dup", "second"),
        Raw::symlink("sl", "etc"),
        Raw::file("sl/through-link", "written via a symlinked parent"),
    ])
}

fn with_padding(mut archive: Vec<u8>, record: usize) -> Vec<u8> {
    let rem = archive.len() % record;
    if rem != 0 {
        archive.resize(archive.len() + record - rem, 0);
    }
    archive
}

fn check(case: &str, archive: &[u8], whiteouts: WhiteoutMode) {
    let sandbox = Sandbox::new();
    let options = ApplyOptions { whiteouts, ownership: Ownership::Keep, ..ApplyOptions::default() };
    let report = apply(archive, &sandbox.root, &options).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(report.diff_id.expect("diff id").hex(), common::hex_sha256(archive), "{case}: diff id");
    assert_eq!(report.stream_len, archive.len() as u64, "{case}");
    assert_eq!(
        report.tar_split.as_ref().expect("tar-split").stream_len(),
        archive.len() as u64,
        "{case}: record length"
    );
    let decoded =
        TarSplit::decode(&report.tar_split.as_ref().expect("tar-split").encode().expect("encode")).expect("decode");
    assert_eq!(Some(&decoded), report.tar_split.as_ref(), "{case}: encode/decode");
    let mut out = Vec::new();
    let rebuilt = reassemble(&decoded, &sandbox.root, &mut out).unwrap_or_else(|e| panic!("{case}: reassemble: {e}"));
    assert_eq!(Some(rebuilt.digest), report.diff_id, "{case} ({whiteouts:?}): reassembled digest");
    assert_eq!(rebuilt.bytes, archive.len() as u64);
    assert!(out == archive, "{case}: reassembled bytes differ");
}

#[test]
fn reassembly_is_bit_exact() {
    let privileged = common::privileged("reassembly_is_bit_exact (overlay whiteouts as devices)");
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty stream".into(), Vec::new()),
        ("only end blocks".into(), vec![0; 1024]),
        ("gnu builder".into(), gnu_builder_archive()),
        ("gnu builder, 10 KiB records".into(), with_padding(gnu_builder_archive(), 10240)),
        ("pax, 5 MiB file".into(), pax_archive(5 * MIB)),
        ("pax, 1 MiB + 1 file, 1 MiB records".into(), with_padding(pax_archive(MIB + 1), MIB)),
        ("global pax header".into(), {
            let mut w = TarWriter::new();
            w.entry(&Raw { data: b"17 comment=hello\n".to_vec(), ..Raw::new("pax_global_header", b'g') });
            w.entry(&Raw::file("after-global", "x"));
            w.finish()
        }),
    ];
    for size in [0, 1, 511, 512, 513, 1024, 65_536, 65_537] {
        cases.push((format!("single file of {size} bytes"), TarWriter::of(&[Raw::file("f", pattern(size, 5))])));
    }
    for (case, archive) in &cases {
        // Overlay turns `.wh.` entries into devices (needs root); Plain keeps them as files.
        check(case, archive, WhiteoutMode::Plain);
        if privileged {
            check(case, archive, WhiteoutMode::Overlay);
        }
    }
}

/// A file edited after apply is detected rather than silently reassembled into a wrong stream.
#[test]
fn changed_files_are_detected() {
    let sandbox = Sandbox::new();
    let archive = TarWriter::of(&[Raw::file("f", "original contents")]);
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    let report = apply(&archive[..], &sandbox.root, &options).expect("apply");
    fs::OpenOptions::new().append(true).open(sandbox.root.join("f")).expect("open").write_all(b"!").expect("append");
    let err =
        reassemble(report.tar_split.as_ref().expect("tar-split"), &sandbox.root, std::io::sink()).expect_err("changed");
    assert!(matches!(err, ArchiveError::ReassembleChanged { expected: 17, found: 18, .. }), "{err}");
    fs::remove_file(sandbox.root.join("f")).expect("remove");
    let err =
        reassemble(report.tar_split.as_ref().expect("tar-split"), &sandbox.root, std::io::sink()).expect_err("removed");
    assert!(err.to_string().contains("cannot open \"f\" while reassembling"), "{err}");
}

/// Reassembly reads inside the root only: a record naming a path through a symlink that points
/// outside cannot read the outside file.
#[test]
fn reassembly_is_confined() {
    let sandbox = Sandbox::new();
    let archive = TarWriter::of(&[Raw::file("canary", common::CANARY)]);
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    let report = apply(&archive[..], &sandbox.root, &options).expect("apply");
    fs::remove_file(sandbox.root.join("canary")).expect("remove");
    std::os::unix::fs::symlink(sandbox.sentinel.join("canary"), sandbox.root.join("canary")).expect("plant");
    assert!(reassemble(report.tar_split.as_ref().expect("tar-split"), &sandbox.root, std::io::sink()).is_err());
}

/// GNU sparse entries: the file is written expanded, the stored data stays in the record.
#[test]
fn gnu_sparse_files() {
    let gnu_tar = std::process::Command::new("tar").arg("--version").output();
    if !gnu_tar.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU tar")) {
        eprintln!("skipping gnu_sparse_files: no GNU tar");
        return;
    }
    let src = tempfile::tempdir().expect("src");
    let file = fs::File::create(src.path().join("sparse")).expect("create");
    file.set_len(4 << 20).expect("truncate");
    std::os::unix::fs::FileExt::write_all_at(&file, b"middle", 2 << 20).expect("write");
    std::os::unix::fs::FileExt::write_all_at(&file, b"end", (4 << 20) - 3).expect("write");
    drop(file);
    let out = std::process::Command::new("tar")
        .args(["--sparse", "--format=gnu", "-C"])
        .arg(src.path())
        .args(["-cf", "-", "sparse"])
        .output()
        .expect("tar");
    assert!(out.status.success());
    let archive = out.stdout;
    let mut types = tar::Archive::new(&archive[..]);
    let first = types.entries().expect("entries").next().expect("entry").expect("valid");
    assert_eq!(first.header().entry_type(), tar::EntryType::GNUSparse, "GNU tar wrote a sparse entry");
    drop(first);
    let sandbox = Sandbox::new();
    let options = ApplyOptions { ownership: Ownership::Keep, ..ApplyOptions::default() };
    let report = apply(&archive[..], &sandbox.root, &options).expect("apply");
    assert_eq!(
        fs::read(sandbox.root.join("sparse")).expect("read"),
        fs::read(src.path().join("sparse")).expect("read")
    );
    assert_eq!(report.size, 4 << 20);
    let mut rebuilt = Vec::new();
    reassemble(report.tar_split.as_ref().expect("tar-split"), &sandbox.root, &mut rebuilt).expect("reassemble");
    assert!(rebuilt == archive, "sparse archive reassembled bit for bit");
}
