//! One line per finding, `path:line:col: TG101 [high] message`: the shape gcc, ruff and
//! hadolint print, which editors and CI log matchers already parse. The closing summary
//! line is the one the terminal report ends with.

use crate::finding::Finding;
use crate::report::Report;
use crate::report::human::{HumanOptions, summary_line, textless};
use crate::report::redact::Redactor;

/// Messages are single lines here.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn line(report: &Report<'_>, redactor: &Redactor, f: &Finding) -> String {
    let store = report.store;
    let file = f.primary.span.file;
    let path = store.display(file);
    let message = one_line(&redactor.text(&f.message));
    let mut out = if textless(store, file) {
        // A binary file or a directory: no line to name; the label says where.
        let mut out = format!("{path}: {} [{}] {message}", f.rule_id, f.severity);
        if !f.primary.label.is_empty() {
            out.push_str(&format!(
                " (at {})",
                one_line(&redactor.text(&f.primary.label))
            ));
        }
        out
    } else {
        let start = store.position(file, f.primary.span.start);
        format!(
            "{path}:{}:{}: {} [{}] {message}",
            start.line, start.column, f.rule_id, f.severity
        )
    };
    if let Some(s) = &f.suppression {
        out.push_str(&format!(
            " (suppressed: {})",
            one_line(&redactor.text(&s.justification))
        ));
    }
    out
}

pub fn render(report: &Report<'_>, options: &HumanOptions) -> String {
    let mut out = String::new();
    if !options.quiet {
        let redactor = Redactor::new(report.store, report.findings);
        for f in report
            .findings
            .iter()
            .filter(|f| f.suppression.is_none() || options.show_suppressed)
        {
            out.push_str(&line(report, &redactor, f));
            out.push('\n');
        }
        for note in report.notes {
            out.push_str(&format!(
                "{}: note: {}\n",
                note.display,
                one_line(&note.message)
            ));
        }
        for error in report.eval_errors {
            out.push_str(&format!(
                "{}: warning: policy {} could not be evaluated on {}: {}\n",
                report.store.display(error.file),
                error.rule_id,
                error.subject,
                one_line(&error.message)
            ));
        }
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}
