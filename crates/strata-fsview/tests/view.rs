//! The view on real directories: resolution through symlinks and mounts, `docker cp` both
//! ways, export. Unprivileged (except where ownership is checked).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use strata_fsview::{
    ContainerView, ExtractOptions, MountKind, StatusClass, ViewError, ViewMount, export, extract, gocompat,
    prepare_archive, resolve, stat_path,
};

/// A container: rootfs, a volume at `/data`, a read-only bind at `/ro`, a file bind at
/// `/etc/hostname`, and a host directory outside all of them that must never be reached.
struct Fixture {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    view: ContainerView,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().to_owned();
        let root = base.join("rootfs");
        let w = |p: &str, data: &str| {
            let p = base.join(p);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, data).expect("write");
        };
        w("rootfs/etc/passwd", "root:x:0:0:container\n");
        w("rootfs/etc/hostname", "under-the-bind\n");
        w("rootfs/data/under", "hidden by the volume\n");
        w("rootfs/srv/www/index.html", "hello\n");
        fs::create_dir_all(root.join("ro")).expect("mkdir");
        symlink("/etc", root.join("abs_etc")).expect("symlink");
        symlink("../../../../../../..", root.join("escape")).expect("symlink");
        symlink("../../../../etc", root.join("srv/dotdot_etc")).expect("symlink");
        symlink("/data/sub", root.join("srv/datalink")).expect("symlink");
        symlink("/srv", root.join("srvlink")).expect("symlink");
        symlink("loop2", root.join("loop1")).expect("symlink");
        symlink("loop1", root.join("loop2")).expect("symlink");
        w("vol/sub/f", "in the volume\n");
        w("robind/r", "read-only\n");
        w("hostname.bind", "ctr-host\n");
        w("etc/passwd", "root:x:0:0:HOST\n");
        w("secret/keep", "host\n");
        let mount = |dest: &str, src: &str, read_only, kind| ViewMount {
            destination: dest.into(),
            source: Some(base.join(src)),
            read_only,
            kind,
        };
        let view = ContainerView {
            rootfs: root,
            readonly_rootfs: false,
            mounts: vec![
                mount("/data", "vol", false, MountKind::Volume),
                mount("/ro", "robind", true, MountKind::Bind),
                mount("/etc/hostname", "hostname.bind", false, MountKind::Bind),
            ],
        };
        Fixture { _tmp: tmp, base, view }
    }

    fn get(&self, path: &str) -> BTreeMap<String, Entry> {
        let prepared = prepare_archive(&self.view, path).expect("prepare");
        let mut tar = Vec::new();
        let len = prepared.write_to(&mut tar).expect("write");
        assert_eq!(len, tar.len() as u64);
        list(&tar)
    }

    /// Everything under the fixture's base except the rootfs and mount sources: where nothing
    /// may ever be written.
    fn host_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.base, &mut out);
        out.retain(|p| {
            let rel = p.strip_prefix(&self.base).expect("under base");
            !["rootfs", "vol", "robind", "hostname.bind"].iter().any(|top| rel.starts_with(top))
        });
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        out.push(p.clone());
        if fs::symlink_metadata(&p).expect("lstat").is_dir() {
            walk(&p, out);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(String),
    Link(String),
}

fn list(tar: &[u8]) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let entry = match e.header().entry_type() {
            tar::EntryType::Directory => Entry::Dir,
            tar::EntryType::Symlink => {
                Entry::Link(String::from_utf8_lossy(&e.link_name_bytes().expect("link")).into_owned())
            }
            _ => {
                let mut s = String::new();
                e.read_to_string(&mut s).expect("read");
                Entry::File(s)
            }
        };
        out.insert(name.trim_end_matches('/').to_owned(), entry);
    }
    out
}

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().expect("finish tar")
}

/// Appends an entry with a raw name (the tar crate's own API refuses `..` and absolute names).
fn raw_entry(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).expect("append");
}

fn file(s: &str) -> Entry {
    Entry::File(s.into())
}

#[test]
fn symlinks_resolve_as_the_container_sees_them() {
    let f = Fixture::new();
    for (path, want) in [
        ("/abs_etc/passwd", "/etc/passwd"),
        ("/escape/etc/passwd", "/etc/passwd"),
        ("/srv/dotdot_etc/passwd", "/etc/passwd"),
        ("/escape/../../escape/etc", "/etc"),
        ("/srv/datalink/f", "/data/sub/f"),
        ("/srvlink/datalink/f", "/data/sub/f"),
        ("/srvlink/missing/../x", "/srv/x"),
    ] {
        assert_eq!(resolve(&f.view, path).expect(path), want, "{path}");
    }
    // The container's /etc/passwd, never the host's.
    let st = stat_path(&f.view, "/escape/etc/passwd").expect("stat");
    assert_eq!(st.size, "root:x:0:0:container\n".len() as i64);
    let st = stat_path(&f.view, "/srv/datalink/f").expect("stat through link into volume");
    assert_eq!(st.size, "in the volume\n".len() as i64);
    let err = stat_path(&f.view, "/loop1/x").expect_err("loop");
    assert!(matches!(err, ViewError::TooManyLinks { .. }), "{err:?}");
    assert_eq!(err.status_class(), StatusClass::BadRequest);
}

#[test]
fn stat_header_decodes_to_dockers_json() {
    let f = Fixture::new();
    let mtime = filetime(&f.view.rootfs.join("etc/passwd"));
    let st = stat_path(&f.view, "/etc/passwd").expect("stat");
    let json = st.to_json();
    assert_eq!(json, format!(r#"{{"name":"passwd","size":21,"mode":420,"mtime":"{mtime}","linkTarget":""}}"#));
    assert_eq!(st.header_value(), gocompat::base64(json.as_bytes()));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 5);

    let dir = stat_path(&f.view, "/etc/").expect("stat dir");
    assert_eq!((dir.name.as_str(), dir.mode), ("etc", 2147484141));
    let link = stat_path(&f.view, "/srv/datalink").expect("stat link");
    assert_eq!(link.mode, gocompat::mode::SYMLINK | 0o777);
    assert_eq!(link.link_target, "/data/sub");
    // A trailing slash follows the link.
    let followed = stat_path(&f.view, "/srv/datalink/").expect("stat link/");
    assert_eq!((followed.name.as_str(), followed.mode & gocompat::mode::DIR != 0), ("datalink", true));
    // The file bind mount shows its source.
    assert_eq!(stat_path(&f.view, "/etc/hostname").expect("stat").size, "ctr-host\n".len() as i64);
}

fn filetime(p: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(p).expect("stat");
    gocompat::rfc3339_nano(md.mtime(), u32::try_from(md.mtime_nsec()).expect("nsec"))
}

#[test]
fn missing_paths_are_404_with_dockers_text() {
    let f = Fixture::new();
    for path in ["/nonexist", "/etc/passwd/x", "/srv/datalink/nope", "/missing/dir/"] {
        let err = prepare_archive(&f.view, path).expect_err(path);
        assert_eq!(err.status_class(), StatusClass::NotFound, "{path}: {err:?}");
    }
    let err = stat_path(&f.view, "/nonexist").expect_err("missing");
    assert_eq!(err.docker_message("rtm"), "Could not find the file /nonexist in container rtm");
}

#[test]
fn get_names_entries_like_docker_and_includes_mounts() {
    let f = Fixture::new();
    let got = f.get("/etc/passwd");
    assert_eq!(got.into_iter().collect::<Vec<_>>(), vec![("passwd".into(), file("root:x:0:0:container\n"))]);

    // The link itself, named after the request.
    let got = f.get("/srv/datalink");
    assert_eq!(got.get("datalink"), Some(&Entry::Link("/data/sub".into())));
    assert_eq!(got.len(), 1);

    // Followed with a trailing slash, renamed to the requested name; "/." copies contents.
    let got = f.get("/srv/datalink/");
    assert_eq!(got.get("datalink/f"), Some(&file("in the volume\n")));
    let got = f.get("/srv/datalink/.");
    assert_eq!(got.get("./f"), Some(&file("in the volume\n")));

    // A volume below the copied directory is in the archive, the rootfs under it is not;
    // the file bind mount replaces what the rootfs has there.
    // The whole root is named as Docker names it: `/`, then `/etc`, … (the CLI relies on it).
    let got = f.get("/");
    assert_eq!(got.get(""), Some(&Entry::Dir), "the `/` entry");
    assert_eq!(got.get("/data/sub/f"), Some(&file("in the volume\n")));
    assert_eq!(got.get("/data/under"), None);
    assert_eq!(got.get("/etc/hostname"), Some(&file("ctr-host\n")));
    assert_eq!(got.get("/ro/r"), Some(&file("read-only\n")));
    assert_eq!(got.get("/etc/passwd"), Some(&file("root:x:0:0:container\n")));
    assert_eq!(got.get("/abs_etc"), Some(&Entry::Link("/etc".into())));
    let got = f.get("/etc");
    assert_eq!(got.get("etc/hostname"), Some(&file("ctr-host\n")));
    let got = f.get("/data");
    assert_eq!(got.get("data/sub/f"), Some(&file("in the volume\n")));
    assert!(!got.contains_key("data/under"));
    // The whole stream reads back with a standard reader, to its end.
    let prepared = prepare_archive(&f.view, "/").expect("prepare");
    let mut tar = Vec::new();
    prepared.write_to(&mut tar).expect("write");
    assert!(tar.ends_with(&[0; 1024]));
    let out = std::process::Command::new("tar").arg("-t").stdin(std::process::Stdio::piped()).output_with(&tar);
    assert!(out.lines().any(|l| l == "/data/sub/f"), "{out}");
}

trait OutputWith {
    fn output_with(&mut self, input: &[u8]) -> String;
}

impl OutputWith for std::process::Command {
    fn output_with(&mut self, input: &[u8]) -> String {
        use std::io::Write;
        let mut child = self.stdout(std::process::Stdio::piped()).spawn().expect("spawn tar");
        child.stdin.take().expect("stdin").write_all(input).expect("feed tar");
        let out = child.wait_with_output().expect("tar");
        assert!(out.status.success(), "tar failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn put_lands_in_the_mount_that_holds_the_target() {
    let f = Fixture::new();
    let tar = tar_of(|b| raw_entry(b, "new.txt", tar::EntryType::Regular, "", b"copied\n"));
    extract(&f.view, "/data", &tar[..], &ExtractOptions::default()).expect("into volume");
    assert_eq!(fs::read_to_string(f.base.join("vol/new.txt")).expect("in volume"), "copied\n");
    assert!(!f.view.rootfs.join("data/new.txt").exists());

    // Through a symlink whose target is inside the volume.
    extract(&f.view, "/srv/datalink", &tar[..], &ExtractOptions::default()).expect("through link");
    assert_eq!(fs::read_to_string(f.base.join("vol/sub/new.txt")).expect("in volume"), "copied\n");

    // An archive extracted above a mount is split: what is under /data goes into the volume.
    let spanning = tar_of(|b| {
        raw_entry(b, "data/", tar::EntryType::Directory, "", b"");
        raw_entry(b, "data/deep/x", tar::EntryType::Regular, "", b"deep\n");
        raw_entry(b, "./data/hl", tar::EntryType::Link, "data/deep/x", b"");
        raw_entry(b, "etc/y", tar::EntryType::Regular, "", b"rootfs\n");
        raw_entry(b, "data/ln", tar::EntryType::Symlink, "/etc/y", b"");
    });
    extract(&f.view, "/", &spanning[..], &ExtractOptions::default()).expect("spanning");
    assert_eq!(fs::read_to_string(f.base.join("vol/deep/x")).expect("in volume"), "deep\n");
    assert_eq!(fs::read_to_string(f.base.join("vol/hl")).expect("hardlink in volume"), "deep\n");
    assert_eq!(fs::read_link(f.base.join("vol/ln")).expect("symlink in volume"), Path::new("/etc/y"));
    assert_eq!(fs::read_to_string(f.view.rootfs.join("etc/y")).expect("in rootfs"), "rootfs\n");
    assert!(!f.view.rootfs.join("data/deep").exists());
    let into_ro = tar_of(|b| raw_entry(b, "ro/x", tar::EntryType::Regular, "", b"x"));
    let err = extract(&f.view, "/", &into_ro[..], &ExtractOptions::default()).expect_err("ro below");
    assert_eq!(err.to_string(), "mounted volume is marked read-only");
    assert!(!f.base.join("robind/x").exists());

    // Through /abs_etc -> /etc: the container's /etc.
    extract(&f.view, "/abs_etc/", &tar[..], &ExtractOptions::default()).expect("into etc");
    assert!(f.view.rootfs.join("etc/new.txt").exists());
    assert!(!f.base.join("etc/new.txt").exists());
}

#[test]
fn put_is_confined_whatever_the_archive_says() {
    let f = Fixture::new();
    let before = f.host_files();
    let hostile = [
        tar_of(|b| raw_entry(b, "../../../../secret/pwned", tar::EntryType::Regular, "", b"x")),
        tar_of(|b| raw_entry(b, "/abs-pwned", tar::EntryType::Regular, "", b"x")),
        tar_of(|b| {
            raw_entry(b, "evil", tar::EntryType::Symlink, "../../../../../secret", b"");
            raw_entry(b, "evil/pwned", tar::EntryType::Regular, "", b"x");
        }),
        tar_of(|b| {
            raw_entry(b, "evil2", tar::EntryType::Symlink, "/", b"");
            raw_entry(b, "evil2/secret/pwned", tar::EntryType::Regular, "", b"x");
        }),
        // Through a symlink the container already has.
        tar_of(|b| raw_entry(b, "escape/secret/pwned", tar::EntryType::Regular, "", b"x")),
        tar_of(|b| raw_entry(b, "hl", tar::EntryType::Link, "../../../secret/keep", b"")),
        // Split into the volume, then escape attempts from there.
        tar_of(|b| {
            raw_entry(b, "data/evil", tar::EntryType::Symlink, "../../../../..", b"");
            raw_entry(b, "data/evil/secret/pwned", tar::EntryType::Regular, "", b"x");
            raw_entry(b, "data/../../secret/pwned2", tar::EntryType::Regular, "", b"x");
        }),
        tar_of(|b| raw_entry(b, "data/hl", tar::EntryType::Link, "../secret/keep", b"")),
    ];
    for (i, tar) in hostile.iter().enumerate() {
        for target in ["/", "/srv", "/data"] {
            // Refused, failed or confined: which one is the extractor's business; that nothing
            // lands outside is checked below.
            if let Err(e) = extract(&f.view, target, &tar[..], &ExtractOptions::default()) {
                eprintln!("archive {i} into {target}: {e}");
            }
        }
    }
    assert_eq!(f.host_files(), before, "something was written outside the container");
    assert_eq!(fs::read_to_string(f.base.join("secret/keep")).expect("read"), "host\n");
}

#[test]
fn read_only_rootfs_and_mounts_are_refused() {
    let mut f = Fixture::new();
    let tar = tar_of(|b| raw_entry(b, "x", tar::EntryType::Regular, "", b"x"));
    let err = extract(&f.view, "/ro", &tar[..], &ExtractOptions::default()).expect_err("ro bind");
    assert_eq!(err.to_string(), "mounted volume is marked read-only");
    assert_eq!(err.status_class(), StatusClass::BadRequest);

    f.view.readonly_rootfs = true;
    for target in ["/etc", "/", "/abs_etc", "/srv/www"] {
        let err = extract(&f.view, target, &tar[..], &ExtractOptions::default()).expect_err(target);
        assert_eq!(err.to_string(), "container rootfs is marked read-only", "{target}");
    }
    // Its read-write volume still takes copies, also through a symlink in the read-only rootfs.
    extract(&f.view, "/data/", &tar[..], &ExtractOptions::default()).expect("rw volume");
    extract(&f.view, "/srv/datalink", &tar[..], &ExtractOptions::default()).expect("rw volume via link");
    assert!(f.base.join("vol/x").exists() && f.base.join("vol/sub/x").exists());
}

#[test]
fn put_checks_the_extraction_point_and_overwrite_rules() {
    let f = Fixture::new();
    let tar = tar_of(|b| raw_entry(b, "x", tar::EntryType::Regular, "", b"x"));
    let err = extract(&f.view, "/etc/passwd", &tar[..], &ExtractOptions::default()).expect_err("file");
    assert_eq!(
        (err.to_string().as_str(), err.status_class()),
        ("extraction point is not a directory", StatusClass::BadRequest)
    );
    let err = extract(&f.view, "/nope", &tar[..], &ExtractOptions::default()).expect_err("missing");
    assert_eq!(err.status_class(), StatusClass::NotFound);

    let file_over_dir = tar_of(|b| raw_entry(b, "etc", tar::EntryType::Regular, "", b"x"));
    let no_overwrite = ExtractOptions { no_overwrite_dir_non_dir: true, ..Default::default() };
    let err = extract(&f.view, "/", &file_over_dir[..], &no_overwrite).expect_err("dir non dir");
    assert_eq!(err.status_class(), StatusClass::BadRequest);
    assert!(f.view.rootfs.join("etc/passwd").exists());

    // gzip input is accepted, as Docker's untar decompresses.
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = strata_archive::CompressWriter::gzip(&mut gz, 1);
        enc.write_all(&tar).expect("gzip");
        enc.finish().expect("finish");
    }
    extract(&f.view, "/srv", &gz[..], &ExtractOptions::default()).expect("gzip");
    assert!(f.view.rootfs.join("srv/x").exists());
}

#[test]
fn export_is_the_rootfs_without_mount_contents() {
    let f = Fixture::new();
    let mut tar = Vec::new();
    let len = export(&f.view, &mut tar).expect("export");
    assert_eq!(len, tar.len() as u64);
    let got = list(&tar);
    assert_eq!(got.get("etc/passwd"), Some(&file("root:x:0:0:container\n")));
    // What the image has under the mount points, as Docker's export shows it.
    assert_eq!(got.get("data/under"), Some(&file("hidden by the volume\n")));
    assert_eq!(got.get("etc/hostname"), Some(&file("under-the-bind\n")));
    assert!(!got.contains_key("data/sub/f"));
    assert_eq!(got.get("srv/datalink"), Some(&Entry::Link("/data/sub".into())));
    assert!(!got.keys().any(|k| k.starts_with('/') || k.starts_with("./") || k.is_empty()), "{got:?}");
}

#[test]
fn mounts_are_placed_where_the_runtime_puts_them() {
    // Debian-style images have /var/run -> /run; runc mounts `-v x:/var/run` on /run.
    let f = Fixture::new();
    fs::create_dir_all(f.view.rootfs.join("run")).expect("mkdir");
    fs::write(f.view.rootfs.join("run/under"), "rootfs").expect("write");
    fs::create_dir_all(f.view.rootfs.join("var")).expect("mkdir");
    symlink("../run", f.view.rootfs.join("var/run")).expect("symlink");
    fs::create_dir_all(f.base.join("runvol")).expect("mkdir");
    fs::write(f.base.join("runvol/pid"), "42\n").expect("write");
    let mut view = f.view.clone();
    view.mounts.push(ViewMount {
        destination: "/var/run".into(),
        source: Some(f.base.join("runvol")),
        read_only: false,
        kind: MountKind::Volume,
    });
    assert_eq!(stat_path(&view, "/run/pid").expect("stat").size, 3);
    assert_eq!(stat_path(&view, "/var/run/pid").expect("stat").size, 3);
    assert!(stat_path(&view, "/run/under").is_err());
    let tar = tar_of(|b| raw_entry(b, "x", tar::EntryType::Regular, "", b"x"));
    extract(&view, "/var/run", &tar[..], &ExtractOptions::default()).expect("put");
    assert!(f.base.join("runvol/x").exists());
    let prepared = prepare_archive(&view, "/").expect("prepare");
    let mut out = Vec::new();
    prepared.write_to(&mut out).expect("get");
    let got = list(&out);
    assert_eq!(got.get("/run/pid"), Some(&file("42\n")));
    assert_eq!(got.get("/var/run"), Some(&Entry::Link("../run".into())));
    assert!(!got.contains_key("/run/under"));
}

#[test]
fn a_prepared_archive_can_move_to_a_blocking_thread() {
    fn is_send<T: Send + 'static>() {}
    is_send::<strata_fsview::PreparedArchive>();
}

#[test]
fn views_are_built_from_the_mount_plan() {
    use strata_mount::{ApiVersion, MountRequest, NoContainers, PlanContext, plan_mounts};
    let f = Fixture::new();
    fs::create_dir_all(f.base.join("vol/sub")).expect("mkdir");
    symlink("../../secret", f.base.join("vol/escape")).expect("symlink");
    let ro = format!("{}:/ro:ro", f.base.join("robind").display());
    let req = MountRequest {
        binds: vec!["myvol:/data".into(), ro],
        tmpfs: [("/run".to_owned(), String::new())].into_iter().collect(),
        readonly_rootfs: true,
        ..Default::default()
    };
    let host = |_: &Path| true;
    let ctx = PlanContext {
        api_version: ApiVersion::new(1, 47),
        daemon_root: "/var/lib/strata",
        host: &host,
        containers: &NoContainers,
    };
    let mut plan = plan_mounts(&req, &ctx).expect("plan");
    let data = plan.mounts.iter().position(|m| m.destination == "/data").expect("volume");
    plan.mounts[data].set_volume("myvol", "local", &f.base.join("vol").to_string_lossy());
    let view = ContainerView::from_plan(f.view.rootfs.clone(), &plan).expect("view");
    assert!(view.readonly_rootfs);
    let by_dest = |d: &str| view.mounts.iter().find(|m| m.destination == d).expect(d).clone();
    assert_eq!(by_dest("/data").source, Some(f.base.join("vol")));
    assert_eq!((by_dest("/ro").source, by_dest("/ro").read_only), (Some(f.base.join("robind")), true));
    assert_eq!((by_dest("/run").source, by_dest("/run").kind), (None, MountKind::Tmpfs));
    assert_eq!(stat_path(&view, "/data/sub/f").expect("in volume").size, "in the volume\n".len() as i64);

    // A subpath mounts part of the volume, never something outside it.
    let with_subpath = |sub: &str| {
        let mut plan = plan.clone();
        if let strata_mount::MountKind::Volume(v) = &mut plan.mounts[data].kind {
            v.subpath = Some(sub.into());
        }
        ContainerView::from_plan(f.view.rootfs.clone(), &plan)
    };
    let view = with_subpath("sub").expect("subpath");
    assert_eq!(stat_path(&view, "/data/f").expect("in subpath").size, "in the volume\n".len() as i64);
    assert!(matches!(with_subpath("escape"), Err(ViewError::InvalidView { .. })));

    let running = ContainerView::of_running(4242, &plan);
    assert_eq!(running.rootfs, Path::new("/proc/4242/root"));
    assert!(running.mounts.iter().all(|m| m.source.is_none()));
}
