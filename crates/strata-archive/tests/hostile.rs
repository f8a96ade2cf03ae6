//! The hostile corpus: archives built to escape the root, confuse the parser or exhaust memory.
//! Each must fail cleanly naming the entry, or be confined; never may anything be written
//! outside the root (a sentinel directory next to it is checked after every case).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::{CHAR, DIR, Raw, SYMLINK, Sandbox, TarWriter};
use proptest::prelude::*;
use strata_archive::{ApplyOptions, ArchiveError, Ownership, StreamRecord, WhiteoutMode, apply};

/// How a case must end.
#[derive(Debug)]
enum Expect {
    /// Applied; the closure checks the root.
    Confined(fn(&Sandbox)),
    /// Refused with an error whose message contains this text.
    Fails(&'static str),
}

/// Every whiteout mode, with and without the stream record.
fn modes() -> Vec<ApplyOptions> {
    let mut all = Vec::new();
    for record in [StreamRecord::Keep, StreamRecord::Skip] {
        for whiteouts in [WhiteoutMode::Plain, WhiteoutMode::Overlay, WhiteoutMode::Delete] {
            all.push(ApplyOptions { whiteouts, ownership: Ownership::Keep, record, ..ApplyOptions::default() });
        }
    }
    all
}

fn run(case: &str, archive: &[u8], expect: &Expect) {
    for options in modes() {
        let sandbox = Sandbox::new();
        let result = apply(archive, &sandbox.root, &options);
        sandbox.assert_nothing_outside();
        match (expect, result) {
            (Expect::Confined(check), Ok(_)) => check(&sandbox),
            (Expect::Fails(text), Err(e)) => {
                let message = e.to_string();
                assert!(
                    message.contains(text),
                    "{case} ({:?}, {:?}): error {message:?} does not mention {text:?}",
                    options.whiteouts,
                    options.record
                );
            }
            (Expect::Confined(_), Err(e)) => {
                panic!("{case} ({:?}, {:?}): expected success, got {e}", options.whiteouts, options.record)
            }
            (Expect::Fails(text), Ok(_)) => {
                panic!("{case} ({:?}, {:?}): expected an error mentioning {text:?}", options.whiteouts, options.record)
            }
        }
    }
}

#[test]
fn hostile_corpus() {
    // The sandbox path is only known per run, so cases aiming at it by absolute path use a
    // fixed directory created for the purpose.
    let fixed = tempfile::tempdir().expect("tempdir");
    let outside = fixed.path().join("outside");
    fs::create_dir(&outside).expect("outside");
    let outside_abs = outside.to_string_lossy().into_owned();
    let escape_name = format!("strata-archive-escape-{}", std::process::id());

    let long_dots = "../".repeat(40);
    let deep_ok: String = "d/".repeat(150) + "f";
    let deep_too_long: String = "dd/".repeat(1500) + "f";

    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "dot-dot",
            TarWriter::of(&[Raw::file("../../etc/x", "pwned")]),
            Expect::Fails("\"../../etc/x\": refused: path leaves the root"),
        ),
        (
            "dot-dot to sentinel",
            TarWriter::of(&[Raw::file("../sentinel/canary", "pwned")]),
            Expect::Fails("path leaves the root"),
        ),
        (
            "dot-dot after descent",
            TarWriter::of(&[Raw::file("a/b/../../../sentinel/x", "pwned")]),
            Expect::Fails("path leaves the root"),
        ),
        (
            "many dot-dots",
            TarWriter::of(&[Raw::file(format!("{long_dots}tmp/x"), "pwned")]),
            Expect::Fails("path leaves the root"),
        ),
        (
            "absolute path",
            TarWriter::of(&[Raw::file(format!("/etc/{escape_name}"), "confined")]),
            Expect::Confined(|s| {
                let name = format!("strata-archive-escape-{}", std::process::id());
                assert!(fs::metadata(format!("/etc/{name}")).is_err(), "wrote into the host's /etc");
                assert_eq!(fs::read(s.root.join("etc").join(name)).expect("confined file"), b"confined");
            }),
        ),
        (
            "symlink to / then through it",
            TarWriter::of(&[Raw::symlink("a", "/"), Raw::file(format!("a/etc/{escape_name}"), "confined")]),
            Expect::Confined(|s| {
                let name = format!("strata-archive-escape-{}", std::process::id());
                assert!(fs::metadata(format!("/etc/{name}")).is_err(), "wrote into the host's /etc");
                assert!(s.root.join("etc").join(&name).is_file());
                assert_eq!(fs::read_link(s.root.join("a")).expect("link kept as-is"), std::path::Path::new("/"));
            }),
        ),
        (
            "symlink up three levels then through it",
            TarWriter::of(&[Raw::symlink("a", "../../.."), Raw::file("a/x", "confined")]),
            Expect::Confined(|s| assert!(s.root.join("x").is_file())),
        ),
        (
            "symlink to the sentinel by relative path",
            TarWriter::of(&[Raw::symlink("a", "../sentinel"), Raw::file("a/canary", "pwned")]),
            // ../sentinel inside the root does not exist: the parent cannot be made.
            Expect::Fails("\"a/canary\": cannot create parent directories"),
        ),
        (
            "symlink to an absolute outside directory",
            TarWriter::of(&[Raw::symlink("a", &outside_abs), Raw::file("a/pwned", "x")]),
            Expect::Fails("\"a/pwned\": cannot create parent directories"),
        ),
        (
            "chained symlinks",
            TarWriter::of(&[
                Raw::symlink("b", "/"),
                Raw::symlink("a", "b/.."),
                Raw::file("a/../x", "ok"),
                Raw::file("a/y", "ok"),
            ]),
            Expect::Confined(|s| {
                assert!(s.root.join("x").is_file());
                assert!(s.root.join("y").is_file());
            }),
        ),
        (
            "hardlink to /etc/passwd",
            TarWriter::of(&[Raw::hardlink("pw", "/etc/passwd")]),
            Expect::Fails("\"pw\": cannot resolve hardlink target"),
        ),
        (
            "hardlink up and out",
            TarWriter::of(&[Raw::hardlink("h", "../../outside")]),
            Expect::Fails("\"h\": refused: hardlink target: path leaves the root"),
        ),
        (
            "hardlink through a symlink to outside",
            TarWriter::of(&[Raw::symlink("s", &outside_abs), Raw::hardlink("h", "s/file")]),
            Expect::Fails("\"h\": cannot resolve hardlink target"),
        ),
        (
            "hardlink to a symlink to outside",
            TarWriter::of(&[
                Raw::symlink("s", "/etc/passwd"),
                Raw::hardlink("h", "s"),
                Raw::file("h", "replaces, never writes through"),
            ]),
            Expect::Confined(|s| {
                assert_eq!(fs::read(s.root.join("h")).expect("h"), b"replaces, never writes through");
                assert_eq!(fs::read_link(s.root.join("s")).expect("s"), std::path::Path::new("/etc/passwd"));
            }),
        ),
        (
            "hardlink then write through it",
            TarWriter::of(&[
                Raw::dir("etc"),
                Raw::file("etc/passwd", "root:x:0:0"),
                Raw::hardlink("h", "etc/passwd"),
                Raw::file("h", "pwned"),
            ]),
            Expect::Confined(|s| {
                assert_eq!(fs::read(s.root.join("etc/passwd")).expect("passwd"), b"root:x:0:0");
                assert_eq!(fs::read(s.root.join("h")).expect("h"), b"pwned");
                assert_eq!(fs::metadata(s.root.join("etc/passwd")).expect("passwd").nlink(), 1);
            }),
        ),
        (
            "symlink then write through it",
            TarWriter::of(&[Raw::symlink("f", format!("{outside_abs}/target")), Raw::file("f", "replaces the link")]),
            Expect::Confined(|s| {
                assert!(fs::symlink_metadata(s.root.join("f")).expect("f").is_file());
            }),
        ),
        (
            "directory replaced by a symlink, then a file under it",
            TarWriter::of(&[
                Raw::dir("d"),
                Raw::file("d/a", "1"),
                Raw::symlink("d", &outside_abs),
                Raw::file("d/b", "2"),
            ]),
            // d -> <outside> is resolved inside the root, where that path does not exist.
            Expect::Fails("\"d/b\": cannot create parent directories"),
        ),
        (
            "directory replaced by a symlink to the root",
            TarWriter::of(&[Raw::dir("d"), Raw::symlink("d", "/"), Raw::file("d/b", "2")]),
            Expect::Confined(|s| {
                assert!(s.root.join("b").is_file());
                assert!(fs::symlink_metadata(s.root.join("d")).expect("d").file_type().is_symlink());
            }),
        ),
        (
            "header size larger than the stream",
            {
                let mut w = TarWriter::new();
                w.entry(&Raw { size: Some(1 << 30), ..Raw::file("big", vec![7u8; 1000]) });
                w.out
            },
            Expect::Fails("\"big\""),
        ),
        (
            "absurd size in a PAX record",
            TarWriter::of(&[Raw::file("p", "x").pax("size", "99999999999999999999999")]),
            Expect::Fails("\"p\": refused: malformed PAX size record"),
        ),
        (
            "truncated inside a header",
            {
                let full = TarWriter::of(&[Raw::file("a", "x"), Raw::file("b", "y")]);
                full[..1024 + 200].to_vec()
            },
            Expect::Fails("cannot read archive after 1 entries"),
        ),
        (
            "truncated inside contents",
            {
                let full = TarWriter::of(&[Raw::file("a", vec![1u8; 5000])]);
                full[..512 + 3000].to_vec()
            },
            Expect::Fails("entry 1 \"a\": archive ends 2000 bytes before the end"),
        ),
        (
            "not a tar stream",
            b"this is not a tar archive at all, just some text that goes on".repeat(20),
            Expect::Fails("cannot read archive after 0 entries"),
        ),
        (
            "random binary",
            (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(),
            Expect::Fails("cannot read archive"),
        ),
        (
            "NUL in a PAX name",
            TarWriter::of(&[Raw::file("x", "y").pax("path", "a\0b")]),
            Expect::Fails("name contains a NUL byte"),
        ),
        (
            "NUL in a symlink target",
            TarWriter::of(&[Raw::symlink("x", "y").pax("linkpath", "/etc\0/passwd")]),
            Expect::Fails("symlink target contains a NUL byte"),
        ),
        (
            "deeply nested path",
            TarWriter::of(&[Raw::file(&deep_ok, "deep")]),
            Expect::Confined(|s| assert!(s.root.join("d/".repeat(150) + "f").is_file())),
        ),
        ("path longer than PATH_MAX", TarWriter::of(&[Raw::file(&deep_too_long, "deep")]), Expect::Fails("cannot")),
        (
            "oversized PAX header",
            TarWriter::of(&[Raw::file("x", "y").pax("comment", vec![b'c'; 20 << 20])]),
            Expect::Fails("extension headers or trailing data too large"),
        ),
        (
            "symlink carrying contents",
            TarWriter::of(&[Raw { data: vec![0; 512], ..Raw::symlink("s", "t") }]),
            Expect::Fails("must not carry 512 bytes"),
        ),
        ("unsupported entry type", TarWriter::of(&[Raw::new("v", b'V')]), Expect::Fails("unsupported entry type 'V'")),
        (
            "root replaced by a file",
            TarWriter::of(&[Raw::file("./", "x")]),
            Expect::Fails("cannot replace the root directory"),
        ),
        (
            "uid -1",
            TarWriter::of(&[Raw::file("u", "x").pax("uid", "4294967295")]),
            Expect::Fails("uid 4294967295 out of range"),
        ),
        (
            "overlay xattrs in an archive are ignored",
            TarWriter::of(&[Raw::dir("d").pax("SCHILY.xattr.trusted.overlay.redirect", "/etc")]),
            Expect::Confined(|s| {
                assert!(common::xattrs(&s.root.join("d")).iter().all(|(k, _)| !k.starts_with("trusted.overlay")))
            }),
        ),
    ];
    for (case, archive, expect) in &cases {
        run(case, archive, expect);
    }
}

/// Whiteout names that would reach outside their directory, in the modes that interpret them.
#[test]
fn hostile_whiteouts() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("whiteout of dot-dot", TarWriter::of(&[Raw::file("a/.wh...", "")])),
        ("whiteout of dot", TarWriter::of(&[Raw::file("a/.wh..", "")])),
        ("whiteout of nothing", TarWriter::of(&[Raw::file(".wh.", "")])),
    ];
    for (case, archive) in &cases {
        for whiteouts in [WhiteoutMode::Overlay, WhiteoutMode::Delete] {
            let sandbox = Sandbox::new();
            let options = ApplyOptions { whiteouts, ownership: Ownership::Keep, ..ApplyOptions::default() };
            let err = apply(&archive[..], &sandbox.root, &options).expect_err(case);
            assert!(err.to_string().contains("whiteout names no file"), "{case}: {err}");
            sandbox.assert_nothing_outside();
        }
    }
    // A whiteout through a symlink pointing up removes inside the root only. (Overlay whiteouts
    // are device nodes: root only.)
    let mut modes = vec![WhiteoutMode::Delete];
    if common::privileged("hostile_whiteouts (overlay)") {
        modes.push(WhiteoutMode::Overlay);
    }
    for whiteouts in modes {
        let sandbox = Sandbox::new();
        let archive = TarWriter::of(&[
            Raw::symlink("up", "../.."),
            Raw::file("up/.wh.sentinel", ""),
            Raw::file("up/.wh..wh..opq", ""),
        ]);
        let options = ApplyOptions { whiteouts, ownership: Ownership::Keep, ..ApplyOptions::default() };
        apply(&archive[..], &sandbox.root, &options).expect("confined whiteouts");
        sandbox.assert_nothing_outside();
    }
}

/// Errors say whether the input is at fault, for the API's status codes.
#[test]
fn bad_input_is_classified() {
    let sandbox = Sandbox::new();
    let err = apply(&b"garbage".repeat(100)[..], &sandbox.root, &ApplyOptions::default()).expect_err("garbage");
    assert!(err.is_bad_input());
    assert!(matches!(err, ArchiveError::Read { .. }));
    let missing = sandbox.tmp.path().join("missing");
    let err = apply(&b""[..], &missing, &ApplyOptions::default()).expect_err("no root");
    assert!(!err.is_bad_input());
}

/// Names an entry of a random archive can have: small alphabet, with the dangerous pieces.
fn component() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "c", "..", ".", "", "etc", ".wh.a", ".wh..wh..opq", "sentinel"])
}

fn entry_name() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(component(), 1..5)).prop_map(|(absolute, parts)| {
        let joined = parts.join("/");
        if absolute { format!("/{joined}") } else { joined }
    })
}

fn link_target() -> impl Strategy<Value = String> {
    prop_oneof![
        entry_name(),
        Just("/".to_owned()),
        Just("../../..".to_owned()),
        Just("../sentinel".to_owned()),
        Just("../sentinel/canary".to_owned()),
    ]
}

fn random_entry() -> impl Strategy<Value = Raw> {
    (entry_name(), 0..6u8, link_target()).prop_map(|(name, kind, target)| match kind {
        0 => Raw::file(name, "data"),
        1 => Raw::dir(name),
        2 => Raw::symlink(name, target),
        3 => Raw::hardlink(name, target),
        4 => Raw { dev: (0, 0), ..Raw::new(name, CHAR) },
        _ => Raw::file(name, ""),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Whatever the names and types, nothing lands outside the root.
    #[test]
    fn random_archives_stay_inside(entries in prop::collection::vec(random_entry(), 1..12), mode in 0..6usize) {
        // Device nodes need root; without it, random archives are still checked with the rest.
        let entries: Vec<Raw> = if common::privileged("random_archives_stay_inside (device nodes)") {
            entries
        } else {
            entries.into_iter().filter(|e| e.typeflag != CHAR).collect()
        };
        let sandbox = Sandbox::new();
        // Symlinks to the sentinel by absolute path, too.
        let mut entries = entries;
        entries.push(Raw::symlink("abs", sandbox.sentinel.to_string_lossy().as_bytes()));
        entries.push(Raw::file("abs/canary", "pwned"));
        entries.push(Raw { typeflag: DIR, ..Raw::new("abs/sub", DIR) });
        entries.push(Raw { typeflag: SYMLINK, link: b"../../sentinel/canary".to_vec(), ..Raw::new("abs/l", SYMLINK) });
        let archive = TarWriter::of(&entries);
        let options = modes()[mode];
        let _ = apply(&archive[..], &sandbox.root, &options);
        sandbox.assert_nothing_outside();
    }
}
