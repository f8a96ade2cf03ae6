//! Container logs in Docker's `json-file` format: written as output arrives, read back for
//! `docker logs` with `follow`, `tail`, `since`/`until` and stream selection.
//!
//! One JSON object per line, exactly as Docker writes it, so that tools which read Docker's
//! files (log shippers, `jq` one-liners) read ours:
//!
//! ```text
//! {"log":"hi\n","stream":"stdout","time":"2026-11-26T17:49:23.123456789Z"}
//! ```
//!
//! Output is split at newlines, one entry per line (the newline kept); a line longer than
//! [`MAX_LINE_BYTES`] is cut into several entries without newlines, and so is an unterminated
//! last line when the output ends. Strings are encoded as Go's encoder does (invalid UTF-8 becomes
//! U+FFFD, `<`, `>`, `&`, U+2028 and U+2029 are escaped) and times are RFC 3339 in UTC with
//! trailing zeros of the fraction dropped.
//!
//! The file lives in the data-root (`containers/<id>/<id>-json.log`) and survives daemon
//! restarts; a new [`LogWriter`] appends to it. A follower learns about new lines from the
//! writer (a watch channel, no inotify) and ends when the writer is closed at the end of the
//! container's output.
//!
//! With a size cap ([`Rotation`], Docker's `max-size`/`max-file` log options) the writer checks
//! before each entry whether it would take the file past the cap and, if so, rotates as Docker
//! does:
//! `…-json.log.1` becomes `.2` and so on up to `max-file - 1` (the oldest is dropped), the file
//! becomes `.1`, and a new file starts; with `max-file=1` the full file is simply replaced.
//! Readers read the rotated files oldest first, and a follower that hits the end of a file
//! which was rotated away moves on to the new one (the writer counts rotations).
//!
//! Writes are synchronous page-cache writes under a mutex, made by the task that read the
//! output: like Docker's default "blocking" log mode, a container cannot outrun its log.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::watch;

use crate::io::Stream;

/// Longest log entry; longer lines are split (Docker's limit, 16 KiB).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Mode of a new log file: owner read-write, group read (Docker's).
const LOG_FILE_MODE: u32 = 0o640;
/// Block size when scanning backwards for `tail`.
const TAIL_BLOCK: u64 = 64 * 1024;

/// Why a log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open log file {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot write log file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read log file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// What the writer tells followers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// Entries written so far (changes wake followers).
    entries: u64,
    /// No more entries will come.
    closed: bool,
    /// Times the file was rotated (a follower at the end of its file then opens the new one).
    rotations: u64,
}

/// Docker's `max-size` and `max-file` for a json-file log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the file holds this many bytes; `None`: never.
    pub max_size: Option<u64>,
    /// Files kept, the current one included (at least 1).
    pub max_file: u32,
}

impl Default for Rotation {
    fn default() -> Rotation {
        Rotation { max_size: None, max_file: 1 }
    }
}

/// The name of the `n`th rotated file of the log at `path` (`…-json.log.n`).
fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The rotated files of the log at `path` that exist, oldest first.
fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in 1.. {
        let f = rotated(path, n);
        if !f.exists() {
            break;
        }
        files.push(f);
    }
    files.reverse();
    files
}

/// Appends a container's output to its json-file log. Cheap to clone; all clones write the
/// same file.
#[derive(Debug, Clone)]
pub struct LogWriter {
    inner: Arc<WriterInner>,
}

#[derive(Debug)]
struct WriterInner {
    path: PathBuf,
    state: Mutex<WriterState>,
    progress: watch::Sender<Progress>,
}

#[derive(Debug)]
struct WriterState {
    file: File,
    /// Bytes in `file`.
    size: u64,
    rotation: Rotation,
    /// Where each entry in `encoded` ends (for rotation between entries).
    ends: Vec<usize>,
    /// The unterminated tail of each stream's output (stdout, stderr).
    partial: [Vec<u8>; 2],
    /// Encoding buffer, reused.
    encoded: Vec<u8>,
    closed: bool,
}

/// Lets a reader follow a log while its writer is open.
#[derive(Debug, Clone)]
pub struct LogFollow {
    rx: watch::Receiver<Progress>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn partial_index(stream: Stream) -> usize {
    match stream {
        Stream::Stderr => 1,
        _ => 0,
    }
}

impl LogWriter {
    /// Opens (creating it, mode 0640) the log at `path` for appending, never rotated.
    pub fn open(path: &Path) -> Result<LogWriter, LogError> {
        LogWriter::open_rotating(path, Rotation::default())
    }

    /// Opens the log at `path` for appending, rotated by `rotation`.
    pub fn open_rotating(path: &Path, rotation: Rotation) -> Result<LogWriter, LogError> {
        let file = open_append(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let state = WriterState {
            file,
            size,
            rotation,
            ends: Vec::new(),
            partial: [Vec::new(), Vec::new()],
            encoded: Vec::new(),
            closed: false,
        };
        let (progress, _) = watch::channel(Progress::default());
        Ok(LogWriter { inner: Arc::new(WriterInner { path: path.to_owned(), state: Mutex::new(state), progress }) })
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A handle for [`LogReader::open`] to follow this log.
    pub fn follow(&self) -> LogFollow {
        LogFollow { rx: self.inner.progress.subscribe() }
    }

    /// Logs `data` read from `stream` at `time`. Complete lines are written at once; the rest
    /// waits for its newline (or for [`LogWriter::close`]).
    pub fn write(&self, stream: Stream, data: &[u8], time: SystemTime) -> Result<(), LogError> {
        let mut st = lock(&self.inner.state);
        if st.closed {
            return Ok(());
        }
        let st = &mut *st;
        let idx = partial_index(stream);
        st.encoded.clear();
        st.ends.clear();
        let mut entries = 0;
        let mut rest = data;
        while !rest.is_empty() {
            let (line, more) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => rest.split_at(i + 1),
                None => (rest, &[][..]),
            };
            rest = more;
            let partial = &mut st.partial[idx];
            partial.extend_from_slice(line);
            if partial.ends_with(b"\n") {
                for piece in partial.chunks(MAX_LINE_BYTES) {
                    encode_entry(&mut st.encoded, piece, stream, time);
                    st.ends.push(st.encoded.len());
                    entries += 1;
                }
                partial.clear();
            } else {
                while partial.len() >= MAX_LINE_BYTES {
                    encode_entry(&mut st.encoded, &partial[..MAX_LINE_BYTES], stream, time);
                    st.ends.push(st.encoded.len());
                    entries += 1;
                    partial.drain(..MAX_LINE_BYTES);
                }
            }
        }
        self.flush_encoded(st, entries)
    }

    fn flush_encoded(&self, st: &mut WriterState, entries: u64) -> Result<(), LogError> {
        if entries == 0 {
            return Ok(());
        }
        let write_err = |source| LogError::Write { path: self.inner.path.clone(), source };
        match st.rotation.max_size {
            None => {
                st.file.write_all(&st.encoded).map_err(write_err)?;
                st.size += st.encoded.len() as u64;
            }
            Some(cap) => {
                // As Docker: before each entry, rotate if the entry would take the file past
                // the cap (an entry larger than the cap still goes into an empty file).
                let (mut start, mut at) = (0, 0);
                for i in 0..st.ends.len() {
                    let end = st.ends[i];
                    if st.size > 0 && st.size + (end - at) as u64 > cap {
                        st.file.write_all(&st.encoded[start..at]).map_err(write_err)?;
                        self.rotate(st)?;
                        start = at;
                    }
                    st.size += (end - at) as u64;
                    at = end;
                }
                st.file.write_all(&st.encoded[start..at]).map_err(write_err)?;
            }
        }
        self.inner.progress.send_modify(|p| p.entries += entries);
        Ok(())
    }

    /// Shifts the rotated files up by one (dropping the oldest), moves the full file to `.1`
    /// (or drops it with `max_file` 1) and starts a new one.
    fn rotate(&self, st: &mut WriterState) -> Result<(), LogError> {
        let path = &self.inner.path;
        let write_err = |source| LogError::Write { path: path.clone(), source };
        let keep = st.rotation.max_file.max(1) - 1;
        if keep == 0 {
            std::fs::remove_file(path).map_err(write_err)?;
        } else {
            // Only the files that exist move (`.1` … are contiguous): a large `max-file` costs
            // nothing until there are that many files.
            let existing = (1..keep).take_while(|&n| rotated(path, n).exists()).count();
            for n in (1..=existing as u32).rev() {
                std::fs::rename(rotated(path, n), rotated(path, n + 1)).map_err(write_err)?;
            }
            std::fs::rename(path, rotated(path, 1)).map_err(write_err)?;
        }
        st.file = open_append(path)?;
        st.size = 0;
        self.inner.progress.send_modify(|p| p.rotations += 1);
        Ok(())
    }

    /// Writes what is left of unterminated lines and ends every follower. Idempotent.
    pub fn close(&self) -> Result<(), LogError> {
        let mut st = lock(&self.inner.state);
        if st.closed {
            return Ok(());
        }
        let st = &mut *st;
        st.encoded.clear();
        st.ends.clear();
        let now = SystemTime::now();
        let mut entries = 0;
        for (idx, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
            if !st.partial[idx].is_empty() {
                let partial = std::mem::take(&mut st.partial[idx]);
                encode_entry(&mut st.encoded, &partial, stream, now);
                st.ends.push(st.encoded.len());
                entries += 1;
            }
        }
        let result = self.flush_encoded(st, entries);
        st.closed = true;
        self.inner.progress.send_modify(|p| p.closed = true);
        result
    }
}

/// Opens (creating it, mode 0640) a log file for appending.
fn open_append(path: &Path) -> Result<File, LogError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(LOG_FILE_MODE)
        .open(path)
        .map_err(|source| LogError::Open { path: path.to_owned(), source })
}

impl Drop for WriterInner {
    fn drop(&mut self) {
        self.progress.send_modify(|p| p.closed = true);
    }
}

/// Appends one json-file line to `out`.
fn encode_entry(out: &mut Vec<u8>, log: &[u8], stream: Stream, time: SystemTime) {
    out.extend_from_slice(b"{\"log\":");
    push_json_string(out, log);
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(format_file_time(time).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// A JSON string as Go's encoder writes it.
fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let v = c as u32;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(v >> 4) as usize]);
                    out.push(HEX[(v & 0xf) as usize]);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// RFC 3339 in UTC with nanoseconds, trailing zeros of the fraction dropped (Go's
/// `time.RFC3339Nano`, what Docker writes in the file).
fn format_file_time(t: SystemTime) -> String {
    let full = humantime::format_rfc3339_nanos(t).to_string();
    // "2026-11-26T17:49:23.120000000Z" → "2026-11-26T17:49:23.12Z"
    match full.strip_suffix('Z').and_then(|s| s.split_once('.')) {
        Some((secs, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() { format!("{secs}Z") } else { format!("{secs}.{frac}Z") }
        }
        None => full,
    }
}

/// RFC 3339 in UTC with exactly nine fractional digits: the prefix `docker logs -t` prints.
pub fn format_timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

/// Parses the API's `since`/`until`: unix seconds with an optional fraction
/// (`1700000000`, `1700000000.5`, `1700000000.000000001`).
pub fn parse_unix_timestamp(s: &str) -> Option<SystemTime> {
    const NANOS_DIGITS: usize = 9;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: u64 = secs.parse().ok()?;
    if frac.len() > NANOS_DIGITS || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Which entries [`LogReader`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Keep reading as the log grows, until its writer is closed.
    pub follow: bool,
    /// Only the last N lines of the file (counted over both streams, as Docker does);
    /// `None` for all.
    pub tail: Option<usize>,
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries at or before this time; a follower stops there.
    pub until: Option<SystemTime>,
}

/// One log entry: the API layer frames it (8-byte header, or raw for a TTY) and prefixes
/// [`format_timestamp`] when asked for timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub time: SystemTime,
    pub bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct RawEntry {
    log: String,
    stream: String,
    time: String,
}

/// Reads a json-file log. Reads are small synchronous reads of one line at a time, so a large
/// log never holds a worker for long.
#[derive(Debug)]
pub struct LogReader {
    path: PathBuf,
    /// The file being read: one of `older`'s, then the current log.
    file: Option<BufReader<File>>,
    /// Rotated files still to read after the one open, oldest first, with where to start
    /// (open already, so that a later rotation renaming them does not matter).
    older: std::collections::VecDeque<(File, u64)>,
    /// The current log, opened with `older` and read after them (from `current_start`).
    current: Option<File>,
    current_start: u64,
    /// Whether `file` is the current log (not a rotated one).
    on_current: bool,
    /// The writer's rotation count when the current log was opened.
    rotations_seen: u64,
    options: LogOptions,
    live: Option<LogFollow>,
    writer_gone: bool,
    line: Vec<u8>,
    finished: bool,
}

impl LogReader {
    /// Opens the log at `path` (a missing file reads as empty). `live` comes from the
    /// container's current [`LogWriter`], when it runs; without it `follow` ends at the end of
    /// the file, as for a stopped container.
    pub fn open(path: &Path, options: LogOptions, live: Option<LogFollow>) -> Result<LogReader, LogError> {
        let read_err = |source| LogError::Read { path: path.to_owned(), source };
        let live = if options.follow { live } else { None };
        // Before opening anything: a rotation after this point is seen by the follower.
        let rotations_seen = live.as_ref().map_or(0, |f| f.rx.borrow().rotations);
        let mut current = match File::open(path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(read_err(e)),
        };
        // The rotated files, and where to start in each: all of them, or for `tail` only as far
        // back as the last lines reach (counted from the newest file back).
        let mut older = std::collections::VecDeque::new();
        let mut current_start = 0;
        let rotated = rotated_files(path);
        match options.tail {
            None => older.extend(rotated.iter().filter_map(|f| File::open(f).ok()).map(|f| (f, 0))),
            Some(n) => {
                let mut left = n;
                if let Some(f) = &mut current {
                    let (at, found) = tail_offset(f, left).map_err(read_err)?;
                    current_start = at;
                    left -= found;
                }
                for older_file in rotated.into_iter().rev() {
                    if left == 0 {
                        break;
                    }
                    let Ok(mut f) = File::open(&older_file) else { continue };
                    let (at, found) = tail_offset(&mut f, left).map_err(read_err)?;
                    left -= found;
                    older.push_front((f, at));
                }
            }
        }
        let mut reader = LogReader {
            path: path.to_owned(),
            file: None,
            older,
            current,
            current_start,
            on_current: false,
            rotations_seen,
            options,
            live,
            writer_gone: false,
            line: Vec::new(),
            finished: false,
        };
        reader.advance()?;
        Ok(reader)
    }

    /// Moves on to the next file to read: the oldest rotated file left, else the current log
    /// (when it did not exist yet, [`LogReader::read_line`] opens it once it does).
    fn advance(&mut self) -> Result<(), LogError> {
        self.line.clear();
        if let Some((mut f, start)) = self.older.pop_front() {
            f.seek(SeekFrom::Start(start)).map_err(|source| LogError::Read { path: self.path.clone(), source })?;
            self.on_current = false;
            self.file = Some(BufReader::new(f));
            return Ok(());
        }
        self.on_current = true;
        self.file = match self.current.take() {
            Some(mut f) => {
                f.seek(SeekFrom::Start(self.current_start))
                    .map_err(|source| LogError::Read { path: self.path.clone(), source })?;
                Some(BufReader::new(f))
            }
            None => None,
        };
        Ok(())
    }

    /// Whether `path` names the file being read.
    fn is_open_file(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Some(file), Ok(named)) = (&self.file, std::fs::metadata(path)) else { return false };
        file.get_ref().metadata().is_ok_and(|m| m.dev() == named.dev() && m.ino() == named.ino())
    }

    /// The writer rotated `missed` times since the open file was the log: queues the files
    /// written after it (rotated names `.{missed-1}` … `.1`, or fewer when the open file is one
    /// of them), then the new log.
    fn follow_rotation(&mut self, missed: u64) -> Result<(), LogError> {
        if self.is_open_file(&self.path) {
            return Ok(());
        }
        let newer = u32::try_from(missed.saturating_sub(1)).unwrap_or(u32::MAX);
        let start_after = (1..=newer).find(|&n| self.is_open_file(&rotated(&self.path, n))).unwrap_or(newer + 1);
        for n in (1..start_after).rev() {
            if let Ok(f) = File::open(rotated(&self.path, n)) {
                self.older.push_back((f, 0));
            }
        }
        self.current = File::open(&self.path).ok();
        self.current_start = 0;
        self.advance()
    }

    /// The next entry, or `None` at the end (for a follower: once the writer closed and
    /// everything it wrote was read, or `until` passed).
    pub async fn next(&mut self) -> Result<Option<LogEntry>, LogError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            // Seen-marker first: a write after this point wakes the wait below.
            let (closed, rotations) = match &mut self.live {
                Some(f) => {
                    let p = *f.rx.borrow_and_update();
                    (self.writer_gone || p.closed, p.rotations)
                }
                None => (true, self.rotations_seen),
            };
            if let Some(line) = self.read_line()? {
                match self.decode(&line) {
                    Some(entry) if self.options.until.is_some_and(|u| entry.time > u) => {
                        self.finished = true;
                    }
                    Some(entry) if self.wanted(&entry) => return Ok(Some(entry)),
                    _ => {}
                }
                continue;
            }
            if !self.on_current {
                self.advance()?;
                continue;
            }
            if rotations != self.rotations_seen {
                // Everything written to the open file before the rotation was read above: go
                // on in the files written since.
                let missed = rotations - self.rotations_seen;
                self.rotations_seen = rotations;
                self.follow_rotation(missed)?;
                continue;
            }
            if closed {
                self.finished = true;
                continue;
            }
            let Some(f) = &mut self.live else { continue };
            let until = self.options.until.map(|u| u.duration_since(SystemTime::now()).unwrap_or_default());
            tokio::select! {
                changed = f.rx.changed() => {
                    if changed.is_err() {
                        self.writer_gone = true;
                    }
                }
                _ = sleep_opt(until) => self.finished = true,
            }
        }
    }

    /// One complete line, or `None` at the (current) end of the file; an unterminated line
    /// stays buffered until its newline is written.
    fn read_line(&mut self) -> Result<Option<Vec<u8>>, LogError> {
        let Some(file) = &mut self.file else {
            // The file may appear once the container writes (follow of a fresh container).
            match File::open(&self.path) {
                Ok(f) => self.file = Some(BufReader::new(f)),
                Err(_) => return Ok(None),
            }
            return self.read_line();
        };
        file.read_until(b'\n', &mut self.line).map_err(|source| LogError::Read { path: self.path.clone(), source })?;
        if self.line.ends_with(b"\n") { Ok(Some(std::mem::take(&mut self.line))) } else { Ok(None) }
    }

    fn decode(&self, line: &[u8]) -> Option<LogEntry> {
        let raw: RawEntry = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(path = %self.path.display(), error = %e, "skipping a corrupt log line");
                return None;
            }
        };
        let stream = match raw.stream.as_str() {
            "stderr" => Stream::Stderr,
            _ => Stream::Stdout,
        };
        let time = humantime::parse_rfc3339(&raw.time).ok()?;
        Some(LogEntry { stream, time, bytes: raw.log.into_bytes() })
    }

    fn wanted(&self, e: &LogEntry) -> bool {
        let stream_ok = match e.stream {
            Stream::Stderr => self.options.stderr,
            _ => self.options.stdout,
        };
        stream_ok && self.options.since.is_none_or(|s| e.time >= s)
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The offset where the last `n` lines of `f` begin, and how many lines that is (fewer than `n`
/// when the file has fewer: then the offset is 0).
fn tail_offset(f: &mut File, n: usize) -> io::Result<(u64, usize)> {
    let len = f.metadata()?.len();
    if n == 0 {
        return Ok((len, 0));
    }
    let mut seen = 0;
    let mut end = len;
    let mut block = vec![0u8; TAIL_BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(TAIL_BLOCK);
        let buf = &mut block[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(buf)?;
        for (i, b) in buf.iter().enumerate().rev() {
            let at = start + i as u64;
            // The newline ending the file terminates the last line; it does not start one.
            if *b == b'\n' && at + 1 != len {
                seen += 1;
                if seen == n {
                    return Ok((at + 1, n));
                }
            }
        }
        end = start;
    }
    // The first line has no newline before it.
    Ok((0, if len > 0 { seen + 1 } else { 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
    }

    /// 2026-11-26T17:49:23Z
    const T0: u64 = 1_795_715_363;

    fn encoded(log: &[u8], stream: Stream, time: SystemTime) -> String {
        let mut out = Vec::new();
        encode_entry(&mut out, log, stream, time);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn entries_are_docker_s_lines() {
        assert_eq!(
            encoded(b"hi\n", Stream::Stdout, at(T0, 123_456_789)),
            "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T17:49:23.123456789Z\"}\n"
        );
        assert_eq!(
            encoded(b"x", Stream::Stderr, at(T0, 120_000_000)),
            "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-26T17:49:23.12Z\"}\n"
        );
        assert_eq!(
            encoded(b"", Stream::Stdout, at(T0, 0)),
            "{\"log\":\"\",\"stream\":\"stdout\",\"time\":\"2026-11-26T17:49:23Z\"}\n"
        );
    }

    #[test]
    fn strings_are_escaped_as_go_does() {
        let cases: &[(&[u8], &str)] = &[
            (b"a\"b\\c", r#""a\"b\\c""#),
            (b"\t\r\n", r#""\t\r\n""#),
            (b"\x01\x1b[0m", r#""\u0001\u001b[0m""#),
            (b"<a&b>", r#""\u003ca\u0026b\u003e""#),
            ("é\u{2028}€".as_bytes(), "\"é\\u2028€\""),
            (b"\xff\xfeok", r#""\ufffd\ufffdok""#),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            push_json_string(&mut out, input);
            assert_eq!(String::from_utf8(out).expect("utf8"), *want);
            // And every output is valid JSON that decodes to the (lossy) input.
            let mut out = Vec::new();
            push_json_string(&mut out, input);
            let back: String = serde_json::from_slice(&out).expect("valid json");
            assert_eq!(back, String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn unix_timestamps_parse_with_fractions() {
        assert_eq!(parse_unix_timestamp("1700000000"), Some(at(1_700_000_000, 0)));
        assert_eq!(parse_unix_timestamp("1700000000.5"), Some(at(1_700_000_000, 500_000_000)));
        assert_eq!(parse_unix_timestamp("1700000000.000000001"), Some(at(1_700_000_000, 1)));
        for bad in ["", "x", "1.2.3", "1.0000000001", "-5", "1.-5"] {
            assert_eq!(parse_unix_timestamp(bad), None, "{bad:?}");
        }
        assert_eq!(format_timestamp(at(T0, 5)), "2026-11-26T17:49:23.000000005Z");
    }

    fn all() -> LogOptions {
        LogOptions { stdout: true, stderr: true, ..LogOptions::default() }
    }

    async fn read_all(path: &Path, options: LogOptions, live: Option<LogFollow>) -> Vec<(Stream, String)> {
        let mut r = LogReader::open(path, options, live).expect("open");
        let mut out = Vec::new();
        while let Some(e) = r.next().await.expect("next") {
            out.push((e.stream, String::from_utf8(e.bytes).expect("utf8")));
        }
        out
    }

    #[tokio::test]
    async fn lines_are_split_joined_and_flushed_at_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open(&path).expect("open");
        let t = at(T0, 0);
        w.write(Stream::Stdout, b"one\ntw", t).expect("write");
        w.write(Stream::Stderr, b"err\n", t).expect("write");
        w.write(Stream::Stdout, b"o\nthree", t).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 3, "the unterminated line waits: {text}");
        w.close().expect("close");
        w.write(Stream::Stdout, b"after close\n", t).expect("ignored");
        let got = read_all(&path, all(), None).await;
        let want = [
            (Stream::Stdout, "one\n"),
            (Stream::Stderr, "err\n"),
            (Stream::Stdout, "two\n"),
            (Stream::Stdout, "three"),
        ];
        assert_eq!(got, want.map(|(s, l)| (s, l.to_owned())));
    }

    #[tokio::test]
    async fn long_lines_are_cut_into_16k_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open(&path).expect("open");
        let long = vec![b'a'; MAX_LINE_BYTES * 2 + 10];
        w.write(Stream::Stdout, &long, at(T0, 0)).expect("write");
        w.write(Stream::Stdout, b"\n", at(T0, 0)).expect("write");
        w.close().expect("close");
        let lens: Vec<usize> = read_all(&path, all(), None).await.iter().map(|(_, l)| l.len()).collect();
        assert_eq!(lens, vec![MAX_LINE_BYTES, MAX_LINE_BYTES, 11]);
    }

    #[tokio::test]
    async fn tail_since_until_and_streams_select_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open(&path).expect("open");
        for i in 0..10u64 {
            let stream = if i % 2 == 0 { Stream::Stdout } else { Stream::Stderr };
            w.write(stream, format!("{i}\n").as_bytes(), at(T0 + i, 0)).expect("write");
        }
        w.close().expect("close");
        let lines = |v: Vec<(Stream, String)>| v.into_iter().map(|(_, l)| l.trim().to_owned()).collect::<Vec<_>>();

        assert_eq!(lines(read_all(&path, LogOptions { tail: Some(3), ..all() }, None).await), ["7", "8", "9"]);
        assert!(read_all(&path, LogOptions { tail: Some(0), ..all() }, None).await.is_empty());
        assert_eq!(read_all(&path, LogOptions { tail: Some(100), ..all() }, None).await.len(), 10);
        // tail counts lines of both streams, then the stream filter applies (Docker's order).
        let stdout_only = LogOptions { stdout: true, stderr: false, tail: Some(3), ..LogOptions::default() };
        assert_eq!(lines(read_all(&path, stdout_only, None).await), ["8"]);
        let window = LogOptions { since: Some(at(T0 + 3, 0)), until: Some(at(T0 + 5, 0)), ..all() };
        assert_eq!(lines(read_all(&path, window, None).await), ["3", "4", "5"]);
        let stderr_only = LogOptions { stdout: false, stderr: true, ..LogOptions::default() };
        assert_eq!(lines(read_all(&path, stderr_only, None).await), ["1", "3", "5", "7", "9"]);
    }

    #[test]
    fn tail_offsets_handle_block_boundaries_and_unterminated_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let line = "x".repeat(1000) + "\n";
        let body = line.repeat(200); // 200 KB: several blocks
        std::fs::write(&path, &body).expect("write");
        let mut f = File::open(&path).expect("open");
        assert_eq!(tail_offset(&mut f, 1).expect("tail"), (199 * 1001, 1));
        assert_eq!(tail_offset(&mut f, 131).expect("tail"), (69 * 1001, 131));
        assert_eq!(tail_offset(&mut f, 500).expect("tail"), (0, 200), "fewer lines than asked");
        std::fs::write(&path, "a\nb\nc").expect("write");
        let mut f = File::open(&path).expect("open");
        assert_eq!(tail_offset(&mut f, 1).expect("tail"), (4, 1));
        assert_eq!(tail_offset(&mut f, 2).expect("tail"), (2, 2));
        assert_eq!(tail_offset(&mut f, 9).expect("tail"), (0, 3));
        std::fs::write(&path, "").expect("write");
        let mut f = File::open(&path).expect("open");
        assert_eq!(tail_offset(&mut f, 3).expect("tail"), (0, 0));
    }

    /// Writes `n` 40-byte lines (`line-000` … padded), one write each.
    fn write_lines(w: &LogWriter, from: usize, n: usize) {
        for i in from..from + n {
            w.write(Stream::Stdout, format!("line-{i:03}-{}\n", "x".repeat(30)).as_bytes(), at(T0, 0)).expect("write");
        }
    }

    fn numbers(entries: &[(Stream, String)]) -> Vec<usize> {
        entries.iter().map(|(_, l)| l[5..8].parse().expect("number")).collect()
    }

    #[tokio::test]
    async fn a_capped_log_rotates_keeps_max_file_files_and_reads_across_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let entry_len = {
            let mut e = Vec::new();
            encode_entry(&mut e, format!("line-000-{}\n", "x".repeat(30)).as_bytes(), Stream::Stdout, at(T0, 0));
            e.len() as u64
        };
        // Four entries per file: the fifth would pass the cap and goes to a new file.
        let w = LogWriter::open_rotating(&path, Rotation { max_size: Some(entry_len * 4), max_file: 3 }).expect("open");
        write_lines(&w, 0, 30);
        w.close().expect("close");
        assert!(rotated(&path, 2).exists() && !rotated(&path, 3).exists(), "max-file 3: the log, .1 and .2");
        for f in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            let len = std::fs::metadata(&f).expect("stat").len();
            assert!(len <= entry_len * 4, "{} holds {len} bytes", f.display());
        }
        // 30 lines in files of 4: the last 2 in the log, 4 in .1, 4 in .2, the oldest 20 dropped.
        let all_lines = read_all(&path, all(), None).await;
        assert_eq!(numbers(&all_lines), (20..30).collect::<Vec<_>>());
        let tail = LogOptions { tail: Some(7), ..all() };
        assert_eq!(numbers(&read_all(&path, tail, None).await), (23..30).collect::<Vec<_>>(), "tail spans files");
        let tail = LogOptions { tail: Some(100), ..all() };
        assert_eq!(read_all(&path, tail, None).await.len(), 10);
    }

    #[tokio::test]
    async fn a_huge_max_file_moves_only_the_files_that_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        // One entry per file: every write rotates; each rotation must not walk a billion names.
        let w = LogWriter::open_rotating(&path, Rotation { max_size: Some(10), max_file: u32::MAX }).expect("open");
        write_lines(&w, 0, 20);
        w.close().expect("close");
        assert!(rotated(&path, 19).exists() && !rotated(&path, 20).exists());
        assert_eq!(numbers(&read_all(&path, all(), None).await), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn max_file_1_replaces_the_full_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open_rotating(&path, Rotation { max_size: Some(100), max_file: 1 }).expect("open");
        write_lines(&w, 0, 10);
        w.close().expect("close");
        assert!(!rotated(&path, 1).exists());
        assert_eq!(numbers(&read_all(&path, all(), None).await), vec![9]);
    }

    #[tokio::test]
    async fn a_follower_goes_on_in_the_new_file_after_a_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open_rotating(&path, Rotation { max_size: Some(200), max_file: 2 }).expect("open");
        write_lines(&w, 0, 1);
        let options = LogOptions { follow: true, ..all() };
        let mut r = LogReader::open(&path, options, Some(w.follow())).expect("open");
        let mut next = async || {
            let e = tokio::time::timeout(Duration::from_secs(10), r.next()).await.expect("no hang").expect("next");
            e.map(|e| String::from_utf8(e.bytes).expect("utf8")[5..8].parse::<usize>().expect("number"))
        };
        assert_eq!(next().await, Some(0));
        // Each line is read before the next is written; the file rotates every few lines, under
        // a follower that sits at its end.
        for i in 1..40 {
            write_lines(&w, i, 1);
            assert_eq!(next().await, Some(i), "line {i}");
        }
        assert!(rotated(&path, 1).exists());
        write_lines(&w, 40, 3);
        w.close().expect("close");

        assert_eq!((next().await, next().await, next().await, next().await), (Some(40), Some(41), Some(42), None));
    }

    #[tokio::test]
    async fn a_missing_file_reads_as_empty_and_corrupt_lines_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_all(&dir.path().join("nope"), all(), None).await.is_empty());
        let path = dir.path().join("c-json.log");
        std::fs::write(
            &path,
            "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T17:49:23Z\"}\ngarbage\n\
             {\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-26T17:49:23.5Z\"}\n{\"log\":\"torn",
        )
        .expect("write");
        let got = read_all(&path, all(), None).await;
        assert_eq!(got, vec![(Stream::Stdout, "a\n".to_owned()), (Stream::Stderr, "b\n".to_owned())]);
    }

    #[tokio::test]
    async fn follow_sees_new_lines_and_ends_when_the_writer_closes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open(&path).expect("open");
        w.write(Stream::Stdout, b"before\n", SystemTime::now()).expect("write");
        let mut r = LogReader::open(&path, LogOptions { follow: true, ..all() }, Some(w.follow())).expect("open");
        assert_eq!(r.next().await.expect("next").expect("entry").bytes, b"before\n");

        let writer = w.clone();
        let task = tokio::spawn(async move {
            for i in 0..3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                writer.write(Stream::Stdout, format!("live {i}\n").as_bytes(), SystemTime::now()).expect("write");
            }
            writer.write(Stream::Stdout, b"unterminated", SystemTime::now()).expect("write");
            writer.close().expect("close");
        });
        let mut got = Vec::new();
        let follow = async {
            while let Some(e) = r.next().await.expect("next") {
                got.push(String::from_utf8(e.bytes).expect("utf8"));
            }
        };
        tokio::time::timeout(Duration::from_secs(5), follow).await.expect("follow ends when the writer closes");
        task.await.expect("writer task");
        assert_eq!(got, ["live 0\n", "live 1\n", "live 2\n", "unterminated"]);
    }

    #[tokio::test]
    async fn follow_stops_at_until_and_without_a_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        let w = LogWriter::open(&path).expect("open");
        w.write(Stream::Stdout, b"x\n", SystemTime::now()).expect("write");
        let until = SystemTime::now() + Duration::from_millis(100);
        let opts = LogOptions { follow: true, until: Some(until), ..all() };
        let got = tokio::time::timeout(Duration::from_secs(5), read_all(&path, opts, Some(w.follow())))
            .await
            .expect("until ends the follow");
        assert_eq!(got.len(), 1);
        // A stopped container (no writer): follow reads what is there and ends.
        let got =
            tokio::time::timeout(Duration::from_secs(5), read_all(&path, LogOptions { follow: true, ..all() }, None))
                .await
                .expect("no writer, no wait");
        assert_eq!(got.len(), 1);
        // A writer dropped without close ends followers too.
        let follow = w.follow();
        drop(w);
        let got = tokio::time::timeout(
            Duration::from_secs(5),
            read_all(&path, LogOptions { follow: true, ..all() }, Some(follow)),
        )
        .await
        .expect("dropped writer ends the follow");
        assert_eq!(got.len(), 1);
    }

    #[tokio::test]
    async fn a_reopened_log_appends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c-json.log");
        for run in 0..2 {
            let w = LogWriter::open(&path).expect("open");
            w.write(Stream::Stdout, format!("run {run}\n").as_bytes(), SystemTime::now()).expect("write");
            w.close().expect("close");
        }
        assert_eq!(read_all(&path, all(), None).await.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, LOG_FILE_MODE);
    }
}
