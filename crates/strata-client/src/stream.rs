//! The output streams of `attach`, `exec` and `logs`.
//!
//! Without a TTY the daemon multiplexes stdout and stderr on one connection: each frame is an
//! 8-byte header `[stream, 0, 0, 0, length as u32 big-endian]` followed by `length` bytes of
//! payload (stream 0 stdin, 1 stdout, 2 stderr, 3 a system error the daemon reports in-band).
//! With a TTY the bytes are the terminal's, unframed. Whether a stream is framed is decided by
//! the container's (or exec's) `Tty` setting, as the docker CLI does, not by the content type.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The size of a frame header.
pub const HEADER_LEN: usize = 8;

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdin,
    Stdout,
    Stderr,
    /// An error the daemon reports inside the stream (e.g. the process could not be started).
    System,
}

impl StreamKind {
    fn from_byte(b: u8) -> Option<StreamKind> {
        match b {
            0 => Some(StreamKind::Stdin),
            1 => Some(StreamKind::Stdout),
            2 => Some(StreamKind::Stderr),
            3 => Some(StreamKind::System),
            _ => None,
        }
    }
}

/// What can go wrong reading a stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("unrecognized input header: {0}")]
    BadHeader(u8),
    /// A stream-3 frame: the daemon's error text.
    #[error("{0}")]
    Daemon(String),
}

/// Parses a frame header: the stream and the payload length.
pub fn parse_header(header: &[u8; HEADER_LEN]) -> Result<(StreamKind, usize), StreamError> {
    let kind = StreamKind::from_byte(header[0]).ok_or(StreamError::BadHeader(header[0]))?;
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    Ok((kind, len))
}

/// Encodes a frame (for tests and fakes).
pub fn encode_frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Copies a multiplexed stream to `stdout` and `stderr` until it ends. A stream-3 frame ends
/// the copy with [`StreamError::Daemon`]; stdin frames (never sent by a daemon) are dropped.
pub async fn demux<R, O, E>(mut reader: R, stdout: &mut O, stderr: &mut E) -> Result<(), StreamError>
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    let mut header = [0u8; HEADER_LEN];
    let mut payload = Vec::new();
    loop {
        match reader.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let (kind, len) = parse_header(&header)?;
        payload.resize(len, 0);
        reader.read_exact(&mut payload).await?;
        match kind {
            StreamKind::Stdout => {
                stdout.write_all(&payload).await?;
                stdout.flush().await?;
            }
            StreamKind::Stderr => {
                stderr.write_all(&payload).await?;
                stderr.flush().await?;
            }
            StreamKind::System => return Err(StreamError::Daemon(String::from_utf8_lossy(&payload).into_owned())),
            StreamKind::Stdin => {}
        }
    }
}

/// Copies a raw (TTY) stream to `stdout` until it ends.
pub async fn copy_raw<R, O>(mut reader: R, stdout: &mut O) -> Result<(), StreamError>
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stdout.write_all(&buf[..n]).await?;
        stdout.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(input: Vec<u8>) -> (Result<(), StreamError>, Vec<u8>, Vec<u8>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let r = demux(&input[..], &mut out, &mut err).await;
        (r, out, err)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }

    #[test]
    fn frames_go_to_their_stream_in_order() {
        // The bytes the reference daemon sent for `sh -c 'echo hi; echo err >&2'`.
        let mut wire = vec![2, 0, 0, 0, 0, 0, 0, 4];
        wire.extend_from_slice(b"err\n");
        wire.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 3]);
        wire.extend_from_slice(b"hi\n");
        let (r, out, err) = block_on(run(wire));
        assert!(r.is_ok());
        assert_eq!((out.as_slice(), err.as_slice()), (&b"hi\n"[..], &b"err\n"[..]));
    }

    #[test]
    fn empty_frames_and_large_frames_are_kept_whole() {
        let big = vec![b'x'; 100_000];
        let mut wire = encode_frame(1, b"");
        wire.extend(encode_frame(1, &big));
        wire.extend(encode_frame(0, b"ignored"));
        let (r, out, err) = block_on(run(wire));
        assert!(r.is_ok());
        assert_eq!(out, big);
        assert!(err.is_empty());
    }

    #[test]
    fn a_system_frame_is_an_error_and_a_bad_header_is_refused() {
        let (r, _, _) = block_on(run(encode_frame(3, b"exec failed")));
        assert_eq!(r.map_err(|e| e.to_string()), Err("exec failed".to_owned()));
        let (r, _, _) = block_on(run(encode_frame(9, b"x")));
        assert!(matches!(r, Err(StreamError::BadHeader(9))));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_an_error_but_at_a_boundary_it_is_the_end() {
        let mut wire = encode_frame(1, b"hello");
        let (r, out, _) = block_on(run(wire.clone()));
        assert!(r.is_ok());
        assert_eq!(out, b"hello");
        wire.truncate(10);
        let (r, _, _) = block_on(run(wire));
        assert!(matches!(r, Err(StreamError::Io(_))));
    }
}
