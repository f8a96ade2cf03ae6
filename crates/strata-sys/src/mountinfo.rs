//! Reading `/proc/self/mountinfo`, and tearing down every mount below a directory.
//!
//! After a crash the daemon (and the test harness, after a panicking test) must find the mounts it
//! left under its roots and remove them; the kernel's mount table is the only truth for that, the
//! metadata database is not.

use std::io;
use std::path::{Path, PathBuf};

/// One line of `/proc/self/mountinfo`, reduced to what strata uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    pub mount_point: PathBuf,
    pub mount_options: String,
    pub fs_type: String,
    pub source: String,
    pub super_options: String,
}

/// Parses the text of a mountinfo file. Lines that do not parse are skipped: the kernel's format
/// is stable, and a partial table is better than none when cleaning up.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let mount_id = l.next()?.parse().ok()?;
    let parent_id = l.next()?.parse().ok()?;
    let _dev = l.next()?;
    let _root = l.next()?;
    let mount_point = PathBuf::from(unescape(l.next()?));
    let mount_options = l.next()?.to_owned();
    let mut r = right.split(' ');
    let fs_type = r.next()?.to_owned();
    let source = unescape(r.next()?);
    let super_options = r.next().unwrap_or("").to_owned();
    Some(MountEntry { mount_id, parent_id, mount_point, mount_options, fs_type, source, super_options })
}

/// Undoes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The current mount table of this process' mount namespace.
pub fn read() -> io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// Mount points at or below `root`, deepest first (the order in which they can be unmounted).
pub fn mounts_under(table: &[MountEntry], root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> =
        table.iter().filter(|m| m.mount_point.starts_with(root)).map(|m| m.mount_point.clone()).collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// Whether `path` is itself a mount point in `table`.
pub fn is_mount_point(table: &[MountEntry], path: &Path) -> bool {
    table.iter().any(|m| m.mount_point == path)
}

/// Lazily unmounts (`MNT_DETACH`) everything mounted at or below `root`, deepest first, repeating
/// while the table still shows mounts there (a path can be mounted over several times).
/// Returns how many unmounts succeeded.
pub fn unmount_all_under(root: &Path) -> io::Result<usize> {
    let mut count = 0;
    for _round in 0..16 {
        let targets = mounts_under(&read()?, root);
        if targets.is_empty() {
            break;
        }
        let mut progressed = false;
        for target in targets {
            if unmount_detach(&target).is_ok() {
                count += 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(count)
}

/// `umount2(path, MNT_DETACH)`: the mount disappears from the namespace at once and the kernel
/// frees it when the last user goes, so a busy mount never blocks cleanup.
pub fn unmount_detach(path: &Path) -> io::Result<()> {
    rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
100 22 0:50 / /var/lib/strata/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=l/A,upperdir=x
101 100 0:51 / /var/lib/strata/overlay2/abc/merged/dev rw - tmpfs tmpfs rw,size=65536k
102 22 0:52 / /var/lib/strata/volumes/with\\040space/_data rw - tmpfs tmpfs rw
103 22 0:53 / /var/lib/stratax rw - tmpfs tmpfs rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let t = parse(SAMPLE);
        assert_eq!(t.len(), 5);
        assert_eq!(t[1].fs_type, "overlay");
        assert_eq!(t[1].parent_id, 22);
        assert_eq!(t[3].mount_point, Path::new("/var/lib/strata/volumes/with space/_data"));
        assert_eq!(t[2].super_options, "rw,size=65536k");
    }

    #[test]
    fn mounts_under_is_deepest_first_and_respects_path_components() {
        let t = parse(SAMPLE);
        let under = mounts_under(&t, Path::new("/var/lib/strata"));
        assert_eq!(
            under,
            vec![
                PathBuf::from("/var/lib/strata/overlay2/abc/merged/dev"),
                PathBuf::from("/var/lib/strata/overlay2/abc/merged"),
                PathBuf::from("/var/lib/strata/volumes/with space/_data"),
            ]
        );
        assert!(is_mount_point(&t, Path::new("/var/lib/stratax")));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse("nonsense\n1 2\n").is_empty());
    }
}
