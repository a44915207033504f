//! SARIF 2.1.0 for GitHub code scanning: the full rule catalogue with help, security
//! severities and tags, results with exact regions, related locations, fingerprints that
//! survive unrelated edits, `%SRCROOT%`-relative URIs, and suppressions.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, Run, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
};

use crate::finding::{Finding, Severity, SuppressionKind};
use crate::policy::Policy;
use crate::report::{INFORMATION_URI, Report, TOOL_NAME, help_uri};
use crate::source::{SourceStore, Span};

const SRCROOT: &str = "%SRCROOT%";
/// GitHub reads at most this many characters of a rule's fullDescription.
const FULL_DESCRIPTION_LIMIT: usize = 1024;

fn level(severity: Severity) -> serde_json::Value {
    json!(match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    })
}

fn text(s: impl Into<String>) -> Message {
    Message {
        text: Some(s.into()),
        ..Message::default()
    }
}

/// Percent-encodes a relative path for a URI reference.
pub fn uri_path(path: &str) -> String {
    if path == "<stdin>" || path == "-" {
        return "stdin".to_string();
    }
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.trim_start_matches('/').to_string()
}

fn truncate(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_string();
    }
    let cut: String = s.chars().take(limit.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The rule descriptor: shared text with `tritonguard explain`.
pub fn rule_descriptor(policy: &Policy) -> ReportingDescriptor {
    let spec = &policy.spec;
    let mut properties = BTreeMap::new();
    if let Some(s) = spec.severity.security_severity() {
        properties.insert("security-severity".to_string(), json!(s));
    }
    properties.insert("precision".to_string(), json!("high"));
    properties.insert(
        "problem.severity".to_string(),
        json!(match spec.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            _ => "recommendation",
        }),
    );
    let mut tags = vec![
        "security".to_string(),
        "triton".to_string(),
        spec.subject.as_str().to_string(),
    ];
    tags.extend(spec.tags.iter().cloned());
    tags.dedup();
    let markdown = crate::cli::explain::markdown(policy);
    ReportingDescriptor {
        id: spec.id.clone(),
        name: Some(spec.name.clone()),
        short_description: Some(plain(spec.summary.clone())),
        full_description: Some(plain(truncate(
            &crate::engine::evaluate::first_paragraph(&spec.description)
                .unwrap_or_else(|| spec.summary.clone()),
            FULL_DESCRIPTION_LIMIT,
        ))),
        help: Some(
            MultiformatMessageString::builder()
                .text(format!(
                    "{}\n\n{}",
                    spec.description.trim(),
                    spec.remediation.trim()
                ))
                .markdown(markdown)
                .build(),
        ),
        help_uri: Some(help_uri(&spec.id, &spec.name)),
        default_configuration: Some(ReportingConfiguration {
            level: Some(level(spec.severity)),
            ..ReportingConfiguration::default()
        }),
        properties: Some(PropertyBag {
            tags: Some(tags),
            additional_properties: properties,
        }),
        ..ReportingDescriptor::builder().id(spec.id.clone()).build()
    }
}

fn plain(text: String) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

fn physical(store: &SourceStore, span: Span) -> PhysicalLocation {
    let (start, end) = store.range(span);
    let region = if crate::report::human::textless(store, span.file) {
        // A binary file (or a directory): only the bytes are meaningful. GitHub requires a
        // startLine, so the region also names line 1, without columns.
        Region {
            start_line: Some(1),
            byte_offset: Some(span.start as i64),
            byte_length: Some(span.len() as i64),
            ..Region::default()
        }
    } else {
        Region {
            start_line: Some(start.line as i64),
            start_column: Some(start.column_utf16 as i64),
            end_line: Some(end.line as i64),
            end_column: Some(end.column_utf16 as i64),
            byte_offset: Some(span.start as i64),
            byte_length: Some(span.len() as i64),
            ..Region::default()
        }
    };
    PhysicalLocation {
        artifact_location: Some(ArtifactLocation {
            uri: Some(uri_path(store.display(span.file))),
            uri_base_id: Some(SRCROOT.to_string()),
            ..ArtifactLocation::default()
        }),
        region: Some(region),
        ..PhysicalLocation::default()
    }
}

fn result(report: &Report<'_>, finding: &Finding, rule_index: Option<usize>) -> SarifResult {
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        finding.fingerprint.clone(),
    );
    let mut message = finding.message.clone();
    for note in &finding.notes {
        message.push_str(&format!(" ({note})"));
    }
    let related: Vec<Location> = finding
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| Location {
            id: Some(i as i64),
            physical_location: Some(physical(report.store, r.span)),
            message: (!r.label.is_empty()).then(|| text(r.label.clone())),
            ..Location::default()
        })
        .collect();
    let suppressions = finding.suppression.as_ref().map(|s| {
        let mut suppression = Suppression::builder()
            .kind(json!(match s.kind {
                SuppressionKind::InSource => "inSource",
                SuppressionKind::External => "external",
            }))
            .justification(s.justification.clone())
            .build();
        suppression.location = s.span.map(|span| Location {
            physical_location: Some(physical(report.store, span)),
            ..Location::default()
        });
        vec![suppression]
    });
    SarifResult {
        rule_id: Some(finding.rule_id.clone()),
        rule_index: rule_index.map(|i| i as i64),
        level: Some(level_enum(finding.severity)),
        locations: Some(vec![Location {
            physical_location: Some(physical(report.store, finding.primary.span)),
            message: (!finding.primary.label.is_empty())
                .then(|| text(finding.primary.label.clone())),
            ..Location::default()
        }]),
        related_locations: (!related.is_empty()).then_some(related),
        partial_fingerprints: Some(fingerprints),
        suppressions,
        ..SarifResult::builder().message(text(message)).build()
    }
}

fn level_enum(severity: Severity) -> serde_sarif::sarif::ResultLevel {
    use serde_sarif::sarif::ResultLevel;
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

pub fn build(report: &Report<'_>) -> Sarif {
    let rules: Vec<&Policy> = report.catalogue.sorted();
    let results = report
        .findings
        .iter()
        .map(|f| {
            let index = rules.iter().position(|p| p.spec.id == f.rule_id);
            result(report, f, index)
        })
        .collect();
    let mut notifications: Vec<Notification> = report
        .eval_errors
        .iter()
        .map(|e| {
            let mut n = Notification::builder()
                .message(text(format!(
                    "policy {} could not be evaluated on {} in {}: {}",
                    e.rule_id,
                    e.subject,
                    report.store.display(e.file),
                    e.message
                )))
                .build();
            n.level = Some(json!("warning"));
            n
        })
        .collect();
    notifications.extend(report.notes.iter().map(|n| {
        let mut note = Notification::builder()
            .message(text(format!("{}: {}", n.display, n.message)))
            .build();
        note.level = Some(json!(if n.error { "error" } else { "note" }));
        note
    }));
    let mut original_uri_base_ids = BTreeMap::new();
    if let Some(base) = &report.base_uri {
        original_uri_base_ids.insert(
            SRCROOT.to_string(),
            ArtifactLocation {
                uri: Some(base.clone()),
                ..ArtifactLocation::default()
            },
        );
    }
    let driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(rules.iter().map(|p| rule_descriptor(p)).collect::<Vec<_>>())
        .build();
    let mut invocation = Invocation::builder().execution_successful(true).build();
    invocation.tool_execution_notifications = (!notifications.is_empty()).then_some(notifications);
    let run = Run {
        results: Some(results),
        automation_details: Some(RunAutomationDetails {
            id: Some(report.sarif_category.clone()),
            ..RunAutomationDetails::default()
        }),
        invocations: Some(vec![invocation]),
        original_uri_base_ids: (!original_uri_base_ids.is_empty()).then_some(original_uri_base_ids),
        column_kind: Some(json!("utf16CodeUnits")),
        ..Run::builder()
            .tool(Tool::builder().driver(driver).build())
            .build()
    };
    Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .runs(vec![run])
        .version(json!("2.1.0"))
        .build()
}

pub fn render(report: &Report<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&build(report))
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize SARIF: {e}\"}}"));
    text.push('\n');
    text
}
