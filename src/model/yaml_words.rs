//! YAML scalars as argv words that know where each byte of their text is written, so a
//! finding on one flag inside a long quoted or block-scalar command underlines that flag, and
//! a shell reading the scalar as a script can tell a line break the YAML folded into a space
//! from a space written in the source.

use std::ops::Range;

use crate::model::server::ArgWord;
use crate::parse::words::{TextOrigin, Word};
use crate::source::Span;
use crate::tree::Node;

/// The scalar's text as one argv word, mapped to its source byte by byte.
pub fn arg_word(node: &Node, source: &str) -> ArgWord {
    let text = node.as_scalar_text().unwrap_or_default();
    let Some(span) = node.span else {
        return ArgWord::new(text, None);
    };
    let runs = align(&text, source, span);
    ArgWord::from(&Word::mapped(text, span, &runs))
}

/// How the scalar is written: the quoting decides which source bytes produce text.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Block,
}

/// Maps each character of a scalar's text to the source bytes it comes from. Characters are
/// matched in order against the scalar's source: equal characters are copies, indentation
/// is skipped, a line break that became a space is produced by the break and the indentation
/// after it, and escape sequences produce their character. Where the two stop matching (an
/// unexpected source form), the rest of the text maps to the whole scalar.
fn align(text: &str, source: &str, span: Span) -> Vec<(Range<usize>, TextOrigin)> {
    let end = span.end.min(source.len());
    let bytes = source.as_bytes();
    let mut p = span.start.min(end);
    let style = match bytes.get(p) {
        Some(b'|' | b'>') => {
            // The block header (`|`, `>-`, `|2`...) and its line end are not content.
            p = source
                .get(p..end)
                .and_then(|rest| rest.find('\n'))
                .map_or(end, |i| p + i + 1);
            Style::Block
        }
        Some(b'\'') => {
            p += 1;
            Style::Single
        }
        Some(b'"') => {
            p += 1;
            Style::Double
        }
        _ => Style::Plain,
    };
    let line_break_len = |at: usize| match (bytes.get(at), bytes.get(at + 1)) {
        (Some(b'\n'), _) => 1,
        (Some(b'\r'), Some(b'\n')) => 2,
        _ => 0,
    };
    let skip_indent = |mut at: usize| {
        while at < end && matches!(bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        at
    };
    let mut runs: Vec<(Range<usize>, TextOrigin)> = Vec::new();
    let mut push = |range: Range<usize>, origin: TextOrigin| {
        if let Some((last, TextOrigin::Copy(at))) = runs.last_mut()
            && let TextOrigin::Copy(next) = origin
            && *at + (last.end - last.start) == next
            && last.end == range.start
        {
            last.end = range.end;
            return;
        }
        runs.push((range, origin));
    };
    for (i, c) in text.char_indices() {
        let len = c.len_utf8();
        loop {
            if p >= end {
                push(i..text.len(), TextOrigin::Produced(span.start, span.end));
                return runs;
            }
            let s = source[p..].chars().next().unwrap_or('\0');
            if style == Style::Double && s == '\\' {
                let breaks = line_break_len(p + 1);
                if breaks > 0 {
                    // An escaped line break joins the lines without a space.
                    p = skip_indent(p + 1 + breaks);
                    continue;
                }
                let escape_len = match bytes.get(p + 1) {
                    Some(b'x') => 4,
                    Some(b'u') => 6,
                    Some(b'U') => 10,
                    Some(_) => 1 + source[p + 1..].chars().next().map_or(1, char::len_utf8),
                    None => 1,
                };
                let next = (p + escape_len).min(end);
                push(i..i + len, TextOrigin::Produced(p, next));
                p = next;
                break;
            }
            if style == Style::Single && c == '\'' && source[p..].starts_with("''") {
                push(i..i + len, TextOrigin::Produced(p, p + 2));
                p += 2;
                break;
            }
            if s == c {
                push(i..i + len, TextOrigin::Copy(p));
                p += len;
                break;
            }
            let breaks = line_break_len(p);
            if breaks > 0 {
                let after = skip_indent(p + breaks);
                if c == ' ' || c == '\n' {
                    // A line break folded into a space (or kept as one `\n` for blank lines).
                    push(i..i + len, TextOrigin::Produced(p, after.max(p + breaks)));
                    p = after;
                    break;
                }
                p += breaks;
                continue;
            }
            if matches!(s, ' ' | '\t') {
                p += 1;
                continue;
            }
            push(i..text.len(), TextOrigin::Produced(span.start, span.end));
            return runs;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_stream;
    use crate::source::FileId;

    fn word_span_text<'a>(source: &'a str, word: &ArgWord, needle: &str) -> &'a str {
        let start = word.text.find(needle).unwrap_or(0);
        word.subspan(start, start + needle.len())
            .map(|s| &source[s.start..s.end])
            .unwrap_or("")
    }

    fn scalar(source: &str, key: &str) -> ArgWord {
        let stream = parse_stream(FileId(0), source);
        let root = &stream.documents[0].root;
        arg_word(root.get(key).unwrap_or(root), source)
    }

    #[test]
    fn parts_of_block_and_quoted_scalars_map_to_their_source() {
        let source = "a: |\n  tritonserver --model-repository=/m \\\n    --model-control-mode=explicit\nb: \"tritonserver --allow-metrics=true\"\nc: >-\n  tritonserver\n  --strict-model-config=false\n";
        let a = scalar(source, "a");
        assert_eq!(
            word_span_text(source, &a, "--model-control-mode=explicit"),
            "--model-control-mode=explicit"
        );
        let b = scalar(source, "b");
        assert_eq!(
            word_span_text(source, &b, "--allow-metrics=true"),
            "--allow-metrics=true"
        );
        let c = scalar(source, "c");
        assert_eq!(
            word_span_text(source, &c, "--strict-model-config=false"),
            "--strict-model-config=false"
        );
    }

    #[test]
    fn folded_line_breaks_are_produced_not_copied() {
        let source = "a: >\n  tritonserver \\\n  --model-repository=/m\n";
        let a = scalar(source, "a");
        assert_eq!(a.text, "tritonserver \\ --model-repository=/m\n");
        let origin = a.origin.as_deref().expect("mapped");
        let space = a.text.find("\\ ").unwrap_or(0) + 1;
        assert!(origin.is_produced_at(space), "the folded line break");
        assert!(!origin.is_produced_at(space - 2), "a written space");
        assert_eq!(
            word_span_text(source, &a, "--model-repository=/m"),
            "--model-repository=/m"
        );
    }

    #[test]
    fn escapes_and_doubled_quotes_map_to_their_sequences() {
        let source = "a: \"x\\ty --flag=\\\"v\\\"\"\nb: 'it''s --flag=v'\n";
        let a = scalar(source, "a");
        assert_eq!(a.text, "x\ty --flag=\"v\"");
        assert_eq!(word_span_text(source, &a, "--flag="), "--flag=");
        let b = scalar(source, "b");
        assert_eq!(b.text, "it's --flag=v");
        assert_eq!(word_span_text(source, &b, "--flag=v"), "--flag=v");
    }
}
