//! Bridges between blocking work (tar walks, image stores) and HTTP bodies: a blocking `Read`
//! over a request body, and a blocking `Write` whose chunks become a streamed response. Both go
//! through bounded channels, so a slow client slows the producer instead of filling memory.

use std::io::{Read, Write};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use crate::http::{ApiRequest, Body, streaming};

/// Chunks in flight between a blocking producer or consumer and the connection.
pub(crate) const STREAM_DEPTH: usize = 16;
/// Bytes per chunk of a streamed download.
pub(crate) const STREAM_CHUNK: usize = 1 << 20;

/// A blocking `Read` over a request body that an async task feeds.
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Starts feeding the request body to a [`BodyReader`]. Frames are coalesced into chunks of
/// [`STREAM_CHUNK`]: the client's frames are small, and one hand-over per frame would cost more
/// thread wake-ups than the copy saves.
pub(crate) fn body_reader(req: &mut ApiRequest) -> BodyReader {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    if let Some(mut body) = req.take_body() {
        tokio::spawn(async move {
            let mut pending = bytes::BytesMut::with_capacity(STREAM_CHUNK);
            loop {
                let frame = body.frame().await;
                let done = match frame {
                    Some(Ok(f)) => {
                        if let Ok(data) = f.into_data() {
                            if pending.is_empty() && data.len() >= STREAM_CHUNK {
                                if tx.send(Ok(data)).await.is_err() {
                                    return;
                                }
                            } else {
                                pending.extend_from_slice(&data);
                            }
                        }
                        false
                    }
                    Some(Err(e)) => {
                        let _ = tx.send(Err(std::io::Error::other(e))).await;
                        return;
                    }
                    None => true,
                };
                if (done && !pending.is_empty()) || pending.len() >= STREAM_CHUNK {
                    let chunk = pending.split().freeze();
                    pending.reserve(STREAM_CHUNK);
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                if done {
                    return;
                }
            }
        });
    }
    BodyReader { rx, current: Bytes::new() }
}

/// A blocking `Write` whose chunks become a streamed response body.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    pub(crate) fn new(tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> ChannelWriter {
        ChannelWriter { tx, buf: Vec::with_capacity(STREAM_CHUNK) }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(STREAM_CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= STREAM_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub(crate) fn channel_body(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    streaming(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}
