//! YAML scalars as argv words that know where each part of their text is written, so a
//! finding on one flag inside a long quoted or block-scalar command underlines that flag.

use crate::model::server::ArgWord;
use crate::tree::Node;

/// The scalar's text as one argv word, with exact spans for every whitespace-separated run
/// of its text that appears verbatim in the source.
pub fn arg_word(node: &Node, source: &str) -> ArgWord {
    let text = node.as_scalar_text().unwrap_or_default();
    let Some(span) = node.span else {
        return ArgWord::new(text, None);
    };
    let mut pieces = Vec::new();
    let mut cursor = span.start;
    let end = span.end.min(source.len());
    let mut offset = 0;
    for segment in text.split_inclusive(char::is_whitespace) {
        let run = segment.trim_end();
        if !run.is_empty()
            && let Some(found) = source.get(cursor..end).and_then(|raw| raw.find(run))
        {
            let start = cursor + found;
            pieces.push((
                offset,
                crate::source::Span::new(span.file, start, start + run.len()),
            ));
            cursor = start + run.len();
        }
        offset += segment.len();
    }
    ArgWord {
        text,
        span: Some(span),
        unresolved: false,
        pieces,
        origin: None,
    }
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

    #[test]
    fn parts_of_block_and_quoted_scalars_map_to_their_source() {
        let source = "a: |\n  tritonserver --model-repository=/m \\\n    --model-control-mode=explicit\nb: \"tritonserver --allow-metrics=true\"\nc: >-\n  tritonserver\n  --strict-model-config=false\n";
        let stream = parse_stream(FileId(0), source);
        let root = &stream.documents[0].root;
        let a = arg_word(root.get("a").unwrap_or(root), source);
        assert_eq!(
            word_span_text(source, &a, "--model-control-mode=explicit"),
            "--model-control-mode=explicit"
        );
        let b = arg_word(root.get("b").unwrap_or(root), source);
        assert_eq!(
            word_span_text(source, &b, "--allow-metrics=true"),
            "--allow-metrics=true"
        );
        let c = arg_word(root.get("c").unwrap_or(root), source);
        assert_eq!(
            word_span_text(source, &c, "--strict-model-config=false"),
            "--strict-model-config=false"
        );
    }
}
