//! Records the git commit and the time the engine was built, for `docker version`.
//!
//! The rebuild triggers are the files git changes when HEAD moves, asked from git itself: in a
//! `git worktree` `.git` is a file, and naming a path that does not exist would make cargo
//! rebuild the engine on every build.
use std::path::PathBuf;

fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short=7", "HEAD"]).unwrap_or_default();
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    println!("cargo:rustc-env=STRATA_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=STRATA_BUILD_UNIX={secs}");
    println!("cargo:rerun-if-changed=build.rs");
    let head = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]).map(PathBuf::from);
    let refs =
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]).map(|d| PathBuf::from(d).join("refs/heads"));
    for path in [head, refs].into_iter().flatten().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
