//! Privileged tests: real containers with the real `runc`, on a busybox rootfs.
//!
//! This binary runs the reaper as the daemon does (`ReapMode::AllChildren`, child subreaper),
//! so everything here is the daemon's path: spec → bundle → `runc create` → reaped exit. The
//! busybox rootfs is built before the reaper starts (the builder waits for its children with
//! std), and nothing after that waits for a child any other way.
//!
//! The figures the project quotes (create+start+exit latency, exec stdin throughput) are printed
//! by `latency_of_true` and `exec_stdin_throughput` (`cargo test -p strata-runtime --test runc
//! -- --nocapture`; `STRATA_BENCH_MB` sets the amount of stdin, default 256).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use strata_runtime::io::OutputSubscription;
use strata_runtime::logs::{LogOptions, LogReader};
use strata_runtime::reaper::{self, ReapMode, Reaper};
use strata_runtime::spec::{ExecSpec, HostLimits, NetworkMode, OciMount, build_exec_process, build_spec};
use strata_runtime::{
    Bundle, ContainerSpec, ContainerStatus, ExitStatus, IoOptions, LogWriter, RuncConfig, RuncRuntime, Runtime,
    RuntimeError, Stream, UserIds, WinSize, create_container, exec_process,
};

struct Fixture {
    dir: PathBuf,
    rootfs: PathBuf,
    exec_root: PathBuf,
    runtime: RuncRuntime,
    reaper: &'static Reaper,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
static SEQ: AtomicU32 = AtomicU32::new(0);

const RUNC: &str = "/usr/sbin/runc";

/// Directories of earlier runs of this binary whose process is gone are removed.
fn sweep_old_runs(base: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(prefix).and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn fixture(test: &str) -> Option<&'static Fixture> {
    if !strata_testkit::require_root(test) {
        return None;
    }
    Some(FIXTURE.get_or_init(|| {
        let prefix = "strata-runtime-tests-";
        sweep_old_runs(&std::env::temp_dir(), prefix);
        let dir = std::env::temp_dir().join(format!("{prefix}{}", std::process::id()));
        let rootfs = dir.join("rootfs");
        strata_testkit::image::build_busybox_rootfs(&rootfs);
        std::fs::create_dir_all(rootfs.join("t")).expect("tmpfs mountpoint");
        strata_sys::process::become_child_subreaper().expect("subreaper");
        let reaper = reaper::install(ReapMode::AllChildren).expect("reaper");
        let exec_root = dir.join("exec");
        let binary = if Path::new(RUNC).exists() { PathBuf::from(RUNC) } else { PathBuf::from("runc") };
        let runtime = RuncRuntime::new(RuncConfig::new("runc", binary, vec![], &exec_root), reaper).expect("runtime");
        Fixture { dir, rootfs, exec_root, runtime, reaper }
    }))
}

fn new_id(name: &str) -> String {
    format!("strata-test-{name}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Deletes the container (forcefully) even when the test fails.
struct Cleanup<'a> {
    f: &'a Fixture,
    id: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let mut cmd = Command::new(&self.f.runtime.config().binary);
        cmd.arg("--root").arg(&self.f.runtime.config().root).args(["delete", "--force", &self.id]);
        let _ = self.f.reaper.output_blocking(&mut cmd);
        let _ = Bundle::at(Bundle::dir_for(&self.f.exec_root, &self.id)).remove();
    }
}

impl Fixture {
    fn spec(&self, args: Vec<String>) -> ContainerSpec {
        ContainerSpec { rootfs: self.rootfs.clone(), args, hostname: "strata".into(), ..ContainerSpec::default() }
    }

    fn log_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}-json.log"))
    }

    /// Creates (not starts) a container.
    async fn create(&self, id: &str, spec: &ContainerSpec, io: IoOptions) -> strata_runtime::RunningProcess {
        let built = build_spec(id, spec, &HostLimits::probe()).expect("spec");
        let bundle = Bundle::write(&Bundle::dir_for(&self.exec_root, id), &built.spec).expect("bundle");
        let log = LogWriter::open(&self.log_path(id)).expect("log");
        create_container(&self.runtime, self.reaper, id, bundle.path(), io, Some(log)).await.expect("create")
    }

    /// Runs a container to its end: exit status, stdout, stderr.
    async fn run(&self, name: &str, spec: ContainerSpec) -> (ExitStatus, String, String) {
        let id = new_id(name);
        let _cleanup = Cleanup { f: self, id: id.clone() };
        let mut p = self.create(&id, &spec, IoOptions { tty: spec.tty, ..IoOptions::default() }).await;
        self.runtime.start(&id).await.expect("start");
        let (out, err) = collect(&mut p.output).await;
        let status = tokio::time::timeout(Duration::from_secs(30), p.exit.wait()).await.expect("container exits");
        p.io.wait_closed().await;
        self.runtime.delete(&id, false).await.expect("delete");
        (status, out, err)
    }
}

async fn read_log(path: &Path, options: LogOptions) -> Vec<(Stream, String)> {
    let mut r = LogReader::open(path, options, None).expect("open");
    let mut got = Vec::new();
    while let Some(e) = r.next().await.expect("next") {
        got.push((e.stream, String::from_utf8(e.bytes).expect("utf8")));
    }
    got
}

async fn collect(sub: &mut OutputSubscription) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read = async {
        while let Some(chunk) = sub.next().await {
            let chunk = chunk.expect("no lag");
            match chunk.stream {
                Stream::Stderr => err.extend_from_slice(&chunk.bytes),
                _ => out.extend_from_slice(&chunk.bytes),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read).await.expect("output ends");
    (String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

#[tokio::test]
async fn echo_hi_is_output_logged_and_exits_zero() {
    let Some(f) = fixture("echo_hi_is_output_logged_and_exits_zero") else { return };
    let id_hint = "echo";
    let spec = f.spec(sh("echo hi; echo oops >&2"));
    let (status, out, err) = f.run(id_hint, spec).await;
    assert_eq!((status, out.as_str(), err.as_str()), (ExitStatus::Exited(0), "hi\n", "oops\n"));
}

#[tokio::test]
async fn the_log_file_is_json_file_and_readable() {
    let Some(f) = fixture("the_log_file_is_json_file_and_readable") else { return };
    let id = new_id("log");
    let _cleanup = Cleanup { f, id: id.clone() };
    let mut p = f.create(&id, &f.spec(sh("echo one; echo two >&2; echo three")), IoOptions::default()).await;
    f.runtime.start(&id).await.expect("start");
    drop(p.output);
    p.exit.wait().await;
    p.io.wait_closed().await;
    let text = std::fs::read_to_string(f.log_path(&id)).expect("log");
    assert!(text.contains(r#"{"log":"one\n","stream":"stdout","time":"20"#), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    let all = LogOptions { stdout: true, stderr: true, ..LogOptions::default() };
    let log_path = f.log_path(&id);
    let read = |options: LogOptions| {
        let path = log_path.clone();
        async move { read_log(&path, options).await }
    };
    // stdout's lines keep their order; where stderr's line falls depends on the scheduler.
    let stdout = read(LogOptions { stderr: false, ..all.clone() }).await;
    assert_eq!(stdout, vec![(Stream::Stdout, "one\n".to_owned()), (Stream::Stdout, "three\n".to_owned())]);
    assert_eq!(read(LogOptions { stdout: false, ..all.clone() }).await, vec![(Stream::Stderr, "two\n".to_owned())]);
    assert_eq!(read(LogOptions { tail: Some(1), ..all }).await.len(), 1);
    f.runtime.delete(&id, false).await.expect("delete");
    p.output = p.io.subscribe();
    assert!(p.output.next().await.is_none());
}

#[tokio::test]
async fn exit_codes_come_through_the_reaper() {
    let Some(f) = fixture("exit_codes_come_through_the_reaper") else { return };
    let (status, _, _) = f.run("exit3", f.spec(sh("exit 3"))).await;
    assert_eq!(status, ExitStatus::Exited(3));
    assert_eq!(status.exit_code(), 3);
}

#[tokio::test]
async fn a_killed_container_reports_137() {
    let Some(f) = fixture("a_killed_container_reports_137") else { return };
    let id = new_id("kill");
    let _cleanup = Cleanup { f, id: id.clone() };
    let p = f.create(&id, &f.spec(vec!["sleep".into(), "60".into()]), IoOptions::default()).await;
    f.runtime.start(&id).await.expect("start");
    let state = f.runtime.state(&id).await.expect("state");
    assert_eq!((state.status, state.pid), (ContainerStatus::Running, p.pid));
    f.runtime.kill(&id, 9, false).await.expect("kill");
    let status = tokio::time::timeout(Duration::from_secs(10), p.exit.wait()).await.expect("dies");
    assert_eq!(status, ExitStatus::Signaled(9));
    assert_eq!(status.exit_code(), 137);
    assert_eq!(f.runtime.state(&id).await.expect("state").status, ContainerStatus::Stopped);
    match f.runtime.kill(&id, 9, false).await {
        Err(RuntimeError::NotRunning { .. }) => {}
        other => panic!("killing a stopped container: {other:?}"),
    }
    f.runtime.delete(&id, false).await.expect("delete");
    assert!(matches!(f.runtime.state(&id).await, Err(RuntimeError::NotFound { .. })));
}

#[tokio::test]
async fn a_missing_executable_fails_create_with_docker_s_hint() {
    let Some(f) = fixture("a_missing_executable_fails_create_with_docker_s_hint") else { return };
    let id = new_id("nosuch");
    let _cleanup = Cleanup { f, id: id.clone() };
    let built = build_spec(&id, &f.spec(vec!["nosuch".into()]), &HostLimits::probe()).expect("spec");
    let bundle = Bundle::write(&Bundle::dir_for(&f.exec_root, &id), &built.spec).expect("bundle");
    let err = create_container(&f.runtime, f.reaper, &id, bundle.path(), IoOptions::default(), None)
        .await
        .expect_err("create must fail");
    let strata_runtime::LaunchError::Runtime(err) = err else { panic!("{err:?}") };
    let msg = err.runtime_message().expect("runc's message");
    assert!(msg.contains(r#"exec: "nosuch": executable file not found in $PATH"#), "{msg}");
    assert_eq!(err.exit_code_hint(), Some(127));
}

#[tokio::test]
async fn read_only_rootfs_refuses_writes_but_tmpfs_takes_them() {
    let Some(f) = fixture("read_only_rootfs_refuses_writes_but_tmpfs_takes_them") else { return };
    let spec = ContainerSpec {
        readonly_rootfs: true,
        mounts: vec![OciMount {
            destination: "/t".into(),
            typ: "tmpfs".into(),
            source: "tmpfs".into(),
            options: vec!["rw".into(), "nosuid".into(), "nodev".into(), "noexec".into()],
        }],
        ..f.spec(sh("touch /x 2>/dev/null && echo rootfs-writable; touch /t/y && echo tmpfs-ok; touch /tmp/z 2>&1"))
    };
    let (status, out, _) = f.run("ro", spec).await;
    assert!(!out.contains("rootfs-writable"), "{out}");
    assert!(out.contains("tmpfs-ok"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert_eq!(status, ExitStatus::Exited(1));
}

#[tokio::test]
async fn dev_shm_is_64m_and_the_default_mounts_are_docker_s() {
    let Some(f) = fixture("dev_shm_is_64m_and_the_default_mounts_are_docker_s") else { return };
    let (status, out, _) = f.run("mounts", f.spec(sh("cat /proc/self/mounts"))).await;
    assert!(status.success());
    let line = |dest: &str| out.lines().find(|l| l.split(' ').nth(1) == Some(dest)).unwrap_or_default().to_owned();
    let shm = line("/dev/shm");
    assert!(shm.starts_with("shm /dev/shm tmpfs rw,nosuid,nodev,noexec"), "{shm}");
    assert!(shm.contains("size=65536k"), "{shm}");
    assert!(line("/sys").contains(" ro,"), "{}", line("/sys"));
    assert!(line("/dev/pts").contains("devpts"), "{out}");
    assert!(line("/dev/mqueue").contains("mqueue"), "{out}");
    assert!(!line("/proc/keys").is_empty(), "/proc/keys is masked (something is mounted over it): {out}");
    assert!(line("/proc/sys").contains(" ro,"), "/proc/sys is read-only: {out}");
}

#[tokio::test]
async fn network_none_has_only_loopback() {
    let Some(f) = fixture("network_none_has_only_loopback") else { return };
    let spec = ContainerSpec {
        network: NetworkMode::None,
        ..f.spec(sh("ls /sys/class/net; cat /sys/class/net/lo/operstate"))
    };
    let (status, out, _) = f.run("netnone", spec).await;
    assert!(status.success());
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("lo"), "{out}");
    assert_eq!(lines.next(), Some("unknown"), "lo is up (operstate of an up loopback is 'unknown'): {out}");
    assert_eq!(lines.next(), None, "{out}");

    let (_, host_out, _) = f.run("nethost", f.spec(sh("ls /sys/class/net"))).await;
    assert!(host_out.lines().count() > 1, "host networking sees the host's interfaces: {host_out}");
}

#[tokio::test]
async fn the_default_capabilities_are_docker_s() {
    let Some(f) = fixture("the_default_capabilities_are_docker_s") else { return };
    let (status, out, _) = f.run("caps", f.spec(sh("grep -E '^Cap(Eff|Prm|Bnd|Inh)' /proc/self/status"))).await;
    assert!(status.success());
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapInh:\t0000000000000000"), "{out}");
}

#[tokio::test]
async fn user_hostname_env_and_rlimits_apply() {
    let Some(f) = fixture("user_hostname_env_and_rlimits_apply") else { return };
    let user = strata_runtime::user::resolve_user(&f.rootfs, "nobody", &[]).expect("nobody");
    let spec = ContainerSpec {
        user: UserIds { additional_gids: vec![1234], ..user },
        env: vec!["GREETING=hello".into()],
        cwd: "/tmp".into(),
        ..f.spec(sh("id -u; id -G; hostname; echo $GREETING; pwd; ulimit -n; ulimit -Hn"))
    };
    let (status, out, _) = f.run("user", spec).await;
    assert!(status.success(), "{out}");
    let nofile = HostLimits::probe().rlimits["nofile"];
    let want = format!(
        "65534\n65534 1234\nstrata\nhello\n/tmp\n{}\n{}\n",
        nofile.soft.expect("finite"),
        nofile.hard.expect("finite")
    );
    assert_eq!(out, want);
}

#[tokio::test]
async fn a_tty_container_gets_a_terminal_of_the_requested_size() {
    let Some(f) = fixture("a_tty_container_gets_a_terminal_of_the_requested_size") else { return };
    let id = new_id("tty");
    let _cleanup = Cleanup { f, id: id.clone() };
    let spec = ContainerSpec { tty: true, ..f.spec(sh("tty; stty size; read line; echo got:$line")) };
    let io = IoOptions {
        tty: true,
        open_stdin: true,
        stdin_once: true,
        console_size: Some(WinSize { rows: 40, cols: 100 }),
    };
    let mut p = f.create(&id, &spec, io).await;
    f.runtime.start(&id).await.expect("start");
    let mut stdin = p.io.take_stdin().expect("stdin");
    stdin.write_all(b"typed\n").await.expect("type");
    let (out, err) = collect(&mut p.output).await;
    assert_eq!(err, "");
    // The terminal echoes what was typed, wherever it fell in the output.
    let out = out.replace("\r\n", "\n");
    for want in ["/dev/pts/0\n", "40 100\n", "got:typed\n"] {
        assert!(out.contains(want), "{want:?} in {out:?}");
    }
    assert!(p.exit.wait().await.success());
    drop(stdin);
    f.runtime.delete(&id, false).await.expect("delete");
}

#[tokio::test]
async fn stdin_once_feeds_a_container_to_its_end() {
    let Some(f) = fixture("stdin_once_feeds_a_container_to_its_end") else { return };
    let id = new_id("stdin");
    let _cleanup = Cleanup { f, id: id.clone() };
    let io = IoOptions { open_stdin: true, stdin_once: true, ..IoOptions::default() };
    let mut p = f.create(&id, &f.spec(vec!["wc".into(), "-c".into()]), io).await;
    // Input can arrive before start (the CLI writes as soon as it attached).
    let mut stdin = p.io.take_stdin().expect("stdin");
    let data = vec![b'z'; 3_000_000];
    let writer = tokio::spawn(async move { stdin.copy_from(&mut &data[..]).await });
    f.runtime.start(&id).await.expect("start");
    assert_eq!(writer.await.expect("task").expect("copy"), 3_000_000);
    let (out, _) = collect(&mut p.output).await;
    assert_eq!(out.trim(), "3000000");
    assert!(p.exit.wait().await.success());
    f.runtime.delete(&id, false).await.expect("delete");
}

/// A running `sleep` container to exec into.
async fn sleeper(f: &'static Fixture, name: &str) -> (String, Cleanup<'static>, strata_runtime::RunningProcess) {
    let id = new_id(name);
    let cleanup = Cleanup { f, id: id.clone() };
    let p = f.create(&id, &f.spec(vec!["sleep".into(), "60".into()]), IoOptions::default()).await;
    f.runtime.start(&id).await.expect("start");
    (id, cleanup, p)
}

async fn stop(f: &Fixture, id: &str, p: strata_runtime::RunningProcess) {
    f.runtime.kill(id, 9, true).await.expect("kill");
    p.exit.wait().await;
    f.runtime.delete(id, false).await.expect("delete");
}

#[tokio::test]
async fn exec_runs_with_the_container_s_settings_and_reports_its_exit() {
    let Some(f) = fixture("exec_runs_with_the_container_s_settings_and_reports_its_exit") else { return };
    let (id, _cleanup, p) = sleeper(f, "exec").await;
    let container = Bundle::at(Bundle::dir_for(&f.exec_root, &id)).load_spec().expect("spec");

    let exec =
        ExecSpec { args: sh("echo in-exec $X; echo e >&2; exit 5"), env: vec!["X=1".into()], ..ExecSpec::default() };
    let process = build_exec_process(&container, &exec).expect("process");
    let mut e = exec_process(&f.runtime, f.reaper, &id, &process, IoOptions::default()).await.expect("exec");
    let (out, err) = collect(&mut e.output).await;
    assert_eq!((out.as_str(), err.as_str()), ("in-exec 1\n", "e\n"));
    assert_eq!(e.exit.wait().await, ExitStatus::Exited(5));

    // `true` is gone before runc returns: its status waits for the watcher.
    let quick =
        build_exec_process(&container, &ExecSpec { args: vec!["true".into()], ..ExecSpec::default() }).expect("p");
    for _ in 0..5 {
        let e = exec_process(&f.runtime, f.reaper, &id, &quick, IoOptions::default()).await.expect("exec");
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), e.exit.wait()).await.expect("reaped"),
            ExitStatus::Exited(0)
        );
    }

    let missing =
        build_exec_process(&container, &ExecSpec { args: vec!["nosuch".into()], ..ExecSpec::default() }).expect("p");
    let err =
        exec_process(&f.runtime, f.reaper, &id, &missing, IoOptions::default()).await.expect_err("no such binary");
    let strata_runtime::LaunchError::Runtime(err) = err else { panic!("{err:?}") };
    assert_eq!(err.exit_code_hint(), Some(127), "{err}");

    let tty =
        build_exec_process(&container, &ExecSpec { args: sh("tty; stty size"), tty: true, ..ExecSpec::default() })
            .expect("p");
    let io = IoOptions { tty: true, console_size: Some(WinSize { rows: 24, cols: 80 }), ..IoOptions::default() };
    let mut e = exec_process(&f.runtime, f.reaper, &id, &tty, io).await.expect("exec tty");
    let (out, _) = collect(&mut e.output).await;
    assert_eq!(out.replace("\r\n", "\n"), "/dev/pts/0\n24 80\n");
    assert!(e.exit.wait().await.success());
    stop(f, &id, p).await;
}

#[tokio::test]
async fn pause_and_resume_freeze_the_container() {
    let Some(f) = fixture("pause_and_resume_freeze_the_container") else { return };
    let (id, _cleanup, p) = sleeper(f, "pause").await;
    f.runtime.pause(&id).await.expect("pause");
    assert_eq!(f.runtime.state(&id).await.expect("state").status, ContainerStatus::Paused);
    assert!(f.runtime.list().await.expect("list").iter().any(|s| s.id == id && s.status == ContainerStatus::Paused));
    f.runtime.resume(&id).await.expect("resume");
    assert_eq!(f.runtime.state(&id).await.expect("state").status, ContainerStatus::Running);
    stop(f, &id, p).await;
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn latency_of_true() {
    let Some(f) = fixture("latency_of_true") else { return };
    const RUNS: usize = 10;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let id = new_id("true");
        let _cleanup = Cleanup { f, id: id.clone() };
        let t0 = Instant::now();
        let built = build_spec(&id, &f.spec(vec!["true".into()]), &HostLimits::probe()).expect("spec");
        let bundle = Bundle::write(&Bundle::dir_for(&f.exec_root, &id), &built.spec).expect("bundle");
        let p = create_container(&f.runtime, f.reaper, &id, bundle.path(), IoOptions::default(), None)
            .await
            .expect("create");
        f.runtime.start(&id).await.expect("start");
        assert!(p.exit.wait().await.success());
        times.push(t0.elapsed());
        f.runtime.delete(&id, false).await.expect("delete");
    }
    println!(
        "runc create+start+exit of `true` (spec, bundle, create, start, reaped exit): median {:?} over {RUNS}",
        median(times)
    );
}

/// Writes `total` bytes from memory into `sink` with the same copy the API layer uses.
async fn feed(stdin: &mut strata_runtime::StdinWriter, total: usize) -> Duration {
    struct Zeros(usize);
    impl tokio::io::AsyncRead for Zeros {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = buf.remaining().min(self.0).min(ZERO_BLOCK.len());
            buf.put_slice(&ZERO_BLOCK[..n]);
            self.0 -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }
    static ZERO_BLOCK: [u8; 256 * 1024] = [0; 256 * 1024];
    let t0 = Instant::now();
    let copied = stdin.copy_from(&mut Zeros(total)).await.expect("copy");
    assert_eq!(copied as usize, total);
    t0.elapsed()
}

#[tokio::test]
async fn exec_stdin_throughput() {
    let Some(f) = fixture("exec_stdin_throughput") else { return };
    const MB: usize = 1024 * 1024;
    let total = std::env::var("STRATA_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256) * MB;
    let (id, _cleanup, p) = sleeper(f, "bench").await;
    let container = Bundle::at(Bundle::dir_for(&f.exec_root, &id)).load_spec().expect("spec");
    let io = IoOptions { open_stdin: true, stdin_once: true, ..IoOptions::default() };
    let mbps = |d: Duration| total as f64 / MB as f64 / d.as_secs_f64();

    // Through the container: `docker exec -i c sh -c 'cat > f'`, with f on the rootfs
    // (tmpfs /tmp of the test host) and to /dev/null.
    let mut results = Vec::new();
    for (label, script) in [
        ("cat > /tmp/f", "cat > /tmp/bench-f; wc -c < /tmp/bench-f; rm /tmp/bench-f"),
        ("cat > /dev/null", "cat > /dev/null; echo done"),
    ] {
        let process = build_exec_process(&container, &ExecSpec { args: sh(script), ..ExecSpec::default() }).expect("p");
        let mut e = exec_process(&f.runtime, f.reaper, &id, &process, io).await.expect("exec");
        let mut stdin = e.io.take_stdin().expect("stdin");
        let took = feed(&mut stdin, total).await;
        drop(stdin);
        let (out, _) = collect(&mut e.output).await;
        assert!(e.exit.wait().await.success(), "{out}");
        if label.contains("/tmp") {
            assert_eq!(out.trim(), total.to_string());
        }
        results.push(format!("exec {label}: {:.0} MB/s", mbps(took)));
    }

    // The same copy into busybox `cat` and coreutils `cat` on the host.
    for (label, bin) in [("host busybox cat", "/bin/busybox"), ("host coreutils cat", "/bin/cat")] {
        let (prepared, stdio) = strata_runtime::io::PreparedIo::new(io, &f.dir).expect("pipes");
        let strata_runtime::RuntimeStdio::Fds { stdin, stdout, stderr } = stdio else { panic!("pipes") };
        let mut cmd = Command::new(bin);
        if bin.ends_with("busybox") {
            cmd.arg("cat");
        }
        cmd.stdin(stdin.map(std::process::Stdio::from).expect("stdin"));
        cmd.stdout(std::fs::File::create("/dev/null").expect("null"));
        cmd.stderr(stderr.map(std::process::Stdio::from).expect("stderr"));
        drop(stdout);
        let child = f.reaper.spawn(&mut cmd).expect("spawn");
        drop(cmd);
        let hio = prepared.connect(None).await.expect("connect");
        let mut stdin = hio.take_stdin().expect("stdin");
        let took = feed(&mut stdin, total).await;
        drop(stdin);
        assert!(child.exit.wait().await.success());
        results.push(format!("{label}: {:.0} MB/s", mbps(took)));
    }
    println!("stdin throughput, {} MB: {}", total / MB, results.join("; "));
    stop(f, &id, p).await;
}
