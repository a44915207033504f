//! A small buffered byte source that knows its offset, for decoders that must not trust
//! lengths: every read is bounded by a fixed buffer, long payloads are skipped in place, and
//! the end of the input is an ordinary result rather than an error value from deep inside.

use std::io::{self, Read};

/// Why a read did not return the bytes asked for.
#[derive(Debug)]
pub enum InputError {
    /// The input ended first.
    Eof,
    Io(io::Error),
}

impl From<io::Error> for InputError {
    fn from(e: io::Error) -> Self {
        InputError::Io(e)
    }
}

pub type InputResult<T> = Result<T, InputError>;

/// A line read by [`Input::line`]: its bytes, if it was short enough to keep.
pub struct Line {
    pub bytes: Option<Vec<u8>>,
}

pub struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes consumed so far, i.e. the offset of `buf[start]` from the start of the input.
    consumed: u64,
    eof: bool,
}

pub const BUFFER_SIZE: usize = 64 * 1024;

impl<R: Read> Input<R> {
    pub fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; BUFFER_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            consumed: 0,
            eof: false,
        }
    }

    /// Offset of the next byte, counted from the start of this input.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Make at least `n` bytes available (fewer only at the end of input); `n` is at most
    /// the buffer size.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        let n = n.min(self.buf.len());
        if self.end - self.start >= n {
            return Ok(self.end - self.start);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < n && !self.eof {
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.inner.read(free) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.consumed += n as u64;
    }

    /// Up to `n` next bytes without consuming them (fewer at the end of input).
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        let have = self.fill(n)?;
        Ok(self.available().get(..have.min(n)).unwrap_or_default())
    }

    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.fill(1)? == 0)
    }

    pub fn byte(&mut self) -> InputResult<u8> {
        self.fill(1)?;
        let b = *self.available().first().ok_or(InputError::Eof)?;
        self.consume(1);
        Ok(b)
    }

    /// Exactly `N` bytes (`N` is small: an opcode argument).
    pub fn array<const N: usize>(&mut self) -> InputResult<[u8; N]> {
        if self.fill(N)? < N {
            return Err(InputError::Eof);
        }
        let mut out = [0u8; N];
        out.copy_from_slice(self.available().get(..N).ok_or(InputError::Eof)?);
        self.consume(N);
        Ok(out)
    }

    /// A payload of `len` bytes: returned if it is at most `keep` bytes long, otherwise read
    /// and discarded chunk by chunk so that an untrusted length never sizes an allocation.
    pub fn payload(&mut self, len: u64, keep: usize) -> InputResult<Option<Vec<u8>>> {
        if len <= keep as u64 {
            let mut out = Vec::with_capacity(len as usize);
            let mut left = len as usize;
            while left > 0 {
                if self.fill(left)? == 0 {
                    return Err(InputError::Eof);
                }
                let chunk = self.available();
                let take = chunk.len().min(left);
                out.extend_from_slice(chunk.get(..take).unwrap_or_default());
                self.consume(take);
                left -= take;
            }
            return Ok(Some(out));
        }
        self.skip(len)?;
        Ok(None)
    }

    pub fn skip(&mut self, mut len: u64) -> InputResult<()> {
        while len > 0 {
            let want = usize::try_from(len).unwrap_or(usize::MAX);
            let have = self.fill(want)?;
            if have == 0 {
                return Err(InputError::Eof);
            }
            let take = have.min(want);
            self.consume(take);
            len -= take as u64;
        }
        Ok(())
    }

    /// A line up to and excluding `\n`. A line longer than `keep` bytes is consumed without
    /// being kept. Input that ends before the newline is [`InputError::Eof`], as in CPython.
    pub fn line(&mut self, keep: usize) -> InputResult<Line> {
        let mut kept = Vec::new();
        let mut too_long = false;
        loop {
            if self.fill(1)? == 0 {
                return Err(InputError::Eof);
            }
            let chunk = self.available();
            let (part, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (chunk.get(..i).unwrap_or_default(), true),
                None => (chunk, false),
            };
            let part_len = part.len();
            if !too_long {
                if kept.len() + part_len <= keep {
                    kept.extend_from_slice(part);
                } else {
                    too_long = true;
                    kept = Vec::new();
                }
            }
            self.consume(part_len + usize::from(found));
            if found {
                return Ok(Line {
                    bytes: (!too_long).then_some(kept),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_payloads_and_skips_across_buffer_boundaries() {
        let mut data = vec![b'a'; BUFFER_SIZE + 10];
        data.extend_from_slice(b"\nxyz");
        let mut input = Input::new(&data[..]);
        let line = input.line(16).unwrap();
        assert!(line.bytes.is_none());
        assert_eq!(input.offset(), BUFFER_SIZE as u64 + 11);
        assert_eq!(input.payload(2, 8).unwrap(), Some(b"xy".to_vec()));
        assert!(matches!(input.payload(2, 8), Err(InputError::Eof)));
    }

    #[test]
    fn a_line_without_newline_is_truncated_input() {
        let mut input = Input::new(&b"os"[..]);
        assert!(matches!(input.line(8), Err(InputError::Eof)));
    }

    #[test]
    fn huge_lengths_are_skipped_not_allocated() {
        let data = vec![0u8; 1000];
        let mut input = Input::new(&data[..]);
        assert!(matches!(input.payload(u64::MAX, 16), Err(InputError::Eof)));
        assert_eq!(input.offset(), 1000);
    }
}
