//! The one store of scanned texts. Spans are byte ranges into these texts, and this module is
//! the only place where a byte offset becomes a line and column, so the human report and SARIF
//! can never disagree about where a finding is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in a [`SourceStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one scanned file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The smallest span that covers both; `other` must be in the same file.
    pub fn join(self, other: Span) -> Span {
        if other.file != self.file {
            return self;
        }
        Span::new(
            self.file,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }
}

/// A position for people and for SARIF: 1-based line, 1-based columns counted in characters
/// (for terminals) and in UTF-16 code units (SARIF's default `columnKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub column_utf16: usize,
}

/// One scanned file: how to name it in reports, and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as the user should see it: relative to the scan root where possible, `/`-separated.
    pub display: String,
    /// Path on disk, if the text came from one (not for stdin).
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
    /// Set when the source is an endpoint of a probed server rather than a file.
    pub remote: Option<Remote>,
    line_starts: Vec<usize>,
}

/// An endpoint of a running server that `probe` asked: a textless source whose artifact is
/// the server's URL and whose logical location is the request (SARIF `logicalLocations`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// The server's base URL (`http://10.0.0.5:8000`) or gRPC address (`grpc://10.0.0.5:8001`).
    pub url: String,
    /// The request that showed the finding: `POST /v2/repository/index`,
    /// `inference.GRPCInferenceService/RepositoryIndex`.
    pub endpoint: String,
}

impl SourceFile {
    pub fn new(display: String, path: Option<PathBuf>, text: Arc<str>) -> SourceFile {
        let line_starts = line_starts(&text);
        SourceFile {
            display,
            path,
            text,
            remote: None,
            line_starts,
        }
    }

    /// An endpoint of a probed server: shown as its URL, with no text.
    pub fn remote(remote: Remote) -> SourceFile {
        let mut file = SourceFile::new(remote.url.clone(), None, Arc::from(""));
        file.remote = Some(remote);
        file
    }

    /// 0-based index of the line that holds `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        line_index_in(&self.line_starts, offset)
    }

    pub fn line_start(&self, line_index: usize) -> usize {
        self.line_starts
            .get(line_index)
            .copied()
            .unwrap_or(self.text.len())
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The text of a 0-based line without its line terminator.
    pub fn line_text(&self, line_index: usize) -> &str {
        let start = self.line_start(line_index);
        let end = self
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line_index = self.line_index(offset);
        let start = self.line_start(line_index);
        let prefix = self.text.get(start..offset).unwrap_or("");
        Position {
            line: line_index + 1,
            column: prefix.chars().count() + 1,
            column_utf16: prefix.encode_utf16().count() + 1,
        }
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// Byte offsets at which the lines of `text` start. `\n`, `\r\n` and a lone `\r` each end a
/// line (YAML's line breaks; editors show an old Mac file's CR-only lines the same way).
/// Every line number shown to a user, in a position or inside a message, comes from here.
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(lines(text).filter(|l| l.end > l.content_end).map(|l| l.end));
    starts
}

/// 0-based index of the line that holds `offset`, given [`line_starts`].
pub fn line_index_in(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    }
}

/// One line of a text: `start..content_end` is its content, `content_end..end` its line
/// break (empty for a last line without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub content_end: usize,
    pub end: usize,
}

/// The lines of `text`, breaking at `\n`, `\r\n` and a lone `\r` as [`line_starts`] does. An
/// empty text has no lines; a text ending in a line break has no empty last line.
pub fn lines(text: &str) -> impl Iterator<Item = Line> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        let rest = bytes.get(start..).unwrap_or_default();
        let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
            at = bytes.len();
            return Some(Line {
                start,
                content_end: at,
                end: at,
            });
        };
        let content_end = start + i;
        let crlf =
            bytes.get(content_end) == Some(&b'\r') && bytes.get(content_end + 1) == Some(&b'\n');
        at = content_end + if crlf { 2 } else { 1 };
        Some(Line {
            start,
            content_end,
            end: at,
        })
    })
}

/// Every file of one scan, indexed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceStore {
    files: Vec<SourceFile>,
}

impl SourceStore {
    pub fn new() -> SourceStore {
        SourceStore::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn display(&self, id: FileId) -> &str {
        self.get(id)
            .map(|f| f.display.as_str())
            .unwrap_or("<unknown>")
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn position(&self, id: FileId, offset: usize) -> Position {
        self.get(id)
            .map(|f| f.position(offset))
            .unwrap_or(Position {
                line: 1,
                column: 1,
                column_utf16: 1,
            })
    }

    /// Start and end positions of a span.
    pub fn range(&self, span: Span) -> (Position, Position) {
        (
            self.position(span.file, span.start),
            self.position(span.file, span.end),
        )
    }

    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file).map(|f| f.slice(span)).unwrap_or("")
    }
}

/// A path for reports: relative to `base` when it is inside it, always with `/` separators.
pub fn display_path(path: &Path, base: &Path) -> String {
    let shown = path.strip_prefix(base).unwrap_or(path);
    // Lossless: a byte that is not UTF-8 shows as `\xNN`, not as U+FFFD (two names must not
    // look the same). A backslash is a separator only on Windows.
    let text = crate::escape::lossless_name(shown.as_os_str().as_encoded_bytes());
    let text = if cfg!(windows) {
        text.replace('\\', "/")
    } else {
        text
    };
    let text = text.strip_prefix("./").unwrap_or(&text).to_string();
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_utf16_units() {
        let file = SourceFile::new("x".into(), None, Arc::from("ab\né😀x\n"));
        assert_eq!(
            file.position(0),
            Position {
                line: 1,
                column: 1,
                column_utf16: 1
            }
        );
        let x = file.text.find('x').unwrap_or(0);
        let pos = file.position(x);
        assert_eq!((pos.line, pos.column, pos.column_utf16), (2, 3, 4));
        assert_eq!(file.line_text(1), "é😀x");
    }

    #[test]
    fn cr_crlf_and_lf_all_end_lines() {
        let text = "a\rb\r\nc\nd";
        assert_eq!(line_starts(text), vec![0, 2, 5, 7]);
        let file = SourceFile::new("x".into(), None, Arc::from(text));
        assert_eq!(file.position(5).line, 3);
        assert_eq!(file.line_text(1), "b");
        assert_eq!(line_starts("a\n"), vec![0, 2]);
        assert_eq!(line_starts(""), vec![0]);
        let parts: Vec<&str> = lines("x\r\r\ny\n")
            .map(|l| &"x\r\r\ny\n"[l.start..l.content_end])
            .collect();
        assert_eq!(parts, ["x", "", "y"]);
    }

    #[test]
    fn offsets_inside_a_character_round_down() {
        let file = SourceFile::new("x".into(), None, Arc::from("é"));
        assert_eq!(file.position(1).column, 1);
    }
}
