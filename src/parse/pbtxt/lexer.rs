//! Splits protobuf text format into tokens with byte spans. Follows the rules of protobuf's
//! C++ `io::Tokenizer` as configured by `TextFormat::Parser` (which is what Triton uses):
//! `#` comments, identifiers, decimal/hex/octal integers, floats with an optional `f` suffix,
//! single- or double-quoted strings that may not cross a line, and one-character symbols.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    Ident,
    Int,
    Float,
    /// A quoted string, quotes included in the span; escapes are decoded by [`decode_string`].
    Str,
    Symbol(char),
    /// A malformed literal whose error has already been reported.
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// A tokenizer complaint: byte range and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LexError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// Tokenizes `text` from byte `from` (after a BOM, say) to the end.
pub(super) fn tokenize(text: &str, from: usize) -> (Vec<Token>, Vec<LexError>) {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: from.min(text.len()),
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<LexError>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn error(&mut self, start: usize, end: usize, message: impl Into<String>) {
        self.errors.push(LexError {
            start,
            end,
            message: message.into(),
        });
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            start,
            end: self.pos,
        });
    }

    fn run(&mut self) {
        while let Some(b) = self.peek() {
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                    self.eat_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                    self.push(TokenKind::Ident, start);
                }
                b'0'..=b'9' => self.number(false),
                b'.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number(true),
                b'"' | b'\'' => self.string(b),
                c if c < 0x20 || c == 0x7f => {
                    self.pos += 1;
                    self.error(
                        start,
                        self.pos,
                        "invalid control character in text".to_string(),
                    );
                }
                _ => {
                    let ch = self.text.get(start..).and_then(|s| s.chars().next());
                    let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.pos += ch.len_utf8().max(1);
                    self.push(TokenKind::Symbol(ch), start);
                }
            }
        }
    }

    fn eat_while(&mut self, pred: impl Fn(u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number, as protobuf's tokenizer reads it (`ConsumeNumber`).
    fn number(&mut self, starts_with_dot: bool) {
        let start = self.pos;
        let mut is_float = false;
        let mut bad = false;
        if starts_with_dot {
            self.pos += 1;
            is_float = true;
            self.eat_while(|c| c.is_ascii_digit());
        } else if self.peek() == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X')) {
            self.pos += 2;
            if self.eat_while(|c| c.is_ascii_hexdigit()) == 0 {
                self.error(start, self.pos, "\"0x\" must be followed by hex digits");
                bad = true;
            }
        } else if self.peek() == Some(b'0') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.eat_while(|c| (b'0'..=b'7').contains(&c));
            if self.eat_while(|c| c.is_ascii_digit()) > 0 {
                self.error(
                    start,
                    self.pos,
                    "numbers starting with a leading zero must be in octal",
                );
                bad = true;
            }
        } else {
            self.eat_while(|c| c.is_ascii_digit());
            if self.peek() == Some(b'.') {
                self.pos += 1;
                is_float = true;
                self.eat_while(|c| c.is_ascii_digit());
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.pos += 1;
                is_float = true;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if self.eat_while(|c| c.is_ascii_digit()) == 0 {
                    self.error(start, self.pos, "\"e\" must be followed by an exponent");
                    bad = true;
                }
            }
            if matches!(self.peek(), Some(b'f' | b'F')) {
                self.pos += 1;
                is_float = true;
            }
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        {
            self.eat_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
            if !bad {
                self.error(
                    start,
                    self.pos,
                    "malformed number: put a space between a number and what follows",
                );
            }
            bad = true;
        }
        let kind = match (bad, is_float) {
            (true, _) => TokenKind::Invalid,
            (false, true) => TokenKind::Float,
            (false, false) => TokenKind::Int,
        };
        self.push(kind, start);
    }

    /// A quoted string. An unterminated string ends at the end of its line, so that the rest of
    /// the file still tokenizes.
    fn string(&mut self, quote: u8) {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    let end = if self.peek().is_some() && self.pos > start {
                        // Leave a trailing '\r' of a CRLF line outside the span.
                        let line = self.bytes.get(start..self.pos).unwrap_or_default();
                        start + line.strip_suffix(b"\r").map_or(line.len(), <[u8]>::len)
                    } else {
                        self.pos
                    };
                    self.error(
                        start,
                        end,
                        "unterminated string: string literals cannot cross line boundaries",
                    );
                    self.tokens.push(Token {
                        kind: TokenKind::Invalid,
                        start,
                        end,
                    });
                    return;
                }
                Some(b'\\') => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    self.escape(esc_start);
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    self.push(TokenKind::Str, start);
                    return;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Checks the escape after a backslash (already consumed) and steps over it.
    fn escape(&mut self, esc_start: usize) {
        match self.peek() {
            Some(b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'?' | b'\'' | b'"') => {
                self.pos += 1;
            }
            Some(b'0'..=b'7') => {
                self.pos += 1;
            }
            Some(b'x') => {
                self.pos += 1;
                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.error(
                        esc_start,
                        self.pos,
                        "\"\\x\" must be followed by hex digits",
                    );
                }
            }
            Some(b'u') | Some(b'U') => {
                let digits = if self.peek() == Some(b'u') { 4 } else { 8 };
                self.pos += 1;
                let hex =
                    (0..digits).all(|i| self.peek_at(i).is_some_and(|c| c.is_ascii_hexdigit()));
                if hex {
                    self.pos += digits;
                } else {
                    self.error(
                        esc_start,
                        self.pos,
                        format!("expected {digits} hex digits after this unicode escape"),
                    );
                }
            }
            // The string's own end; the caller reports it.
            None | Some(b'\n') => {}
            Some(_) => {
                let len = self
                    .text
                    .get(self.pos..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
                self.pos += len;
                self.error(
                    esc_start,
                    self.pos,
                    "invalid escape sequence in string literal",
                );
            }
        }
    }
}

/// Decodes one string token (quotes included) to bytes, as protobuf's `ParseStringAppend` does.
/// Bytes rather than text because octal and hex escapes may produce any byte.
pub(super) fn decode_string(raw: &str, out: &mut Vec<u8>) {
    let bytes = raw.as_bytes();
    let quote = bytes.first().copied();
    let body_end = if bytes.len() >= 2 && bytes.last().copied() == quote {
        bytes.len() - 1
    } else {
        bytes.len()
    };
    let body = bytes.get(1..body_end).unwrap_or_default();
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = body.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                // Like C++, an octal escape above \377 keeps only the low byte.
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match body.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(value as u8);
                }
            }
            b'u' | b'U' => {
                let digits = if e == b'u' { 4 } else { 8 };
                match hex_value(body, i, digits) {
                    Some(mut code) => {
                        i += digits;
                        // A UTF-16 surrogate pair written as two \u escapes.
                        let low = if (0xD800..0xDC00).contains(&code)
                            && body.get(i) == Some(&b'\\')
                            && body.get(i + 1) == Some(&b'u')
                        {
                            hex_value(body, i + 2, 4).filter(|low| (0xDC00..0xE000).contains(low))
                        } else {
                            None
                        };
                        if let Some(low) = low {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            i += 6;
                        }
                        let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    None => {
                        out.push(b'\\');
                        out.push(e);
                    }
                }
            }
            // `\\`, `\?`, `\'`, `\"` and (already reported) unknown escapes: the character itself.
            other => out.push(other),
        }
    }
}

fn hex_value(body: &[u8], at: usize, digits: usize) -> Option<u32> {
    let slice = body.get(at..at + digits)?;
    let text = std::str::from_utf8(slice).ok()?;
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        let (tokens, errors) = tokenize(text, 0);
        assert!(errors.is_empty(), "{errors:?}");
        tokens
            .iter()
            .map(|t| (t.kind, &text[t.start..t.end]))
            .collect()
    }

    fn decode(raw: &str) -> Vec<u8> {
        let mut out = Vec::new();
        decode_string(raw, &mut out);
        out
    }

    #[test]
    fn numbers_follow_protobuf_tokenizer() {
        use TokenKind::*;
        assert_eq!(
            kinds("12 0x1F 017 0 1.5 1e-3 .5 2. 1.0f 3F -4"),
            vec![
                (Int, "12"),
                (Int, "0x1F"),
                (Int, "017"),
                (Int, "0"),
                (Float, "1.5"),
                (Float, "1e-3"),
                (Float, ".5"),
                (Float, "2."),
                (Float, "1.0f"),
                (Float, "3F"),
                (Symbol('-'), "-"),
                (Int, "4"),
            ]
        );
    }

    #[test]
    fn malformed_numbers_are_reported_once() {
        for (text, message) in [
            ("09", "octal"),
            ("0x", "hex digits"),
            ("1e", "exponent"),
            ("12abc", "space between"),
        ] {
            let (tokens, errors) = tokenize(text, 0);
            assert_eq!(errors.len(), 1, "{text}");
            assert!(errors[0].message.contains(message), "{text}: {errors:?}");
            assert_eq!((errors[0].start, errors[0].end), (0, text.len()));
            assert_eq!(tokens.len(), 1);
            assert_eq!(tokens[0].kind, TokenKind::Invalid);
        }
    }

    #[test]
    fn comments_and_whitespace_are_skipped() {
        use TokenKind::*;
        assert_eq!(
            kinds("a # b { c\r\n\t{ } # end"),
            vec![(Ident, "a"), (Symbol('{'), "{"), (Symbol('}'), "}")]
        );
    }

    #[test]
    fn strings_keep_quotes_in_span_and_decode_escapes() {
        assert_eq!(
            kinds(r#"'it''s' "a\"b""#),
            vec![
                (TokenKind::Str, "'it'"),
                (TokenKind::Str, "'s'"),
                (TokenKind::Str, r#""a\"b""#)
            ]
        );
        assert_eq!(decode(r#""a\tb\n\\\"\'\?""#), b"a\tb\n\\\"'?");
        assert_eq!(decode(r#""\101\0\x41\x4a""#), b"A\0AJ");
        assert_eq!(decode(r#""\u00e9\U0001F600""#), "é😀".as_bytes());
        assert_eq!(decode(r#""\ud83d\ude00""#), "😀".as_bytes());
        assert_eq!(decode(r#""\a\b\f\v\r""#), b"\x07\x08\x0c\x0b\r");
    }

    #[test]
    fn unterminated_string_ends_at_the_line_end() {
        let text = "name: \"abc\r\nnext: 1";
        let (tokens, errors) = tokenize(text, 0);
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].start, errors[0].end), (6, 10));
        assert!(errors[0].message.contains("unterminated string"));
        let kinds: Vec<_> = tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Ident,
                TokenKind::Symbol(':'),
                TokenKind::Invalid,
                TokenKind::Ident,
                TokenKind::Symbol(':'),
                TokenKind::Int
            ]
        );
        let (_, errors) = tokenize("'abc", 0);
        assert_eq!((errors[0].start, errors[0].end), (0, 4));
    }

    #[test]
    fn bad_escapes_and_control_characters_are_errors() {
        let (_, errors) = tokenize(r#""a\qb""#, 0);
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].start, errors[0].end), (2, 4));
        let (tokens, errors) = tokenize("a\u{1}b", 0);
        assert_eq!(tokens.len(), 2);
        assert_eq!((errors[0].start, errors[0].end), (1, 2));
    }

    #[test]
    fn non_ascii_outside_strings_is_one_symbol() {
        let (tokens, errors) = tokenize("é", 0);
        assert!(errors.is_empty());
        assert_eq!(tokens[0].kind, TokenKind::Symbol('é'));
        assert_eq!((tokens[0].start, tokens[0].end), (0, 2));
    }
}
