//! Scan one model file: recognise its format and run the pickle scanner on every pickle it
//! holds — the file itself, the `.pkl` members of a zip archive, or the object array of a
//! `.npy` file.

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
        });
        self
    }
}

/// Limits of a file scan.
#[derive(Clone, Debug)]
pub struct FileScanOptions {
    pub pickle: pickle::Limits,
    pub archive: ArchiveLimits,
    /// Most zip members scanned per archive.
    pub max_members: usize,
}

impl Default for FileScanOptions {
    fn default() -> Self {
        FileScanOptions {
            pickle: pickle::Limits::default(),
            archive: ArchiveLimits::default(),
            max_members: 4096,
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
    if lower.ends_with(".pkl") {
        Some(Format::Pickle)
    } else if lower.ends_with(".npy") {
        Some(Format::Numpy)
    } else {
        None
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
    let mut scanned = 0usize;
    for entry in &entries {
        let Some(kind) = member_kind(&entry.name) else {
            continue;
        };
        if scanned == options.max_members {
            result.issues.push(ScanIssue {
                member: None,
                offset: None,
                message: format!(
                    "only the first {} pickle members were scanned",
                    options.max_members
                ),
            });
            break;
        }
        scanned += 1;
        if let Some(issue) = scan_member(file, size, entry, kind, &mut result, options) {
            result.issues.push(issue);
        }
    }
    result
}

/// Scan one member into `result`; returns an issue if the member could not be read.
fn scan_member<F: Read + Seek>(
    file: &mut F,
    size: u64,
    entry: &ZipEntry,
    kind: Format,
    result: &mut FileScan,
    options: &FileScanOptions,
) -> Option<ScanIssue> {
    let issue = |offset: Option<u64>, message: String| ScanIssue {
        member: Some(entry.name.clone()),
        offset,
        message,
    };
    let header = match archive::local_header(file, entry, size) {
        Ok(h) => h,
        Err(e) => return Some(issue(e.offset(), e.to_string())),
    };
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
    let stored = entry.method == archive::METHOD_STORED;
    let mut reader = match archive::open_member(file, entry, &header, &options.archive) {
        Ok(r) => r,
        Err(e) => return Some(issue(Some(entry.header_offset), e.to_string())),
    };
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
                    multiple: false,
                    limits: options.pickle.clone(),
                },
            );
            result.streams.push(PickleStream {
                member: Some(entry.name.clone()),
                file_offset: stored.then_some(header.data_offset),
                offset_base: stored.then_some(header.data_offset),
                scan,
            });
        }
    }
    None
}
