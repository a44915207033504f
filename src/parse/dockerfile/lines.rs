//! Physical lines to logical instructions, the way BuildKit's parser reads them: parser
//! directives only at the very top, whole-line comments dropped (also inside continuations),
//! the escape character at a line end (trailing blanks allowed) joining the next line without
//! a separator, and heredoc bodies read line by line after the instruction.

use std::ops::Range;

use crate::parse::words::SourceMap;
use crate::source::{FileId, Span};

use super::{Directive, DockerfileError, DockerfileErrorKind};

/// One line: where its content starts and ends (line terminator excluded) and where the next
/// line starts.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

/// An instruction's lines joined as BuildKit joins them.
pub(super) struct Logical {
    pub text: String,
    pub map: SourceMap,
    /// File offset after its last character (line terminator excluded).
    pub end: usize,
    /// The file ended right after an escape character that asked for another line.
    pub dangling: Option<usize>,
}

pub(super) struct Reader<'t> {
    file: FileId,
    text: &'t str,
    lines: Vec<Line>,
    next: usize,
    /// Whole-line comments passed over so far (those inside heredocs are heredoc text).
    pub comments: Vec<Span>,
}

pub(super) struct HeredocLines {
    pub content: String,
    /// The body lines, terminator excluded.
    pub body: Span,
    /// File offset after the terminator line's content.
    pub end: usize,
}

/// `# name = value`: the byte ranges of the name and the value in `line`.
fn directive(line: &str) -> Option<(Range<usize>, Range<usize>)> {
    let bytes = line.as_bytes();
    let skip_blanks = |mut p: usize| {
        while bytes.get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        p
    };
    if bytes.first() != Some(&b'#') {
        return None;
    }
    let name_start = skip_blanks(1);
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    let mut name_end = name_start;
    while bytes.get(name_end).is_some_and(u8::is_ascii_alphanumeric) {
        name_end += 1;
    }
    let eq = skip_blanks(name_end);
    if bytes.get(eq) != Some(&b'=') {
        return None;
    }
    let value_start = skip_blanks(eq + 1);
    let value_end = line.trim_end().len();
    (value_start < value_end).then_some((name_start..name_end, value_start..value_end))
}

impl<'t> Reader<'t> {
    pub fn new(file: FileId, text: &'t str) -> Reader<'t> {
        let mut lines = Vec::new();
        // A byte-order mark is not part of the first line.
        let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        while start < text.len() {
            let newline = text.get(start..).and_then(|rest| rest.find('\n'));
            let (content_end, next) = match newline {
                Some(i) => (start + i, start + i + 1),
                None => (text.len(), text.len()),
            };
            let content = text.get(start..content_end).unwrap_or("");
            let end = start + content.trim_end_matches('\r').len();
            lines.push(Line { start, end, next });
            start = next;
        }
        Reader {
            file,
            text,
            lines,
            next: 0,
            comments: Vec::new(),
        }
    }

    fn content(&self, line: Line) -> &'t str {
        self.text.get(line.start..line.end).unwrap_or("")
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// The parser directives at the top of the file and the escape character they set.
    /// Reading stops at the first line that is not a directive.
    pub fn directives(&self) -> (Vec<Directive>, Vec<DockerfileError>, u8) {
        let mut directives: Vec<Directive> = Vec::new();
        let mut errors = Vec::new();
        let mut escape = b'\\';
        for line in &self.lines {
            let content = self.content(*line);
            let lead = content.len() - content.trim_start().len();
            let trimmed = content.trim_start();
            let Some((name, value)) = directive(trimmed) else {
                break;
            };
            let at = line.start + lead;
            let value_span = self.span(at + value.start, at + value.end);
            let name = trimmed.get(name).unwrap_or("").to_ascii_lowercase();
            if !matches!(name.as_str(), "syntax" | "escape" | "check") {
                break;
            }
            let value = trimmed.get(value).unwrap_or("").to_string();
            let span = self.span(at, line.end);
            if directives.iter().any(|d| d.name == name) {
                errors.push(DockerfileError {
                    span,
                    kind: DockerfileErrorKind::DuplicateDirective { name: name.clone() },
                });
                continue;
            }
            if name == "escape" {
                match value.as_str() {
                    "\\" => escape = b'\\',
                    "`" => escape = b'`',
                    _ => errors.push(DockerfileError {
                        span: value_span,
                        kind: DockerfileErrorKind::InvalidEscape {
                            value: value.clone(),
                        },
                    }),
                }
            }
            directives.push(Directive {
                name,
                value,
                span,
                value_span,
            });
        }
        (directives, errors, escape)
    }

    /// The end of `line`'s content without a continuation escape, and where that escape is.
    fn continuation(&self, line: Line, from: usize, escape: u8) -> (usize, Option<usize>) {
        let content = self.text.get(from..line.end).unwrap_or("");
        let trimmed = content.trim_end_matches([' ', '\t']);
        let bytes = trimmed.as_bytes();
        match bytes {
            [.., before, last] if *last == escape && *before != escape => {
                (from + trimmed.len() - 1, Some(from + trimmed.len() - 1))
            }
            [last] if *last == escape => (from, Some(from)),
            _ => (line.end, None),
        }
    }

    /// The next instruction, or `None` at the end of the file.
    pub fn next_instruction(&mut self, escape: u8) -> Option<Logical> {
        while let Some(&line) = self.lines.get(self.next) {
            self.next += 1;
            let content = self.content(line);
            let trimmed = content.trim_start();
            if trimmed.starts_with('#') {
                self.comments
                    .push(self.span(line.end - trimmed.len(), line.end));
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let start = line.end - trimmed.len();
            let mut logical = Logical {
                text: String::new(),
                map: SourceMap::new(self.file, start),
                end: line.end,
                dangling: None,
            };
            let (fragment_end, mut escape_at) = self.continuation(line, start, escape);
            self.push(&mut logical, start, fragment_end);
            while let Some(at) = escape_at {
                let Some(&next) = self.lines.get(self.next) else {
                    logical.dangling = Some(at);
                    break;
                };
                self.next += 1;
                let content = self.content(next).trim_start();
                if content.starts_with('#') {
                    self.comments
                        .push(self.span(next.end - content.len(), next.end));
                }
                // BuildKit drops comment lines and blank lines inside a continuation.
                if content.is_empty() || content.starts_with('#') {
                    continue;
                }
                let (fragment_end, more) = self.continuation(next, next.start, escape);
                self.push(&mut logical, next.start, fragment_end);
                logical.end = next.end;
                escape_at = more;
            }
            return Some(logical);
        }
        None
    }

    fn push(&self, logical: &mut Logical, start: usize, end: usize) {
        logical
            .text
            .push_str(self.text.get(start..end).unwrap_or(""));
        logical.map.push(end - start, start);
    }

    /// Reads a heredoc body up to its terminator line. `None` when the file ends first (the
    /// rest of the file is consumed).
    pub fn heredoc(&mut self, name: &str, strip_tabs: bool) -> Option<HeredocLines> {
        let body_start = self
            .lines
            .get(self.next)
            .map_or(self.text.len(), |l| l.start);
        let mut content = String::new();
        while let Some(&line) = self.lines.get(self.next) {
            self.next += 1;
            let text = self.content(line);
            let candidate = if strip_tabs {
                text.trim_start_matches('\t')
            } else {
                text
            };
            if candidate == name {
                return Some(HeredocLines {
                    content,
                    body: self.span(body_start, line.start),
                    end: line.end,
                });
            }
            let raw = self.text.get(line.start..line.next).unwrap_or("");
            content.push_str(if strip_tabs {
                raw.trim_start_matches('\t')
            } else {
                raw
            });
        }
        None
    }
}
