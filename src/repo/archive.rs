//! A small, bounded zip reader: enough to find the pickles inside a `torch.save` archive
//! (and `.npz`, TorchScript) and stream them to the scanner.
//!
//! Why not the `zip` crate: torch writes stored (uncompressed) members and we only read a few
//! of them, never extract. `zip` with its default features builds bzip2, zstd (C code), lzma
//! and AES; even trimmed to deflate it adds several crates, and it parses into its own types
//! whose limits we do not control. This reader is a few hundred lines over the central
//! directory, uses `miniz_oxide` (already in the build through `backtrace`) for deflate, and
//! keeps every size under an explicit bound:
//!
//! * the central directory is streamed and its entry count capped;
//! * members whose byte ranges overlap (the "overlapping files" zip bomb) refuse the archive;
//! * a deflated member is refused when its declared size exceeds what deflate can encode
//!   (about 1032:1), and reading stops with an error once it inflates past its declared size
//!   or [`ArchiveLimits::max_inflated`];
//! * callers read only the members they scan, and only as far as the pickle's `STOP`.
//!
//! Flags that Python's `zipfile` rejects but PyTorch's miniz reader ignores (the picklescan
//! advisories about "encrypted" bits and mismatched local names) do not stop the scan: what
//! torch would load is what gets scanned, and the oddity is reported.

use std::io::{self, Read, Seek, SeekFrom};

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use serde::Serialize;

use super::input::{Input, InputError};

const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD_LEN: u64 = 22;
/// The EOCD may be followed by a comment of up to 65535 bytes.
const EOCD_SEARCH: u64 = EOCD_LEN + 0xffff;

pub const METHOD_STORED: u16 = 0;
pub const METHOD_DEFLATE: u16 = 8;

/// The largest ratio deflate can reach (258-byte matches in 2-bit codes, ~1032:1).
const DEFLATE_MAX_RATIO: u64 = 1032;

#[derive(Clone, Debug)]
pub struct ArchiveLimits {
    pub max_entries: u64,
    pub max_central_directory: u64,
    /// Most bytes inflated from one member.
    pub max_inflated: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entries: 1 << 20,
            max_central_directory: 128 << 20,
            max_inflated: 1 << 30,
        }
    }
}

/// One member, as the central directory describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZipEntry {
    /// The name as shown: bytes that are not UTF-8 as `\xNN`, control characters escaped.
    pub name: String,
    /// The name as stored in the central directory.
    #[serde(skip)]
    pub raw_name: Vec<u8>,
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Offset of the member's local header in the file.
    pub header_offset: u64,
}

impl ZipEntry {
    pub fn is_encrypted(&self) -> bool {
        self.flags & 1 != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip archive: no end of central directory record")]
    NoEndRecord,
    #[error("malformed zip at offset {offset}: {message}")]
    Malformed { offset: u64, message: String },
    #[error("zip archive refused at offset {offset}: {message}")]
    Refused { offset: u64, message: String },
    #[error("member {member}: {message}")]
    Member { member: String, message: String },
    #[error("read error: {0}")]
    Io(String),
}

impl ZipError {
    /// The byte offset in the archive that the error is about, where there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ZipError::Malformed { offset, .. } | ZipError::Refused { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

impl From<io::Error> for ZipError {
    fn from(e: io::Error) -> Self {
        ZipError::Io(e.to_string())
    }
}

fn malformed<T>(offset: u64, message: impl Into<String>) -> Result<T, ZipError> {
    Err(ZipError::Malformed {
        offset,
        message: message.into(),
    })
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    b.get(i..i + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// Where the central directory is and how many entries it claims.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
}

fn find_directory<F: Read + Seek>(f: &mut F, len: u64) -> Result<Directory, ZipError> {
    let tail_len = len.min(EOCD_SEARCH);
    let tail_start = len - tail_len;
    f.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    f.by_ref().take(tail_len).read_to_end(&mut tail)?;
    let sig = EOCD_SIG.to_le_bytes();
    // The last record whose comment length reaches exactly to the end of the file; if none
    // fits exactly, the last signature at all (some writers pad after the comment).
    let candidates: Vec<usize> = (0..tail.len().saturating_sub(EOCD_LEN as usize - 1))
        .rev()
        .filter(|&i| tail.get(i..i + 4) == Some(&sig[..]))
        .collect();
    let pos = candidates
        .iter()
        .copied()
        .find(|&i| i + EOCD_LEN as usize + usize::from(u16_at(&tail, i + 20)) == tail.len())
        .or_else(|| candidates.first().copied())
        .ok_or(ZipError::NoEndRecord)?;
    let eocd = tail.get(pos..).unwrap_or_default();
    let eocd_offset = tail_start + pos as u64;
    let mut dir = Directory {
        entries: u64::from(u16_at(eocd, 10)),
        size: u64::from(u32_at(eocd, 12)),
        offset: u64::from(u32_at(eocd, 16)),
    };
    // Zip64: a locator sits just before the EOCD and points at the zip64 EOCD record.
    let locator = pos
        .checked_sub(20)
        .and_then(|l| tail.get(l..l + 20))
        .filter(|l| u32_at(l, 0) == ZIP64_LOCATOR_SIG);
    if let Some(locator) = locator {
        let record_offset = u64_at(locator, 8);
        if record_offset
            .checked_add(56)
            .is_none_or(|end| end > eocd_offset)
        {
            return malformed(eocd_offset, "zip64 locator points outside the archive");
        }
        f.seek(SeekFrom::Start(record_offset))?;
        let mut rec = [0u8; 56];
        f.read_exact(&mut rec)?;
        if u32_at(&rec, 0) != ZIP64_EOCD_SIG {
            return malformed(
                record_offset,
                "bad zip64 end of central directory signature",
            );
        }
        dir = Directory {
            entries: u64_at(&rec, 32),
            size: u64_at(&rec, 40),
            offset: u64_at(&rec, 48),
        };
    }
    if dir.offset.checked_add(dir.size).is_none_or(|end| end > len) {
        return malformed(eocd_offset, "central directory lies outside the archive");
    }
    Ok(dir)
}

/// Read the central directory of a zip archive of `len` bytes.
pub fn read_entries<F: Read + Seek>(
    f: &mut F,
    len: u64,
    limits: &ArchiveLimits,
) -> Result<Vec<ZipEntry>, ZipError> {
    let dir = find_directory(f, len)?;
    if dir.entries > limits.max_entries {
        return Err(ZipError::Refused {
            offset: dir.offset,
            message: format!("{} entries (limit {})", dir.entries, limits.max_entries),
        });
    }
    if dir.size > limits.max_central_directory {
        return Err(ZipError::Refused {
            offset: dir.offset,
            message: format!("central directory of {} bytes", dir.size),
        });
    }
    f.seek(SeekFrom::Start(dir.offset))?;
    let mut input = Input::new(f.by_ref().take(dir.size));
    let mut entries = Vec::new();
    for _ in 0..dir.entries {
        let at = dir.offset + input.offset();
        let fixed = input.array::<46>().or_else(|e| eof_as_malformed(e, at))?;
        if u32_at(&fixed, 0) != CENTRAL_HEADER_SIG {
            return malformed(at, "bad central directory entry signature");
        }
        let name_len = u64::from(u16_at(&fixed, 28));
        let extra_len = u64::from(u16_at(&fixed, 30));
        let comment_len = u64::from(u16_at(&fixed, 32));
        let name = input
            .payload(name_len, 0xffff)
            .or_else(|e| eof_as_malformed(e, at))?
            .unwrap_or_default();
        let extra = input
            .payload(extra_len, 0xffff)
            .or_else(|e| eof_as_malformed(e, at))?
            .unwrap_or_default();
        input
            .skip(comment_len)
            .or_else(|e| eof_as_malformed(e, at))?;
        let mut entry = ZipEntry {
            name: crate::escape::escape_name_bytes(&name),
            raw_name: name,
            method: u16_at(&fixed, 10),
            flags: u16_at(&fixed, 8),
            compressed_size: u64::from(u32_at(&fixed, 20)),
            uncompressed_size: u64::from(u32_at(&fixed, 24)),
            header_offset: u64::from(u32_at(&fixed, 42)),
        };
        apply_zip64_extra(&mut entry, &extra);
        entries.push(entry);
    }
    check_layout(&entries, dir.offset)?;
    Ok(entries)
}

fn eof_as_malformed<T>(e: InputError, at: u64) -> Result<T, ZipError> {
    match e {
        InputError::Eof => malformed(at, "central directory is truncated"),
        InputError::Io(e) => Err(e.into()),
    }
}

/// Replace 0xFFFFFFFF sizes and offsets by their 64-bit values from the zip64 extra field.
fn apply_zip64_extra(entry: &mut ZipEntry, extra: &[u8]) {
    let mut i = 0;
    while extra.len() >= i + 4 {
        let id = u16_at(extra, i);
        let size = usize::from(u16_at(extra, i + 2));
        let body = extra.get(i + 4..i + 4 + size).unwrap_or_default();
        if id == 0x0001 {
            let mut j = 0;
            for field in [
                &mut entry.uncompressed_size,
                &mut entry.compressed_size,
                &mut entry.header_offset,
            ] {
                if *field == 0xffff_ffff && body.len() >= j + 8 {
                    *field = u64_at(body, j);
                    j += 8;
                }
            }
        }
        i += 4 + size;
    }
}

/// Members must lie before the central directory and must not overlap one another.
fn check_layout(entries: &[ZipEntry], directory_offset: u64) -> Result<(), ZipError> {
    let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(entries.len());
    for e in entries {
        // The local header is at least 30 bytes plus the name; its extra field may differ
        // from the central one, so this is a lower bound of the member's extent.
        let end = e
            .header_offset
            .checked_add(30 + e.raw_name.len() as u64)
            .and_then(|x| x.checked_add(e.compressed_size));
        match end {
            Some(end) if end <= directory_offset => spans.push((e.header_offset, end, &e.name)),
            _ => {
                return Err(ZipError::Refused {
                    offset: e.header_offset,
                    message: format!("member {} extends into the central directory", e.name),
                });
            }
        }
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if let [(_, end_a, name_a), (start_b, _, name_b)] = pair
            && start_b < end_a
        {
            return Err(ZipError::Refused {
                offset: *start_b,
                message: format!("members {name_a} and {name_b} overlap (zip bomb pattern)"),
            });
        }
    }
    Ok(())
}

/// Facts from a member's local header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalHeader {
    /// Offset of the member's first data byte in the archive.
    pub data_offset: u64,
    /// The local header names the member differently from the central directory. PyTorch
    /// trusts the central directory; Python's `zipfile` refuses such archives.
    pub name_mismatch: bool,
}

pub fn local_header<F: Read + Seek>(
    f: &mut F,
    entry: &ZipEntry,
    len: u64,
) -> Result<LocalHeader, ZipError> {
    let at = entry.header_offset;
    f.seek(SeekFrom::Start(at))?;
    let mut fixed = [0u8; 30];
    if f.read_exact(&mut fixed).is_err() || u32_at(&fixed, 0) != LOCAL_HEADER_SIG {
        return malformed(at, format!("no local header for member {}", entry.name));
    }
    let name_len = u64::from(u16_at(&fixed, 26));
    let extra_len = u64::from(u16_at(&fixed, 28));
    let mut name = Vec::new();
    f.by_ref().take(name_len).read_to_end(&mut name)?;
    let data_offset = at + 30 + name_len + extra_len;
    if data_offset
        .checked_add(entry.compressed_size)
        .is_none_or(|end| end > len)
    {
        return malformed(
            at,
            format!("member {} runs past the end of the archive", entry.name),
        );
    }
    Ok(LocalHeader {
        data_offset,
        name_mismatch: name != entry.raw_name,
    })
}

/// A reader over one member's uncompressed bytes.
pub fn open_member<'f, F: Read + Seek>(
    f: &'f mut F,
    entry: &ZipEntry,
    header: &LocalHeader,
    limits: &ArchiveLimits,
) -> Result<Box<dyn Read + 'f>, ZipError> {
    let member_error = |message: String| ZipError::Member {
        member: entry.name.clone(),
        message,
    };
    f.seek(SeekFrom::Start(header.data_offset))?;
    let raw = f.take(entry.compressed_size);
    match entry.method {
        METHOD_STORED => Ok(Box::new(raw)),
        METHOD_DEFLATE => {
            let possible = entry
                .compressed_size
                .saturating_mul(DEFLATE_MAX_RATIO)
                .saturating_add(1024);
            if entry.uncompressed_size > possible {
                return Err(member_error(format!(
                    "declares {} bytes from {} compressed: more than deflate can encode",
                    entry.uncompressed_size, entry.compressed_size
                )));
            }
            // Past the declared size the member is corrupt (PyTorch's reader refuses it);
            // past `max_inflated` it is a limit of the scan, and what follows is unknown.
            let limit = if entry.uncompressed_size > limits.max_inflated {
                Limit::Scan(limits.max_inflated)
            } else {
                Limit::Declared(entry.uncompressed_size)
            };
            Ok(Box::new(Inflate::new(raw, limit)))
        }
        m => Err(member_error(format!("unsupported compression method {m}"))),
    }
}

/// The error a member reader returns when it reaches [`ArchiveLimits::max_inflated`]: the
/// member may go on, but the scan does not read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("member inflates beyond the scan limit of {limit} bytes")]
pub struct InflateLimit {
    pub limit: u64,
}

impl InflateLimit {
    /// The limit, if `error` is one.
    pub fn of(error: &io::Error) -> Option<InflateLimit> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<InflateLimit>())
            .copied()
    }
}

/// Where an [`Inflate`] stops.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// The member's declared size: more is corrupt data.
    Declared(u64),
    /// The scan's limit: more is not read.
    Scan(u64),
}

impl Limit {
    fn bytes(self) -> u64 {
        match self {
            Limit::Declared(n) | Limit::Scan(n) => n,
        }
    }
}

/// Streaming raw-deflate decoder that refuses to produce more than its limit.
struct Inflate<R> {
    inner: R,
    state: Box<InflateState>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    inner_eof: bool,
    produced: u64,
    limit: Limit,
    done: bool,
    stalls: u8,
}

impl<R: Read> Inflate<R> {
    fn new(inner: R, limit: Limit) -> Self {
        Inflate {
            inner,
            state: InflateState::new_boxed(DataFormat::Raw),
            buf: vec![0; 32 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            inner_eof: false,
            produced: 0,
            limit,
            done: false,
            stalls: 0,
        }
    }
}

fn truncated_deflate() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "deflate stream is truncated")
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.inner_eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.buf)?;
                self.inner_eof = self.end == 0;
            }
            let input = self.buf.get(self.start..self.end).unwrap_or_default();
            let res = inflate(&mut self.state, input, out, MZFlush::None);
            self.start += res.bytes_consumed;
            self.produced += res.bytes_written as u64;
            if self.produced > self.limit.bytes() {
                return Err(match self.limit {
                    Limit::Declared(n) => io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("member inflates beyond its declared {n} bytes"),
                    ),
                    Limit::Scan(limit) => io::Error::other(InflateLimit { limit }),
                });
            }
            match res.status {
                Ok(MZStatus::StreamEnd) => {
                    self.done = true;
                    return Ok(res.bytes_written);
                }
                Ok(_) if res.bytes_written > 0 => return Ok(res.bytes_written),
                Ok(_) => {}
                // No input was offered: more is needed, and there is none.
                Err(MZError::Buf) if self.inner_eof => return Err(truncated_deflate()),
                Err(MZError::Buf) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("corrupt deflate data ({e:?})"),
                    ));
                }
            }
            if res.bytes_consumed == 0 && res.bytes_written == 0 && self.start < self.end {
                // Input and output space were both offered and nothing moved.
                self.stalls += 1;
                if self.stalls > 2 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "deflate stream makes no progress",
                    ));
                }
            } else {
                self.stalls = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A minimal stored zip written by hand: one member "a/data.pkl" holding `body`.
    fn stored_zip(body: &[u8]) -> Vec<u8> {
        let name = b"a/data.pkl";
        let mut z = Vec::new();
        z.extend_from_slice(&LOCAL_HEADER_SIG.to_le_bytes());
        z.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name);
        z.extend_from_slice(body);
        let cd = z.len() as u32;
        z.extend_from_slice(&CENTRAL_HEADER_SIG.to_le_bytes());
        z.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 12]);
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(name);
        let cd_size = z.len() as u32 - cd;
        z.extend_from_slice(&EOCD_SIG.to_le_bytes());
        z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        z.extend_from_slice(&cd_size.to_le_bytes());
        z.extend_from_slice(&cd.to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z
    }

    #[test]
    fn reads_a_stored_member() {
        let z = stored_zip(b"\x80\x02N.");
        let mut f = Cursor::new(&z);
        let entries = read_entries(&mut f, z.len() as u64, &ArchiveLimits::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "a/data.pkl");
        let h = local_header(&mut f, &entries[0], z.len() as u64).unwrap();
        assert_eq!(h.data_offset, 40);
        assert!(!h.name_mismatch);
        let mut body = Vec::new();
        open_member(&mut f, &entries[0], &h, &ArchiveLimits::default())
            .unwrap()
            .read_to_end(&mut body)
            .unwrap();
        assert_eq!(body, b"\x80\x02N.");
    }

    #[test]
    fn truncated_or_garbage_is_an_error_not_a_panic() {
        let z = stored_zip(b"\x80\x02N.");
        for cut in 0..z.len() {
            let part = &z[..cut];
            assert!(
                read_entries(
                    &mut Cursor::new(part),
                    part.len() as u64,
                    &ArchiveLimits::default(),
                )
                .is_err()
            );
        }
        let noise: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(
            read_entries(&mut Cursor::new(&noise), 5000, &ArchiveLimits::default()),
            Err(ZipError::NoEndRecord)
        );
    }

    #[test]
    fn inflate_respects_its_limit_and_detects_truncation() {
        let data = vec![0u8; 100_000];
        let compressed = miniz_oxide::deflate::compress_to_vec(&data, 6);
        let mut out = Vec::new();
        Inflate::new(&compressed[..], Limit::Declared(100_000))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let err = Inflate::new(&compressed[..], Limit::Declared(50_000))
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(InflateLimit::of(&err), None);
        let err = Inflate::new(&compressed[..], Limit::Scan(50_000))
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(InflateLimit::of(&err), Some(InflateLimit { limit: 50_000 }));
        let err = Inflate::new(
            &compressed[..compressed.len() / 2],
            Limit::Declared(100_000),
        )
        .read_to_end(&mut Vec::new())
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
