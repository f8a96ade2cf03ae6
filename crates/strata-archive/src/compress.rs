//! Compression: recognising it on input, producing it on output.
//!
//! Layers arrive gzip- or zstd-compressed (`docker load`, registries, `docker import`), volume
//! backups are written with multi-threaded zstd. The extractor itself only reads plain tar, so a
//! stream is sniffed once by its magic bytes and wrapped in the matching decoder. bzip2 and xz
//! are recognised only to say clearly that strata does not read them.

use std::io::{self, BufReader, Read, Write};

use crate::ArchiveError;

/// Read buffer in front of a decoder.
const SNIFF_BUFFER: usize = 256 * 1024;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// Longest magic we look for.
const SNIFF_LEN: usize = 6;

/// The compression of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognises a compression by the first bytes of a stream; `Err` names an unsupported one.
    pub fn sniff(head: &[u8]) -> Result<Compression, &'static str> {
        if head.starts_with(GZIP_MAGIC) {
            Ok(Compression::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            Ok(Compression::Zstd)
        } else if head.starts_with(XZ_MAGIC) {
            Err("xz")
        } else if head.starts_with(BZIP2_MAGIC) {
            Err("bzip2")
        } else {
            Ok(Compression::None)
        }
    }
}

/// The input after sniffing: the bytes read to recognise it, then the rest.
type Sniffed<R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>;

/// A stream, decompressed according to what it turned out to be.
pub enum Decompressed<R: Read> {
    Plain(Sniffed<R>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<Sniffed<R>>>),
    Zstd(zstd::Decoder<'static, Sniffed<R>>),
}

impl<R: Read> Decompressed<R> {
    /// What the stream was compressed with.
    pub fn compression(&self) -> Compression {
        match self {
            Decompressed::Plain(_) => Compression::None,
            Decompressed::Gzip(_) => Compression::Gzip,
            Decompressed::Zstd(_) => Compression::Zstd,
        }
    }
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decompressed::Plain(r) => r.read(buf),
            Decompressed::Gzip(r) => r.read(buf),
            Decompressed::Zstd(r) => r.read(buf),
        }
    }
}

/// Wraps `reader` in the decoder its magic bytes call for: plain tar, gzip (all members, as
/// pigz writes them) or zstd (all frames). bzip2 and xz are refused with
/// [`ArchiveError::UnsupportedCompression`].
pub fn decompress<R: Read>(mut reader: R) -> Result<Decompressed<R>, ArchiveError> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    // A pipe may deliver a few bytes at a time: gather enough to decide, or the whole stream.
    (&mut reader)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|source| ArchiveError::Decompress { source })?;
    let compression = Compression::sniff(&head);
    let reader = BufReader::with_capacity(SNIFF_BUFFER, io::Cursor::new(head).chain(reader));
    match compression {
        Err(kind) => Err(ArchiveError::UnsupportedCompression { kind }),
        Ok(Compression::None) => Ok(Decompressed::Plain(reader)),
        Ok(Compression::Gzip) => Ok(Decompressed::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))),
        Ok(Compression::Zstd) => zstd::Decoder::with_buffer(reader)
            .map(Decompressed::Zstd)
            .map_err(|source| ArchiveError::Decompress { source }),
    }
}

/// A compressing writer; call [`CompressWriter::finish`] to write the trailer.
pub enum CompressWriter<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> CompressWriter<W> {
    /// gzip at `level` (0-9).
    pub fn gzip(writer: W, level: u32) -> CompressWriter<W> {
        CompressWriter::Gzip(flate2::write::GzEncoder::new(writer, flate2::Compression::new(level)))
    }

    /// zstd at `level` (1-22) on `threads` worker threads (0: compress on the caller's thread).
    pub fn zstd(writer: W, level: i32, threads: u32) -> io::Result<CompressWriter<W>> {
        let mut encoder = zstd::Encoder::new(writer, level)?;
        if threads > 0 {
            encoder.multithread(threads)?;
        }
        Ok(CompressWriter::Zstd(encoder))
    }

    /// Flushes the compressed stream's end and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            CompressWriter::Gzip(w) => w.finish(),
            CompressWriter::Zstd(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for CompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            CompressWriter::Gzip(w) => w.write(buf),
            CompressWriter::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            CompressWriter::Gzip(w) => w.flush(),
            CompressWriter::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_are_recognised() {
        let cases: &[(&[u8], Result<Compression, &str>)] = &[
            (&[0x1f, 0x8b, 8, 0], Ok(Compression::Gzip)),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0], Ok(Compression::Zstd)),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0], Err("xz")),
            (b"BZh91AY", Err("bzip2")),
            (b"ustar", Ok(Compression::None)),
            (b"", Ok(Compression::None)),
            (&[0x1f], Ok(Compression::None)),
        ];
        for (head, want) in cases {
            assert_eq!(Compression::sniff(head), *want, "{head:?}");
        }
    }

    /// A reader that hands out one byte per read, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn every_format_decompresses_to_the_same_bytes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut gz = CompressWriter::gzip(Vec::new(), 6);
        gz.write_all(&data).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let mut zst = CompressWriter::zstd(Vec::new(), 3, 2).expect("zstd");
        zst.write_all(&data).expect("zstd");
        let zst = zst.finish().expect("zstd");
        for (input, want) in [(&data, Compression::None), (&gz, Compression::Gzip), (&zst, Compression::Zstd)] {
            let mut reader = decompress(Trickle(input)).expect("decompress");
            assert_eq!(reader.compression(), want);
            let mut out = Vec::new();
            reader.read_to_end(&mut out).expect("read");
            assert_eq!(out, data, "{want:?}");
        }
        // pigz-style multi-member gzip
        let mut two = gz.clone();
        two.extend_from_slice(&gz);
        let mut out = Vec::new();
        decompress(&two[..]).expect("decompress").read_to_end(&mut out).expect("read");
        assert_eq!(out.len(), data.len() * 2);
    }

    #[test]
    fn unsupported_compression_is_named() {
        let err = decompress(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2][..]).err().expect("refused");
        assert_eq!(err.to_string(), "unsupported compression: xz");
        let err = decompress(&b"BZh91AY&SY"[..]).err().expect("refused");
        assert_eq!(err.to_string(), "unsupported compression: bzip2");
    }
}
