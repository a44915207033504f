//! Wrapping prose for the terminal without ever breaking code: lines break only at spaces
//! outside backtick code spans, and a word (or code span) wider than the line stays whole.
//! A fix copied from a wrapped help line is then still the fix
//! (`--http-restricted-api=model-repository:<header>=<secret>` is never split at its hyphen).

use unicode_width::UnicodeWidthStr;

/// The display width of `text` in terminal columns.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The words of one line: runs between spaces, where a backtick code span (spaces
/// included) belongs to the word it is in. An unclosed backtick runs to the end.
fn words(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut in_code = false;
    for (i, c) in line.char_indices() {
        if c == '`' {
            in_code = !in_code;
        }
        if c == ' ' && !in_code {
            if let Some(s) = start.take() {
                out.push(&line[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

/// Fills `text` into lines of at most `columns` display columns (the first line
/// `first_columns`), keeping the text's own line breaks.
pub fn wrap(text: &str, first_columns: usize, columns: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for source_line in text.split('\n') {
        let mut current = String::new();
        let mut used = 0;
        for word in words(source_line.trim_end()) {
            let limit = if lines.is_empty() {
                first_columns
            } else {
                columns
            };
            let w = width(word);
            if current.is_empty() {
                current.push_str(word);
                used = w;
            } else if used + 1 + w <= limit {
                current.push(' ');
                current.push_str(word);
                used += 1 + w;
            } else {
                lines.push(std::mem::take(&mut current));
                current.push_str(word);
                used = w;
            }
        }
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_are_never_broken() {
        let help = "restrict the model repository API on every endpoint: \
                    `--http-restricted-api=model-repository:<header>=<secret>` and \
                    `capabilities: {drop: [\"ALL\"]}` in the securityContext";
        for columns in 10..100 {
            let lines = wrap(help, columns, columns);
            let joined = lines.join(" ");
            assert_eq!(joined, help, "at {columns} columns");
            for code in [
                "`--http-restricted-api=model-repository:<header>=<secret>`",
                "`capabilities: {drop: [\"ALL\"]}`",
            ] {
                assert!(
                    lines.iter().any(|l| l.contains(code)),
                    "{code} broken at {columns} columns: {lines:#?}"
                );
            }
        }
    }

    #[test]
    fn prose_fills_the_width_and_keeps_line_breaks() {
        let lines = wrap("aaa bbb ccc ddd\neee", 7, 11);
        assert_eq!(lines, ["aaa bbb", "ccc ddd", "eee"]);
        assert!(lines.iter().all(|l| width(l) <= 11));
        assert_eq!(wrap("", 10, 10), [""]);
    }

    #[test]
    fn a_word_wider_than_the_line_stays_whole() {
        assert_eq!(
            wrap("see --a-very-long-flag-name=value now", 10, 10),
            ["see", "--a-very-long-flag-name=value", "now"]
        );
    }
}
