//! A compose `command:`/`entrypoint:` written as a string, split into argv the way docker
//! compose splits it: compose-go hands the string to `shellwords.Parse` of
//! github.com/mattn/go-shellwords v1.0.12 (the version compose-go v2 pins), which is not a
//! shell. Its rules, followed here:
//!
//! - blanks (space, tab, CR, LF) separate words outside quotes;
//! - `\` outside single quotes makes the next character literal and is dropped, also inside
//!   double quotes and also before a line end (the line end stays, as a character of the
//!   word: there is no line continuation), and an escaped character alone does not start a
//!   word;
//! - `'...'` and `"..."` quote; `""` is an empty word;
//! - an unquoted `;`, `&`, `|`, `<` or `>` ends the command: the rest is dropped;
//! - `$(` opens a substitution kept as text; an unquoted `(` otherwise, or an unterminated
//!   quote or escape, is an error and compose refuses the file.
//!
//! So in `command: bash -c "tritonserver \<line end> --flag"` compose passes bash a line break
//! where the `\` was (bash then runs `--flag` as a command of its own), and in a folded (`>`)
//! scalar, where YAML already turned the line end into a space, the `\` only escapes that
//! space.

use crate::model::server::ArgWord;
use crate::parse::words::Word;

/// The argv of a compose command string. `None` when compose would refuse it.
pub fn split(line: &ArgWord) -> Option<Vec<ArgWord>> {
    let text = line.text.as_str();
    let base = line.to_word();
    let mut args: Vec<ArgWord> = Vec::new();
    // The current word: its text so far and the byte ranges of `text` it is made of.
    let mut buf = String::new();
    let mut parts: Vec<std::ops::Range<usize>> = Vec::new();
    let mut got = false;
    // The word's first character was escaped with `\`.
    let mut escaped_first = false;
    let (mut escaped, mut double, mut single, mut backtick, mut dollar) =
        (false, false, false, false, false);
    let mut emit =
        |buf: &mut String, parts: &mut Vec<std::ops::Range<usize>>, escaped_first: bool| {
            let note = escaped_first
                .then(|| escape_note(buf, parts.first().map(|r| r.start), base.as_ref()))
                .flatten();
            let word_parts: Vec<Word> = match &base {
                Some(word) => parts.iter().map(|r| word.slice(r.clone())).collect(),
                None => Vec::new(),
            };
            let span = match (parts.first(), parts.last(), &base) {
                (Some(first), Some(last), Some(word)) => Some(
                    word.subspan(first.start..first.end)
                        .join(word.subspan(last.clone())),
                ),
                _ => line.span,
            };
            let mut arg = match (&base, span) {
                (Some(_), Some(span)) => ArgWord::from(&Word::concat(&word_parts, span)),
                _ => ArgWord::new(buf.clone(), line.span),
            };
            arg.text = std::mem::take(buf);
            arg.unresolved |= line.unresolved;
            arg.note = note;
            parts.clear();
            args.push(arg);
        };
    for (i, c) in text.char_indices() {
        let here = i..i + c.len_utf8();
        if escaped {
            if buf.is_empty() {
                escaped_first = true;
            }
            buf.push(c);
            parts.push(here);
            escaped = false;
            continue;
        }
        if c == '\\' {
            if single {
                buf.push(c);
                parts.push(here);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if single || double || backtick || dollar {
                buf.push(c);
                parts.push(here);
            } else if got {
                emit(&mut buf, &mut parts, escaped_first);
                got = false;
                escaped_first = false;
            }
            continue;
        }
        match c {
            '`' if !single && !double && !dollar => backtick = !backtick,
            ')' if !single && !double && !backtick => dollar = !dollar,
            '(' if !single && !double && !backtick => {
                if !dollar && buf.ends_with('$') {
                    dollar = true;
                    buf.push(c);
                    parts.push(here);
                    continue;
                }
                return None;
            }
            '"' if !single && !dollar => {
                if double && buf.is_empty() {
                    got = true;
                }
                double = !double;
                continue;
            }
            '\'' if !double && !dollar => {
                if single && buf.is_empty() {
                    got = true;
                }
                single = !single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double || backtick || dollar) => {
                if c == '>' && buf.starts_with(|b: char| b.is_ascii_digit()) {
                    // `2>`: the digits were the redirection's file descriptor.
                    got = false;
                }
                break;
            }
            _ => {}
        }
        got = true;
        buf.push(c);
        parts.push(here);
    }
    if escaped || single || double || backtick || dollar {
        return None;
    }
    if got {
        emit(&mut buf, &mut parts, escaped_first);
    }
    // Adjacent byte ranges of one word are merged by the word map itself.
    Some(args)
}

/// Why an argument that starts with an escaped blank has it.
fn escape_note(text: &str, first: Option<usize>, base: Option<&Word>) -> Option<String> {
    match text.chars().next()? {
        '\n' => Some(
            "compose keeps the line end after `\\` as a character of the argument: its \
             command splitting has no line continuation"
                .to_string(),
        ),
        ' ' if first
            .zip(base)
            .is_some_and(|(at, word)| word.is_produced_at(at)) =>
        {
            Some(
                "a folded YAML scalar turned the line end after `\\` into a space, which the `\\` \
             escapes: the argument starts with a space"
                    .to_string(),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, Span};

    fn split_text(text: &str) -> Option<Vec<String>> {
        let line = ArgWord::literal(text, Span::new(FileId(0), 0, text.len()));
        split(&line).map(|args| args.into_iter().map(|a| a.text).collect())
    }

    #[test]
    fn quotes_escapes_and_operators_follow_go_shellwords() {
        assert_eq!(
            split_text(r#"bash -c "tritonserver \ --a=1" 'x y' "" z"#),
            Some(vec![
                "bash".to_string(),
                "-c".to_string(),
                "tritonserver  --a=1".to_string(),
                "x y".to_string(),
                String::new(),
                "z".to_string(),
            ])
        );
        assert_eq!(
            split_text("a \\\n  b"),
            Some(vec!["a".to_string(), "\nb".to_string()]),
            "an escaped line end is a character, not a continuation"
        );
        assert_eq!(
            split_text("tritonserver --a; echo done"),
            Some(vec!["tritonserver".to_string(), "--a".to_string()])
        );
        assert_eq!(split_text("a \"b"), None);
        assert_eq!(split_text("a (b)"), None);
    }

    #[test]
    fn words_keep_exact_spans() {
        let text = "tritonserver --model-repository=/m \"--allow-metrics=false\"";
        let line = ArgWord::literal(text, Span::new(FileId(0), 10, 10 + text.len()));
        let args = split(&line).unwrap_or_default();
        let span = args[2]
            .subspan(0, args[2].text.len())
            .unwrap_or(Span::new(FileId(0), 0, 0));
        assert_eq!(
            &text[span.start - 10..span.end - 10],
            "--allow-metrics=false"
        );
    }
}
