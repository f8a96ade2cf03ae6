//! Fixtures every strata test tier uses.
//!
//! - [`Daemon`]: a real `stratad` on a temporary socket with temporary data-root and exec-root,
//!   waited for until `/_ping` answers, stopped and cleaned (every mount under its roots
//!   unmounted) when dropped — also when the test panicked.
//! - [`Daemon::docker`]: the stock docker CLI ([`docker_cli`]) pointed at it.
//! - [`http`]: raw HTTP/1.1 over the socket, to check exact status codes, headers and JSON.
//! - [`image`]: a small real image rootfs built from Debian's static busybox.
//! - [`require_root`]: privileged tests skip with a reason outside CI and fail under `CI=true`.
//!
//! The binaries are the ones cargo built next to the test executable (`target/<profile>/`);
//! the README's test command builds them first (`cargo build --bins`).

pub mod daemon;
pub mod http;
pub mod image;
pub mod refdocker;

use std::path::PathBuf;

pub use daemon::{CmdOutput, Daemon, DaemonOptions};

/// The stock docker CLI the tests drive strata with: `$DOCKER_CLI`, else `/usr/local/bin/docker`
/// (the CLI this project targets, 28.x), else `docker` on the PATH.
pub fn docker_cli() -> PathBuf {
    if let Some(p) = std::env::var_os("DOCKER_CLI") {
        return PathBuf::from(p);
    }
    let stock = PathBuf::from("/usr/local/bin/docker");
    if stock.is_file() { stock } else { PathBuf::from("docker") }
}

/// Whether this test may run privileged work. Not root: prints why the test is skipped and
/// returns false — unless `CI=true`, where a privileged test that cannot run is a failure.
pub fn require_root(test: &str) -> bool {
    if strata_sys::process::is_root() {
        return true;
    }
    if in_ci() {
        panic!("{test} needs root; under CI=true privileged tests must run, not skip");
    }
    eprintln!("SKIPPED {test}: needs root (run the tests as root to include it)");
    false
}

/// Whether the tests run under CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A binary of this workspace, as built by cargo next to the running test.
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: build the binaries first (cargo build --bins)", path.display());
    path
}
