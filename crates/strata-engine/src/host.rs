//! Readings of the host machine, for `docker info` and `docker version`.
//!
//! Every value here is read from the running system (uname, `/proc`, `/etc/os-release`,
//! `/sys/fs/cgroup`) when asked; none is a constant, so `docker info` against strata tells the
//! truth about the machine it runs on.

use std::path::Path;

/// What the host looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    pub hostname: String,
    pub kernel_version: String,
    /// `x86_64`, `aarch64`, … as uname reports it.
    pub architecture: String,
    pub operating_system: String,
    pub os_version: String,
    pub ncpu: u64,
    pub mem_total: u64,
    /// `"1"` or `"2"`.
    pub cgroup_version: String,
}

impl HostFacts {
    /// Reads the facts from this machine.
    pub fn read() -> HostFacts {
        let uname = rustix::system::uname();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let (operating_system, os_version) = parse_os_release(&os_release);
        HostFacts {
            hostname: uname.nodename().to_string_lossy().into_owned(),
            kernel_version: uname.release().to_string_lossy().into_owned(),
            architecture: uname.machine().to_string_lossy().into_owned(),
            operating_system,
            os_version,
            ncpu: std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1),
            mem_total: std::fs::read_to_string("/proc/meminfo").map(|t| parse_mem_total(&t)).unwrap_or(0),
            cgroup_version: if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() { "2" } else { "1" }.to_owned(),
        }
    }

    /// The architecture in Go's naming (`amd64`, `arm64`), which `docker version` prints.
    pub fn go_arch(&self) -> &str {
        match self.architecture.as_str() {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "i686" | "i386" => "386",
            "armv7l" => "arm",
            other => other,
        }
    }
}

/// `PRETTY_NAME` and `VERSION_ID` of an os-release file.
fn parse_os_release(text: &str) -> (String, String) {
    let mut pretty = String::from("Linux");
    let mut version = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "PRETTY_NAME" => pretty = value,
            "VERSION_ID" => version = value,
            _ => {}
        }
    }
    (pretty, version)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn parse_mem_total(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_is_parsed() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n";
        assert_eq!(parse_os_release(text), ("Debian GNU/Linux 12 (bookworm)".into(), "12".into()));
        assert_eq!(parse_os_release(""), ("Linux".into(), "".into()));
    }

    #[test]
    fn meminfo_is_parsed_to_bytes() {
        assert_eq!(parse_mem_total("MemTotal:       24684084 kB\nMemFree: 1 kB\n"), 24684084 * 1024);
        assert_eq!(parse_mem_total("garbage"), 0);
    }

    #[test]
    fn this_machine_reads_plausibly() {
        let f = HostFacts::read();
        assert!(f.ncpu >= 1);
        assert!(f.mem_total > 0);
        assert!(!f.kernel_version.is_empty());
        assert!(f.cgroup_version == "1" || f.cgroup_version == "2");
    }
}
