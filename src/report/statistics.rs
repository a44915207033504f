//! `--statistics`: how many findings each rule has, most first (ruff's `--statistics`),
//! then the summary line; or the same counts as JSON.

use serde::Serialize;

use crate::finding::Severity;
use crate::report::Report;
use crate::report::human::summary_line;

#[derive(Serialize)]
pub struct RuleCount {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub count: usize,
}

/// Unsuppressed findings per rule: most first, then by id.
pub fn counts(report: &Report<'_>) -> Vec<RuleCount> {
    let mut out: Vec<RuleCount> = Vec::new();
    for f in report.active() {
        match out.iter_mut().find(|c| c.rule_id == f.rule_id) {
            Some(c) => c.count += 1 + f.folded,
            None => out.push(RuleCount {
                rule_id: f.rule_id.clone(),
                rule_name: f.rule_name.clone(),
                severity: f.severity,
                count: 1 + f.folded,
            }),
        }
    }
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    out
}

/// A table: count, id, severity, name.
pub fn render_text(report: &Report<'_>) -> String {
    let rows = counts(report);
    let w_count = rows
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(1);
    let w_id = rows.iter().map(|r| r.rule_id.len()).max().unwrap_or(0);
    let w_sev = rows
        .iter()
        .map(|r| r.severity.as_str().len() + 2)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in &rows {
        out.push_str(&format!(
            "{:>w_count$}  {:w_id$}  {:w_sev$}  {}\n",
            r.count,
            r.rule_id,
            format!("[{}]", r.severity),
            r.rule_name
        ));
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

pub fn render_json(report: &Report<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&counts(report))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
