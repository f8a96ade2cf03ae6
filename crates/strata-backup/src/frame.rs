//! The manifest inside a zstd stream, as a skippable frame.
//!
//! zstd reserves the magic numbers `0x184D2A50..=0x184D2A5F` for frames that decoders skip: a
//! 4-byte magic, a 4-byte little-endian payload length, the payload. strata puts the manifest
//! in one, so the wire forms stay valid `.tar.zst` streams:
//!
//! - **backup** (daemon → CLI): data frames, then the manifest frame — the checksum is only
//!   known once the data is written. The payload ends with the JSON's length and a tag, so the
//!   frame can be found from the end of the stream ([`split_trailing`]).
//! - **restore** (CLI → daemon): the manifest frame, then the data ([`read_leading`]).
//!
//! Payload: [`MARK`] · manifest JSON · JSON length (u32 LE) · [`TAIL_TAG`].

use std::io::{self, Read};

use crate::Manifest;

/// The skippable-frame magic strata uses (little-endian on the wire).
pub const SKIPPABLE_MAGIC: u32 = 0x184D_2A5B;
/// First bytes of the payload, so another tool's skippable frame is not mistaken for ours.
pub const MARK: &[u8; 16] = b"strata-manifest\0";
/// Last bytes of the payload.
pub const TAIL_TAG: &[u8; 4] = b"STMF";
/// The largest manifest accepted (labels and options are small; this bounds memory).
pub const MAX_MANIFEST_JSON: usize = 1 << 20;
/// Frame header: magic and payload length.
const HEADER_LEN: usize = 8;
/// Bytes of a frame besides the JSON.
const OVERHEAD: usize = HEADER_LEN + MARK.len() + 4 + TAIL_TAG.len();
/// The largest frame: what a reader must hold back from the end of a stream to find it.
pub const MAX_FRAME: usize = OVERHEAD + MAX_MANIFEST_JSON;

/// Why a manifest frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not a strata backup stream: it does not start with a manifest frame")]
    Missing,
    #[error("the backup stream ends without its manifest: it was cut short")]
    NoTrailer,
    #[error("the manifest frame is malformed: {0}")]
    Malformed(String),
    #[error("cannot read the manifest frame: {0}")]
    Io(#[from] io::Error),
}

/// The manifest as a skippable frame.
pub fn encode(manifest: &Manifest) -> Vec<u8> {
    // A struct of strings, numbers and string maps always serialises.
    let json = serde_json::to_vec(manifest).unwrap_or_default();
    let payload_len = MARK.len() + json.len() + 4 + TAIL_TAG.len();
    let mut out = Vec::with_capacity(HEADER_LEN + payload_len);
    out.extend_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(MARK);
    out.extend_from_slice(&json);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(TAIL_TAG);
    out
}

fn parse_payload(payload: &[u8]) -> Result<Manifest, FrameError> {
    let body = payload
        .strip_prefix(MARK.as_slice())
        .ok_or_else(|| FrameError::Malformed("it is not a strata manifest".into()))?;
    let json_end =
        body.len().checked_sub(4 + TAIL_TAG.len()).ok_or_else(|| FrameError::Malformed("it is too short".into()))?;
    serde_json::from_slice(&body[..json_end]).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Reads the manifest frame at the start of `reader`; the reader is left at the first data byte.
pub fn read_leading<R: Read>(reader: &mut R) -> Result<Manifest, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    reader.read_exact(&mut header).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Missing,
        _ => FrameError::Io(e),
    })?;
    let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if magic != SKIPPABLE_MAGIC {
        return Err(FrameError::Missing);
    }
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::Malformed(format!("it claims {len} bytes")));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload)?;
    parse_payload(&payload)
}

/// Finds the manifest frame at the end of a stream, given (at least) its last [`MAX_FRAME`]
/// bytes: the manifest and the number of bytes of `tail` that precede the frame (data).
pub fn split_trailing(tail: &[u8]) -> Result<(usize, Manifest), FrameError> {
    let n = tail.len();
    if n < OVERHEAD || &tail[n - TAIL_TAG.len()..] != TAIL_TAG {
        return Err(FrameError::NoTrailer);
    }
    let len_at = n - TAIL_TAG.len() - 4;
    let json_len = u32::from_le_bytes([tail[len_at], tail[len_at + 1], tail[len_at + 2], tail[len_at + 3]]) as usize;
    if json_len > MAX_MANIFEST_JSON || json_len + OVERHEAD > n {
        return Err(FrameError::NoTrailer);
    }
    let start = n - json_len - OVERHEAD;
    let magic = u32::from_le_bytes([tail[start], tail[start + 1], tail[start + 2], tail[start + 3]]);
    if magic != SKIPPABLE_MAGIC {
        return Err(FrameError::NoTrailer);
    }
    Ok((start, parse_payload(&tail[start + HEADER_LEN..])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sample;

    #[test]
    fn leading_frame_round_trips_and_leaves_the_data() {
        let m = sample("v", "2026-11-26T18:12:12Z");
        let mut stream = encode(&m);
        stream.extend_from_slice(b"DATA");
        let mut r = &stream[..];
        assert_eq!(read_leading(&mut r).expect("frame"), m);
        assert_eq!(r, b"DATA");
    }

    #[test]
    fn trailing_frame_is_found_from_the_end() {
        let m = sample("v", "2026-11-26T18:12:12Z");
        let mut stream = b"some zstd data".to_vec();
        stream.extend_from_slice(&encode(&m));
        let (data_len, got) = split_trailing(&stream).expect("trailer");
        assert_eq!(data_len, 14);
        assert_eq!(got, m);
    }

    #[test]
    fn cut_or_foreign_streams_are_refused() {
        let m = sample("v", "2026-11-26T18:12:12Z");
        let frame = encode(&m);
        for cut in [0, 1, 8, frame.len() - 1] {
            assert!(split_trailing(&frame[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(read_leading(&mut &b"\x28\xb5\x2f\xfdxxxxxxxx"[..]), Err(FrameError::Missing)));
        assert!(matches!(read_leading(&mut &b""[..]), Err(FrameError::Missing)));
        let mut bad = frame.clone();
        bad[HEADER_LEN] = b'X';
        assert!(matches!(read_leading(&mut &bad[..]), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn a_zstd_decoder_would_skip_it() {
        // The magic is in the range zstd reserves for skippable frames.
        assert_eq!(SKIPPABLE_MAGIC & 0xFFFF_FFF0, 0x184D_2A50);
    }
}
