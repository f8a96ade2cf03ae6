//! Moving bytes between the local stdio and a hijacked `attach`/`exec` connection.
//!
//! Output is copied to stdout/stderr until the daemon ends the stream (demultiplexed without a
//! TTY, raw with one). Stdin, when asked for, is copied unframed until local EOF and then the
//! connection is half-closed so the process sees end of input while its output keeps coming;
//! without stdin the write side is half-closed at once, as the docker CLI does.
//!
//! Stdin is read by a plain thread, not the runtime: a blocking read of a terminal cannot be
//! cancelled, and a detached thread does not hold the process open when the stream ends first.

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use strata_client::Hijacked;
use strata_client::stream::{StreamError, copy_raw, demux};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Bytes per read of stdin.
const STDIN_CHUNK: usize = 32 * 1024;
/// Chunks of stdin buffered ahead of the connection.
const STDIN_QUEUE: usize = 16;

/// An `AsyncWrite` over a blocking writer (stdout, stderr, a file). Writes complete at once;
/// the CLI has nothing else to do while its output is blocked.
pub struct BlockingWriter<W>(pub W);

impl<W: Write + Unpin> AsyncWrite for BlockingWriter<W> {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.0.write(buf))
    }
    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.flush())
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.flush())
    }
}

/// Reads standard input on a thread; the channel closes at EOF (or on a read error).
pub fn stdin_chunks() -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(STDIN_QUEUE);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; STDIN_CHUNK];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The daemon's default detach keys: ctrl-p, ctrl-q.
const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// How a session's output ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The daemon ended the stream: the process is gone (or closed its output).
    Closed,
    /// The user typed the detach keys on a TTY; the daemon ended the stream but the container
    /// keeps running, so there is no exit status to wait for.
    Detached,
}

/// Whether `chunk` completes the detach sequence; `pending` carries a ctrl-p seen at the end of
/// the previous chunk.
pub fn detach_keys_in(chunk: &[u8], pending: &mut bool) -> bool {
    for &b in chunk {
        if *pending && b == DETACH_KEYS[1] {
            return true;
        }
        *pending = b == DETACH_KEYS[0];
    }
    false
}

/// Copies a hijacked stream to stdout/stderr (and stdin to it when `stdin`) until the daemon
/// ends the output. `tty` says whether the output is raw (TTY) or multiplexed. The detach keys
/// are sent on like any input (the daemon acts on them); they are only noted here, so the
/// caller knows not to wait for an exit.
pub async fn pump(stream: Hijacked, tty: bool, stdin: bool) -> Result<Ended, StreamError> {
    let (reader, mut writer) = tokio::io::split(stream);
    let detached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let input = if stdin {
        let mut chunks = stdin_chunks();
        let detached = detached.clone();
        Some(tokio::spawn(async move {
            let mut pending = false;
            while let Some(chunk) = chunks.recv().await {
                if tty && detach_keys_in(&chunk, &mut pending) {
                    detached.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                if writer.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            let _ = writer.shutdown().await;
        }))
    } else {
        let _ = writer.shutdown().await;
        None
    };
    let mut out = BlockingWriter(std::io::stdout());
    let result = if tty {
        copy_raw(reader, &mut out).await
    } else {
        let mut err = BlockingWriter(std::io::stderr());
        demux(reader, &mut out, &mut err).await
    };
    if let Some(task) = input {
        task.abort();
    }
    result?;
    Ok(if detached.load(std::sync::atomic::Ordering::SeqCst) { Ended::Detached } else { Ended::Closed })
}

/// An `AsyncRead` over a stream of byte chunks (a response body).
pub struct StreamReader<S> {
    stream: S,
    chunk: Bytes,
}

impl<S> StreamReader<S> {
    pub fn new(stream: S) -> Self {
        StreamReader { stream, chunk: Bytes::new() }
    }
}

impl<S> tokio::io::AsyncRead for StreamReader<S>
where
    S: futures_util::Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.chunk.is_empty() {
            match futures_util::ready!(Pin::new(&mut self.stream).poll_next(cx)) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = buf.remaining().min(self.chunk.len());
        buf.put_slice(&self.chunk.split_to(n));
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::detach_keys_in;

    #[test]
    fn the_detach_sequence_is_found_also_across_chunks() {
        let mut pending = false;
        assert!(!detach_keys_in(b"ls -l\n", &mut pending));
        assert!(detach_keys_in(&[b'a', 0x10, 0x11], &mut pending));
        let mut pending = false;
        assert!(!detach_keys_in(&[b'a', 0x10], &mut pending));
        assert!(detach_keys_in(&[0x11], &mut pending));
        let mut pending = false;
        assert!(!detach_keys_in(&[0x10, b'x', 0x11], &mut pending));
    }
}
