//! A container's (or an exec's) stdio, owned by the daemon.
//!
//! Without a TTY the process gets the write ends of two pipes (stdout, stderr) and, with
//! `OpenStdin`, the read end of a third; the daemon keeps the other ends. With a TTY the runtime
//! sends the pty master over a console socket ([`crate::console`]). Either way, two phases:
//! [`PreparedIo::new`] before the runtime runs (it yields the [`RuntimeStdio`] to pass), then
//! [`PreparedIo::connect`] once `create`/`exec` succeeded, which starts pumping output and
//! returns the [`ContainerIo`] the container service keeps.
//!
//! Output goes, chunk by chunk as read, to the log (when there is one) and to a broadcast
//! channel that any number of attached clients subscribe to. The channel keeps
//! [`ATTACH_BUFFER_CHUNKS`] chunks for the slowest subscriber: a client that falls further
//! behind loses chunks (and is told how many) instead of slowing the container or its log.
//! A container with nobody attached (`docker run -d`) keeps running and logging.
//!
//! Input comes from at most one attached client at a time ([`ContainerIo::take_stdin`]). With
//! `StdinOnce` the process's stdin is closed when that client's input ends, so `cat`/`psql` see
//! end of input; otherwise it stays open for the next attach. Copying uses one large buffer per
//! writer and 1 MiB pipes, so bulk input runs near pipe speed.
//!
//! Output ends when every writer of the pipes is gone (the process and anything it left
//! holding them exited) or the pty reports the last slave closed; then the log is closed,
//! subscribers see the end, and [`ContainerIo::wait_closed`] returns.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, watch};

use crate::console::{CONSOLE_RECEIVE_TIMEOUT, ConsoleSocket, Pty, WinSize};
use crate::logs::LogWriter;
use crate::runtime::RuntimeStdio;

/// Chunks kept for the slowest attached client.
pub const ATTACH_BUFFER_CHUNKS: usize = 256;
/// Bytes read from the process's output at once.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes copied into the process's stdin at once.
const STDIN_CHUNK: usize = 256 * 1024;
/// Pipe capacity asked for (`F_SETPIPE_SZ`; the default is 64 KiB).
const PIPE_SIZE: usize = 1024 * 1024;

/// Which stdio stream bytes belong to (the number is the stream byte of Docker's 8-byte frame
/// header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    /// `stdin`, `stdout`, `stderr` (the `stream` field of json-file logs).
    pub fn as_str(&self) -> &'static str {
        match self {
            Stream::Stdin => "stdin",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A piece of output, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: Stream,
    pub bytes: Bytes,
}

/// How the process's stdio is set up (the container's `Tty`, `OpenStdin`, `StdinOnce`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoOptions {
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    /// Initial terminal size (`ConsoleSize`), for a TTY.
    pub console_size: Option<WinSize>,
}

/// Why stdio could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("cannot create stdio pipes: {0}")]
    Pipe(#[source] std::io::Error),
    #[error("console socket {path}: {source}")]
    Console { path: std::path::PathBuf, source: std::io::Error },
    #[error("the process has no stdin (OpenStdin is false)")]
    NoStdin,
    #[error("another client is attached to stdin")]
    StdinBusy,
    #[error("stdin is closed")]
    StdinClosed,
    #[error("the process has no terminal")]
    NotATerminal,
    #[error("cannot resize the terminal: {0}")]
    Resize(#[source] std::io::Error),
}

/// Stdio set up before the runtime runs.
#[derive(Debug)]
pub struct PreparedIo {
    options: IoOptions,
    side: PreparedSide,
    output: broadcast::Sender<OutputChunk>,
}

#[derive(Debug)]
enum PreparedSide {
    Pipes { stdin: Option<OwnedFd>, stdout: OwnedFd, stderr: OwnedFd },
    Console(ConsoleSocket),
}

fn pipe_pair() -> Result<(OwnedFd, OwnedFd), IoError> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| IoError::Pipe(e.into()))?;
    // Bigger pipes mean fewer wake-ups for bulk data; refused (unprivileged, over the
    // pipe-max-size) it is only slower.
    let _ = rustix::pipe::fcntl_setpipe_size(&w, PIPE_SIZE);
    Ok((r, w))
}

static CONSOLE_SEQ: AtomicU64 = AtomicU64::new(0);

impl PreparedIo {
    /// Creates the pipes, or a console socket in `work_dir` for a TTY. Returns the stdio to
    /// give the runtime. Needs a tokio runtime.
    pub fn new(options: IoOptions, work_dir: &Path) -> Result<(PreparedIo, RuntimeStdio), IoError> {
        let (output, _) = broadcast::channel(ATTACH_BUFFER_CHUNKS);
        if options.tty {
            let n = CONSOLE_SEQ.fetch_add(1, Ordering::Relaxed);
            let path = work_dir.join(format!("console-{}-{n}.sock", std::process::id()));
            let socket =
                ConsoleSocket::bind(path.clone()).map_err(|source| IoError::Console { path: path.clone(), source })?;
            let stdio = RuntimeStdio::Console { socket: path };
            return Ok((PreparedIo { options, side: PreparedSide::Console(socket), output }, stdio));
        }
        let (stdout_r, stdout_w) = pipe_pair()?;
        let (stderr_r, stderr_w) = pipe_pair()?;
        let (stdin_ours, stdin_theirs) = if options.open_stdin {
            let (r, w) = pipe_pair()?;
            (Some(w), Some(r))
        } else {
            (None, None)
        };
        let stdio = RuntimeStdio::Fds { stdin: stdin_theirs, stdout: Some(stdout_w), stderr: Some(stderr_w) };
        let side = PreparedSide::Pipes { stdin: stdin_ours, stdout: stdout_r, stderr: stderr_r };
        Ok((PreparedIo { options, side, output }, stdio))
    }

    /// Subscribes to the output before it starts flowing (an exec's first bytes can come
    /// before the client could subscribe on the [`ContainerIo`]).
    pub fn subscribe(&self) -> OutputSubscription {
        OutputSubscription { rx: Some(self.output.subscribe()) }
    }

    /// After the runtime created the process: receives the terminal (TTY), starts the output
    /// pump, and returns the handle to attach to. `log` receives all output (containers;
    /// execs are not logged).
    pub async fn connect(self, log: Option<LogWriter>) -> Result<ContainerIo, IoError> {
        let (done_tx, done_rx) = watch::channel(false);
        let PreparedIo { options, side, output } = self;
        // The pump drops this sender when output ends, which ends every subscription.
        let slot = Arc::new(Mutex::new(Some(output.clone())));
        let ending = Ending { log: log.clone(), done: done_tx, output: slot.clone() };
        let (stdin, pty) = match side {
            PreparedSide::Pipes { stdin, stdout, stderr } => {
                let stdout = pipe::Receiver::from_owned_fd(stdout).map_err(IoError::Pipe)?;
                let stderr = pipe::Receiver::from_owned_fd(stderr).map_err(IoError::Pipe)?;
                let stdin = match stdin {
                    Some(fd) => {
                        StdinSlot::Available(StdinSink::Pipe(pipe::Sender::from_owned_fd(fd).map_err(IoError::Pipe)?))
                    }
                    None => StdinSlot::Absent,
                };
                let (out, log2) = (output.clone(), log.clone());
                tokio::spawn(async move {
                    tokio::join!(
                        pump_pipe(stdout, Stream::Stdout, &out, log2.as_ref()),
                        pump_pipe(stderr, Stream::Stderr, &out, log2.as_ref())
                    );
                    drop(out);
                    ending.finish();
                });
                (stdin, None)
            }
            PreparedSide::Console(socket) => {
                let path = socket.path().to_owned();
                let pty = socket
                    .receive(CONSOLE_RECEIVE_TIMEOUT)
                    .await
                    .map(Arc::new)
                    .map_err(|source| IoError::Console { path, source })?;
                if let Some(size) = options.console_size.filter(|s| s.rows > 0 && s.cols > 0) {
                    pty.resize(size).map_err(IoError::Resize)?;
                }
                let stdin = if options.open_stdin {
                    StdinSlot::Available(StdinSink::Pty(pty.clone()))
                } else {
                    StdinSlot::Absent
                };
                let (out, log2, reader) = (output.clone(), log.clone(), pty.clone());
                tokio::spawn(async move {
                    pump_pty(&reader, &out, log2.as_ref()).await;
                    drop(out);
                    ending.finish();
                });
                (stdin, Some(pty))
            }
        };
        drop(output);
        Ok(ContainerIo {
            inner: Arc::new(IoInner { options, output: slot, done: done_rx, stdin: Mutex::new(stdin), pty }),
        })
    }
}

/// What happens when output ends.
struct Ending {
    log: Option<LogWriter>,
    done: watch::Sender<bool>,
    output: Arc<Mutex<Option<broadcast::Sender<OutputChunk>>>>,
}

impl Ending {
    /// Flushes and closes the log, ends every subscription, tells waiters.
    fn finish(self) {
        if let Some(log) = self.log
            && let Err(e) = log.close()
        {
            tracing::warn!(error = %e, "cannot finish the container log");
        }
        lock(&self.output).take();
        self.done.send_replace(true);
    }
}

/// Sends a chunk to the log and to subscribers. A failing log is reported once and otherwise
/// ignored: the container must keep running.
fn publish(
    chunk: Bytes,
    stream: Stream,
    out: &broadcast::Sender<OutputChunk>,
    log: Option<&LogWriter>,
    log_failed: &mut bool,
) {
    if let Some(log) = log
        && !*log_failed
        && let Err(e) = log.write(stream, &chunk, SystemTime::now())
    {
        tracing::error!(error = %e, "container output is no longer logged");
        *log_failed = true;
    }
    // No subscribers is fine: nobody is attached.
    let _ = out.send(OutputChunk { stream, bytes: chunk });
}

async fn pump_pipe(
    mut rx: pipe::Receiver,
    stream: Stream,
    out: &broadcast::Sender<OutputChunk>,
    log: Option<&LogWriter>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut log_failed = false;
    loop {
        buf.reserve(READ_CHUNK);
        match rx.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => publish(buf.split().freeze(), stream, out, log, &mut log_failed),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, stream = stream.as_str(), "reading container output failed");
                break;
            }
        }
    }
}

async fn pump_pty(pty: &Pty, out: &broadcast::Sender<OutputChunk>, log: Option<&LogWriter>) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut log_failed = false;
    loop {
        match pty.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => publish(Bytes::copy_from_slice(&buf[..n]), Stream::Stdout, out, log, &mut log_failed),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "reading the container terminal failed");
                break;
            }
        }
    }
}

/// Where attached input goes.
#[derive(Debug)]
enum StdinSink {
    Pipe(pipe::Sender),
    Pty(Arc<Pty>),
}

#[derive(Debug)]
enum StdinSlot {
    /// `OpenStdin` was false.
    Absent,
    Available(StdinSink),
    Taken,
    Closed,
}

#[derive(Debug)]
struct IoInner {
    options: IoOptions,
    /// `None` once output ended (new subscribers get the end at once).
    output: Arc<Mutex<Option<broadcast::Sender<OutputChunk>>>>,
    done: watch::Receiver<bool>,
    stdin: Mutex<StdinSlot>,
    pty: Option<Arc<Pty>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The daemon's side of a running process's stdio. Cheap to clone; all clones are the same
/// stdio. Dropping every clone does not stop the output pump (the log keeps being written).
#[derive(Debug, Clone)]
pub struct ContainerIo {
    inner: Arc<IoInner>,
}

impl ContainerIo {
    /// Whether the process has a terminal (output is raw, one stream).
    pub fn is_tty(&self) -> bool {
        self.inner.options.tty
    }

    /// A new subscriber to the output from now on (an attach).
    pub fn subscribe(&self) -> OutputSubscription {
        OutputSubscription { rx: lock(&self.inner.output).as_ref().map(broadcast::Sender::subscribe) }
    }

    /// Takes the process's stdin for one attached client. Fails when it has none, when another
    /// client holds it, or once it was closed.
    pub fn take_stdin(&self) -> Result<StdinWriter, IoError> {
        let mut slot = lock(&self.inner.stdin);
        match std::mem::replace(&mut *slot, StdinSlot::Taken) {
            StdinSlot::Available(sink) => Ok(StdinWriter { sink: Some(sink), io: self.inner.clone() }),
            other => {
                let err = match &other {
                    StdinSlot::Absent => IoError::NoStdin,
                    StdinSlot::Closed => IoError::StdinClosed,
                    _ => IoError::StdinBusy,
                };
                *slot = other;
                Err(err)
            }
        }
    }

    /// Closes the process's stdin (unless a client holds it: then when that client lets go).
    pub fn close_stdin(&self) {
        let mut slot = lock(&self.inner.stdin);
        if matches!(*slot, StdinSlot::Available(_)) {
            *slot = StdinSlot::Closed;
        }
    }

    /// Resizes the terminal (`docker resize`/`exec resize`).
    pub fn resize(&self, size: WinSize) -> Result<(), IoError> {
        let pty = self.inner.pty.as_ref().ok_or(IoError::NotATerminal)?;
        pty.resize(size).map_err(IoError::Resize)
    }

    /// Waits until all output was read, logged and broadcast.
    pub async fn wait_closed(&self) {
        let mut done = self.inner.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Whether all output was read.
    pub fn is_closed(&self) -> bool {
        *self.inner.done.borrow()
    }
}

/// Lost output of a subscriber that fell behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client fell behind and missed {chunks} chunks of output")]
pub struct OutputLagged {
    pub chunks: u64,
}

/// One attached client's view of the output.
#[derive(Debug)]
pub struct OutputSubscription {
    rx: Option<broadcast::Receiver<OutputChunk>>,
}

impl OutputSubscription {
    /// The next chunk; `None` once the output ended; `Some(Err)` when this subscriber missed
    /// chunks (it can go on reading).
    pub async fn next(&mut self) -> Option<Result<OutputChunk, OutputLagged>> {
        let rx = self.rx.as_mut()?;
        match rx.recv().await {
            Ok(chunk) => Some(Ok(chunk)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Err(OutputLagged { chunks: n })),
            Err(broadcast::error::RecvError::Closed) => {
                self.rx = None;
                None
            }
        }
    }
}

/// The process's stdin, held by one attached client. Dropping it hands stdin back for the
/// next attach (or closes it, after [`StdinWriter::close`] or an end of input with
/// `StdinOnce`).
#[derive(Debug)]
pub struct StdinWriter {
    sink: Option<StdinSink>,
    io: Arc<IoInner>,
}

impl StdinWriter {
    /// Writes `buf` to the process. A process that closed its stdin (or exited) gives
    /// `BrokenPipe`.
    pub async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self.sink.as_mut() {
            Some(StdinSink::Pipe(p)) => p.write_all(buf).await,
            Some(StdinSink::Pty(p)) => p.write_all(buf).await,
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Copies the client's input to the process until it ends, with one large buffer. At the
    /// end, with `StdinOnce`, the process's stdin is closed (on a TTY the terminal stays: it is
    /// the process's output too). A process that stopped reading ends the copy without error.
    /// Returns the bytes copied.
    pub async fn copy_from<R: AsyncRead + Unpin + ?Sized>(&mut self, input: &mut R) -> std::io::Result<u64> {
        let mut buf = vec![0u8; STDIN_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match input.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            match self.write_all(&buf[..n]).await {
                Ok(()) => total += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    self.close_now();
                    return Ok(total);
                }
                Err(e) => return Err(e),
            }
        }
        if self.io.options.stdin_once {
            self.close_now();
        }
        Ok(total)
    }

    /// Closes the process's stdin: it reads end of input.
    pub fn close(mut self) {
        self.close_now();
    }

    fn close_now(&mut self) {
        self.sink = None;
        *lock(&self.io.stdin) = StdinSlot::Closed;
    }
}

impl Drop for StdinWriter {
    fn drop(&mut self) {
        let mut slot = lock(&self.io.stdin);
        if matches!(*slot, StdinSlot::Taken) {
            *slot = match self.sink.take() {
                Some(sink) => StdinSlot::Available(sink),
                None => StdinSlot::Closed,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaper::tests::test_reaper;
    use std::process::Command;
    use std::time::Duration;

    /// Runs `script` with the prepared stdio, as a runtime would, and connects.
    async fn run_sh(
        options: IoOptions,
        script: &str,
        log: Option<LogWriter>,
    ) -> (ContainerIo, OutputSubscription, crate::ExitWatch) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (prepared, stdio) = PreparedIo::new(options, dir.path()).expect("prepare");
        let sub = prepared.subscribe();
        let RuntimeStdio::Fds { stdin, stdout, stderr } = stdio else { panic!("pipes expected") };
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        cmd.stdin(stdin.map(std::process::Stdio::from).unwrap_or_else(std::process::Stdio::null));
        cmd.stdout(stdout.map(std::process::Stdio::from).expect("stdout"));
        cmd.stderr(stderr.map(std::process::Stdio::from).expect("stderr"));
        let child = test_reaper().spawn(&mut cmd).expect("spawn");
        drop(cmd);
        let io = prepared.connect(log).await.expect("connect");
        (io, sub, child.exit)
    }

    async fn collect(sub: &mut OutputSubscription) -> (Vec<u8>, Vec<u8>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = sub.next().await {
            let chunk = chunk.expect("no lag");
            match chunk.stream {
                Stream::Stderr => err.extend_from_slice(&chunk.bytes),
                _ => out.extend_from_slice(&chunk.bytes),
            }
        }
        (out, err)
    }

    #[tokio::test]
    async fn output_reaches_subscribers_and_the_log_then_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = LogWriter::open(&dir.path().join("c-json.log")).expect("log");
        let (io, mut sub, exit) =
            run_sh(IoOptions::default(), "echo out; echo err >&2; printf tail", Some(log.clone())).await;
        let (out, err) = collect(&mut sub).await;
        assert_eq!(out, b"out\ntail");
        assert_eq!(err, b"err\n");
        assert!(exit.wait().await.success());
        io.wait_closed().await;
        assert!(io.subscribe().next().await.is_none(), "a late subscriber sees the end at once");
        let text = std::fs::read_to_string(log.path()).expect("log");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains(r#""log":"tail","stream":"stdout""#), "{text}");
        assert!(matches!(io.take_stdin(), Err(IoError::NoStdin)));
        assert!(matches!(io.resize(WinSize { rows: 1, cols: 1 }), Err(IoError::NotATerminal)));
    }

    #[tokio::test]
    async fn stdin_once_closes_the_process_stdin_at_end_of_input() {
        let options = IoOptions { open_stdin: true, stdin_once: true, ..IoOptions::default() };
        let (io, mut sub, exit) = run_sh(options, "wc -c", None).await;
        let mut writer = io.take_stdin().expect("stdin");
        assert!(matches!(io.take_stdin(), Err(IoError::StdinBusy)), "one client at a time");
        let data = vec![b'x'; 3 * STDIN_CHUNK + 7];
        let copied = writer.copy_from(&mut &data[..]).await.expect("copy");
        assert_eq!(copied, data.len() as u64);
        drop(writer);
        assert!(matches!(io.take_stdin(), Err(IoError::StdinClosed)));
        let (out, _) = collect(&mut sub).await;
        assert_eq!(String::from_utf8_lossy(&out).trim(), data.len().to_string());
        assert!(exit.wait().await.success());
    }

    #[tokio::test]
    async fn without_stdin_once_the_next_client_continues() {
        let options = IoOptions { open_stdin: true, stdin_once: false, ..IoOptions::default() };
        let (io, mut sub, exit) = run_sh(options, "cat", None).await;
        let mut first = io.take_stdin().expect("first");
        first.copy_from(&mut &b"one\n"[..]).await.expect("copy");
        drop(first);
        let mut second = io.take_stdin().expect("stdin handed back");
        second.write_all(b"two\n").await.expect("write");
        second.close();
        let (out, _) = collect(&mut sub).await;
        assert_eq!(out, b"one\ntwo\n");
        assert!(exit.wait().await.success());
    }

    #[tokio::test]
    async fn a_process_that_stops_reading_ends_the_copy_quietly() {
        let options = IoOptions { open_stdin: true, stdin_once: true, ..IoOptions::default() };
        let (io, _sub, exit) = run_sh(options, "head -c 10 >/dev/null", None).await;
        let mut writer = io.take_stdin().expect("stdin");
        let data = vec![b'x'; 8 * 1024 * 1024];
        let copied = tokio::time::timeout(Duration::from_secs(10), writer.copy_from(&mut &data[..]))
            .await
            .expect("no hang")
            .expect("broken pipe is not an error");
        assert!(copied < data.len() as u64);
        assert!(exit.wait().await.success());
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_without_blocking_output() {
        // Far more 64 KiB reads than the broadcast keeps.
        const TOTAL: usize = 2 * ATTACH_BUFFER_CHUNKS * READ_CHUNK;
        let (io, mut slow, exit) = run_sh(IoOptions::default(), &format!("head -c {TOTAL} /dev/zero"), None).await;
        let mut fast = io.subscribe();
        let mut fast_bytes = 0;
        while let Some(chunk) = fast.next().await {
            fast_bytes += chunk.expect("the reading subscriber keeps up").bytes.len();
        }
        assert_eq!(fast_bytes, TOTAL);
        assert!(exit.wait().await.success(), "the process was never blocked by the slow client");
        io.wait_closed().await;
        let (mut slow_bytes, mut lost) = (0, 0);
        while let Some(r) = slow.next().await {
            match r {
                Ok(chunk) => slow_bytes += chunk.bytes.len(),
                Err(lag) => lost += lag.chunks,
            }
        }
        assert!(lost > 0, "the slow subscriber must have been told it lagged");
        assert!(slow_bytes < TOTAL);
    }
}
