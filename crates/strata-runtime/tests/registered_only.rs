//! `ReapMode::RegisteredOnly`: the reaper next to code that waits for its own children with std
//! (test binaries, tools). A separate test binary, because the mode is process-wide.

use std::process::Command;
use std::time::{Duration, Instant};

use strata_runtime::ExitStatus;
use strata_runtime::reaper::{self, ReapMode};

#[test]
fn std_waiting_and_the_reaper_coexist() {
    let reaper = reaper::install(ReapMode::RegisteredOnly).expect("reaper");
    let std_threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let out = Command::new("/bin/sh").arg("-c").arg(format!("exit {i}")).output().expect("std output");
                    assert_eq!(out.status.code(), Some(i), "std's wait got its own child's status");
                }
            })
        })
        .collect();
    for i in 0..20 {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(format!("exit {}", i % 7));
        let out = reaper.output_blocking(&mut cmd).expect("reaper output");
        assert_eq!(out.status, ExitStatus::Exited(i % 7));
    }
    for t in std_threads {
        t.join().expect("std thread");
    }
}

#[test]
fn a_zombie_watched_late_still_delivers() {
    strata_sys::process::become_child_subreaper().expect("subreaper");
    let reaper = reaper::install(ReapMode::RegisteredOnly).expect("reaper");
    let since = Instant::now();
    let mut cmd = Command::new("/bin/sh");
    // The grandchild outlives its parent shell (which would otherwise reap it itself) and
    // exits as our orphan.
    cmd.arg("-c").arg("sh -c 'sleep 0.1; exit 4' & echo $!");
    let out = reaper.output_blocking(&mut cmd).expect("run");
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("pid");
    // Give the orphan time to exit and sit as our zombie; nobody reaps it in this mode.
    std::thread::sleep(Duration::from_millis(400));
    let watch = reaper.watch(pid, since).expect("watch");
    assert_eq!(watch.wait_blocking(), ExitStatus::Exited(4));
}
