//! GitHub Actions workflow commands: `::error file=…,line=…::message` annotations.
//!
//! Escaping follows `@actions/core` (`escapeData` for the message, `escapeProperty` for
//! property values). Columns are given only for single-line spans: GitHub's annotations
//! do not support `col`/`endColumn` when `line` and `endLine` differ. Titles are cut to
//! the 255 characters an annotation title may have, messages to 64 KB.

use crate::finding::Severity;
use crate::report::Report;

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// An annotation's title may have at most 255 characters.
const TITLE_LIMIT: usize = 255;
/// An annotation's message may have at most 64 KB.
const MESSAGE_LIMIT: usize = 64 * 1024;

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut with `…`.
fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    // Secrets are masked in every text of the report.
    let redactor = super::redact::Redactor::new(report.store, report.findings);
    for f in report.active() {
        let f = redactor.finding(f);
        let command = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "notice",
        };
        let (start, end) = report.store.range(f.primary.span);
        let mut message = f.message.clone();
        if let Some(remote) = report
            .store
            .get(f.primary.span.file)
            .and_then(|file| file.remote.as_ref())
        {
            message.push_str(&format!(" [{}]", remote.endpoint));
        }
        if let Some(help) = &f.help {
            message.push_str(&format!("\n\nFix: {help}"));
        }
        for note in &f.notes {
            message.push_str(&format!("\n{note}"));
        }
        let (col, end_col) = if start.line == end.line {
            (
                format!(",col={}", start.column),
                format!(",endColumn={}", end.column),
            )
        } else {
            (String::new(), String::new())
        };
        let title = cut_chars(
            &format!("{} {} ({})", f.rule_id, f.rule_name, f.severity),
            TITLE_LIMIT,
        );
        out.push_str(&format!(
            "::{command} file={},line={}{col},endLine={}{end_col},title={}::{}\n",
            escape_property(report.store.display(f.primary.span.file)),
            start.line,
            end.line,
            escape_property(&title),
            escape_data(&cut_bytes(&message, MESSAGE_LIMIT)),
        ));
    }
    out.push_str(&super::human::summary_line(report));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_are_escaped() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        // `%` first, so an escape sequence already in the text is not decoded by the runner.
        assert_eq!(escape_property("%3A\r\n"), "%253A%0D%0A");
    }

    #[test]
    fn columns_only_for_single_line_spans() {
        let catalogue = crate::evaluate::policy::Catalogue::load(&[], true).unwrap();
        let text = include_str!("../../examples/kubernetes/insecure/triton.yaml");
        let mut result = crate::pipeline::scan_texts(
            &catalogue,
            &[("deploy/triton, v1.yaml".to_string(), text.to_string())],
            &|p| p.spec.id == "TG101",
        );
        let report = |result: &crate::pipeline::Outcome| {
            render(&Report {
                store: &result.store,
                catalogue: &catalogue,
                findings: &result.findings,
                eval_errors: &result.eval_errors,
                notes: &result.notes,
                stats: &result.stats,
                scanned: "deploy".to_string(),
                fail_on: Some(Severity::Low),
                sarif_category: String::new(),
                base_uri: None,
                base_dir: None,
                real_paths: Vec::new(),
                exposure: None,
                link_base: None,
            })
        };
        let single = report(&result);
        let line = single.lines().next().unwrap();
        assert!(
            line.starts_with("::error file=deploy/triton%2C v1.yaml,line=26,col=15,endLine=26,endColumn=44,title=TG101 model-control-enabled (high)::"),
            "{line}"
        );
        // Widen the span over three lines: no columns then.
        let span = &mut result.findings[0].primary.span;
        span.end = text.match_indices('\n').nth(27).unwrap().0;
        let multi = report(&result);
        let line = multi.lines().next().unwrap();
        assert!(
            line.starts_with("::error file=deploy/triton%2C v1.yaml,line=26,endLine=28,title="),
            "{line}"
        );
    }

    #[test]
    fn long_titles_and_messages_are_cut_on_character_boundaries() {
        let title = cut_chars(&"é".repeat(300), TITLE_LIMIT);
        assert_eq!(title.chars().count(), TITLE_LIMIT);
        assert!(title.ends_with('…'));
        let message = cut_bytes(&"é".repeat(MESSAGE_LIMIT), MESSAGE_LIMIT);
        assert!(message.len() <= MESSAGE_LIMIT && message.ends_with('…'));
        assert_eq!(cut_bytes("short", 10), "short");
    }
}
