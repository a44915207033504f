//! The lock file of `tritonguard repo lock DIR`: the SHA-256 and size of every regular file
//! in a model repository, so that `repo audit --lock` can tell what changed.
//!
//! Format (version 1) — plain text, one file per entry, sorted by path, so it reads and diffs
//! well, and a `sha256sum` checksum file at the same time:
//!
//! ```text
//! # tritonguard lock v1
//! # SHA-256 and size of every regular file in the model repository, sorted by path.
//! # Verify from the repository root with GNU coreutils: sha256sum --strict -c tritonguard.lock
//! # size 1048576
//! 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  densenet/1/model.onnx
//! # size 312
//! 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae  densenet/config.pbtxt
//! ```
//!
//! * An entry is `<64 hex digits><two spaces><path>` exactly as `sha256sum` prints it; ` *`
//!   (binary mode) is accepted too. Paths are relative to the repository root and
//!   `/`-separated; a path containing `\` or a newline is escaped the way GNU `sha256sum`
//!   does it (the line starts with `\`, and `\\`, `\n` stand for `\` and newline).
//! * `# size N` gives the byte size of the entry on the next line. GNU `sha256sum -c` skips
//!   `#` lines, so the file verifies as it is; tritonguard uses the size too. It is optional,
//!   so a plain `sha256sum` listing is a valid lock file.
//! * Other `#` lines and blank lines are comments. A `# tritonguard lock vN` line with N other
//!   than 1 is refused.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::hash::{FileHash, Sha256Digest};
use crate::escape::excerpt;

pub const HEADER: &str = "# tritonguard lock v1";
pub const DEFAULT_FILE_NAME: &str = "tritonguard.lock";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockEntry {
    pub path: String,
    pub sha256: Sha256Digest,
    pub size: Option<u64>,
    /// 1-based line of the entry in the lock file (0 for an entry not read from a file).
    pub line: usize,
    /// Byte range of that line in the lock file text.
    pub span: (usize, usize),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// Sorted by path, no duplicates.
    pub entries: Vec<LockEntry>,
}

/// A line of the lock file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LockError {
    /// 1-based.
    pub line: usize,
    /// Byte range of the line in the lock file text.
    pub span: (usize, usize),
    pub message: String,
}

/// Render a lock file from `(relative path, hash)` pairs, in any order.
pub fn render<'a, I>(files: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a FileHash)>,
{
    let sorted: BTreeMap<&str, &FileHash> = files.into_iter().collect();
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    out.push_str(
        "# SHA-256 and size of every regular file in the model repository, sorted by path.\n",
    );
    out.push_str(&format!(
        "# Verify from the repository root with GNU coreutils: sha256sum --strict -c {DEFAULT_FILE_NAME}\n"
    ));
    for (path, hash) in sorted {
        out.push_str(&format!("# size {}\n", hash.size));
        let (escaped, name) = escape_path(path);
        if escaped {
            out.push('\\');
        }
        out.push_str(&hash.sha256.to_hex());
        out.push_str("  ");
        out.push_str(&name);
        out.push('\n');
    }
    out
}

/// GNU coreutils escaping of a file name in a checksum line.
fn escape_path(path: &str) -> (bool, String) {
    if !path.contains(['\\', '\n']) {
        return (false, path.to_string());
    }
    (true, path.replace('\\', "\\\\").replace('\n', "\\n"))
}

fn unescape_path(name: &str) -> Result<String, String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => {
                return Err(format!(
                    "unknown escape \\{} in file name",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

/// A lock path must stay inside the repository: relative, no `.`/`..`, no empty components.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty file name".into());
    }
    if path.starts_with('/') {
        return Err(format!(
            "\"{}\" is absolute; paths are relative to the repository",
            excerpt(path)
        ));
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!(
            "\"{}\" is not a plain relative path (empty, '.' or '..' component)",
            excerpt(path)
        ));
    }
    Ok(())
}

/// A lock file read as bytes: the text to show (bytes that are not UTF-8 replaced by
/// U+FFFD), the text to parse (lines that were not UTF-8 blanked out, so that positions
/// agree with the text shown), and an error for each such line, at the first bad byte.
pub fn decode(bytes: &[u8]) -> (String, String, Vec<LockError>) {
    let mut shown = String::with_capacity(bytes.len());
    let mut parsed = String::with_capacity(bytes.len());
    let mut errors = Vec::new();
    for (i, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let start = shown.len();
        match std::str::from_utf8(raw) {
            Ok(line) => {
                shown.push_str(line);
                parsed.push_str(line);
            }
            Err(e) => {
                let line = String::from_utf8_lossy(raw);
                shown.push_str(&line);
                // Same length, nothing to parse; keep the newline so lines stay lines.
                let blank = line.len() - usize::from(line.ends_with('\n'));
                parsed.extend(std::iter::repeat_n(' ', blank));
                if line.ends_with('\n') {
                    parsed.push('\n');
                }
                let bad = raw.get(e.valid_up_to()).copied().unwrap_or(0);
                errors.push(LockError {
                    line: i + 1,
                    span: (start, shown.len()),
                    message: format!(
                        "byte 0x{bad:02x} at column {} is not UTF-8",
                        e.valid_up_to() + 1
                    ),
                });
            }
        }
    }
    (shown, parsed, errors)
}

/// Parse a lock file. Every bad line is reported (with its line number and byte range) and
/// skipped; the good entries are still returned.
pub fn parse(text: &str) -> (Lock, Vec<LockError>) {
    let mut errors = Vec::new();
    let mut entries: Vec<LockEntry> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    // A `# size` line waiting for its entry: (size, line, span).
    let mut pending: Option<(u64, usize, (usize, usize))> = None;
    let mut offset = 0usize;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let span = (offset, offset + raw.len());
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(version) = comment.strip_prefix("tritonguard lock v") {
                if version != "1" {
                    push_error(
                        &mut errors,
                        line_no,
                        span,
                        format!(
                            "lock file format v{version} is not supported (this tritonguard reads v1)"
                        ),
                    );
                }
            } else if let Some(size) = comment.strip_prefix("size") {
                if let Some((_, l, s)) = pending {
                    push_error(
                        &mut errors,
                        l,
                        s,
                        "size line is not followed by an entry".into(),
                    );
                }
                match size.trim().parse::<u64>() {
                    Ok(n) => pending = Some((n, line_no, span)),
                    Err(_) => {
                        pending = None;
                        push_error(
                            &mut errors,
                            line_no,
                            span,
                            format!("bad size {:?}", size.trim()),
                        );
                    }
                }
            }
            continue;
        }
        let size = pending.take().map(|(n, _, _)| n);
        match parse_entry(line) {
            Ok((path, sha256)) => {
                if let Some(first) = first_line.get(&path) {
                    push_error(
                        &mut errors,
                        line_no,
                        span,
                        format!(
                            "\"{}\" is listed twice (first on line {first})",
                            excerpt(&path)
                        ),
                    );
                    continue;
                }
                first_line.insert(path.clone(), line_no);
                entries.push(LockEntry {
                    path,
                    sha256,
                    size,
                    line: line_no,
                    span,
                });
            }
            Err(message) => push_error(&mut errors, line_no, span, message),
        }
    }
    if let Some((_, l, s)) = pending {
        errors.push(LockError {
            line: l,
            span: s,
            message: "size line is not followed by an entry".into(),
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    (Lock { entries }, errors)
}

fn push_error(errors: &mut Vec<LockError>, line: usize, span: (usize, usize), message: String) {
    errors.push(LockError {
        line,
        span,
        message,
    });
}

/// One `sha256sum` line: `[\]<hex>  <name>` or `[\]<hex> *<name>`.
fn parse_entry(line: &str) -> Result<(String, Sha256Digest), String> {
    let (escaped, body) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let hex = body.get(..64).ok_or_else(|| {
        "expected '<sha256 hex>  <path>' (a 64-digit SHA-256, two spaces, the path)".to_string()
    })?;
    let sha256 = Sha256Digest::from_hex(hex)
        .ok_or_else(|| format!("\"{}\" is not a 64-digit hexadecimal SHA-256", excerpt(hex)))?;
    let rest = body.get(64..).unwrap_or_default();
    let name = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or_else(|| "expected two spaces (or ' *') between the hash and the path".to_string())?;
    let path = if escaped {
        unescape_path(name)?
    } else {
        name.to_string()
    };
    check_path(&path)?;
    Ok((path, sha256))
}

/// How the repository differs from its lock file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The file's content differs from the lock (TG603).
    Mismatch,
    /// A locked file is gone, or no longer a regular file (TG604).
    Missing,
    /// A regular file the lock does not list (TG605).
    Untracked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub path: String,
    /// From the lock (mismatch, missing).
    pub expected: Option<LockedHash>,
    /// From the repository (mismatch, untracked).
    pub actual: Option<FileHash>,
    /// The lock line (mismatch, missing): where a finding about the lock points.
    pub lock_line: Option<usize>,
    pub lock_span: Option<(usize, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LockedHash {
    pub sha256: Sha256Digest,
    pub size: Option<u64>,
}

/// A regular file in the repository now. `hash` is `None` if it could not be read (that is
/// reported elsewhere; the file is neither missing nor untracked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentFile<'a> {
    pub path: &'a str,
    pub hash: Option<FileHash>,
}

/// Compare the repository's regular files with the lock. Results are sorted by path.
pub fn compare(lock: &Lock, current: &[CurrentFile<'_>]) -> Vec<Drift> {
    let now: BTreeMap<&str, Option<FileHash>> = current.iter().map(|f| (f.path, f.hash)).collect();
    let mut out = Vec::new();
    for e in &lock.entries {
        let expected = Some(LockedHash {
            sha256: e.sha256,
            size: e.size,
        });
        let located = |kind, actual| Drift {
            kind,
            path: e.path.clone(),
            expected,
            actual,
            lock_line: (e.line > 0).then_some(e.line),
            lock_span: (e.line > 0).then_some(e.span),
        };
        match now.get(e.path.as_str()) {
            None => out.push(located(DriftKind::Missing, None)),
            Some(None) => {}
            Some(Some(h)) => {
                let size_differs = e.size.is_some_and(|s| s != h.size);
                if h.sha256 != e.sha256 || size_differs {
                    out.push(located(DriftKind::Mismatch, Some(*h)));
                }
            }
        }
    }
    let locked: std::collections::HashSet<&str> =
        lock.entries.iter().map(|e| e.path.as_str()).collect();
    for (path, hash) in &now {
        if !locked.contains(path) {
            out.push(Drift {
                kind: DriftKind::Untracked,
                path: (*path).to_string(),
                expected: None,
                actual: *hash,
                lock_line: None,
                lock_span: None,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fh(byte: u8, size: u64) -> FileHash {
        FileHash {
            sha256: Sha256Digest([byte; 32]),
            size,
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_spoil_only_their_line() {
        let mut bytes = b"# tritonguard lock v1\n".to_vec();
        bytes.extend_from_slice(format!("{}  a\n", "0".repeat(64)).as_bytes());
        bytes.extend_from_slice(b"bad \xff line\n");
        bytes.extend_from_slice(format!("{}  b\n", "1".repeat(64)).as_bytes());
        let (shown, parsed, errors) = decode(&bytes);
        assert_eq!(shown.len(), parsed.len());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("0xff at column 5"));
        assert!(shown[errors[0].span.0..errors[0].span.1].starts_with("bad"));
        let (lock, parse_errors) = parse(&parsed);
        assert!(parse_errors.is_empty(), "{parse_errors:?}");
        assert_eq!(lock.entries.len(), 2);
    }

    #[test]
    fn render_is_sorted_escaped_and_parses_back() {
        let a = fh(0xab, 3);
        let b = fh(0x01, 10);
        let c = fh(0x02, 0);
        let text = render([
            ("m/1/model.pt", &a),
            ("m/config.pbtxt", &b),
            ("odd\\na\nme", &c),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[3], "# size 3");
        assert_eq!(lines[4], format!("{}  m/1/model.pt", "ab".repeat(32)));
        assert_eq!(lines[8], format!("\\{}  odd\\\\na\\nme", "02".repeat(32)));
        let (lock, errors) = parse(&text);
        assert_eq!(errors, vec![]);
        let paths: Vec<&str> = lock.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["m/1/model.pt", "m/config.pbtxt", "odd\\na\nme"]);
        assert_eq!(lock.entries[0].size, Some(3));
        assert_eq!(lock.entries[0].line, 5);
        assert_eq!(lock.entries[1].sha256, b.sha256);
    }

    #[test]
    fn malformed_lines_are_reported_with_line_numbers() {
        let good = "ab".repeat(32);
        let text = format!(
            "# tritonguard lock v1\n\
             # size 3\n\
             {good}  a\n\
             nothex  b\n\
             {good} c\n\
             # size many\n\
             {good}  ../etc/passwd\n\
             {good}  a\n\
             # size 4\n"
        );
        let (lock, errors) = parse(&text);
        assert_eq!(lock.entries.len(), 1);
        let got: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0].0, 4);
        assert!(got[0].1.contains("expected '<sha256 hex>"));
        assert_eq!(got[1].0, 5);
        assert!(got[1].1.contains("two spaces"));
        assert_eq!(got[2], (6, "bad size \"many\""));
        assert_eq!(got[3].0, 7);
        assert!(got[3].1.contains("'..'"));
        assert_eq!(got[4], (8, "\"a\" is listed twice (first on line 3)"));
        assert_eq!(got[5], (9, "size line is not followed by an entry"));
        // The span of line 4 covers exactly that line.
        let (s, e) = errors[0].span;
        assert_eq!(&text[s..e], "nothex  b\n");
        let (_, errors) = parse("# tritonguard lock v2\n");
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn plain_sha256sum_output_is_a_lock() {
        let text = format!("{}  x/y\n{} *z\n", "0f".repeat(32), "1E".repeat(32));
        let (lock, errors) = parse(&text);
        assert!(errors.is_empty());
        assert_eq!(lock.entries.len(), 2);
        assert_eq!(lock.entries[0].size, None);
        assert_eq!(lock.entries[1].sha256, Sha256Digest([0x1e; 32]));
    }

    #[test]
    fn compare_finds_mismatch_missing_untracked() {
        let a = fh(1, 1);
        let b = fh(2, 2);
        let text = render([("a", &a), ("b", &b), ("gone", &a)]);
        let (lock, _) = parse(&text);
        let changed = fh(9, 2);
        let now = [
            CurrentFile {
                path: "a",
                hash: Some(a),
            },
            CurrentFile {
                path: "b",
                hash: Some(changed),
            },
            CurrentFile {
                path: "new",
                hash: Some(b),
            },
            CurrentFile {
                path: "unreadable",
                hash: None,
            },
        ];
        let drift = compare(&lock, &now);
        let got: Vec<(DriftKind, &str)> = drift.iter().map(|d| (d.kind, d.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (DriftKind::Mismatch, "b"),
                (DriftKind::Missing, "gone"),
                (DriftKind::Untracked, "new"),
                (DriftKind::Untracked, "unreadable")
            ]
        );
        assert_eq!(drift[0].lock_line, Some(7));
        assert_eq!(drift[0].actual, Some(changed));
    }
}
