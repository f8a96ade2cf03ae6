//! Containers through the stock docker CLI, as the guide uses them: `docker run` with named and
//! anonymous volumes, binds, tmpfs, `--read-only`, `--volumes-from`; `-d`, logs, stop, rm, ps,
//! inspect; and data that outlives containers and a `kill -9` of the daemon.

use std::time::Duration;

use strata_testkit::{Daemon, DaemonOptions};

#[test]
fn a_named_volume_keeps_its_data_after_the_container_is_removed() {
    let Some(d) = Daemon::with_busybox("a_named_volume_keeps_its_data_after_the_container_is_removed") else {
        return;
    };
    let out =
        d.docker(&["run", "--rm", "-v", "pgdata:/data", "busybox", "sh", "-c", "echo hi > /data/x; echo err >&2"]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.code), ("", "err\n", 0));
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "", "--rm removed the container");
    assert_eq!(d.docker(&["run", "--rm", "-v", "pgdata:/data", "busybox", "cat", "/data/x"]).ok(), "hi\n");
    let mountpoint = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", "pgdata"]).ok().trim().to_owned();
    assert_eq!(std::fs::read_to_string(format!("{mountpoint}/x")).expect("volume file"), "hi\n");
    // The exit status is the container's.
    assert_eq!(d.docker(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]).code, 3);
    d.docker(&["run", "--rm", "busybox", "nosuchcmd"]).fails_with(127, "executable file not found");
}

#[test]
fn detached_containers_log_stop_and_inspect_like_docker() {
    let Some(d) = Daemon::with_busybox("detached_containers_log_stop_and_inspect_like_docker") else { return };
    let id = d.docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "-v",
        "/anon",
        "-l",
        "tier=web",
        "busybox",
        "sh",
        "-c",
        "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let id = id.ok().trim().to_owned();
    assert_eq!(id.len(), 64);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while d.docker(&["logs", "web"]).ok() != "started\n" {
        assert!(std::time::Instant::now() < deadline, "no log line");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ps = d.docker(&["ps", "--format", "{{.Names}} {{.Status}} {{.Labels}}"]).ok().to_owned();
    assert!(ps.starts_with("web Up "), "{ps}");
    assert!(ps.trim_end().ends_with("tier=web"), "{ps}");
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Running}} {{.Name}}", "web"]).ok(), "true /web\n");
    let graph = d.docker(&["inspect", "-f", "{{.GraphDriver.Name}} {{json .GraphDriver.Data}}", "web"]).ok().to_owned();
    assert!(graph.starts_with("overlay2 "), "{graph}");
    for key in ["LowerDir", "MergedDir", "UpperDir", "WorkDir"] {
        assert!(graph.contains(key), "{key} missing in {graph}");
    }
    assert!(graph.contains("-init/diff:"), "the init layer comes first: {graph}");
    let anon = d.docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "web"]).ok().trim().to_owned();
    assert_eq!(anon.len(), 64, "an anonymous volume: {anon}");

    // A running container cannot be removed without force, nor its volume.
    d.docker(&["rm", "web"]).fails_with(1, "You cannot remove a running container");
    d.docker(&["volume", "rm", &anon]).fails_with(1, "volume is in use");
    d.docker(&["stop", "web"]).ok();
    assert_eq!(d.docker(&["logs", "web"]).ok(), "started\nbye\n");
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"]).ok(), "exited 0\n");
    let ps = d.docker(&["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}"]).ok().to_owned();
    assert!(ps.starts_with("web Exited (0) "), "{ps}");
    assert_eq!(d.docker(&["ps", "-q"]).ok(), "", "nothing runs");
    assert_eq!(d.docker(&["wait", "web"]).ok(), "0\n");

    // `rm -v` removes the anonymous volume, not named ones.
    d.docker(&["volume", "create", "keep"]).ok();
    d.docker(&["rm", "-v", "web"]).ok();
    d.docker(&["volume", "inspect", &anon]).fails_with(1, "no such volume");
    d.docker(&["volume", "inspect", "keep"]).ok();
}

#[test]
fn binds_tmpfs_read_only_and_volumes_from_behave_as_in_the_guide() {
    let Some(d) = Daemon::with_busybox("binds_tmpfs_read_only_and_volumes_from_behave_as_in_the_guide") else {
        return;
    };
    // `-v` creates a missing host directory; `--mount` refuses it.
    let host = d.root.join("made-by-v");
    let spec = format!("{}:/b", host.display());
    d.docker(&["run", "--rm", "-v", &spec, "busybox", "sh", "-c", "echo x > /b/f"]).ok();
    assert_eq!(std::fs::read_to_string(host.join("f")).expect("bind file"), "x\n");
    let missing = d.root.join("missing");
    let mount = format!("type=bind,source={},target=/b", missing.display());
    d.docker(&["run", "--rm", "--mount", &mount, "busybox", "true"]).fails_with(125, "bind source path does not exist");
    assert!(!missing.exists());

    // tmpfs with size and mode; a read-only root with a writable volume.
    let out = d.docker(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch:size=8m,mode=1770",
        "-v",
        "ro-data:/data",
        "busybox",
        "sh",
        "-c",
        "stat -c %a /scratch; df -k /scratch | tail -1 | awk '{print $2}'; echo v > /data/v && cat /data/v; touch /x",
    ]);
    assert_eq!(out.stdout, "1770\n8192\nv\n", "{}", out.stderr);
    assert!(out.stderr.contains("Read-only file system"), "{}", out.stderr);
    assert_eq!(out.code, 1);
    let out = d.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/t/big bs=1k count=2048 2>/dev/null; stat -c %s /t/big",
    ]);
    assert_eq!(out.stdout, "1048576\n", "the 1m tmpfs is full at 1 MiB: {out:?}");

    // A writer and a read-only reader sharing a volume.
    d.docker(&[
        "run",
        "-d",
        "--name",
        "writer",
        "-v",
        "shared:/shared",
        "busybox",
        "sh",
        "-c",
        "echo from-writer > /shared/msg; sleep 60",
    ])
    .ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = d.docker(&["run", "--rm", "--volumes-from", "writer:ro", "busybox", "cat", "/shared/msg"]);
        if r.stdout == "from-writer\n" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{r:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    d.docker(&["run", "--rm", "--volumes-from", "writer:ro", "busybox", "sh", "-c", "echo no > /shared/msg"])
        .fails_with(1, "Read-only file system");
    d.docker(&["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"])
        .fails_with(125, "No such container: nosuch");
    d.docker(&["rm", "-f", "writer"]).ok();

    // An empty volume over an image directory starts with the image's content (copy-up).
    assert!(d.docker(&["run", "--rm", "-v", "etc-copy:/etc", "busybox", "cat", "/etc/passwd"]).ok().contains("root:"));
    let mp = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", "etc-copy"]).ok().trim().to_owned();
    assert!(std::fs::read_to_string(format!("{mp}/passwd")).expect("copied").contains("root:"));
}

#[test]
fn names_errors_stdin_rename_and_prune() {
    let Some(d) = Daemon::with_busybox("names_errors_stdin_rename_and_prune") else { return };
    d.docker(&["create", "--name", "c1", "busybox", "true"]).ok();
    d.docker(&["create", "--name", "c1", "busybox", "true"])
        .fails_with(1, "The container name \"/c1\" is already in use");
    d.docker(&["create", "--name", "bad/name", "busybox"]).fails_with(1, "Invalid container name (bad/name)");
    d.docker(&["run", "--rm", "nosuchimage:1"]).fails_with(125, "Unable to find image 'nosuchimage:1' locally");
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Status}}", "c1"]).ok(), "created\n");
    d.docker(&["rename", "c1", "c2"]).ok();
    d.docker(&["start", "-a", "c2"]).ok();
    assert_eq!(d.docker(&["ps", "-a", "--format", "{{.Names}}", "--filter", "exited=0"]).ok(), "c2\n");

    let out =
        d.docker_with_stdin(&["run", "--rm", "-i", "busybox", "sh", "-c", "wc -c; echo done"], Some(&[b'x'; 100_000]));
    assert_eq!(out.ok(), "100000\ndone\n");

    let pruned = d.docker(&["container", "prune", "-f"]).ok().to_owned();
    assert!(pruned.starts_with("Deleted Containers:\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "");
}

#[test]
fn a_kill_9_of_the_daemon_leaves_containers_exited_and_volumes_intact() {
    let Some(mut d) = Daemon::with_busybox("a_kill_9_of_the_daemon_leaves_containers_exited_and_volumes_intact") else {
        return;
    };
    d.docker(&[
        "run",
        "-d",
        "--name",
        "db",
        "-v",
        "dbdata:/var/lib/db",
        "busybox",
        "sh",
        "-c",
        "echo row1 > /var/lib/db/table; sync; sleep 600",
    ])
    .ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mp = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", "dbdata"]).ok().trim().to_owned();
    while std::fs::read_to_string(format!("{mp}/table")).unwrap_or_default() != "row1\n" {
        assert!(std::time::Instant::now() < deadline, "the container did not write");
        std::thread::sleep(Duration::from_millis(100));
    }
    d.kill9();
    d.start_again();
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "db"]).ok(), "exited 255\n");
    // Its process did not survive the repair, and the data did.
    assert_eq!(std::fs::read_to_string(format!("{mp}/table")).expect("data"), "row1\n");
    d.docker(&["start", "db"]).ok();
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Running}}", "db"]).ok(), "true\n");
    d.docker(&["rm", "-f", "db"]).ok();
    assert_eq!(d.docker(&["run", "--rm", "-v", "dbdata:/d", "busybox", "cat", "/d/table"]).ok(), "row1\n");
}

#[test]
fn exec_cp_diff_export_and_commit_move_data_in_and_out() {
    let Some(d) = Daemon::with_busybox("exec_cp_diff_export_and_commit_move_data_in_and_out") else { return };
    d.docker(&["run", "-d", "--name", "db", "-v", "dbv:/data", "busybox", "sleep", "600"]).ok();
    // The guide's dump and restore: exec output out, stdin in (closed at its end).
    let out = d.docker(&["exec", "db", "sh", "-c", "echo dump; echo warn >&2; exit 5"]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.code), ("dump\n", "warn\n", 5));
    let rows: Vec<u8> = (0..20_000).flat_map(|i| format!("row {i}\n").into_bytes()).collect();
    d.docker_with_stdin(&["exec", "-i", "db", "sh", "-c", "cat > /data/restore.sql"], Some(&rows)).ok();
    let back = d.docker(&["exec", "db", "cat", "/data/restore.sql"]);
    assert_eq!(back.stdout.as_bytes(), &rows[..], "byte-exact round trip");
    assert_eq!(
        d.docker(&["exec", "-u", "nobody", "-w", "/tmp", "-e", "X=1", "db", "sh", "-c", "id -un; pwd; echo $X"]).ok(),
        "nobody\n/tmp\n1\n"
    );
    assert_eq!(d.docker(&["exec", "db", "nosuchcmd"]).code, 126);

    // docker cp both ways, through the volume.
    let host = d.root.join("hello.txt");
    std::fs::write(&host, "hello\n").expect("write");
    d.docker(&["cp", &host.display().to_string(), "db:/data/"]).ok();
    assert_eq!(d.docker(&["exec", "db", "cat", "/data/hello.txt"]).ok(), "hello\n");
    let mp = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", "dbv"]).ok().trim().to_owned();
    assert_eq!(std::fs::read_to_string(format!("{mp}/hello.txt")).expect("in the volume"), "hello\n");
    let out = d.root.join("passwd");
    d.docker(&["cp", "db:/etc/passwd", &out.display().to_string()]).ok();
    assert!(std::fs::read_to_string(&out).expect("copied out").starts_with("root:"));
    d.docker(&["cp", "db:/nonexist", &out.display().to_string()])
        .fails_with(1, "Could not find the file /nonexist in container db");

    // diff lists the writable layer's changes; commit turns them into an image.
    d.docker(&["exec", "db", "sh", "-c", "echo x > /newfile; rm /bin/vi"]).ok();
    let diff = d.docker(&["diff", "db"]).ok().to_owned();
    for line in ["C /bin", "D /bin/vi", "A /data", "A /newfile"] {
        assert!(diff.lines().any(|l| l == line), "{line} missing in:\n{diff}");
    }
    let export = d.docker(&["export", "db"]);
    assert!(export.code == 0 && export.stdout.len() > 1_000_000, "an exported root filesystem");
    d.docker(&["commit", "db", "snap:1"]).ok();
    assert_eq!(d.docker(&["run", "--rm", "snap:1", "cat", "/newfile"]).ok(), "x\n");
    d.docker(&["run", "--rm", "snap:1", "ls", "/bin/vi"]).fails_with(1, "No such file or directory");
    // No exec into a stopped container (409 with Docker's text).
    d.docker(&["stop", "-t", "0", "db"]).ok();
    d.docker(&["exec", "db", "true"]).fails_with(1, "is not running");
    d.docker(&["rm", "-f", "db"]).ok();
}

#[test]
fn restart_policies_restart_failed_containers_and_survive_a_daemon_restart() {
    let Some(mut d) = Daemon::with_busybox("restart_policies_restart_failed_containers_and_survive_a_daemon_restart")
    else {
        return;
    };
    // on-failure:2 — two restarts, then it stays exited.
    d.docker(&["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3"])
        .ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let state = d.docker(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"]).ok().to_owned();
        if state == "2 exited\n" && d.docker(&["logs", "flaky"]).ok() == "run\nrun\nrun\n" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{state}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // unless-stopped comes back with the daemon; a user's stop is respected.
    d.docker(&["run", "-d", "--name", "svc", "--restart", "unless-stopped", "busybox", "sleep", "600"]).ok();
    d.docker(&["run", "-d", "--name", "held", "--restart", "unless-stopped", "busybox", "sleep", "600"]).ok();
    d.docker(&["stop", "-t", "1", "held"]).ok();
    d.kill9();
    d.start_again();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while d.docker(&["inspect", "-f", "{{.State.Running}}", "svc"]).ok() != "true\n" {
        assert!(std::time::Instant::now() < deadline, "svc was not started again");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Running}}", "held"]).ok(), "false\n");
    d.docker(&["rm", "-f", "svc", "held", "flaky"]).ok();
}

#[test]
fn log_options_cap_rotate_and_refuse_like_docker() {
    let Some(d) = Daemon::with_busybox("log_options_cap_rotate_and_refuse_like_docker") else { return };
    // 200 lines of ~40 bytes with max-size=1k, max-file=2: two files, neither past 1 KiB, and
    // `docker logs` reads both, oldest first, ending with the last line.
    let script = "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done";
    d.docker(&[
        "run",
        "-d",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=2",
        "busybox",
        "sh",
        "-c",
        script,
    ])
    .ok();
    assert_eq!(d.docker(&["wait", "chatty"]).ok(), "0\n");
    let log_path = d.docker(&["inspect", "-f", "{{.LogPath}}", "chatty"]).ok().trim().to_owned();
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len());
    for file in [log_path.clone(), format!("{log_path}.1")] {
        let len = size(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(len > 0 && len <= 1024, "{file} holds {len} bytes");
    }
    assert!(size(&format!("{log_path}.2")).is_err(), "max-file=2 keeps two files");
    let logs = d.docker(&["logs", "chatty"]).ok().to_owned();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() > 10 && lines.len() < 30, "{} lines kept", lines.len());
    assert_eq!(lines.last().copied(), Some("line-199-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    // In order and none missing: the numbers run from the first kept line to 199.
    let number = |l: &str| l[5..].split('-').next().and_then(|n| n.parse::<usize>().ok()).expect("line number");
    let numbers: Vec<usize> = lines.iter().map(|l| number(l)).collect();
    assert_eq!(numbers, (numbers[0]..200).collect::<Vec<_>>());
    assert_eq!(d.docker(&["logs", "--tail", "3", "chatty"]).ok().lines().count(), 3);
    assert_eq!(
        d.docker(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", "chatty"]).ok(),
        "{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"2\",\"max-size\":\"1k\"}}\n"
    );

    // Docker's refusals: names at create, values at start.
    d.docker(&["create", "--log-opt", "foo=bar", "busybox", "true"])
        .fails_with(1, "unknown log opt 'foo' for json-file log driver");
    d.docker(&["create", "--log-driver", "nosuch", "busybox", "true"])
        .fails_with(1, "error looking up logging plugin nosuch: plugin \"nosuch\" not found");
    d.docker(&["run", "--rm", "--log-opt", "max-size=abc", "busybox", "true"])
        .fails_with(125, "failed to initialize logging driver: invalid size: 'abc'");
    // compress=true is accepted, and the create answer says the rotated files stay uncompressed.
    let created = d.docker(&[
        "create",
        "--log-opt",
        "compress=true",
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=2",
        "busybox",
        "true",
    ]);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(created.stderr.contains("WARNING: log option compress=true"), "{created:?}");
    // A driver that would send the logs elsewhere is refused, not silently replaced.
    d.docker(&["create", "--log-driver", "syslog", "busybox", "true"]).fails_with(1, "not available in strata");

    // none: nothing kept, and `docker logs` says so.
    d.docker(&["run", "-d", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hi"]).ok();
    assert_eq!(d.docker(&["wait", "quiet"]).ok(), "0\n");
    d.docker(&["logs", "quiet"]).fails_with(1, "configured logging driver does not support reading");
    assert_eq!(d.docker(&["inspect", "-f", "{{.LogPath}}", "quiet"]).ok(), "\n");
}

#[test]
fn the_daemons_log_opts_are_every_containers_defaults() {
    if !strata_testkit::require_root("the_daemons_log_opts_are_every_containers_defaults") {
        return;
    }
    // The daemon.json most Docker hosts carry.
    let d = Daemon::start_with(DaemonOptions {
        config_json: Some(r#"{"log-driver":"json-file","log-opts":{"max-size":"1k","max-file":"2"}}"#.into()),
        ..Default::default()
    });
    let tar = strata_testkit::image::busybox_rootfs_tar().display().to_string();
    d.docker(&["import", "-c", r#"CMD ["/bin/sh"]"#, &tar, "busybox:latest"]).ok();
    let script = "i=0; while [ $i -lt 100 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done";
    d.docker(&["run", "-d", "--name", "chatty", "busybox", "sh", "-c", script]).ok();
    assert_eq!(d.docker(&["wait", "chatty"]).ok(), "0\n");
    assert_eq!(
        d.docker(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", "chatty"]).ok(),
        "{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"2\",\"max-size\":\"1k\"}}\n"
    );
    let log_path = d.docker(&["inspect", "-f", "{{.LogPath}}", "chatty"]).ok().trim().to_owned();
    assert!(std::path::Path::new(&format!("{log_path}.1")).exists(), "rotated by the daemon's defaults");
    assert_eq!(d.docker(&["logs", "--tail", "1", "chatty"]).ok(), "line-99-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
    // A container's own options win over the defaults.
    d.docker(&["run", "-d", "--name", "own", "--log-opt", "max-size=1m", "busybox", "sh", "-c", script]).ok();
    assert_eq!(d.docker(&["wait", "own"]).ok(), "0\n");
    assert_eq!(d.docker(&["logs", "own"]).ok().lines().count(), 100, "1m holds all 100 lines");
}
