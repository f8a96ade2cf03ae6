//! `--user name[:group]` → uid, gid and supplementary groups, from the container's own files.
//!
//! Docker resolves user and group names with the image's `/etc/passwd` and `/etc/group`, not
//! the host's. Those files belong to the image, which is untrusted: `/etc/passwd` may be a
//! symlink to `/../../etc/shadow` of the host, or a FIFO that blocks the daemon forever. So the
//! files are opened with `openat2(RESOLVE_IN_ROOT)` relative to the rootfs (every `..` and
//! absolute symlink stays inside it), without following magic links, non-blocking, and only
//! regular files of bounded size are read. Parsing is separate from that I/O
//! ([`resolve_user_in`] takes the files' text) and tested on its own.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// A passwd or group file larger than this is refused (a hostile image could make it huge).
const MAX_ID_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Where the files are, relative to the rootfs.
const PASSWD_FILE: &str = "etc/passwd";
const GROUP_FILE: &str = "etc/group";
/// Docker (and runc) refuse ids above this.
const MAX_ID: u64 = i32::MAX as u64;

/// The credentials a process runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserIds {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
}

/// Why a user could not be resolved. The messages are Docker's.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    #[error("uids and gids must be in range 0-{MAX_ID}")]
    OutOfRange,
    #[error("cannot read {path} of the container: {source}")]
    Read { path: &'static str, source: io::Error },
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry<'_>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4).then_some(())?;
            Some(PasswdEntry { name: f[0], uid: f[2].parse().ok()?, gid: f[3].parse().ok()? })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry<'_>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then_some(())?;
            let members =
                f.get(3).map(|m| m.split(',').map(str::trim).filter(|m| !m.is_empty()).collect()).unwrap_or_default();
            Some(GroupEntry { name: f[0], gid: f[2].parse().ok()?, members })
        })
        .collect()
}

fn numeric_id(s: &str) -> Result<Option<u32>, UserError> {
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_ID => Ok(Some(n as u32)),
        Ok(_) => Err(UserError::OutOfRange),
        Err(_) => Ok(None),
    }
}

/// Resolves `spec` (`""`, `user`, `uid`, `user:group`, `uid:gid`, …) against the texts of the
/// container's passwd and group files (`None` when a file is missing), as Docker does:
///
/// - a name must exist; a number need not (its gid is then 0, or the `:group` given);
/// - the primary gid is the passwd entry's unless a group is given;
/// - supplementary groups are the groups listing the user by name, plus `group_add` (names or
///   numbers), without duplicates.
pub fn resolve_user_in(
    passwd: Option<&str>,
    group: Option<&str>,
    spec: &str,
    group_add: &[String],
) -> Result<UserIds, UserError> {
    let users = passwd.map(parse_passwd).unwrap_or_default();
    let groups = group.map(parse_group).unwrap_or_default();
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };

    // A name first (a user may be called "1000"), then a number.
    let entry = users.iter().find(|e| e.name == user_part);
    let (uid, mut gid, name) = match (entry, numeric_id(user_part)?) {
        (Some(e), _) => (e.uid, e.gid, Some(e.name)),
        (None, Some(n)) => match users.iter().find(|e| e.uid == n) {
            Some(e) => (e.uid, e.gid, Some(e.name)),
            None => (n, 0, None),
        },
        (None, None) => return Err(UserError::NoSuchUser(user_part.to_owned())),
    };

    let find_group = |g: &str| -> Result<u32, UserError> {
        if let Some(e) = groups.iter().find(|e| e.name == g) {
            return Ok(e.gid);
        }
        numeric_id(g)?.ok_or_else(|| UserError::NoSuchGroup(g.to_owned()))
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = find_group(g)?;
    }

    let mut additional_gids = Vec::new();
    if let Some(name) = name {
        for g in groups.iter().filter(|g| g.members.contains(&name)) {
            if !additional_gids.contains(&g.gid) {
                additional_gids.push(g.gid);
            }
        }
    }
    for g in group_add {
        let id = find_group(g)?;
        if !additional_gids.contains(&id) {
            additional_gids.push(id);
        }
    }
    Ok(UserIds { uid, gid, additional_gids })
}

/// Resolves `spec` with the passwd and group files inside `rootfs` (see the module docs for how
/// they are read).
pub fn resolve_user(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<UserIds, UserError> {
    let root = rustix::fs::open(rootfs, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| UserError::Read { path: "/", source: e.into() })?;
    let passwd = read_in_root(&root, PASSWD_FILE).map_err(|source| UserError::Read { path: "/etc/passwd", source })?;
    let group = read_in_root(&root, GROUP_FILE).map_err(|source| UserError::Read { path: "/etc/group", source })?;
    resolve_user_in(passwd.as_deref(), group.as_deref(), spec, group_add)
}

/// Reads the regular file at `path` resolved inside `root`; `None` when it does not exist.
pub fn read_in_root(root: &OwnedFd, path: &str) -> io::Result<Option<String>> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let fd = match rustix::fs::openat2(root, path, flags, Mode::empty(), resolve) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let stat = rustix::fs::fstat(&fd)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a regular file"));
    }
    let mut text = String::new();
    let read = std::fs::File::from(fd).take(MAX_ID_FILE_BYTES + 1).read_to_string(&mut text)?;
    if read as u64 > MAX_ID_FILE_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        # a comment\n\
        daemon:x:1:1::/:/bin/false\n\
        app:x:1000:1000:App:/home/app:/bin/sh\n\
        1234:x:4321:4321::/:/bin/sh\n\
        broken line\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root,app\naudio:x:29:app\napp:x:1000:\nstaff:x:50:\n";

    fn ids(uid: u32, gid: u32, extra: &[u32]) -> UserIds {
        UserIds { uid, gid, additional_gids: extra.to_vec() }
    }

    #[test]
    fn resolution_follows_docker() {
        let cases: &[(&str, &[&str], UserIds)] = &[
            ("", &[], ids(0, 0, &[10])),
            ("root", &[], ids(0, 0, &[10])),
            ("app", &[], ids(1000, 1000, &[10, 29])),
            ("1000", &[], ids(1000, 1000, &[10, 29])),
            ("app:staff", &[], ids(1000, 50, &[10, 29])),
            ("app:7", &[], ids(1000, 7, &[10, 29])),
            ("5000", &[], ids(5000, 0, &[])),
            ("5000:5000", &[], ids(5000, 5000, &[])),
            ("1234", &[], ids(4321, 4321, &[])), // a user *named* 1234 wins over uid 1234
            ("daemon", &["staff", "77"], ids(1, 1, &[50, 77])),
            ("app", &["wheel"], ids(1000, 1000, &[10, 29])),
        ];
        for (spec, add, want) in cases {
            let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
            assert_eq!(&resolve_user_in(Some(PASSWD), Some(GROUP), spec, &add).expect(spec), want, "{spec}");
        }
    }

    #[test]
    fn errors_are_docker_s() {
        let err = |spec: &str| resolve_user_in(Some(PASSWD), Some(GROUP), spec, &[]).expect_err(spec).to_string();
        assert_eq!(err("nosuch"), "unable to find user nosuch: no matching entries in passwd file");
        assert_eq!(err("app:nogroup"), "unable to find group nogroup: no matching entries in group file");
        assert_eq!(err("4294967296"), "uids and gids must be in range 0-2147483647");
    }

    #[test]
    fn numbers_work_without_files() {
        assert_eq!(resolve_user_in(None, None, "33:44", &[]).expect("numeric"), ids(33, 44, &[]));
        assert_eq!(resolve_user_in(None, None, "", &[]).expect("default"), ids(0, 0, &[]));
        assert!(matches!(resolve_user_in(None, None, "app", &[]), Err(UserError::NoSuchUser(_))));
    }

    #[test]
    fn files_are_read_inside_the_rootfs_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "evil:x:0:0::/:/bin/sh\n").expect("write");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).expect("mkdir");
        // An absolute symlink and a climbing one: both must resolve inside the rootfs.
        std::os::unix::fs::symlink(&outside, rootfs.join("etc/passwd")).expect("symlink");
        std::os::unix::fs::symlink("../../../../outside", rootfs.join("etc/group")).expect("symlink");
        assert!(matches!(resolve_user(&rootfs, "evil", &[]), Err(UserError::NoSuchUser(_))));

        std::fs::remove_file(rootfs.join("etc/passwd")).expect("rm");
        std::fs::write(rootfs.join("etc/passwd"), PASSWD).expect("write");
        assert_eq!(resolve_user(&rootfs, "app", &[]).expect("app").uid, 1000);
    }

    #[test]
    fn a_fifo_passwd_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("etc/passwd"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
        assert!(matches!(resolve_user(dir.path(), "root", &[]), Err(UserError::Read { path: "/etc/passwd", .. })));
    }
}
