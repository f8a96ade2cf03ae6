//! Helpers shared by the integration tests: privileged-test gating, a sandbox with a sentinel
//! next to the root, a raw tar writer that can say anything (including what `tar::Builder`
//! refuses to write), and a tree snapshot for comparisons.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::Digest;

/// Whether a test that needs root may run. Without root it prints why it skips, unless
/// `CI=true`: then a privileged test must never silently not run, so it fails.
pub fn privileged(test: &str) -> bool {
    if strata_sys::process::is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} needs root and CI=true is set: refusing to skip");
    }
    eprintln!("skipping {test}: needs root");
    false
}

/// A temporary directory holding `root/` (where archives are applied) and `sentinel/` next to
/// it, which hostile archives aim at and which must never change.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub sentinel: PathBuf,
}

pub const CANARY: &[u8] = b"canary: nothing may touch this\n";

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        let sentinel = tmp.path().join("sentinel");
        fs::create_dir(&root).expect("root");
        fs::create_dir(&sentinel).expect("sentinel");
        fs::write(sentinel.join("canary"), CANARY).expect("canary");
        Sandbox { tmp, root, sentinel }
    }

    /// Nothing was written outside `root`: the sandbox holds only `root` and `sentinel`, and
    /// `sentinel` holds only its untouched canary.
    pub fn assert_nothing_outside(&self) {
        let mut top: Vec<_> =
            fs::read_dir(self.tmp.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        top.sort();
        assert_eq!(top, ["root", "sentinel"], "something was created next to the root");
        let inside: Vec<_> =
            fs::read_dir(&self.sentinel).expect("list").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(inside, ["canary"], "something was created in the sentinel directory");
        let meta = fs::symlink_metadata(self.sentinel.join("canary")).expect("canary");
        assert!(meta.file_type().is_file(), "canary was replaced");
        assert_eq!(fs::read(self.sentinel.join("canary")).expect("canary"), CANARY, "canary was modified");
    }
}

pub const REGULAR: u8 = b'0';
pub const HARDLINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const CHAR: u8 = b'3';
pub const DIR: u8 = b'5';
pub const FIFO: u8 = b'6';

/// One entry for [`TarWriter`].
#[derive(Clone, Debug)]
pub struct Raw {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub data: Vec<u8>,
    pub link: Vec<u8>,
    /// Size written in the header, when it must lie.
    pub size: Option<u64>,
    pub pax: Vec<(Vec<u8>, Vec<u8>)>,
    pub dev: (u32, u32),
    /// Long names as GNU `L`/`K` entries instead of PAX.
    pub gnu_long: bool,
}

impl Raw {
    pub fn new(name: impl AsRef<[u8]>, typeflag: u8) -> Raw {
        Raw {
            name: name.as_ref().to_vec(),
            typeflag,
            mode: if typeflag == DIR { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            data: Vec::new(),
            link: Vec::new(),
            size: None,
            pax: Vec::new(),
            dev: (0, 0),
            gnu_long: false,
        }
    }
    pub fn file(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Raw {
        Raw { data: data.as_ref().to_vec(), ..Raw::new(name, REGULAR) }
    }
    pub fn dir(name: impl AsRef<[u8]>) -> Raw {
        Raw::new(name, DIR)
    }
    pub fn symlink(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Raw {
        Raw { link: target.as_ref().to_vec(), mode: 0o777, ..Raw::new(name, SYMLINK) }
    }
    pub fn hardlink(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Raw {
        Raw { link: target.as_ref().to_vec(), ..Raw::new(name, HARDLINK) }
    }
    pub fn mode(mut self, mode: u32) -> Raw {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Raw {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Raw {
        self.mtime = mtime;
        self
    }
    pub fn pax(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Raw {
        self.pax.push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
}

/// Writes tar streams byte by byte, so tests can build archives no well-behaved writer would.
#[derive(Default)]
pub struct TarWriter {
    pub out: Vec<u8>,
}

impl TarWriter {
    pub fn new() -> TarWriter {
        TarWriter::default()
    }

    pub fn entry(&mut self, e: &Raw) -> &mut Self {
        let mut pax = e.pax.clone();
        let mut name = e.name.clone();
        let mut link = e.link.clone();
        if e.gnu_long {
            if name.len() > 100 {
                let mut long = name.clone();
                long.push(0);
                self.block_entry(b"././@LongLink", b'L', &long, true);
                name.truncate(100);
            }
            if link.len() > 100 {
                let mut long = link.clone();
                long.push(0);
                self.block_entry(b"././@LongLink", b'K', &long, true);
                link.truncate(100);
            }
        } else {
            if name.len() > 100 {
                pax.insert(0, (b"path".to_vec(), name.clone()));
                name.truncate(100);
            }
            if link.len() > 100 {
                pax.insert(0, (b"linkpath".to_vec(), link.clone()));
                link.truncate(100);
            }
        }
        if !pax.is_empty() {
            let mut records = Vec::new();
            for (k, v) in &pax {
                let base = k.len() + v.len() + 3;
                let mut len = base + 1;
                while base + len.to_string().len() != len {
                    len = base + len.to_string().len();
                }
                records.extend_from_slice(format!("{len} ").as_bytes());
                records.extend_from_slice(k);
                records.push(b'=');
                records.extend_from_slice(v);
                records.push(b'\n');
            }
            self.block_entry(b"PaxHeader", b'x', &records, e.gnu_long);
        }
        let mut h = if e.gnu_long { tar::Header::new_gnu() } else { tar::Header::new_ustar() };
        {
            let old = h.as_old_mut();
            old.name = [0; 100];
            old.name[..name.len()].copy_from_slice(&name);
            old.linkname = [0; 100];
            old.linkname[..link.len()].copy_from_slice(&link);
        }
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_size(e.size.unwrap_or(e.data.len() as u64));
        h.as_mut_bytes()[156] = e.typeflag;
        if e.typeflag == CHAR || e.typeflag == b'4' {
            h.set_device_major(e.dev.0).expect("major");
            h.set_device_minor(e.dev.1).expect("minor");
        }
        h.set_cksum();
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(&e.data);
        self.pad();
        self
    }

    fn block_entry(&mut self, name: &[u8], typeflag: u8, data: &[u8], gnu: bool) {
        let mut h = if gnu { tar::Header::new_gnu() } else { tar::Header::new_ustar() };
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.as_mut_bytes()[156] = typeflag;
        h.set_cksum();
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        let rem = self.out.len() % 512;
        if rem != 0 {
            self.out.resize(self.out.len() + 512 - rem, 0);
        }
    }

    /// The archive with its two end blocks.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.out);
        out.resize(out.len() + 1024, 0);
        out
    }

    pub fn of(entries: &[Raw]) -> Vec<u8> {
        let mut w = TarWriter::new();
        for e in entries {
            w.entry(e);
        }
        w.finish()
    }
}

/// Everything a test compares about one node of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub content: Option<String>,
    pub link: Option<PathBuf>,
    pub rdev: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// The first path (in sorted order) of this node's inode, when it has several links.
    pub hardlink_of: Option<PathBuf>,
}

/// A map of every path below `root` (not `root` itself) to its [`Node`].
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut paths = Vec::new();
    walk(root, root, &mut paths);
    paths.sort();
    let mut first_of_inode: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for rel in paths {
        let full = root.join(&rel);
        let meta = fs::symlink_metadata(&full).expect("lstat");
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_file() {
            "file"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "other"
        };
        let hardlink_of = if !ft.is_dir() && meta.nlink() > 1 {
            let first = first_of_inode.entry((meta.dev(), meta.ino())).or_insert_with(|| rel.clone()).clone();
            Some(first)
        } else {
            None
        };
        out.insert(
            rel.clone(),
            Node {
                kind,
                mode: if ft.is_symlink() { 0 } else { meta.mode() & 0o7777 },
                uid: meta.uid(),
                gid: meta.gid(),
                mtime: if ft.is_symlink() { 0 } else { meta.mtime() },
                content: ft.is_file().then(|| hex_sha256(&fs::read(&full).expect("read"))),
                link: ft.is_symlink().then(|| fs::read_link(&full).expect("readlink")),
                rdev: meta.rdev(),
                xattrs: xattrs(&full),
                hardlink_of,
            },
        );
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        out.push(path.strip_prefix(root).expect("prefix").to_owned());
        if entry.file_type().expect("type").is_dir() {
            walk(root, &path, out);
        }
    }
}

pub fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut list = vec![0u8; 65536];
    let n = match rustix::fs::llistxattr(path, &mut list[..]) {
        Ok(n) => n,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    for key in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::lgetxattr(path, key, &mut value[..]) {
            out.push((String::from_utf8_lossy(key).into_owned(), value[..len].to_vec()));
        }
    }
    out.sort();
    out
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn rel(p: &str) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(p.as_bytes()))
}
