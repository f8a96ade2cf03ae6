//! tmpfs mounts: from `--tmpfs /p:opts` and `--mount type=tmpfs` to the option list the kernel
//! receives, with Docker's timing of errors.
//!
//! Docker validates almost nothing about tmpfs options when a container is *created*:
//! `--tmpfs /t:size=abc` or `--tmpfs /t:bogus` are accepted and stored, and only `start` fails —
//! a flag it cannot classify with `invalid tmpfs option ["bogus"]`, a value the kernel refuses with
//! the runtime's `mount ... invalid argument`. Users see those failures at that moment, so this
//! module keeps the two steps apart: [`options_from_mount`] and [`split_data`] build the stored
//! options at create, [`oci_options`] and [`check_kernel_values`] are the start-time checks.
//!
//! What reaches the kernel: `--tmpfs` values are passed through verbatim (`size=64m` stays
//! `size=64m`; the kernel's `memparse` understands `k/m/g/t/p/e` and `%` of RAM), on top of
//! Docker's defaults `noexec,nosuid,nodev` and `rprivate` propagation, with later options winning
//! (`exec` cancels `noexec`, `ro,rw` ends up `rw`). `--mount` sizes are bytes that Docker prints
//! back with the largest exact binary suffix (`67108864` becomes `size=64m`), modes in octal.

use std::collections::HashSet;

use crate::error::{ConfigProblem, MountError};
use crate::spec::TmpfsOptions;

/// The flags Docker puts on every tmpfs before the user's options.
pub const DEFAULT_TMPFS_FLAGS: [&str; 3] = ["noexec", "nosuid", "nodev"];
/// The propagation Docker gives every mount that does not ask for another one.
pub const DEFAULT_PROPAGATION: &str = "rprivate";

/// `key=value` options that Docker passes to tmpfs without classifying them as flags.
const DATA_KEYS: [&str; 8] = ["", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"];
/// The only entries allowed in `TmpfsOptions.Options`.
const MOUNT_API_TMPFS_OPTIONS: [&str; 2] = ["exec", "noexec"];

const KIB: i64 = 1 << 10;
const MIB: i64 = 1 << 20;
const GIB: i64 = 1 << 30;
/// The suffixes Docker uses to print a byte count, largest first.
const SIZE_SUFFIXES: [(&str, i64); 3] = [("g", GIB), ("m", MIB), ("k", KIB)];

// Linux mount(2) flag bits, as runc reports them in its error text.
const MS_RDONLY: u64 = 0x1;
const MS_NOSUID: u64 = 0x2;
const MS_NODEV: u64 = 0x4;
const MS_NOEXEC: u64 = 0x8;
const MS_SYNCHRONOUS: u64 = 0x10;
const MS_REMOUNT: u64 = 0x20;
const MS_MANDLOCK: u64 = 0x40;
const MS_DIRSYNC: u64 = 0x80;
const MS_NOATIME: u64 = 0x400;
const MS_NODIRATIME: u64 = 0x800;
const MS_BIND: u64 = 0x1000;
const MS_REC: u64 = 0x4000;
const MS_UNBINDABLE: u64 = 0x2_0000;
const MS_PRIVATE: u64 = 0x4_0000;
const MS_SLAVE: u64 = 0x8_0000;
const MS_SHARED: u64 = 0x10_0000;
const MS_RELATIME: u64 = 0x20_0000;
const MS_STRICTATIME: u64 = 0x100_0000;
const PROPAGATION_BITS: u64 = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED;

/// A mount option that is a flag: whether it clears or sets its bits.
struct Flag {
    clear: bool,
    bits: u64,
}

fn flag(option: &str) -> Option<Flag> {
    let (clear, bits) = match option {
        "defaults" => (false, 0),
        "ro" => (false, MS_RDONLY),
        "rw" => (true, MS_RDONLY),
        "suid" => (true, MS_NOSUID),
        "nosuid" => (false, MS_NOSUID),
        "dev" => (true, MS_NODEV),
        "nodev" => (false, MS_NODEV),
        "exec" => (true, MS_NOEXEC),
        "noexec" => (false, MS_NOEXEC),
        "sync" => (false, MS_SYNCHRONOUS),
        "async" => (true, MS_SYNCHRONOUS),
        "dirsync" => (false, MS_DIRSYNC),
        "remount" => (false, MS_REMOUNT),
        "mand" => (false, MS_MANDLOCK),
        "nomand" => (true, MS_MANDLOCK),
        "atime" => (true, MS_NOATIME),
        "noatime" => (false, MS_NOATIME),
        "diratime" => (true, MS_NODIRATIME),
        "nodiratime" => (false, MS_NODIRATIME),
        "bind" => (false, MS_BIND),
        "rbind" => (false, MS_BIND | MS_REC),
        "unbindable" => (false, MS_UNBINDABLE),
        "runbindable" => (false, MS_UNBINDABLE | MS_REC),
        "private" => (false, MS_PRIVATE),
        "rprivate" => (false, MS_PRIVATE | MS_REC),
        "shared" => (false, MS_SHARED),
        "rshared" => (false, MS_SHARED | MS_REC),
        "slave" => (false, MS_SLAVE),
        "rslave" => (false, MS_SLAVE | MS_REC),
        "relatime" => (false, MS_RELATIME),
        "norelatime" => (true, MS_RELATIME),
        "strictatime" => (false, MS_STRICTATIME),
        "nostrictatime" => (true, MS_STRICTATIME),
        _ => return None,
    };
    Some(Flag { clear, bits })
}

/// Splits a `--tmpfs /p:<data>` value into options (`""` gives none).
pub fn split_data(data: &str) -> Vec<String> {
    if data.is_empty() { Vec::new() } else { data.split(',').map(str::to_owned).collect() }
}

/// Docker's option list for a `--mount type=tmpfs` (`ro`, `mode=<octal>`, `size=<n><suffix>`,
/// then the `exec`/`noexec` extras), checked at create.
pub fn options_from_mount(opts: Option<&TmpfsOptions>, read_only: bool) -> Result<Vec<String>, ConfigProblem> {
    let mut out = Vec::new();
    if read_only {
        out.push("ro".to_owned());
    }
    let Some(opts) = opts else { return Ok(out) };
    if opts.mode != 0 {
        out.push(format!("mode={:o}", opts.mode));
    }
    if opts.size_bytes != 0 {
        out.push(format!("size={}", format_size(opts.size_bytes)));
    }
    for option in &opts.options {
        match option.as_slice() {
            [name] if MOUNT_API_TMPFS_OPTIONS.contains(&name.as_str()) => out.push(name.clone()),
            [name, value] if MOUNT_API_TMPFS_OPTIONS.contains(&name.as_str()) => out.push(format!("{name}={value}")),
            [name] | [name, _] => return Err(ConfigProblem::TmpfsOption(name.clone())),
            _ => return Err(ConfigProblem::TmpfsOptionArrayLength),
        }
    }
    Ok(out)
}

/// Prints a byte count with the largest binary suffix that divides it exactly (Docker's rule:
/// `67108864` → `64m`, `1536` → `1536`).
pub fn format_size(bytes: i64) -> String {
    for (suffix, unit) in SIZE_SUFFIXES {
        if bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// Docker's merge of tmpfs options: scanning from the end, the last occurrence of each flag (or
/// flag family: `ro`/`rw`, any propagation) and of each `key=` wins, `defaults` disappears, and
/// anything else is an `invalid tmpfs option`.
pub fn merge_options(options: &[String]) -> Result<Vec<String>, MountError> {
    let mut seen_flags: HashSet<u64> = HashSet::new();
    let mut seen_keys: HashSet<&str> = HashSet::new();
    let mut kept: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        if let Some(f) = flag(option) {
            let key = if f.bits & PROPAGATION_BITS != 0 { PROPAGATION_BITS } else { f.bits };
            if seen_flags.insert(key) {
                kept.push(option.clone());
            }
            continue;
        }
        let fields: Vec<&str> = option.splitn(2, '=').collect();
        match fields.as_slice() {
            [key, _] if DATA_KEYS.contains(key) => {
                if seen_keys.insert(key) {
                    kept.push(option.clone());
                }
            }
            _ => {
                return Err(MountError::InvalidTmpfsOption {
                    fields: fields.iter().map(|s| (*s).to_owned()).collect(),
                });
            }
        }
    }
    kept.reverse();
    Ok(kept)
}

/// The options a tmpfs mount gets in the OCI spec: Docker's defaults, then the stored options,
/// merged.
pub fn oci_options(options: &[String]) -> Result<Vec<String>, MountError> {
    let mut all: Vec<String> = DEFAULT_TMPFS_FLAGS.iter().map(|s| (*s).to_owned()).collect();
    all.push(DEFAULT_PROPAGATION.to_owned());
    all.extend(options.iter().cloned());
    merge_options(&all)
}

/// Whether the kernel's tmpfs would accept each `key=value` of merged options; if not, the error
/// Docker relays from the runtime, with the mount flags and data string it tried.
pub fn check_kernel_values(destination: &str, merged: &[String]) -> Result<(), MountError> {
    let mut flags = 0u64;
    let mut data = Vec::new();
    for option in merged {
        match flag(option) {
            Some(f) if f.bits & PROPAGATION_BITS != 0 => {}
            Some(f) if f.clear => flags &= !f.bits,
            Some(f) => flags |= f.bits,
            None => data.push(option.as_str()),
        }
    }
    // The runtime mounts read-only tmpfs writable and remounts it, so `ro` is not in the flags.
    flags &= !MS_RDONLY;
    if data.iter().all(|option| kernel_accepts(option)) {
        Ok(())
    } else {
        Err(MountError::TmpfsRejected { destination: destination.to_owned(), flags, data: data.join(",") })
    }
}

fn kernel_accepts(option: &str) -> bool {
    let Some((key, value)) = option.split_once('=') else { return false };
    if value.is_empty() {
        return false;
    }
    match key {
        "size" => matches!(memparse(value), Some((_, "" | "%"))),
        "nr_blocks" | "nr_inodes" => matches!(memparse(value), Some((_, ""))),
        "mode" => parse_kernel_uint(value, 8).is_some(),
        // (uid_t)-1 is never a valid owner.
        "uid" | "gid" => parse_kernel_uint(value, 10).is_some_and(|id| id != u32::MAX),
        "mpol" => true,
        _ => false,
    }
}

/// A tmpfs `size=` value in bytes, if it is an absolute size (`64m`, `1g`, `67108864`); `None`
/// for a percentage of RAM or a value the kernel would refuse.
pub fn parse_size(value: &str) -> Option<u64> {
    match memparse(value) {
        Some((n, "")) if !value.is_empty() => Some(n),
        _ => None,
    }
}

/// A tmpfs `mode=` value (octal), if the kernel would accept it.
pub fn parse_mode(value: &str) -> Option<u32> {
    parse_kernel_uint(value, 8)
}

/// The kernel's `memparse`: an integer in C notation (`0x` hex, leading `0` octal, else decimal)
/// with an optional `k/m/g/t/p/e` suffix (either case), returning the value and the unparsed rest.
fn memparse(s: &str) -> Option<(u64, &str)> {
    let (radix, digits_start) = match s.as_bytes() {
        [b'0', b'x' | b'X', c, ..] if c.is_ascii_hexdigit() => (16, 2),
        [b'0', ..] => (8, 0),
        _ => (10, 0),
    };
    let body = &s[digits_start..];
    let end = body.find(|c: char| !c.is_digit(radix)).unwrap_or(body.len());
    let mut value: u64 = if end == 0 { 0 } else { u64::from_str_radix(&body[..end], radix).ok()? };
    let mut rest = &body[end..];
    let shift = match rest.chars().next() {
        Some('k' | 'K') => 10,
        Some('m' | 'M') => 20,
        Some('g' | 'G') => 30,
        Some('t' | 'T') => 40,
        Some('p' | 'P') => 50,
        Some('e' | 'E') => 60,
        _ => 0,
    };
    if shift > 0 {
        value = value.checked_shl(shift).unwrap_or(0);
        rest = &rest[1..];
    }
    Some((value, rest))
}

/// The kernel's `kstrtouint`: optional `+`, digits of `radix`, optional trailing newline, no
/// overflow.
fn parse_kernel_uint(s: &str, radix: u32) -> Option<u32> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let s = s.strip_suffix('\n').unwrap_or(s);
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(s, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn mount_api_options_are_printed_like_docker() {
        let t = |size_bytes, mode| TmpfsOptions { size_bytes, mode, options: vec![] };
        let cases: &[(Option<TmpfsOptions>, bool, &[&str])] = &[
            (None, false, &[]),
            (None, true, &["ro"]),
            // --mount type=tmpfs,dst=/tmp,tmpfs-size=67108864
            (Some(t(67_108_864, 0)), false, &["size=64m"]),
            // --mount type=tmpfs,dst=/run/secrets,tmpfs-mode=0700 (the CLI sends 448)
            (Some(t(0, 448)), false, &["mode=700"]),
            // tmpfs-size=10m,tmpfs-mode=1770
            (Some(t(10_485_760, 1016)), false, &["mode=1770", "size=10m"]),
            (Some(t(1 << 30, 0)), true, &["ro", "size=1g"]),
            (Some(t(1536, 0)), false, &["size=1536"]),
            (Some(t(1000, 0)), false, &["size=1000"]),
            (Some(t(4096, 0)), false, &["size=4k"]),
            (Some(t(-1, 0)), false, &["size=-1"]),
            (Some(t(-(1 << 30), 0)), false, &["size=-1g"]),
            (Some(t(0, 0xffff_ffff)), false, &["mode=37777777777"]),
        ];
        for (opts, ro, want) in cases {
            assert_eq!(options_from_mount(opts.as_ref(), *ro), Ok(strings(want)), "{opts:?} ro={ro}");
        }
    }

    #[test]
    fn mount_api_extra_options_allow_only_exec_and_noexec() {
        let with = |options: Vec<Vec<&str>>| TmpfsOptions {
            options: options.into_iter().map(|o| o.into_iter().map(str::to_owned).collect()).collect(),
            ..Default::default()
        };
        let cases: &[(TmpfsOptions, Result<Vec<String>, ConfigProblem>)] = &[
            (with(vec![vec!["exec"]]), Ok(strings(&["exec"]))),
            (with(vec![vec!["noexec"]]), Ok(strings(&["noexec"]))),
            (with(vec![vec!["exec", "x"]]), Ok(strings(&["exec=x"]))),
            (with(vec![vec!["noatime"]]), Err(ConfigProblem::TmpfsOption("noatime".into()))),
            (with(vec![vec![]]), Err(ConfigProblem::TmpfsOptionArrayLength)),
            (with(vec![vec!["exec", "a", "b"]]), Err(ConfigProblem::TmpfsOptionArrayLength)),
        ];
        for (opts, want) in cases {
            assert_eq!(&options_from_mount(Some(opts), false), want, "{opts:?}");
        }
        assert_eq!(
            ConfigProblem::TmpfsOption("noatime".into()).to_string(),
            "invalid option: noatime",
            "Docker's wording inside `invalid mount config for type \"tmpfs\": ...`"
        );
    }

    #[test]
    fn oci_options_merge_like_docker() {
        let cases: &[(&str, &[&str])] = &[
            ("", &["noexec", "nosuid", "nodev", "rprivate"]),
            ("rw,size=64m", &["noexec", "nosuid", "nodev", "rprivate", "rw", "size=64m"]),
            (
                "size=64m,mode=1777,noexec,uid=0",
                &["nosuid", "nodev", "rprivate", "size=64m", "mode=1777", "noexec", "uid=0"],
            ),
            ("exec", &["nosuid", "nodev", "rprivate", "exec"]),
            ("exec,noexec", &["nosuid", "nodev", "rprivate", "noexec"]),
            ("ro,rw", &["noexec", "nosuid", "nodev", "rprivate", "rw"]),
            ("rw,size=64m,size=1m", &["noexec", "nosuid", "nodev", "rprivate", "rw", "size=1m"]),
            ("defaults", &["noexec", "nosuid", "nodev", "rprivate"]),
            ("shared", &["noexec", "nosuid", "nodev", "shared"]),
            ("nr_inodes=100,noatime", &["noexec", "nosuid", "nodev", "rprivate", "nr_inodes=100", "noatime"]),
            ("size=abc", &["noexec", "nosuid", "nodev", "rprivate", "size=abc"]),
        ];
        for (data, want) in cases {
            assert_eq!(oci_options(&split_data(data)), Ok(strings(want)), "{data:?}");
        }
    }

    #[test]
    fn unclassifiable_options_fail_at_start_with_dockers_text() {
        // Observed on dockerd 20.10: `docker run --tmpfs /t:<data>` → 500 at start.
        let cases = [
            ("bogus", r#"invalid tmpfs option ["bogus"]"#),
            ("nosuid=1", r#"invalid tmpfs option ["nosuid" "1"]"#),
            ("a=b", r#"invalid tmpfs option ["a" "b"]"#),
            ("huge=always", r#"invalid tmpfs option ["huge" "always"]"#),
            ("rw,,size=1m", r#"invalid tmpfs option [""]"#),
        ];
        for (data, want) in cases {
            let err = oci_options(&split_data(data)).expect_err(data);
            assert_eq!(err.to_string(), want, "{data:?}");
        }
    }

    #[test]
    fn kernel_rejections_report_flags_and_data_like_runc() {
        // Observed on dockerd 20.10 + runc: data and flags as printed in the start error.
        let cases = [
            ("size=abc", Some((0xe, "size=abc"))),
            ("size=1.5g", Some((0xe, "size=1.5g"))),
            ("size=", Some((0xe, "size="))),
            ("size=64mb", Some((0xe, "size=64mb"))),
            ("mode=abc", Some((0xe, "mode=abc"))),
            ("mode=99999", Some((0xe, "mode=99999"))),
            ("uid=abc", Some((0xe, "uid=abc"))),
            ("size=64m,mode=abc", Some((0xe, "size=64m,mode=abc"))),
            ("ro,uid=1,size=x", Some((0xe, "uid=1,size=x"))),
            ("exec,size=x", Some((0x6, "size=x"))),
            ("size=x,nr_inodes=5,noatime", Some((0x40e, "size=x,nr_inodes=5"))),
            ("=x", Some((0xe, "=x"))),
            ("size=64m", None),
            ("size=64M", None),
            ("size=1G", None),
            ("size=67108864", None),
            ("size=64k", None),
            ("size=10%", None),
            ("size=0", None),
            ("size=0x1000", None),
            ("mode=1777", None),
            ("mode=0700", None),
            ("mode=37777777777", None),
            ("uid=1000,gid=1000", None),
            ("nr_inodes=100,nr_blocks=1k", None),
            ("mpol=interleave", None),
            ("rw,size=64m,mode=1777,noexec,uid=0", None),
        ];
        for (data, want) in cases {
            let merged = oci_options(&split_data(data)).expect(data);
            let got = check_kernel_values("/t", &merged);
            match want {
                None => assert_eq!(got, Ok(()), "{data:?}"),
                Some((flags, d)) => assert_eq!(
                    got,
                    Err(MountError::TmpfsRejected { destination: "/t".into(), flags, data: d.into() }),
                    "{data:?}"
                ),
            }
        }
    }

    #[test]
    fn sizes_parse_like_the_kernel() {
        let cases = [
            ("64m", Some(67_108_864)),
            ("64M", Some(67_108_864)),
            ("1g", Some(1 << 30)),
            ("1G", Some(1 << 30)),
            ("67108864", Some(67_108_864)),
            ("64k", Some(65_536)),
            ("8m", Some(8 << 20)),
            ("1t", Some(1 << 40)),
            ("0", Some(0)),
            ("010", Some(8)),
            ("0x10", Some(16)),
            ("10%", None),
            ("abc", None),
            ("1.5g", None),
            ("64mb", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input), want, "{input:?}");
        }
        assert_eq!(parse_mode("1777"), Some(0o1777));
        assert_eq!(parse_mode("700"), Some(0o700));
        assert_eq!(parse_mode("8"), None);
    }
}
