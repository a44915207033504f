//! Input quoted in messages: a bounded excerpt, with control characters escaped, so that a
//! hostile file name or file content cannot flood a report or drive the terminal (escape
//! sequences, carriage returns that overwrite a line, bidirectional overrides that reorder
//! it).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "input here is hostile: a bad byte is a finding or an error, never a panic (issue 13); tests are exempt (clippy.toml)"
)]

use std::borrow::Cow;
use std::fmt::Write;

/// Most characters of input a message quotes.
pub const EXCERPT_CHARS: usize = 80;

/// Does a terminal give this character a meaning beyond printing it?
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional embeddings, overrides and isolates ("Trojan Source").
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `text` with control and bidirectional-formatting characters written as escapes
/// (`\n`, `\u{1b}`); borrowed when there is nothing to escape.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most [`EXCERPT_CHARS`] characters of `text`, escaped, with `…` when it was cut.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A file name that may not be UTF-8 as text: valid UTF-8 as it is, each byte that is not
/// as `\xNN`. Control characters are kept (a path must still name its file); quote it in a
/// message through [`escape_control`].
pub fn lossless_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A file name that may not be UTF-8, shown losslessly: valid text as it is (controls
/// escaped), each byte that is not UTF-8 as `\xNN`.
pub fn escape_name_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_control(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape_control("plain"), Cow::Borrowed("plain"));
        assert_eq!(escape_control("a\x1b[31mb\r\n"), "a\\u{1b}[31mb\\r\\n");
        assert_eq!(escape_control("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape_control("é日本"), "é日本");
    }

    #[test]
    fn excerpts_are_bounded() {
        let long = "ab".repeat(1000);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), EXCERPT_CHARS + 1);
        assert!(short.ends_with('…'));
        assert_eq!(excerpt("k\x07"), "k\\u{7}");
    }

    #[test]
    fn names_that_are_not_utf8_are_shown_losslessly() {
        assert_eq!(escape_name_bytes(b"model\xff.pkl"), "model\\xff.pkl");
        assert_eq!(escape_name_bytes("é\n".as_bytes()), "é\\n");
        assert_eq!(lossless_name(b"a\xfe\n"), "a\\xfe\n");
    }
}
