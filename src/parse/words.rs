//! Shell-style words with exact source spans, shared by every format that embeds a command
//! line: shell scripts, Makefile recipes, Dockerfile instructions and `sh -c "..."` strings.
//!
//! A [`Word`] is the text a shell would pass as one argument (quotes removed, escapes applied,
//! variables expanded where their value is known) plus a map from that text back to the
//! source. The map is exact wherever the text is a copy of the source, so a finding on
//! `--model-control-mode=explicit` inside `sh -c "tritonserver ... --model-control-mode=explicit"`
//! can underline just that flag; text produced by an expansion maps to the expansion's own
//! source (`$IMAGE`), never to a guess.
//!
//! Nothing is executed: `$(...)`, backticks and variables with no known value stay in the
//! text as written and are listed in [`Word::expansions`] as [`Resolution::Unresolved`].

mod assemble;
mod lexer;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::ops::Range;

use crate::source::{FileId, Span};

pub use lexer::Lexer;

/// Longest variable value the scanners keep; longer values (only built by adversarial input
/// such as `X=$X$X` repeated) are treated as unknown.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// Which language's quoting and expansion rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// POSIX sh with the bash extensions seen in deployment scripts (`$'...'`, `&>`, `|&`).
    Shell,
    /// A Makefile recipe line: as [`Dialect::Shell`], except that `$(NAME)`, `${NAME}` and `$X`
    /// are make variables and `$$` is the shell's `$`.
    Make,
    /// Dockerfile instruction arguments as BuildKit reads them: no operators or comments, a
    /// configurable escape character, and only `$NAME` / `${NAME...}` expansions.
    Dockerfile { escape: u8 },
}

/// How to split a text into words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitOptions {
    pub dialect: Dialect,
    /// Split the values of unquoted expansions at blanks, as a shell does (`$ARGS` holding
    /// `--gpus all` gives two words). Off for assignments and Dockerfile `ENV`/`ARG`/`LABEL`.
    pub field_splitting: bool,
    /// Treat the whole text as one word whose blanks are literal (Dockerfile `USER`,
    /// `WORKDIR`, legacy `ENV key value`).
    pub whole: bool,
}

impl SplitOptions {
    pub const SHELL: SplitOptions = SplitOptions {
        dialect: Dialect::Shell,
        field_splitting: true,
        whole: false,
    };

    pub const MAKE: SplitOptions = SplitOptions {
        dialect: Dialect::Make,
        field_splitting: true,
        whole: false,
    };

    pub fn dockerfile(escape: u8) -> SplitOptions {
        SplitOptions {
            dialect: Dialect::Dockerfile { escape },
            field_splitting: true,
            whole: false,
        }
    }

    pub fn without_field_splitting(self) -> SplitOptions {
        SplitOptions {
            field_splitting: false,
            ..self
        }
    }

    pub fn as_whole(self) -> SplitOptions {
        SplitOptions {
            whole: true,
            field_splitting: false,
            ..self
        }
    }
}

/// A variable's value as the caller knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarValue {
    pub text: String,
    /// Where the value was assigned, if in a scanned file.
    pub defined_at: Option<Span>,
    /// The value is a default (`${X:-d}`, `ARG X=d`, make `?=`) that the environment or a
    /// build argument can replace.
    pub defaulted: bool,
    /// Part of the value is not known (it holds `$(pwd)` or an unknown variable); `text` keeps
    /// those parts as written.
    pub partial: bool,
}

impl VarValue {
    pub fn new(text: impl Into<String>) -> VarValue {
        VarValue {
            text: text.into(),
            defined_at: None,
            defaulted: false,
            partial: false,
        }
    }

    pub fn defined_at(mut self, span: Span) -> VarValue {
        self.defined_at = Some(span);
        self
    }

    pub fn defaulted(mut self) -> VarValue {
        self.defaulted = true;
        self
    }

    /// The value of a word used as a variable's value (`X=word`).
    pub fn from_word(word: &Word) -> VarValue {
        VarValue {
            text: word.text.clone(),
            defined_at: Some(word.span),
            defaulted: word.is_defaulted(),
            partial: !word.is_resolved(),
        }
    }

    pub fn resolution(&self) -> Resolution {
        if self.partial {
            Resolution::Unresolved
        } else if self.defaulted {
            Resolution::Defaulted {
                defined_at: self.defined_at,
            }
        } else {
            Resolution::Resolved {
                defined_at: self.defined_at,
            }
        }
    }
}

/// Variable values visible to the splitter. `None` means "not known here" (the variable may
/// still be set by the environment at run time), which is different from an empty value.
pub trait VarLookup {
    fn lookup(&self, name: &str) -> Option<VarValue>;
}

/// No variable is known: every expansion stays unresolved.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoVars;

impl VarLookup for NoVars {
    fn lookup(&self, _name: &str) -> Option<VarValue> {
        None
    }
}

impl<S: BuildHasher> VarLookup for HashMap<String, VarValue, S> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.get(name).cloned()
    }
}

impl<S: BuildHasher> VarLookup for HashMap<String, String, S> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.get(name).map(VarValue::new)
    }
}

impl VarLookup for BTreeMap<String, VarValue> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.get(name).cloned()
    }
}

impl<T: VarLookup + ?Sized> VarLookup for &T {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        (**self).lookup(name)
    }
}

/// A closure as a [`VarLookup`].
pub struct FnLookup<F>(pub F);

impl<F: Fn(&str) -> Option<VarValue>> VarLookup for FnLookup<F> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        (self.0)(name)
    }
}

/// What a token is. Operators and redirections are tokens of their own so that callers can
/// split a line into commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordKind {
    Word,
    Operator(Operator),
    /// A redirection operator; the word after it is its target (or a heredoc delimiter).
    Redirect(Redirect),
    /// The body of a heredoc, delivered before the newline that ends its command.
    HeredocBody,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `;`
    Semi,
    /// `;;`, `;&`, `;;&` (end of a `case` branch)
    CaseEnd,
    /// `&`
    Background,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `|`
    Pipe,
    /// `|&`
    PipeAll,
    /// A line end (`\n` or `\r\n`).
    Newline,
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The file descriptor written before the operator (`2>`).
    pub fd: Option<u32>,
    pub op: RedirectOp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    In,
    /// `>`
    Out,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupIn,
    /// `>&`
    DupOut,
    /// `&>`
    OutErr,
    /// `&>>`
    AppendOutErr,
    /// `<<` (`strip_tabs` for `<<-`)
    Heredoc { strip_tabs: bool },
    /// `<<<`
    HereString,
}

/// How an expansion's text was determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// From an assignment the caller knows about.
    Resolved { defined_at: Option<Span> },
    /// A default the environment or a build argument can override.
    Defaulted { defined_at: Option<Span> },
    /// Not determinable statically; the word's text keeps the source as written (or the
    /// known parts of a partially known value).
    Unresolved,
}

impl Resolution {
    pub fn is_unresolved(&self) -> bool {
        matches!(self, Resolution::Unresolved)
    }

    /// The weaker of two resolutions: unresolved beats defaulted beats resolved.
    pub fn weakest(self, other: Resolution) -> Resolution {
        match (self, other) {
            (Resolution::Unresolved, _) | (_, Resolution::Unresolved) => Resolution::Unresolved,
            (d @ Resolution::Defaulted { .. }, _) | (_, d @ Resolution::Defaulted { .. }) => d,
            (r, _) => r,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpansionKind {
    /// `$NAME`, `${NAME}`, `${NAME:-default}` and friends.
    Variable { name: String },
    /// `$(...)` or a backtick substitution; `body` is the command inside.
    Command { body: Span },
    /// `$((...))`
    Arithmetic,
}

/// One expansion inside a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    pub kind: ExpansionKind,
    /// The expansion as written (`${IMAGE:-nvcr.io/...}`).
    pub span: Span,
    /// The bytes of [`Word::text`] it produced (for a field split out of a longer value,
    /// this field's part).
    pub text: Range<usize>,
    pub resolution: Resolution,
}

/// A `${NAME:=value}` / `${NAME=value}` that assigned a default as a side effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultAssignment {
    pub name: String,
    pub value: VarValue,
}

/// Where a run of a word's text comes from, for words built by other parsers (YAML scalars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextOrigin {
    /// A copy of the source starting at this file offset.
    Copy(usize),
    /// Produced by this range of file offsets.
    Produced(usize, usize),
}

/// Where a run of a word's text comes from, in absolute file offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The text is a copy of the source starting at this offset.
    Exact(usize),
    /// The text was produced by this source range (an expansion, an escape sequence).
    Cover(usize, usize),
}

/// `text[start..end]` comes from `origin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) origin: Origin,
}

/// A word: the text one argument would have, where it is written, and how its bytes map back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub kind: WordKind,
    pub text: String,
    /// The whole word as written, quotes included.
    pub span: Span,
    /// Some part was quoted or escaped (`"a"`, `'a'`, `\a`); a quoted `X=1` is no assignment
    /// and a quoted heredoc delimiter turns expansion off.
    pub quoted: bool,
    pub expansions: Vec<Expansion>,
    /// Defaults assigned by `${X:=d}` inside this word.
    pub assignments: Vec<DefaultAssignment>,
    pub(crate) segments: Vec<Segment>,
}

impl Word {
    /// A word whose text is a verbatim copy of the source at `start`.
    pub fn literal(file: FileId, text: impl Into<String>, start: usize) -> Word {
        let text = text.into();
        let span = Span::new(file, start, start + text.len());
        Word::single(text, span, Origin::Exact(start))
    }

    /// A word whose text was produced by the source at `span` (a variable's value, pointing
    /// at the assignment that gave it), with no expansions of its own.
    pub fn literal_at(text: impl Into<String>, span: Span) -> Word {
        Word::single(text.into(), span, Origin::Cover(span.start, span.end))
    }

    /// A word that is not written anywhere (Docker's implicit `/bin/sh -c`); all of it maps to
    /// `span`, the place that implies it.
    pub fn synthetic(text: impl Into<String>, span: Span) -> Word {
        Word::single(text.into(), span, Origin::Cover(span.start, span.end))
    }

    /// A word whose whole text comes from one origin.
    fn single(text: String, span: Span, origin: Origin) -> Word {
        let segments = if text.is_empty() {
            Vec::new()
        } else {
            vec![Segment {
                start: 0,
                end: text.len(),
                origin,
            }]
        };
        Word {
            kind: WordKind::Word,
            text,
            span,
            quoted: false,
            expansions: Vec::new(),
            assignments: Vec::new(),
            segments,
        }
    }

    pub fn file(&self) -> FileId {
        self.span.file
    }

    pub fn is_word(&self) -> bool {
        self.kind == WordKind::Word
    }

    pub fn operator(&self) -> Option<Operator> {
        match self.kind {
            WordKind::Operator(op) => Some(op),
            _ => None,
        }
    }

    /// Every expansion has a known value (possibly a default).
    pub fn is_resolved(&self) -> bool {
        !self.expansions.iter().any(|e| e.resolution.is_unresolved())
    }

    /// Some expansion's value is a default that could be overridden.
    pub fn is_defaulted(&self) -> bool {
        self.expansions
            .iter()
            .any(|e| matches!(e.resolution, Resolution::Defaulted { .. }))
    }

    /// The text is exactly what is written: no quotes, escapes or expansions.
    pub fn is_plain(&self) -> bool {
        !self.quoted && self.expansions.is_empty()
    }

    /// The byte ranges of [`Word::text`] that came from unresolved expansions.
    pub fn unresolved_ranges(&self) -> Vec<Range<usize>> {
        self.expansions
            .iter()
            .filter(|e| e.resolution.is_unresolved())
            .map(|e| e.text.clone())
            .collect()
    }

    /// Whether any byte of `range` (of [`Word::text`]) came from an unresolved expansion.
    pub fn is_range_resolved(&self, range: Range<usize>) -> bool {
        !self.expansions.iter().any(|e| {
            e.resolution.is_unresolved() && e.text.start < range.end && range.start < e.text.end
        })
    }

    /// The source span of `range`, a byte range of [`Word::text`]. Exact where the text is a
    /// copy of the source; where it came from an expansion or an escape sequence, the span
    /// widens to cover that expansion as written. Out-of-range input gives the whole word.
    pub fn subspan(&self, range: Range<usize>) -> Span {
        let file = self.span.file;
        if range.start > range.end || range.end > self.text.len() {
            return self.span;
        }
        let Some(first) = self.segment_at(range.start) else {
            // Empty range at the very end of the text.
            return match self.segments.last() {
                Some(seg) if range.start == self.text.len() => {
                    let end = seg.source_end(seg.end);
                    Span::new(file, end, end)
                }
                _ => self.span,
            };
        };
        let start = first.source_start(range.start);
        if range.is_empty() {
            return Span::new(file, start, start);
        }
        let Some(last) = self.segment_at(range.end - 1) else {
            return self.span;
        };
        let end = last.source_end(range.end);
        Span::new(file, start.min(end), end.max(start))
    }

    /// The part of this word at `range` of its text, as a word of its own (an option's value
    /// after `=`, one field of a `--mount` list): text, map and expansions clipped to it.
    pub fn slice(&self, range: Range<usize>) -> Word {
        let range = if range.start <= range.end
            && range.end <= self.text.len()
            && self.text.is_char_boundary(range.start)
            && self.text.is_char_boundary(range.end)
        {
            range
        } else {
            0..self.text.len()
        };
        let text = self.text.get(range.clone()).unwrap_or("").to_string();
        let segments = self
            .segments
            .iter()
            .filter(|s| s.start < range.end && range.start < s.end)
            .map(|s| {
                let start = s.start.max(range.start);
                let end = s.end.min(range.end);
                let origin = match s.origin {
                    Origin::Exact(at) => Origin::Exact(at + (start - s.start)),
                    cover => cover,
                };
                Segment {
                    start: start - range.start,
                    end: end - range.start,
                    origin,
                }
            })
            .collect();
        let expansions = self
            .expansions
            .iter()
            .filter(|e| {
                e.text.start < range.end && range.start < e.text.end
                    || (e.text.is_empty() && range.contains(&e.text.start))
            })
            .map(|e| Expansion {
                text: e.text.start.max(range.start) - range.start
                    ..e.text.end.min(range.end) - range.start,
                ..e.clone()
            })
            .collect();
        Word {
            kind: WordKind::Word,
            text,
            span: self.subspan(range),
            quoted: self.quoted,
            expansions,
            assignments: Vec::new(),
            segments,
        }
    }

    /// `NAME=value` written as a plain assignment: the name unquoted at the start of the word.
    /// Returns the name and the byte range of the value in [`Word::text`].
    pub fn assignment(&self) -> Option<(&str, Range<usize>)> {
        let eq = self.text.find('=')?;
        let name = self.text.get(..eq)?;
        if !is_name(name) {
            return None;
        }
        // The name and `=` must be copied from the source as they are, starting the word.
        let first = self.segments.first()?;
        match first.origin {
            Origin::Exact(at) if at == self.span.start && first.end > eq => {}
            _ => return None,
        }
        Some((name, eq + 1..self.text.len()))
    }

    /// Splits this word's text again as a shell command line (`sh -c "<this>"`), keeping the
    /// map back to the source.
    pub fn split(&self, vars: &dyn VarLookup) -> Result<Vec<Word>, WordsError> {
        self.split_with(SplitOptions::SHELL, vars)
    }

    pub fn split_with(
        &self,
        opts: SplitOptions,
        vars: &dyn VarLookup,
    ) -> Result<Vec<Word>, WordsError> {
        collect(Lexer::with_map(&self.text, self.source_map(), opts), vars)
    }

    /// A word whose text is mapped piece by piece: each run of `text` is either a copy of the
    /// source at an offset or produced by a range of the source (an escape sequence, a line
    /// break that YAML folded into a space). Runs must be in order and cover the text.
    pub fn mapped(text: String, span: Span, runs: &[(Range<usize>, TextOrigin)]) -> Word {
        let segments = runs
            .iter()
            .filter(|(range, _)| range.start < range.end && range.end <= text.len())
            .map(|(range, origin)| Segment {
                start: range.start,
                end: range.end,
                origin: match *origin {
                    TextOrigin::Copy(at) => Origin::Exact(at),
                    TextOrigin::Produced(a, b) => Origin::Cover(a, b),
                },
            })
            .collect();
        Word {
            kind: WordKind::Word,
            text,
            span,
            quoted: false,
            expansions: Vec::new(),
            assignments: Vec::new(),
            segments,
        }
    }

    /// Whether the byte at `offset` of the text was produced by the source rather than copied
    /// from it (an escape sequence, an expansion, a folded line break).
    pub fn is_produced_at(&self, offset: usize) -> bool {
        self.segment_at(offset)
            .is_some_and(|s| matches!(s.origin, Origin::Cover(..)))
    }

    /// The words' texts joined into one word that keeps each part's map (the pieces of one
    /// argument that a command-line splitter took from several places of a string).
    pub fn concat(parts: &[Word], span: Span) -> Word {
        let mut text = String::new();
        let mut segments = Vec::new();
        let mut quoted = false;
        for part in parts {
            let base = text.len();
            text.push_str(&part.text);
            quoted |= part.quoted;
            segments.extend(part.segments.iter().map(|s| Segment {
                start: s.start + base,
                end: s.end + base,
                origin: s.origin,
            }));
        }
        Word {
            kind: WordKind::Word,
            text,
            span,
            quoted,
            expansions: Vec::new(),
            assignments: Vec::new(),
            segments,
        }
    }

    /// The map from this word's text to the source, for splitting or reading it further.
    pub fn source_map(&self) -> SourceMap {
        SourceMap {
            file: self.span.file,
            base: self.span.start,
            len: self.text.len(),
            segments: self.segments.clone(),
        }
    }

    fn segment_at(&self, offset: usize) -> Option<&Segment> {
        let index = self
            .segments
            .partition_point(|s| s.end <= offset)
            .min(self.segments.len());
        self.segments
            .get(index)
            .filter(|s| s.start <= offset && offset < s.end)
    }
}

impl Segment {
    fn source_start(&self, offset: usize) -> usize {
        match self.origin {
            Origin::Exact(at) => at + (offset - self.start),
            Origin::Cover(a, _) => a,
        }
    }

    fn source_end(&self, offset: usize) -> usize {
        match self.origin {
            Origin::Exact(at) => at + (offset - self.start),
            Origin::Cover(_, b) => b,
        }
    }
}

/// A shell name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// Maps byte offsets of a text being split to offsets in the scanned file. The text is
/// usually a plain slice of the file ([`SourceMap::identity`]), but a Dockerfile instruction
/// is its lines joined without their continuations, and a word being split again carries its
/// own map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceMap {
    file: FileId,
    /// Where an empty text is.
    base: usize,
    len: usize,
    segments: Vec<Segment>,
}

impl SourceMap {
    /// `text` is the file's bytes from `base` on.
    pub fn identity(file: FileId, base: usize, len: usize) -> SourceMap {
        let mut map = SourceMap::new(file, base);
        map.push(len, base);
        map
    }

    /// An empty map; add the pieces of the text with [`SourceMap::push`].
    pub fn new(file: FileId, base: usize) -> SourceMap {
        SourceMap {
            file,
            base,
            len: 0,
            segments: Vec::new(),
        }
    }

    /// The next `len` bytes of the text are a copy of the file from `source_start`.
    pub fn push(&mut self, len: usize, source_start: usize) {
        if len == 0 {
            return;
        }
        let start = self.len;
        self.len += len;
        if let Some(last) = self.segments.last_mut()
            && let Origin::Exact(at) = last.origin
            && at + (last.end - last.start) == source_start
        {
            last.end = self.len;
            return;
        }
        self.segments.push(Segment {
            start,
            end: self.len,
            origin: Origin::Exact(source_start),
        });
    }

    pub fn file(&self) -> FileId {
        self.file
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file offset where the byte at `offset` comes from.
    pub fn start_of(&self, offset: usize) -> usize {
        match self.segment_at(offset) {
            Some(seg) => seg.source_start(offset),
            None => self.end_of(self.len),
        }
    }

    /// The file offset just after the byte before `offset`.
    pub fn end_of(&self, offset: usize) -> usize {
        if offset == 0 {
            return self
                .segments
                .first()
                .map(|s| s.source_start(0))
                .unwrap_or(self.base);
        }
        match self.segment_at(offset - 1) {
            Some(seg) => seg.source_end(offset),
            None => self
                .segments
                .last()
                .map(|s| s.source_end(s.end))
                .unwrap_or(self.base),
        }
    }

    /// The file span of `range` of the text.
    pub fn span(&self, range: Range<usize>) -> Span {
        if range.is_empty() {
            let at = self.start_of(range.start);
            return Span::new(self.file, at, at);
        }
        let start = self.start_of(range.start);
        let end = self.end_of(range.end);
        let (lo, hi) = self.cover_bounds(range.clone());
        Span::new(self.file, start.min(lo), end.max(hi))
    }

    /// A word whose text is `text[range]` copied as it is (no quote removal).
    pub fn word(&self, text: &str, range: Range<usize>) -> Word {
        let piece = text.get(range.clone()).unwrap_or("").to_string();
        let mut segments = Vec::new();
        self.runs(range.clone(), |start, end, origin| {
            segments.push(Segment {
                start: start - range.start,
                end: end - range.start,
                origin,
            })
        });
        Word {
            kind: WordKind::Word,
            text: piece,
            span: self.span(range),
            quoted: false,
            expansions: Vec::new(),
            assignments: Vec::new(),
            segments,
        }
    }

    /// Calls `f(start, end, origin)` for each part of `range` that maps uniformly.
    pub(crate) fn runs(&self, range: Range<usize>, mut f: impl FnMut(usize, usize, Origin)) {
        let mut at = range.start;
        while at < range.end {
            let Some(seg) = self.segment_at(at) else {
                break;
            };
            let end = seg.end.min(range.end);
            let origin = match seg.origin {
                Origin::Exact(src) => Origin::Exact(src + (at - seg.start)),
                cover => cover,
            };
            f(at, end, origin);
            at = end;
        }
    }

    fn cover_bounds(&self, range: Range<usize>) -> (usize, usize) {
        let mut lo = usize::MAX;
        let mut hi = 0;
        self.runs(range, |_, _, origin| {
            if let Origin::Cover(a, b) = origin {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        });
        (lo, hi)
    }

    fn segment_at(&self, offset: usize) -> Option<&Segment> {
        let index = self.segments.partition_point(|s| s.end <= offset);
        self.segments
            .get(index)
            .filter(|s| s.start <= offset && offset < s.end)
    }
}

/// Builds a word piece by piece, for formats with their own quoting (JSON strings in a
/// Dockerfile's exec form).
pub(crate) struct WordBuilder {
    file: FileId,
    text: String,
    segments: Vec<Segment>,
}

impl WordBuilder {
    pub(crate) fn new(file: FileId) -> WordBuilder {
        WordBuilder {
            file,
            text: String::new(),
            segments: Vec::new(),
        }
    }

    /// Appends `text[range]`, a copy of the source as mapped by `map`.
    pub(crate) fn push_source(&mut self, map: &SourceMap, text: &str, range: Range<usize>) {
        map.runs(range, |start, end, origin| {
            self.push(text.get(start..end).unwrap_or(""), origin);
        });
    }

    /// Appends text produced by the source at `span` (an escape sequence).
    pub(crate) fn push_produced(&mut self, piece: &str, span: Span) {
        self.push(piece, Origin::Cover(span.start, span.end));
    }

    fn push(&mut self, piece: &str, origin: Origin) {
        if piece.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(piece);
        self.segments.push(Segment {
            start,
            end: self.text.len(),
            origin,
        });
    }

    pub(crate) fn finish(self, span: Span, quoted: bool) -> Word {
        Word {
            kind: WordKind::Word,
            text: self.text,
            span: Span::new(self.file, span.start, span.end),
            quoted,
            expansions: Vec::new(),
            assignments: Vec::new(),
            segments: self.segments,
        }
    }
}

/// A syntax error in a text being split, at the construct that is left open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct WordsError {
    pub span: Span,
    pub kind: WordsErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WordsErrorKind {
    #[error("unterminated single quote: no closing ' before the end of the text")]
    UnterminatedSingleQuote,
    #[error("unterminated double quote: no closing \" before the end of the text")]
    UnterminatedDoubleQuote,
    #[error("unterminated $'...' string")]
    UnterminatedAnsiQuote,
    #[error("unterminated command substitution: no closing ) for $(")]
    UnterminatedCommandSubstitution,
    #[error("unterminated backtick command substitution")]
    UnterminatedBacktick,
    #[error("unterminated ${{...}} expansion: no closing }}")]
    UnterminatedBrace,
    #[error("heredoc `{delimiter}` is not terminated before the end of the file")]
    UnterminatedHeredoc { delimiter: String },
    #[error("line continuation at the end of the file: the command may be cut short")]
    DanglingContinuation,
    #[error("expansions are nested too deeply")]
    TooDeep,
    #[error("too many syntax errors: the rest of the text is not read")]
    TooManyErrors,
}

impl WordsErrorKind {
    /// The command around the error is still complete (only a trailing `\` is odd).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, WordsErrorKind::DanglingContinuation)
    }
}

/// Splits `text`, the bytes of `file` from offset `base` on, as a shell command line.
pub fn split_words(
    file: FileId,
    text: &str,
    base: usize,
    vars: &dyn VarLookup,
) -> Result<Vec<Word>, WordsError> {
    collect(Lexer::new(file, text, base, SplitOptions::SHELL), vars)
}

/// Splits `text` whose bytes map to the file through `map`, with the given rules.
pub fn split_mapped(
    text: &str,
    map: SourceMap,
    opts: SplitOptions,
    vars: &dyn VarLookup,
) -> Result<Vec<Word>, WordsError> {
    collect(Lexer::with_map(text, map, opts), vars)
}

fn collect(mut lexer: Lexer<'_>, vars: &dyn VarLookup) -> Result<Vec<Word>, WordsError> {
    let mut words = Vec::new();
    while let Some(item) = lexer.next_word(vars) {
        words.push(item?);
    }
    Ok(words)
}
