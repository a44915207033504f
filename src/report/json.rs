//! tritonguard's JSON report. Its shape is a public interface, described by
//! `schema/report.schema.json`; `schema_version` changes when it does.

use serde::Serialize;

use crate::finding::{Finding, SuppressionKind};
use crate::report::Report;
use crate::source::{SourceStore, Span};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
    errors: Vec<JsonError>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
    catalogue: &'static str,
}

#[derive(Serialize)]
struct Summary {
    scanned: String,
    files: usize,
    kubernetes_objects: usize,
    launches: usize,
    /// Model directories, in a `repo audit` report.
    #[serde(skip_serializing_if = "Option::is_none")]
    models: Option<usize>,
    /// Endpoints asked, in a `probe` report.
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoints: Option<usize>,
    findings: usize,
    suppressed: usize,
    by_severity: std::collections::BTreeMap<&'static str, usize>,
    fail_on: &'static str,
    duration_ms: u128,
}

#[derive(Serialize)]
struct JsonLocation {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    byte_offset: usize,
    byte_length: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    label: String,
    /// The request that showed a finding of `probe` (`file` is then the server's URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
}

#[derive(Serialize)]
struct JsonSuppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    severity: &'static str,
    message: &'a str,
    location: JsonLocation,
    related: Vec<JsonLocation>,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<JsonSuppression>,
}

#[derive(Serialize)]
struct JsonError {
    kind: &'static str,
    message: String,
}

fn location(store: &SourceStore, span: Span, label: &str) -> JsonLocation {
    let (start, end) = store.range(span);
    JsonLocation {
        file: store.display(span.file).to_string(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        byte_offset: span.start,
        byte_length: span.len(),
        label: label.to_string(),
        endpoint: store
            .get(span.file)
            .and_then(|f| f.remote.as_ref())
            .map(|r| r.endpoint.clone()),
    }
}

fn finding<'a>(store: &SourceStore, f: &'a Finding) -> JsonFinding<'a> {
    JsonFinding {
        rule_id: &f.rule_id,
        rule_name: &f.rule_name,
        severity: f.severity.as_str(),
        message: &f.message,
        location: location(store, f.primary.span, &f.primary.label),
        related: f
            .related
            .iter()
            .map(|r| location(store, r.span, &r.label))
            .collect(),
        notes: &f.notes,
        help: f.help.as_deref(),
        fingerprint: &f.fingerprint,
        suppression: f.suppression.as_ref().map(|s| JsonSuppression {
            kind: match s.kind {
                SuppressionKind::InSource => "inSource",
                SuppressionKind::External => "external",
            },
            justification: s.justification.clone(),
        }),
    }
}

pub fn render(report: &Report<'_>) -> String {
    // Secrets are masked in every text of the report.
    let redactor = super::redact::Redactor::new(report.store, report.findings);
    let masked: Vec<_> = report
        .findings
        .iter()
        .map(|f| redactor.finding(f))
        .collect();
    let by_severity = report
        .counts()
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    let mut errors: Vec<JsonError> = report
        .eval_errors
        .iter()
        .map(|e| JsonError {
            kind: "policy-evaluation",
            message: format!(
                "{} on {} ({}): {}",
                e.rule_id,
                e.subject,
                report.store.display(e.file),
                e.message
            ),
        })
        .collect();
    errors.extend(report.notes.iter().map(|n| JsonError {
        kind: if n.error { "input" } else { "note" },
        message: format!("{}: {}", n.display, n.message),
    }));
    let out = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: super::TOOL_NAME,
            version: env!("CARGO_PKG_VERSION"),
            catalogue: crate::evaluate::policy::catalogue_version(),
        },
        summary: Summary {
            scanned: report.scanned.clone(),
            files: report.stats.files,
            kubernetes_objects: report.stats.objects,
            launches: report.stats.launches,
            models: report.stats.models,
            endpoints: report.stats.endpoints,
            findings: report.active_count(),
            suppressed: report.findings.len() - report.active().count(),
            by_severity,
            fail_on: report
                .fail_on
                .map_or("never", crate::finding::Severity::as_str),
            duration_ms: report.stats.duration.as_millis(),
        },
        findings: masked.iter().map(|f| finding(report.store, f)).collect(),
        errors,
    };
    let mut text =
        serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
