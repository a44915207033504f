//! Scan one model file: recognise its format and run the pickle scanner on every pickle it
//! holds — the file itself, the `.pkl` members of a zip archive, or the object array of a
//! `.npy` file.

use std::cell::Cell;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use super::archive::{self, ArchiveLimits, ZipEntry};
use super::format::{self, Format, HEAD_LEN};
use super::hash::open_regular;
use super::pickle::{self, PickleScan, ScanOptions};

/// One pickle stream found in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PickleStream {
    /// The zip member it was read from; `None` for the file itself.
    pub member: Option<String>,
    /// Where the stream's first byte is in the file, when stream offsets map one-to-one to
    /// file offsets (the file itself, a `.npy` payload, a stored zip member). `None` for a
    /// deflated member, whose offsets count uncompressed bytes.
    pub file_offset: Option<u64>,
    /// Where offset 0 of `scan`'s offsets is in the file: 0 for the file itself, the start
    /// of a stored member's data for a member. `None` for a deflated member.
    pub offset_base: Option<u64>,
    /// Offsets in here are relative to the member for zip members, and absolute in the file
    /// otherwise.
    pub scan: PickleScan,
}

impl PickleStream {
    /// The file offset of an offset reported in `scan`, when offsets map to the file.
    pub fn file_position(&self, offset: u64) -> Option<u64> {
        self.offset_base.map(|base| base.saturating_add(offset))
    }
}

/// Something odd about part of a file that did not stop the rest of the scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScanIssue {
    pub member: Option<String>,
    /// Byte offset in the file, when there is one.
    pub offset: Option<u64>,
    pub message: String,
    /// A limit or an unreadable container left content unscanned that may hold a pickle
    /// (members beyond the member cap, an archive refused by a limit, a 7z archive): the
    /// report gives it the severity of a pickle that imports anything.
    pub unscanned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileScan {
    pub format: Format,
    pub streams: Vec<PickleStream>,
    /// For zip archives: every member name, in central-directory order.
    pub members: Vec<String>,
    pub issues: Vec<ScanIssue>,
    /// The file could not be scanned at all (or only partly, before this error).
    pub error: Option<ScanIssue>,
}

impl FileScan {
    fn new(format: Format) -> Self {
        FileScan {
            format,
            streams: Vec::new(),
            members: Vec::new(),
            issues: Vec::new(),
            error: None,
        }
    }

    fn fail(mut self, offset: Option<u64>, message: String) -> Self {
        self.error = Some(ScanIssue {
            member: None,
            offset,
            message,
            unscanned: false,
        });
        self
    }

    /// The file could not be inspected at all, and may hold a pickle.
    fn unscanned(mut self, offset: Option<u64>, message: String) -> Self {
        self.error = Some(ScanIssue {
            member: None,
            offset,
            message,
            unscanned: true,
        });
        self
    }
}

/// Limits of a file scan.
#[derive(Clone, Debug)]
pub struct FileScanOptions {
    pub pickle: pickle::Limits,
    pub archive: ArchiveLimits,
    /// Most zip members scanned per archive (likely pickles first).
    pub max_members: usize,
    /// Most bytes read from the members of one archive, all members together.
    pub max_member_bytes: u64,
}

impl Default for FileScanOptions {
    fn default() -> Self {
        FileScanOptions {
            pickle: pickle::Limits::default(),
            archive: ArchiveLimits::default(),
            max_members: 4096,
            max_member_bytes: 4 << 30,
        }
    }
}

/// Scan the regular file at `path`; `name` (its repository-relative path) decides formats
/// that have no magic number.
pub fn scan_file(path: &Path, name: &str, options: &FileScanOptions) -> FileScan {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e) => return FileScan::new(Format::Other).fail(None, format!("cannot open: {e}")),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return FileScan::new(Format::Other).fail(None, format!("cannot stat: {e}")),
    };
    let mut head = Vec::with_capacity(HEAD_LEN);
    if let Err(e) = (&file).take(HEAD_LEN as u64).read_to_end(&mut head) {
        return FileScan::new(Format::Other).fail(Some(0), format!("cannot read: {e}"));
    }
    let format = format::detect(name, &head, size);
    scan_open_file(file, format, size, options)
}

/// Scan a model file held in memory (an archive member, a fuzzer's input); `name` decides
/// formats that have no magic number, as for [`scan_file`].
pub fn scan_bytes(name: &str, bytes: &[u8], options: &FileScanOptions) -> FileScan {
    let head = bytes.get(..HEAD_LEN.min(bytes.len())).unwrap_or_default();
    let format = format::detect(name, head, bytes.len() as u64);
    scan_open_file(Cursor::new(bytes), format, bytes.len() as u64, options)
}

fn scan_open_file<F: Read + Seek>(
    mut file: F,
    format: Format,
    size: u64,
    options: &FileScanOptions,
) -> FileScan {
    let result = FileScan::new(format);
    if let Err(e) = file.seek(SeekFrom::Start(0)) {
        return result.fail(Some(0), format!("cannot read: {e}"));
    }
    match format {
        Format::Pickle => {
            let mut result = result;
            result.streams.push(PickleStream {
                member: None,
                file_offset: Some(0),
                offset_base: Some(0),
                scan: pickle::scan(
                    &mut file,
                    &ScanOptions {
                        base_offset: 0,
                        len: Some(size),
                        multiple: true,
                        limits: options.pickle.clone(),
                    },
                ),
            });
            result
        }
        Format::Numpy => scan_npy(&mut file, size, None, Some(0), result, options),
        Format::Zip | Format::TorchZip | Format::TorchScript => {
            scan_zip(&mut file, size, result, options)
        }
        Format::SevenZip => result.unscanned(
            Some(0),
            "a 7z archive, which tritonguard cannot read: its members were not scanned, and \
             picklescan-style loaders unpickle what it holds"
                .into(),
        ),
        _ => result,
    }
}

/// A `.npy` file (or zip member) at the reader's current position; `member` names the zip
/// member, `file_base` is where the `.npy` bytes start in the file (if offsets map 1:1).
/// Only object arrays hold a pickle.
fn scan_npy<R: Read>(
    reader: &mut R,
    size: u64,
    member: Option<&ZipEntry>,
    file_base: Option<u64>,
    mut result: FileScan,
    options: &FileScanOptions,
) -> FileScan {
    let header = match format::npy_header(reader) {
        Ok(h) => h,
        Err(e) => {
            let issue = ScanIssue {
                member: member.map(|m| m.name.clone()),
                offset: Some(e.offset),
                message: e.to_string(),
                unscanned: false,
            };
            if member.is_some() {
                result.issues.push(issue);
            } else {
                result.error = Some(issue);
            }
            return result;
        }
    };
    if header.object {
        let scan = pickle::scan(
            reader,
            &ScanOptions {
                base_offset: header.data_offset,
                len: Some(size.saturating_sub(header.data_offset)),
                multiple: false,
                limits: options.pickle.clone(),
            },
        );
        result.streams.push(PickleStream {
            member: member.map(|m| m.name.clone()),
            file_offset: file_base.map(|b| b + header.data_offset),
            offset_base: file_base,
            scan,
        });
    }
    result
}

/// Members torch or numpy would unpickle: `*.pkl` (torch's `data.pkl`, TorchScript's
/// `constants.pkl`) and `*.npy` (`.npz` arrays). PyTorch looks names up case-insensitively.
fn member_kind(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".pkl") || lower.ends_with(".pickle") {
        Some(Format::Pickle)
    } else if lower.ends_with(".npy") {
        Some(Format::Numpy)
    } else {
        None
    }
}

/// The order members are scanned in, so that a cap on members cannot be spent on decoys:
/// what `torch.load` unpickles first, then other pickle names, then every other member
/// (recognised by content), raw tensor storages (`data/N`) last.
fn member_priority(name: &str) -> u8 {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    if base == "data.pkl" || base == "constants.pkl" {
        0
    } else if member_kind(name).is_some() {
        1
    } else if lower.contains("/data/") || lower.starts_with("data/") {
        3
    } else {
        2
    }
}

fn scan_zip<F: Read + Seek>(
    file: &mut F,
    size: u64,
    mut result: FileScan,
    options: &FileScanOptions,
) -> FileScan {
    let entries = match archive::read_entries(file, size, &options.archive) {
        Ok(e) => e,
        // A limit refused the archive: what it holds is unknown. A broken one does not load.
        Err(e @ archive::ZipError::Refused { .. }) => {
            let offset = e.offset();
            return result.unscanned(offset, format!("{e}: its members were not scanned"));
        }
        Err(e) => {
            let offset = e.offset();
            return result.fail(offset, e.to_string());
        }
    };
    result.members = entries.iter().map(|e| e.name.clone()).collect();
    let names: Vec<String> = entries
        .iter()
        .map(|e| e.name.to_ascii_lowercase())
        .collect();
    if names
        .iter()
        .any(|n| n.ends_with("/constants.pkl") || n.contains("/code/__torch__/"))
    {
        result.format = Format::TorchScript;
    } else if names
        .iter()
        .any(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
    {
        result.format = Format::TorchZip;
    }
    let mut order: Vec<&ZipEntry> = entries.iter().filter(|e| !is_directory(e)).collect();
    order.sort_by_key(|e| member_priority(&e.name));
    let read = Cell::new(0u64);
    for (scanned, entry) in order.iter().enumerate() {
        let budget = options.max_member_bytes.saturating_sub(read.get());
        if scanned == options.max_members || budget == 0 {
            let left = order.len() - scanned;
            let why = if budget == 0 {
                format!(
                    "{} bytes were read from its members",
                    options.max_member_bytes
                )
            } else {
                format!("{} members were scanned", options.max_members)
            };
            result.issues.push(ScanIssue {
                member: None,
                offset: None,
                message: format!(
                    "the scan of this archive stopped after {why} (likely pickles first): {left} more member{} were not scanned and may hold pickles",
                    if left == 1 { "" } else { "s" }
                ),
                unscanned: true,
            });
            break;
        }
        let mut limits = options.archive.clone();
        limits.max_inflated = limits.max_inflated.min(budget);
        if let Some(issue) = scan_member(file, size, entry, &mut result, options, &limits, &read) {
            result.issues.push(issue);
        }
    }
    result
}

/// A directory entry (`name/`, empty) holds no data.
fn is_directory(entry: &ZipEntry) -> bool {
    entry.raw_name.ends_with(b"/") && entry.uncompressed_size == 0
}

/// Counts the bytes read through it into a shared total.
struct Counted<'c, R> {
    inner: R,
    total: &'c Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total.set(self.total.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Is a member that has no pickle name a pickle after all? Yes when it imports a global
/// Python could import (identifier-shaped module and name: text that happens to start
/// with `c` or `i`, such as `class Model:`, decodes as a GLOBAL of a module that cannot
/// exist), or is a protocol 2+ pickle that decodes to its `STOP` or up to a limit. Random
/// or text data stops at its first bytes and is not reported.
fn looks_like_pickle(scan: &PickleScan, protocol_header: bool) -> bool {
    let limited = matches!(
        scan.error.as_ref().map(|e| &e.kind),
        Some(pickle::PickleErrorKind::LimitExceeded { .. })
    );
    let importable = scan.globals.iter().any(|g| {
        g.module.as_deref().is_some_and(is_dotted_identifier)
            && g.name.as_deref().is_some_and(is_dotted_identifier)
    });
    importable
        || protocol_header && (!scan.pickles.is_empty() || limited || !scan.globals.is_empty())
}

/// `a.b_c.D1`: what `importlib` and attribute lookup can resolve.
fn is_dotted_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Scan one member into `result`; returns an issue if the member could not be read.
/// Members named like pickles or `.npy` arrays are scanned as such; any other member is
/// recognised by its content (a pickle stored as `data.txt` is still a pickle to a loader
/// that is handed it). `read` counts the bytes read from the archive's members.
fn scan_member<F: Read + Seek>(
    file: &mut F,
    size: u64,
    entry: &ZipEntry,
    result: &mut FileScan,
    options: &FileScanOptions,
    limits: &ArchiveLimits,
    read: &Cell<u64>,
) -> Option<ScanIssue> {
    let issue = |offset: Option<u64>, message: String| ScanIssue {
        member: Some(entry.name.clone()),
        offset,
        message,
        unscanned: false,
    };
    let header = match archive::local_header(file, entry, size) {
        Ok(h) => h,
        Err(e) => return Some(issue(e.offset(), e.to_string())),
    };
    let named = member_kind(&entry.name);
    let stored = entry.method == archive::METHOD_STORED;
    let reader = match archive::open_member(file, entry, &header, limits) {
        Ok(r) => r,
        Err(e) => {
            // A compression method this reader lacks (bzip2, LZMA: Python's zipfile reads
            // them): a pickle-named member may run code unseen; any other is only noted.
            let unsupported =
                entry.method != archive::METHOD_STORED && entry.method != archive::METHOD_DEFLATE;
            if named.is_none() && !unsupported {
                return None;
            }
            return Some(ScanIssue {
                unscanned: unsupported && named.is_some(),
                ..issue(Some(entry.header_offset), format!("{e}; not scanned"))
            });
        }
    };
    let mut reader = Counted {
        inner: reader,
        total: read,
    };
    let mut head = Vec::with_capacity(HEAD_LEN);
    if let Err(e) = reader.by_ref().take(HEAD_LEN as u64).read_to_end(&mut head) {
        return named.map(|_| issue(Some(entry.header_offset), format!("cannot read: {e}")));
    }
    let numpy_magic = head.starts_with(b"\x93NUMPY");
    let kind = named.unwrap_or(if numpy_magic {
        Format::Numpy
    } else {
        Format::Other
    });
    if named.is_some() || numpy_magic {
        if header.name_mismatch {
            result.issues.push(issue(
                Some(entry.header_offset),
                "local header names this member differently from the central directory \
                 (PyTorch loads it by the central name; Python's zipfile refuses the archive)"
                    .into(),
            ));
        }
        if entry.is_encrypted() {
            result.issues.push(issue(
                Some(entry.header_offset),
                "member is flagged encrypted; PyTorch's reader ignores the flag, so it was scanned as is"
                    .into(),
            ));
        }
    }
    let mut reader = Cursor::new(head.clone()).chain(reader);
    match kind {
        Format::Numpy => {
            let scanned = scan_npy(
                &mut reader,
                entry.uncompressed_size,
                Some(entry),
                stored.then_some(header.data_offset),
                FileScan::new(Format::Numpy),
                options,
            );
            result.issues.extend(scanned.issues);
            result.streams.extend(scanned.streams);
        }
        _ => {
            let scan = pickle::scan(
                &mut reader,
                &ScanOptions {
                    base_offset: 0,
                    len: Some(entry.uncompressed_size),
                    multiple: named.is_none(),
                    limits: options.pickle.clone(),
                },
            );
            let protocol_header =
                matches!(head.as_slice(), [0x80, p, ..] if *p <= pickle::HIGHEST_PROTOCOL);
            if named.is_some() || looks_like_pickle(&scan, protocol_header) {
                result.streams.push(PickleStream {
                    member: Some(entry.name.clone()),
                    file_offset: stored.then_some(header.data_offset),
                    offset_base: stored.then_some(header.data_offset),
                    scan,
                });
            }
        }
    }
    None
}
