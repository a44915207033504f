//! Builds words from the pieces the lexer found in one source word: applies field splitting
//! to unquoted expansion values and records, for every byte of text, where it came from.

use super::{
    DefaultAssignment, Expansion, ExpansionKind, Origin, Resolution, Segment, SourceMap, Word,
    WordKind,
};
use crate::source::Span;

/// One part of a source word, in order.
#[derive(Debug)]
pub(crate) enum Piece {
    /// `text[start..end]` of the text being split, copied as written. `split`: blanks in it
    /// separate fields (unquoted text inside `${X:-a b}`).
    Lit {
        start: usize,
        end: usize,
        split: bool,
    },
    /// Text produced by an expansion or an escape sequence; all of it maps to `cover`, a
    /// range of file offsets.
    Val {
        text: String,
        cover: (usize, usize),
        split: bool,
    },
    /// An expansion starts; its pieces follow until the matching `Close`.
    Open {
        kind: ExpansionKind,
        span: Span,
    },
    Close(Resolution),
    /// Quote characters or a backslash at `start..end` of the text: part of the word, no text
    /// of their own, and they make an empty word (`""`) a word.
    Quote {
        start: usize,
        end: usize,
    },
    Assign(DefaultAssignment),
}

/// The text of the pieces, without splitting.
pub(crate) fn flatten(pieces: &[Piece], text: &str) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Lit { start, end, .. } => out.push_str(text.get(*start..*end).unwrap_or("")),
            Piece::Val { text, .. } => out.push_str(text),
            _ => {}
        }
    }
    out
}

/// The weakest resolution among the expansions in `pieces` (resolved if there are none).
pub(crate) fn resolution_of(pieces: &[Piece]) -> Resolution {
    pieces.iter().fold(
        Resolution::Resolved { defined_at: None },
        |acc, piece| match piece {
            Piece::Close(r) => acc.weakest(*r),
            _ => acc,
        },
    )
}

pub(crate) fn assemble(
    pieces: Vec<Piece>,
    text: &str,
    map: &SourceMap,
    field_splitting: bool,
) -> Vec<Word> {
    let mut asm = Assembler {
        text,
        map,
        field_splitting,
        done: Vec::new(),
        cur: Field::default(),
        open: Vec::new(),
        assignments: Vec::new(),
    };
    for piece in pieces {
        match piece {
            Piece::Lit { start, end, split } => asm.lit(start, end, split),
            Piece::Val { text, cover, split } => asm.val(&text, cover, split),
            Piece::Open { kind, span } => asm.open(kind, span),
            Piece::Close(resolution) => asm.close(resolution),
            Piece::Quote { start, end } => {
                asm.touch(map.start_of(start), map.end_of(end));
                asm.cur.exists = true;
                asm.cur.quoted = true;
            }
            Piece::Assign(assignment) => asm.assignments.push(assignment),
        }
    }
    asm.finish_field();
    let mut words = asm.done;
    if let Some(first) = words.first_mut() {
        first.assignments = asm.assignments;
    }
    words
}

#[derive(Default)]
struct Field {
    text: String,
    segments: Vec<Segment>,
    expansions: Vec<Expansion>,
    lo: Option<usize>,
    hi: usize,
    exists: bool,
    quoted: bool,
}

struct OpenExpansion {
    kind: ExpansionKind,
    span: Span,
    /// Where it starts in the current field's text.
    start: usize,
    /// Parts already recorded in finished fields (field index, expansion index), whose
    /// resolution is filled in at `Close`.
    parts: Vec<(usize, usize)>,
}

struct Assembler<'a> {
    text: &'a str,
    map: &'a SourceMap,
    field_splitting: bool,
    done: Vec<Word>,
    cur: Field,
    open: Vec<OpenExpansion>,
    assignments: Vec<DefaultAssignment>,
}

fn is_ifs(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

impl Assembler<'_> {
    fn touch(&mut self, lo: usize, hi: usize) {
        self.cur.lo = Some(self.cur.lo.map_or(lo, |l| l.min(lo)));
        self.cur.hi = self.cur.hi.max(hi).max(lo);
    }

    fn append(&mut self, piece: &str, origin: Origin) {
        if piece.is_empty() {
            return;
        }
        let start = self.cur.text.len();
        self.cur.text.push_str(piece);
        let end = self.cur.text.len();
        if let Some(last) = self.cur.segments.last_mut() {
            let merges = match (last.origin, origin) {
                (Origin::Exact(a), Origin::Exact(b)) => a + (last.end - last.start) == b,
                (Origin::Cover(a, b), Origin::Cover(c, d)) => a == c && b == d,
                _ => false,
            };
            if merges && last.end == start {
                last.end = end;
                return;
            }
        }
        self.cur.segments.push(Segment { start, end, origin });
    }

    fn lit(&mut self, start: usize, end: usize, split: bool) {
        if !(split && self.field_splitting) {
            self.lit_run(start, end);
            return;
        }
        let bytes = self.text.as_bytes();
        let mut run = start;
        for at in start..end {
            if bytes.get(at).copied().is_some_and(is_ifs) {
                if run < at {
                    self.lit_run(run, at);
                }
                self.break_field();
                run = at + 1;
            }
        }
        if run < end {
            self.lit_run(run, end);
        }
    }

    fn lit_run(&mut self, start: usize, end: usize) {
        let map = self.map;
        let text = self.text;
        self.touch(map.start_of(start), map.end_of(end));
        map.runs(start..end, |s, e, origin| {
            self.append(text.get(s..e).unwrap_or(""), origin);
        });
    }

    fn val(&mut self, value: &str, cover: (usize, usize), split: bool) {
        self.touch(cover.0, cover.1);
        let origin = Origin::Cover(cover.0, cover.1);
        if !(split && self.field_splitting) {
            self.append(value, origin);
            return;
        }
        let mut run = 0;
        for (at, b) in value.bytes().enumerate() {
            if is_ifs(b) {
                if run < at {
                    self.append(value.get(run..at).unwrap_or(""), origin);
                }
                self.break_field();
                self.touch(cover.0, cover.1);
                run = at + 1;
            }
        }
        if run < value.len() {
            self.append(value.get(run..).unwrap_or(""), origin);
        }
    }

    fn open(&mut self, kind: ExpansionKind, span: Span) {
        self.touch(span.start, span.end);
        self.open.push(OpenExpansion {
            kind,
            span,
            start: self.cur.text.len(),
            parts: Vec::new(),
        });
    }

    fn close(&mut self, resolution: Resolution) {
        let Some(open) = self.open.pop() else {
            return;
        };
        for (field, index) in open.parts {
            if let Some(expansion) = self
                .done
                .get_mut(field)
                .and_then(|w| w.expansions.get_mut(index))
            {
                expansion.resolution = resolution;
            }
        }
        self.cur.expansions.push(Expansion {
            kind: open.kind,
            span: open.span,
            text: open.start..self.cur.text.len(),
            resolution,
        });
    }

    /// Ends the current field at a blank produced by field splitting.
    fn break_field(&mut self) {
        if !self.field_exists() {
            return;
        }
        let field_index = self.done.len();
        let len = self.cur.text.len();
        for open in &mut self.open {
            open.parts.push((field_index, self.cur.expansions.len()));
            self.cur.expansions.push(Expansion {
                kind: open.kind.clone(),
                span: open.span,
                text: open.start..len,
                resolution: Resolution::Unresolved,
            });
            open.start = 0;
        }
        self.finish_field();
        let spans: Vec<Span> = self.open.iter().map(|o| o.span).collect();
        for span in spans {
            self.touch(span.start, span.end);
        }
    }

    fn field_exists(&self) -> bool {
        !self.cur.text.is_empty() || self.cur.exists
    }

    fn finish_field(&mut self) {
        let field = std::mem::take(&mut self.cur);
        if field.text.is_empty() && !field.exists {
            return;
        }
        let mut expansions = field.expansions;
        expansions.sort_by_key(|e| (e.text.start, e.span.start, std::cmp::Reverse(e.span.end)));
        let lo = field.lo.unwrap_or(field.hi);
        self.done.push(Word {
            kind: WordKind::Word,
            text: field.text,
            span: Span::new(self.map.file(), lo, field.hi),
            quoted: field.quoted,
            expansions,
            assignments: Vec::new(),
            segments: field.segments,
        });
    }
}
