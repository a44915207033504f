//! GitHub Actions workflow commands: `::error file=…,line=…::message` annotations.

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

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for f in report.active() {
        let command = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "notice",
        };
        let (start, end) = report.store.range(f.primary.span);
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str(&format!("\n\nFix: {help}"));
        }
        for note in &f.notes {
            message.push_str(&format!("\n{note}"));
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(report.store.display(f.primary.span.file)),
            start.line,
            start.column,
            end.line,
            end.column,
            escape_property(&format!("{} {} ({})", f.rule_id, f.rule_name, f.severity)),
            escape_data(&message),
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
    }
}
