//! The exec form of `RUN`/`CMD`/`ENTRYPOINT`/`SHELL`/`COPY`...: a JSON array of strings. As
//! in BuildKit, only the first JSON value counts (trailing text is ignored), text that is not
//! JSON falls back to the shell form, and a JSON array holding anything but strings is an
//! error. Each string becomes a [`Word`] that maps back into the source, escapes included.

use std::ops::Range;

use crate::parse::words::{SourceMap, Word, WordBuilder};

pub(super) enum Exec {
    /// Not a JSON array: the instruction is in shell form.
    NotJson,
    /// Valid JSON, but not an array of strings.
    NotStrings,
    Strings(Vec<Word>),
}

/// Parses `text[range]` as an exec-form array.
pub(super) fn parse_exec(text: &str, range: Range<usize>, map: &SourceMap) -> Exec {
    let Some(slice) = text.get(range.clone()) else {
        return Exec::NotJson;
    };
    let lead = slice.len() - slice.trim_start().len();
    let start = range.start + lead;
    let Some(json) = text.get(start..range.end) else {
        return Exec::NotJson;
    };
    if !json.starts_with('[') {
        return Exec::NotJson;
    }
    let mut values = serde_json::Deserializer::from_str(json).into_iter::<serde_json::Value>();
    match values.next() {
        Some(Ok(serde_json::Value::Array(items))) => {
            if !items.iter().all(serde_json::Value::is_string) {
                return Exec::NotStrings;
            }
            match strings(text, start, map) {
                Some(words) if words.len() == items.len() => Exec::Strings(words),
                _ => Exec::NotJson,
            }
        }
        Some(Ok(_)) => Exec::NotStrings,
        _ => Exec::NotJson,
    }
}

/// The strings of a JSON array of strings that starts at `open` (known to be valid JSON).
fn strings(text: &str, open: usize, map: &SourceMap) -> Option<Vec<Word>> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut p = open + 1;
    loop {
        while bytes.get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        match bytes.get(p)? {
            b']' => return Some(words),
            b',' => p += 1,
            b'"' => {
                let (word, end) = string(text, p, map)?;
                words.push(word);
                p = end;
            }
            _ => return None,
        }
    }
}

/// The JSON string starting at the quote at `open`, and the offset after its closing quote.
fn string(text: &str, open: usize, map: &SourceMap) -> Option<(Word, usize)> {
    let bytes = text.as_bytes();
    let mut builder = WordBuilder::new(map.file());
    let mut p = open + 1;
    let mut run = p;
    loop {
        match bytes.get(p)? {
            b'"' => {
                builder.push_source(map, text, run..p);
                let span = map.span(open..p + 1);
                return Some((builder.finish(span, true), p + 1));
            }
            b'\\' => {
                builder.push_source(map, text, run..p);
                let (decoded, len) = escape(text, p)?;
                builder.push_produced(&decoded, map.span(p..p + len));
                p += len;
                run = p;
            }
            _ => p += 1,
        }
    }
}

/// The JSON escape at `at` (a backslash): its text and length, surrogate pairs joined.
fn escape(text: &str, at: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let simple = match bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hex = |from: usize| u32::from_str_radix(text.get(from..from + 4)?, 16).ok();
            let first = hex(at + 2)?;
            if (0xD800..0xDC00).contains(&first)
                && text.get(at + 6..at + 8) == Some("\\u")
                && let Some(second) = hex(at + 8)
                && (0xDC00..0xE000).contains(&second)
            {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                return Some((ch.to_string(), 12));
            }
            let ch = char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER);
            return Some((ch.to_string(), 6));
        }
        _ => return None,
    };
    Some((simple.to_string(), 2))
}
