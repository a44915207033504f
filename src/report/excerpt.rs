//! The source shown under a finding: only the lines around its spans, cut from the store
//! per finding (never a copy of the whole file), with
//! * lines wider than the terminal shown as a window around the underlined text
//!   (`…"image": "nvcr.io/…"…`), so a minified manifest or a long shell line stays readable
//!   and the renderer never sees a column it cannot draw;
//! * secrets replaced by [`MASK`];
//! * spans over many lines shown by their first line.
//!
//! An [`Excerpt`] is a miette `SourceCode` whose text is just those lines, reporting the
//! true line numbers and the true position of the underlined span, so miette draws the
//! snippet exactly as for the whole file.

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::report::redact::MASK;
use crate::source::{SourceFile, Span};

/// An underlined span and its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub span: Span,
    pub label: String,
    /// The span the finding is about: its position heads the snippet.
    pub primary: bool,
}

/// Spans over more lines than this are underlined on their first line only.
const MAX_SPAN_LINES: usize = 8;
/// Marks at most this many lines apart share one snippet (the lines between are shown).
const JOIN_LINES: usize = 3;
/// A window is never narrower than this, whatever the terminal width.
const MIN_WINDOW: usize = 40;
const ELLIPSIS: &str = "…";

/// The lines of one snippet, ready for miette.
#[derive(Debug)]
pub struct Excerpt {
    name: String,
    text: String,
    /// 0-based line number of the first line.
    first_line: usize,
    line_count: usize,
    /// 0-based line and column (in characters) of the primary mark in the file.
    header: (usize, usize),
    pub labels: Vec<LabeledSpan>,
}

/// A mark placed on lines of the file.
struct Placed<'a> {
    mark: &'a Mark,
    start: usize,
    end: usize,
    start_line: usize,
    end_line: usize,
}

/// A run of one excerpt line: file text, or a mask over a secret.
struct Run {
    /// Byte range in the file line.
    from: usize,
    to: usize,
    /// Where it starts in the excerpt.
    at: usize,
    masked: bool,
}

/// One file line as shown.
struct ShownLine {
    /// Byte offset of the line in the file.
    start: usize,
    /// The shown window of the line, in bytes from its start.
    window: (usize, usize),
    /// Excerpt offsets where the shown text starts and ends (inside any ellipses).
    visible: (usize, usize),
    runs: Vec<Run>,
}

impl ShownLine {
    /// The excerpt offset of a file offset on this line (clamped to what is shown).
    fn map(&self, offset: usize) -> usize {
        let rel = offset.saturating_sub(self.start);
        if rel <= self.window.0 {
            return self.visible.0;
        }
        if rel >= self.window.1 {
            return self.visible.1;
        }
        match self.runs.iter().find(|r| r.from <= rel && rel < r.to) {
            Some(run) if run.masked => run.at,
            Some(run) => run.at + (rel - run.from),
            None => self.visible.1,
        }
    }
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn place<'a>(file: &SourceFile, mark: &'a Mark) -> Placed<'a> {
    let text = file.text.as_ref();
    let start = floor_boundary(text, mark.span.start);
    let mut end = floor_boundary(text, mark.span.end).max(start);
    let start_line = file.line_index(start);
    let mut end_line = if end > start {
        file.line_index(end - 1)
    } else {
        start_line
    };
    if end_line - start_line + 1 > MAX_SPAN_LINES {
        end = file.line_start(start_line) + file.line_text(start_line).len();
        end = end.max(start);
        end_line = start_line;
    }
    Placed {
        mark,
        start,
        end,
        start_line,
        end_line,
    }
}

/// The width `line` (starting at file offset `start`) has once its secrets are masked.
fn shown_width(line: &str, start: usize, secrets: &[Span]) -> usize {
    let mut width = crate::report::wrap::width(line);
    for secret in secrets {
        let from = secret.start.saturating_sub(start);
        let to = secret.end.saturating_sub(start).min(line.len());
        if secret.end > start && from < to {
            let hidden = line
                .get(from..to)
                .map(crate::report::wrap::width)
                .unwrap_or(0);
            width = width - hidden + MASK.len();
        }
    }
    width
}

/// The byte window of `line` showing its characters `first..first + columns`.
fn window(line: &str, first: usize, columns: usize) -> (usize, usize) {
    let byte_of = |index: usize| {
        line.char_indices()
            .nth(index)
            .map(|(b, _)| b)
            .unwrap_or(line.len())
    };
    let from = byte_of(first);
    let to = line
        .get(from..)
        .map(|rest| {
            from + rest
                .char_indices()
                .nth(columns)
                .map(|(b, _)| b)
                .unwrap_or(rest.len())
        })
        .unwrap_or(line.len());
    (from, to)
}

/// Builds one shown line into `out`, masking `secrets` (file byte spans).
fn show_line(
    out: &mut String,
    line_start: usize,
    line: &str,
    window: (usize, usize),
    secrets: &[Span],
) -> ShownLine {
    let (from, to) = window;
    if from > 0 {
        out.push_str(ELLIPSIS);
    }
    let visible_start = out.len();
    let mut runs = Vec::new();
    let mut cursor = from;
    for secret in secrets {
        let s = floor_boundary(line, secret.start.saturating_sub(line_start)).max(from);
        let e = floor_boundary(line, secret.end.saturating_sub(line_start)).min(to);
        if secret.end <= line_start + from || secret.start >= line_start + to || s >= e {
            continue;
        }
        let s = s.max(cursor);
        if s > cursor {
            runs.push(Run {
                from: cursor,
                to: s,
                at: out.len(),
                masked: false,
            });
            out.push_str(&line[cursor..s]);
        }
        if e > s {
            runs.push(Run {
                from: s,
                to: e,
                at: out.len(),
                masked: true,
            });
            out.push_str(MASK);
            cursor = e;
        }
    }
    if to > cursor {
        runs.push(Run {
            from: cursor,
            to,
            at: out.len(),
            masked: false,
        });
        out.push_str(&line[cursor..to]);
    }
    let visible_end = out.len();
    if to < line.len() {
        out.push_str(ELLIPSIS);
    }
    out.push('\n');
    ShownLine {
        start: line_start,
        window,
        visible: (visible_start, visible_end),
        runs,
    }
}

/// The snippets showing `marks` (all in `file`): one per group of nearby marks, each line
/// at most `columns` wide, with `secrets` masked.
pub fn excerpts(
    file: &SourceFile,
    marks: &[Mark],
    secrets: &[Span],
    columns: usize,
) -> Vec<Excerpt> {
    let mut placed: Vec<Placed> = marks.iter().map(|m| place(file, m)).collect();
    placed.sort_by_key(|p| (p.start_line, !p.mark.primary, p.start));
    let mut groups: Vec<Vec<Placed>> = Vec::new();
    for p in placed {
        match groups.last_mut() {
            Some(group)
                if group
                    .iter()
                    .map(|g| g.end_line)
                    .max()
                    .is_some_and(|last| p.start_line <= last + JOIN_LINES) =>
            {
                group.push(p)
            }
            _ => groups.push(vec![p]),
        }
    }
    groups
        .iter()
        .map(|group| excerpt(file, group, secrets, columns))
        .collect()
}

fn excerpt(file: &SourceFile, group: &[Placed], secrets: &[Span], columns: usize) -> Excerpt {
    let head = group
        .iter()
        .find(|p| p.mark.primary)
        .or(group.first())
        .map(|p| (p.start_line, p.start))
        .unwrap_or((0, 0));
    let first_mark_line = group.iter().map(|p| p.start_line).min().unwrap_or(0);
    let last_mark_line = group.iter().map(|p| p.end_line).max().unwrap_or(0);
    // The empty "line" after a final newline is not worth showing as context.
    let mut last_line = file.line_count().saturating_sub(1);
    if last_line > 0 && file.text.ends_with('\n') {
        last_line -= 1;
    }
    let first = first_mark_line.saturating_sub(1);
    let last = (last_mark_line + 1).min(last_line.max(last_mark_line));
    let head_column = |line_index: usize| {
        let start = file.line_start(line_index);
        file.line_text(line_index)
            .get(..head.1.saturating_sub(start))
            .map(|prefix| prefix.chars().count())
            .unwrap_or(0)
    };
    // The gutter (` 123 │ `) takes room from the line.
    let gutter = (last + 1).to_string().len() + 4;
    let columns = columns.saturating_sub(gutter);
    // Lines wider than that are all shown from the same column (so they stay aligned),
    // chosen to show the primary mark with some text before it.
    let avail = columns.saturating_sub(2).max(MIN_WINDOW);
    let head_col = head_column(head.0);
    let scrolled = (first..=last)
        .any(|i| shown_width(file.line_text(i), file.line_start(i), secrets) > columns);
    let first_column = if scrolled && head_col + avail / 4 > avail {
        head_col - avail / 4
    } else {
        0
    };
    let mut text = String::new();
    let mut shown: Vec<ShownLine> = Vec::new();
    for index in first..=last {
        let line = file.line_text(index);
        let start = file.line_start(index);
        let window = if first_column > 0 || shown_width(line, start, secrets) > columns {
            window(line, first_column, avail)
        } else {
            (0, line.len())
        };
        shown.push(show_line(&mut text, start, line, window, secrets));
    }
    let on = |index: usize| shown.get(index - first);
    let labels = group
        .iter()
        .filter_map(|p| {
            let s = on(p.start_line)?.map(p.start);
            let e = on(p.end_line)?.map(p.end).max(s);
            let label = (!p.mark.label.is_empty()).then(|| p.mark.label.clone());
            let span = SourceSpan::from((s, e - s));
            Some(if p.mark.primary {
                LabeledSpan::new_primary_with_span(label, span)
            } else {
                LabeledSpan::new_with_span(label, span)
            })
        })
        .collect();
    Excerpt {
        name: file.display.clone(),
        text,
        first_line: first,
        line_count: last + 1 - first,
        header: (head.0, head_column(head.0)),
        labels,
    }
}

impl SourceCode for Excerpt {
    /// miette asks for context around a span (`before`/`after` > 0) to draw the lines, and
    /// for the span alone to name its position in the snippet's header: the first gets
    /// every line of the excerpt, the second the true position of the primary mark.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if before == 0 && after == 0 {
            let start = span.offset().min(self.text.len());
            let end = (start + span.len()).min(self.text.len());
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                self.text.as_bytes().get(start..end).unwrap_or(&[]),
                *span,
                self.header.0,
                self.header.1,
                1,
            )));
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            SourceSpan::from((0, self.text.len())),
            self.first_line,
            0,
            self.line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::FileId;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("f".into(), None, Arc::from(text))
    }

    fn mark(start: usize, end: usize) -> Mark {
        Mark {
            span: Span::new(FileId(0), start, end),
            label: "here".into(),
            primary: true,
        }
    }

    #[test]
    fn only_the_lines_around_the_span_are_copied() {
        let text = (1..=1000)
            .map(|i| format!("line {i}\n"))
            .collect::<String>();
        let f = file(&text);
        let at = text.find("line 500\n").unwrap();
        let excerpts = excerpts(&f, &[mark(at, at + 8)], &[], 100);
        assert_eq!(excerpts.len(), 1);
        assert_eq!(excerpts[0].text, "line 499\nline 500\nline 501\n");
        assert_eq!(excerpts[0].first_line, 498);
        assert_eq!(excerpts[0].header, (499, 0));
        let label = &excerpts[0].labels[0];
        assert_eq!((label.offset(), label.len()), (9, 8));
    }

    #[test]
    fn a_long_line_is_shown_around_the_span() {
        let text = format!("{}needle{}\n", "x".repeat(70_000), "y".repeat(70_000));
        let f = file(&text);
        let at = 70_000;
        let e = &excerpts(&f, &[mark(at, at + 6)], &[], 80)[0];
        let shown = e.text.lines().next().unwrap();
        assert!(
            shown.starts_with(ELLIPSIS) && shown.ends_with(ELLIPSIS),
            "{shown}"
        );
        assert!(shown.chars().count() <= 80, "{}", shown.chars().count());
        let label = &e.labels[0];
        assert_eq!(
            &e.text[label.offset()..label.offset() + label.len()],
            "needle"
        );
        assert_eq!(e.header, (0, 70_000));
    }

    #[test]
    fn secrets_are_masked_and_labels_still_fit() {
        let text = "a: 1\nkey: \"hf_secret_token\" # end\n";
        let f = file(text);
        let s = text.find("hf_").unwrap();
        let secret = Span::new(FileId(0), s, s + "hf_secret_token".len());
        let e = &excerpts(&f, &[mark(s - 1, secret.end + 1)], &[secret], 100)[0];
        assert!(!e.text.contains("hf_secret"), "{}", e.text);
        let label = &e.labels[0];
        assert_eq!(
            &e.text[label.offset()..label.offset() + label.len()],
            format!("\"{MASK}\"")
        );
    }

    #[test]
    fn distant_marks_get_their_own_excerpts() {
        let text = (1..=50).map(|i| format!("l{i}\n")).collect::<String>();
        let f = file(&text);
        let a = text.find("l5\n").unwrap();
        let b = text.find("l40\n").unwrap();
        let c = text.find("l8\n").unwrap();
        let marks = [mark(a, a + 2), mark(b, b + 3), mark(c, c + 2)];
        let e = excerpts(&f, &marks, &[], 100);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].text.lines().count(), 6, "l4..l9: {}", e[0].text);
        assert_eq!(e[1].first_line, 38);
    }
}
