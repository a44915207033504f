//! A markdown summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`: counts by
//! severity, findings by rule, the findings themselves grouped by severity with links to
//! their lines, and the exposure map as a Mermaid diagram (GitHub renders it).
//!
//! Links are relative to the scan's base directory (the repository root in a workflow), or
//! absolute when the command line gives a [`Report::link_base`] (the repository's blob URL
//! at the checked commit). Files that exist only in memory (standard input, Helm renders)
//! are named without a link. Secrets are masked as in every report.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::finding::{Finding, Severity};
use crate::report::Report;
use crate::report::human::summary_line;

/// At most this many findings are listed (the counts cover them all): a step summary holds
/// 1 MiB, and a pull-request comment 64 K characters.
pub const MAX_LISTED: usize = 100;

/// Text in a table cell: no line breaks, no column separators, no HTML.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A path as a URL path: each segment percent-encoded where markdown or URLs would read it.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `[deploy/triton.yaml:21](deploy/triton.yaml#L21)`, or the bare place for a file that is
/// not on disk under the base directory.
fn location(report: &Report<'_>, finding: &Finding) -> String {
    let span = finding.primary.span;
    let display = report.store.display(span.file);
    let line = report.store.position(span.file, span.start).line;
    let on_disk = report
        .real_paths
        .get(span.file.0 as usize)
        .is_some_and(Option::is_some);
    let inside = !display.starts_with('/') && !display.starts_with("../") && display != "..";
    let text = cell(&format!("{display}:{line}"));
    if on_disk && inside {
        let base = report.link_base.as_deref().unwrap_or("");
        format!("[{text}]({base}{}#L{line})", url_path(display))
    } else {
        text
    }
}

fn rule_link(report: &Report<'_>, rule_id: &str, rule_name: &str) -> String {
    let text = cell(&format!("{rule_id} {rule_name}"));
    match report
        .catalogue
        .get(rule_id)
        .and_then(crate::report::help_uri)
    {
        Some(uri) => format!("[{text}]({uri})"),
        None => text,
    }
}

pub fn render(report: &Report<'_>) -> String {
    let redactor = super::redact::Redactor::new(report.store, report.findings);
    let mut out = String::from("## tritonguard\n\n");
    let _ = writeln!(out, "{}\n", cell(&summary_line(report)));
    let active: Vec<&Finding> = report.active().collect();
    let failing = report.fail_on.map_or(0, |threshold| {
        active.iter().filter(|f| f.severity >= threshold).count()
    });
    if let (true, Some(threshold)) = (failing > 0, report.fail_on) {
        let _ = writeln!(
            out,
            "**{failing} finding{} at or above `{}`.**\n",
            if failing == 1 { "" } else { "s" },
            threshold.as_str()
        );
    }
    if !active.is_empty() {
        out.push_str("| severity | findings |\n|---|---:|\n");
        for (severity, n) in report.counts() {
            let _ = writeln!(out, "| {} | {n} |", severity.as_str());
        }
        out.push('\n');

        out.push_str("### Findings by rule\n\n| rule | severity | findings |\n|---|---|---:|\n");
        let mut by_rule: BTreeMap<(std::cmp::Reverse<Severity>, &str), (&str, usize)> =
            BTreeMap::new();
        for f in &active {
            by_rule
                .entry((std::cmp::Reverse(f.severity), f.rule_id.as_str()))
                .or_insert((f.rule_name.as_str(), 0))
                .1 += 1;
        }
        let mut rules: Vec<_> = by_rule.into_iter().collect();
        // Most findings first; ties by severity, then rule id.
        rules.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
        for ((severity, id), (name, n)) in rules {
            let _ = writeln!(
                out,
                "| {} | {} | {n} |",
                rule_link(report, id, name),
                severity.0.as_str()
            );
        }
        out.push('\n');

        out.push_str("### Findings\n\n");
        let mut listed = 0;
        for severity in Severity::ALL {
            let of: Vec<&&Finding> = active.iter().filter(|f| f.severity == severity).collect();
            if of.is_empty() {
                continue;
            }
            if listed >= MAX_LISTED {
                break;
            }
            let _ = writeln!(out, "#### {} ({})\n", severity.as_str(), of.len());
            out.push_str("| rule | location | finding |\n|---|---|---|\n");
            for f in of.iter().take(MAX_LISTED - listed) {
                let f = redactor.finding(f);
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    cell(&f.rule_id),
                    location(report, &f),
                    cell(&f.message)
                );
                listed += 1;
            }
            out.push('\n');
        }
        if active.len() > listed {
            let _ = writeln!(
                out,
                "{} more finding{} not listed; run `tritonguard check` for all of them.\n",
                active.len() - listed,
                if active.len() - listed == 1 {
                    " is"
                } else {
                    "s are"
                }
            );
        }
    }
    if !report.eval_errors.is_empty() {
        let _ = writeln!(
            out,
            "**{} policy evaluation error{}**: see the tool's output.\n",
            report.eval_errors.len(),
            if report.eval_errors.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    if let Some(map) = report.exposure {
        out.push_str("### Exposure\n\n");
        let _ = writeln!(out, "{}\n", cell(&map.summary()));
        if !map.launches.is_empty() {
            out.push_str("```mermaid\n");
            out.push_str(&super::exposure::mermaid::render(map));
            out.push_str("```\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cell, url_path};

    #[test]
    fn cells_hold_one_line_and_no_markup() {
        assert_eq!(
            cell("a | b\nc <img> & `x`"),
            "a \\| b c &lt;img&gt; &amp; &#96;x&#96;"
        );
    }

    #[test]
    fn paths_are_percent_encoded_for_links() {
        assert_eq!(
            url_path("deploy/my file (1).yaml"),
            "deploy/my%20file%20%281%29.yaml"
        );
        assert_eq!(url_path("charts/é.yaml"), "charts/%C3%A9.yaml");
    }
}
