//! The reader between the input and the tar parser: it hashes and records as bytes go by.
//!
//! One pass over the data gives three things: the sha256 of the *whole* stream (the diff id),
//! the exact position of every byte (so a file's contents can be told from its header), and the
//! raw bytes that are not file contents (headers, extension headers, padding, end blocks), which
//! become the tar-split record. The apply loop shares the state through a `RefCell`: it tells the
//! tap which byte range is about to be written to a file (not recorded) and takes the recorded
//! bytes at each file boundary. When the caller records nothing, the tap only counts (the
//! position and the budget still matter: they keep extension headers bounded and errors located).

use std::cell::RefCell;
use std::io::{self, Read};
use std::ops::Range;

use sha2::Digest;

/// What the tap has seen so far.
pub(crate) struct TapState {
    /// `None` when nothing is recorded.
    hasher: Option<sha2::Sha256>,
    /// Bytes read from the input so far.
    pos: u64,
    /// Stream range holding contents of a file that is extracted (and so not recorded).
    skip: Range<u64>,
    /// Recorded bytes not yet handed to the tar-split builder.
    pending: Vec<u8>,
    /// While the parser reads headers on its own, how many more recorded bytes are allowed:
    /// a PAX header or GNU long name of gigabytes must not be buffered.
    budget: Option<u64>,
}

impl TapState {
    /// A tap that hashes and records (`record`), or only counts.
    pub(crate) fn new(record: bool) -> TapState {
        TapState { hasher: record.then(sha2::Sha256::new), pos: 0, skip: 0..0, pending: Vec::new(), budget: None }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Marks `len` bytes from the current position as file contents.
    pub(crate) fn skip_next(&mut self, len: u64) {
        self.skip = self.pos..self.pos.saturating_add(len);
    }

    pub(crate) fn set_budget(&mut self, budget: Option<u64>) {
        self.budget = budget;
    }

    pub(crate) fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    pub(crate) fn finish(self) -> (Option<sha2::Sha256>, Vec<u8>, u64) {
        (self.hasher, self.pending, self.pos)
    }

    fn record(&mut self, bytes: &[u8]) -> io::Result<()> {
        let recording = match self.hasher.as_mut() {
            Some(hasher) => {
                hasher.update(bytes);
                true
            }
            None => false,
        };
        let start = self.pos;
        let end = start + bytes.len() as u64;
        let before_skip = start..end.min(self.skip.start);
        let after_skip = start.max(self.skip.end)..end;
        let mut recorded = 0;
        for range in [before_skip, after_skip] {
            if range.start < range.end {
                if recording {
                    let from = usize::try_from(range.start - start).unwrap_or(usize::MAX);
                    let to = usize::try_from(range.end - start).unwrap_or(usize::MAX);
                    self.pending.extend_from_slice(&bytes[from..to]);
                }
                recorded += range.end - range.start;
            }
        }
        self.pos = end;
        if let Some(budget) = self.budget.as_mut() {
            *budget = budget.checked_sub(recorded).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "extension headers or trailing data too large")
            })?;
        }
        Ok(())
    }
}

/// A reader that feeds every byte through a [`TapState`].
pub(crate) struct Tap<'s, R> {
    inner: R,
    state: &'s RefCell<TapState>,
}

impl<'s, R: Read> Tap<'s, R> {
    pub(crate) fn new(inner: R, state: &'s RefCell<TapState>) -> Self {
        Tap { inner, state }
    }
}

impl<R: Read> Read for Tap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.borrow_mut().record(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_range_is_hashed_but_not_recorded() {
        let state = RefCell::new(TapState::new(true));
        let data: Vec<u8> = (0..100u8).collect();
        let mut tap = Tap::new(&data[..], &state);
        let mut buf = [0u8; 30];
        tap.read_exact(&mut buf).expect("read");
        state.borrow_mut().skip_next(50);
        let mut rest = Vec::new();
        tap.read_to_end(&mut rest).expect("read");
        let (hasher, pending, pos) = state.into_inner().finish();
        assert_eq!(pos, 100);
        let mut want = data[..30].to_vec();
        want.extend_from_slice(&data[80..]);
        assert_eq!(pending, want);
        assert_eq!(hasher.expect("hashed").finalize(), sha2::Sha256::digest(&data));
    }

    #[test]
    fn budget_stops_oversized_headers() {
        for record in [true, false] {
            let state = RefCell::new(TapState::new(record));
            state.borrow_mut().set_budget(Some(10));
            let data = [0u8; 11];
            let mut tap = Tap::new(&data[..], &state);
            let mut buf = [0u8; 11];
            assert!(tap.read_exact(&mut buf).is_err(), "record: {record}");
        }
    }

    #[test]
    fn without_recording_only_the_position_moves() {
        let state = RefCell::new(TapState::new(false));
        let data = [1u8; 64];
        let mut tap = Tap::new(&data[..], &state);
        let mut rest = Vec::new();
        tap.read_to_end(&mut rest).expect("read");
        let (hasher, pending, pos) = state.into_inner().finish();
        assert!(hasher.is_none() && pending.is_empty());
        assert_eq!(pos, 64);
    }
}
