//! The comments of a parsed text, as the parser saw them: a `#` inside a YAML string, a
//! quoted word, a heredoc or a pbtxt string is text, not a comment. Suppressions are read from
//! these spans only.

use crate::parse::yaml::YamlStream;
use crate::source::{FileId, Span};
use crate::tree::{Node, Value};

/// A comment: from its `#` to the end of its line (line terminator excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Comment {
    pub span: Span,
    /// Nothing but blanks before it on its line.
    pub own_line: bool,
}

/// The comments of a YAML stream. A `#` counts when it starts the line's content or follows a
/// blank, and lies outside every scalar the parser read (block scalars and multi-line quoted
/// strings included). A document that did not parse has no tree: its comments are found by
/// quote tracking on each line, as a YAML tokenizer would see them.
pub fn yaml(file: FileId, text: &str, stream: &YamlStream) -> Vec<Comment> {
    let mut scalars: Vec<(usize, usize)> = Vec::new();
    for doc in &stream.documents {
        collect_scalars(text, &doc.root, &mut scalars);
    }
    scalars.sort_unstable();
    let parsed: Vec<(usize, usize)> = stream
        .documents
        .iter()
        .map(|d| (d.extent.start, d.extent.end))
        .collect();
    let mut out = Vec::new();
    let mut offset = 0;
    // Index of the first scalar that may still contain an offset at or after `offset`.
    let mut next_scalar = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let in_parsed = parsed.iter().any(|(s, e)| offset >= *s && offset < *e);
        let hash = if in_parsed {
            hash_outside(body, offset, &scalars, &mut next_scalar)
        } else {
            hash_by_quotes(body)
        };
        if let Some(at) = hash {
            out.push(Comment {
                span: Span::new(file, offset + at, offset + body.len()),
                own_line: body[..at].trim().is_empty(),
            });
        }
        offset += line.len();
    }
    out
}

fn collect_scalars(text: &str, node: &Node, out: &mut Vec<(usize, usize)>) {
    if let Some(k) = node.key_span {
        out.push((k.start, quoted_end(text, k.start).unwrap_or(k.end)));
    }
    match &node.value {
        Value::List(items) => items.iter().for_each(|i| collect_scalars(text, i, out)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| collect_scalars(text, v, out)),
        _ => {
            if let Some(s) = node.span {
                out.push((s.start, quoted_end(text, s.start).unwrap_or(s.end)));
            }
        }
    }
}

/// Where a quoted scalar starting at `start` really ends (just after its closing quote):
/// the parser's span of a quoted scalar runs on over what follows it on the line.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let rest = text.get(start..)?;
    let quote = match rest.as_bytes().first()? {
        b'\'' => b'\'',
        b'"' => b'"',
        _ => return None,
    };
    let bytes = rest.as_bytes();
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        if quote == b'"' && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            // `''` inside a single-quoted scalar is an escaped quote.
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(start + i + 1);
        }
        i += 1;
    }
    None
}

/// The first `#` of a line (at `line_start` in the text) that starts a comment: at the
/// line's start or after a blank, and inside no scalar.
fn hash_outside(
    body: &str,
    line_start: usize,
    scalars: &[(usize, usize)],
    next: &mut usize,
) -> Option<usize> {
    let bytes = body.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'#' || (i > 0 && !matches!(bytes.get(i - 1), Some(b' ' | b'\t'))) {
            continue;
        }
        let at = line_start + i;
        while scalars.get(*next).is_some_and(|(_, end)| *end <= at) {
            *next += 1;
        }
        // Scalars are sorted by start; one that starts before `at` and ends after it holds it.
        let inside = scalars
            .get(*next..)
            .unwrap_or_default()
            .iter()
            .take_while(|(start, _)| *start <= at)
            .any(|(start, end)| *start <= at && at < *end);
        if !inside {
            return Some(i);
        }
    }
    None
}

/// The `#` that starts a comment on a line, outside quotes (for lines no tree covers, and for
/// line-oriented formats).
pub fn hash_by_quotes(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() || i == 0 => return Some(i),
            _ => {}
        }
        previous = c;
    }
    None
}

/// The comments of a protobuf text file: a `#` outside a quoted string runs to the end of
/// its line (strings cannot cross lines in text format, and may hold `\"` escapes).
pub fn pbtxt(file: FileId, text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let mut quote: Option<u8> = None;
        let mut escaped = false;
        for (i, b) in body.bytes().enumerate() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == q {
                        quote = None;
                    }
                }
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b'#' => {
                    out.push(Comment {
                        span: Span::new(file, offset + i, offset + body.len()),
                        own_line: body.get(..i).is_some_and(|s| s.trim().is_empty()),
                    });
                    break;
                }
                None => {}
            }
        }
        offset += line.len();
    }
    out
}

/// Comments found line by line, with quote tracking: for texts no parser reads (Helm
/// templates, which are Go templates rather than YAML).
pub fn by_lines(file: FileId, text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(i) = hash_by_quotes(body) {
            out.push(Comment {
                span: Span::new(file, offset + i, offset + body.len()),
                own_line: body.get(..i).is_some_and(|s| s.trim().is_empty()),
            });
        }
        offset += line.len();
    }
    out
}

/// Comments given as spans by a lexer, with whether each stands on its own line.
pub fn from_spans(text: &str, spans: impl IntoIterator<Item = Span>) -> Vec<Comment> {
    let mut out: Vec<Comment> = spans
        .into_iter()
        .map(|span| {
            let line_start = text
                .get(..span.start)
                .and_then(|before| before.rfind('\n'))
                .map_or(0, |i| i + 1);
            Comment {
                span,
                own_line: text
                    .get(line_start..span.start)
                    .is_some_and(|b| b.trim().is_empty()),
            }
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_stream;

    fn comments(text: &str) -> Vec<&str> {
        let stream = parse_stream(FileId(0), text);
        yaml(FileId(0), text, &stream)
            .iter()
            .map(|c| &text[c.span.start..c.span.end])
            .collect()
    }

    #[test]
    fn a_hash_inside_a_block_scalar_is_text() {
        let text = "a: |\n  echo hi # tritonguard:ignore[TG101] not a comment\n  # nor this\nb: 1 # but this\n";
        assert_eq!(comments(text), ["# but this"]);
    }

    #[test]
    fn a_hash_inside_quotes_is_text_even_across_lines() {
        let text = "a: \"x # y\n  # still the string\"\n# own line\nb: 'z # w' # real\n";
        assert_eq!(comments(text), ["# own line", "# real"]);
    }

    #[test]
    fn a_broken_document_still_has_its_comments() {
        let text = "a: [1, 2\n# here\nb: \"# not\" # there\n";
        assert_eq!(comments(text), ["# here", "# there"]);
    }

    #[test]
    fn pbtxt_comments_skip_strings_with_escaped_quotes() {
        let text = "name: \"a \\\" # b\" # real\n# own\n";
        let found: Vec<&str> = pbtxt(FileId(0), text)
            .iter()
            .map(|c| &text[c.span.start..c.span.end])
            .collect();
        assert_eq!(found, ["# real", "# own"]);
    }

    #[test]
    fn a_hash_glued_to_a_word_is_not_a_comment() {
        assert_eq!(comments("url: http://x/#frag\n"), Vec::<&str>::new());
    }
}
