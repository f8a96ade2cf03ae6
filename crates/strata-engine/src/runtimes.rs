//! What the configured OCI runtimes are, read once at start: the resolved binary and the version
//! it reports (`runc --version`), for `docker version` and `docker info`.

use std::path::{Path, PathBuf};

use crate::config::RuntimeConfig;

/// A configured runtime as found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFacts {
    pub name: String,
    /// The configured path (what `docker info` prints under `Runtimes`).
    pub configured_path: String,
    /// The binary found, `None` when it is not installed.
    pub resolved: Option<PathBuf>,
    /// First line's version (`1.1.5+ds1`), empty when unknown.
    pub version: String,
    /// The `commit:` line, empty when unknown.
    pub commit: String,
}

impl RuntimeFacts {
    /// Resolves `config` and asks the binary for its version. A missing binary is not an error
    /// here (containers will fail to start with a clear message); the facts say it is missing.
    pub fn probe(name: &str, config: &RuntimeConfig) -> RuntimeFacts {
        let resolved = resolve_binary(&config.path);
        let (version, commit) = resolved
            .as_deref()
            .and_then(|bin| std::process::Command::new(bin).arg("--version").output().ok())
            .filter(|o| o.status.success())
            .map(|o| parse_version_output(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or_default();
        RuntimeFacts { name: name.to_owned(), configured_path: config.path.clone(), resolved, version, commit }
    }
}

/// An absolute path as is (if it exists), a bare name looked up in `PATH` (with the sbin
/// directories added, since daemons often run with a minimal PATH).
pub fn resolve_binary(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_owned());
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|candidate| candidate.is_file())
}

/// `runc version 1.1.5+ds1\ncommit: abc\n…` → (`1.1.5+ds1`, `abc`). crun prints
/// `crun version 1.8.1\ncommit: …` in the same shape.
fn parse_version_output(text: &str) -> (String, String) {
    let mut version = String::new();
    let mut commit = String::new();
    for line in text.lines() {
        if let Some(v) = line.split_once(" version ").map(|(_, v)| v.trim()) {
            if version.is_empty() {
                version = v.to_owned();
            }
        } else if let Some(c) = line.strip_prefix("commit:") {
            commit = c.trim().to_owned();
        }
    }
    (version, commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_and_crun_version_output_is_parsed() {
        let runc = "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n";
        assert_eq!(parse_version_output(runc), ("1.1.5+ds1".into(), "1.1.5+ds1-1+deb12u1".into()));
        let crun = "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\n";
        assert_eq!(parse_version_output(crun).0, "1.8.1");
        assert_eq!(parse_version_output(""), (String::new(), String::new()));
    }

    #[test]
    fn a_missing_runtime_is_reported_not_fatal() {
        let facts = RuntimeFacts::probe(
            "ghost",
            &RuntimeConfig { path: "/nonexistent/bin/ghost-runtime".into(), args: vec![] },
        );
        assert_eq!(facts.resolved, None);
        assert!(facts.version.is_empty());
    }

    #[test]
    fn sh_resolves_through_path() {
        assert!(resolve_binary("sh").is_some());
    }
}
