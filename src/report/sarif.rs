//! SARIF 2.1.0 for GitHub code scanning: the full rule catalogue with help, security
//! severities and tags, results with exact regions, related locations, fingerprints that
//! survive unrelated edits, `%SRCROOT%`-relative URIs, and suppressions.
//!
//! Beyond what the SARIF multitool checks, GitHub's ingestion documents limits that reject
//! or truncate an upload ("SARIF support for code scanning"); they are enforced here so a
//! large scan still uploads, with a notification saying what was left out:
//! * at most 25,000 results per run: the least severe (suppressed ones first) are dropped;
//! * at most 10 MB per gzip-compressed file: results are halved until the file fits;
//! * at most 1,000 locations per result, 20 tags per rule (10 shown), a rule name of 255
//!   characters, short and full descriptions of 1,024;
//! * `runAutomationDetails.id` is `category/run-id`: a category without a `/` gets one,
//!   as `upload-sarif` does for its `category` input (which never overrides ours);
//! * URIs: relative to the scan's base (`%SRCROOT%`) with symlinks resolved, because code
//!   scanning cannot place results reported under a symlink; files outside the base get an
//!   absolute `file://` URI rather than a relative one that would point at the wrong file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, Run, RunAutomationDetails, Sarif, Suppression,
    Tool, ToolComponent,
};

use crate::evaluate::policy::Policy;
use crate::finding::{Finding, Severity, SuppressionKind};
use crate::report::{INFORMATION_URI, Report, TOOL_NAME, help_uri};
use crate::source::{SourceStore, Span};

const SRCROOT: &str = "%SRCROOT%";
/// GitHub reads at most this many characters of a rule's short and full descriptions.
const DESCRIPTION_LIMIT: usize = 1024;
/// GitHub's limit on a rule's name.
const NAME_LIMIT: usize = 255;
/// GitHub rejects a run with more results than this.
pub const MAX_RESULTS_PER_RUN: usize = 25_000;
/// GitHub rejects a SARIF file larger than this once gzip-compressed (10 MB).
pub const MAX_GZIP_BYTES: usize = 10_000_000;
/// GitHub rejects a result with more locations than this (primary and related together).
const MAX_LOCATIONS_PER_RESULT: usize = 1_000;
/// GitHub shows at most this many tags of a rule (and rejects more than 20).
pub const MAX_TAGS: usize = 10;
/// The category used when none is given.
pub const DEFAULT_CATEGORY: &str = "tritonguard/";

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
    percent_encode(path).trim_start_matches('/').to_string()
}

/// Percent-encodes everything but unreserved characters and `/`.
fn percent_encode(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
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
    let mut tags: Vec<String> = Vec::new();
    for tag in ["security", "triton", spec.subject.as_str()]
        .into_iter()
        .chain(spec.tags.iter().map(String::as_str))
    {
        if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags.truncate(MAX_TAGS);
    let markdown = crate::report::rule_docs::markdown(policy);
    ReportingDescriptor {
        id: spec.id.clone(),
        name: Some(truncate(&spec.name, NAME_LIMIT)),
        short_description: Some(plain(truncate(&spec.summary, DESCRIPTION_LIMIT))),
        full_description: Some(plain(truncate(
            &crate::evaluate::cel::first_paragraph(&spec.description)
                .unwrap_or_else(|| spec.summary.clone()),
            DESCRIPTION_LIMIT,
        ))),
        help: Some(
            MultiformatMessageString::builder()
                .text(
                    format!(
                        "{}\n\n{}\n\n{}",
                        spec.description.trim(),
                        spec.remediation.trim(),
                        spec.fix.markdown()
                    )
                    .trim_end()
                    .to_string(),
                )
                .markdown(markdown)
                .build(),
        ),
        help_uri: help_uri(policy),
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

/// Where each scanned file is, as a SARIF artifact location (indexed by `FileId`).
struct Artifacts(Vec<ArtifactLocation>);

impl Artifacts {
    fn new(report: &Report<'_>) -> Artifacts {
        let base = report.base_dir.as_deref();
        Artifacts(
            report
                .store
                .files()
                .map(|(id, file)| match &file.remote {
                    // A probed server: its URL is absolute, not under %SRCROOT%.
                    Some(remote) => ArtifactLocation {
                        uri: Some(remote.url.clone()),
                        ..ArtifactLocation::default()
                    },
                    None => artifact_location(
                        &file.display,
                        report
                            .real_paths
                            .get(id.0 as usize)
                            .and_then(|p| p.as_deref()),
                        base,
                    ),
                })
                .collect(),
        )
    }

    fn get(&self, span: Span) -> ArtifactLocation {
        usize::try_from(span.file.0)
            .ok()
            .and_then(|i| self.0.get(i))
            .cloned()
            .unwrap_or_else(|| relative_location("unknown"))
    }
}

fn relative_location(path: &str) -> ArtifactLocation {
    ArtifactLocation {
        uri: Some(uri_path(path)),
        uri_base_id: Some(SRCROOT.to_string()),
        ..ArtifactLocation::default()
    }
}

/// A file's location: relative to `base` (canonical) after resolving symlinks; an absolute
/// `file://` URI when it lies outside; the display name for standard input.
/// `real` is the file's canonical path, when it is a file on disk.
fn artifact_location(display: &str, real: Option<&Path>, base: Option<&Path>) -> ArtifactLocation {
    let Some(real) = real else {
        return relative_location(display);
    };
    match base.and_then(|b| real.strip_prefix(b).ok()) {
        Some(relative) => relative_location(&relative.to_string_lossy().replace('\\', "/")),
        None => ArtifactLocation {
            uri: Some(file_uri(real)),
            ..ArtifactLocation::default()
        },
    }
}

/// `file:///abs/path` with each segment percent-encoded.
pub fn file_uri(absolute: &Path) -> String {
    let mut uri = String::from("file://");
    for part in absolute.to_string_lossy().split(['/', '\\']) {
        if part.is_empty() {
            continue;
        }
        uri.push('/');
        uri.push_str(&percent_encode(part));
    }
    uri
}

fn physical(artifacts: &Artifacts, store: &SourceStore, span: Span) -> PhysicalLocation {
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
        artifact_location: Some(artifacts.get(span)),
        region: Some(region),
        ..PhysicalLocation::default()
    }
}

/// The endpoint of a probed server, as a logical location of kind `resource`.
fn logical(store: &SourceStore, span: Span) -> Option<Vec<LogicalLocation>> {
    let remote = store.get(span.file)?.remote.as_ref()?;
    Some(vec![LogicalLocation {
        name: Some(remote.endpoint.clone()),
        fully_qualified_name: Some(format!("{} {}", remote.url, remote.endpoint)),
        kind: Some("resource".to_string()),
        ..LogicalLocation::default()
    }])
}

fn result(
    report: &Report<'_>,
    artifacts: &Artifacts,
    finding: &Finding,
    rule: Option<(usize, &Policy)>,
) -> SarifResult {
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        finding.fingerprint.clone(),
    );
    // GitHub requires a non-empty message text.
    let mut message = if finding.message.trim().is_empty() {
        rule.map(|(_, p)| p.spec.summary.clone())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("{} {}", finding.rule_id, finding.rule_name))
    } else {
        finding.message.clone()
    };
    for note in &finding.notes {
        message.push_str(&format!(" ({note})"));
    }
    let related: Vec<Location> = finding
        .related
        .iter()
        .take(MAX_LOCATIONS_PER_RESULT - 1)
        .enumerate()
        .map(|(i, r)| Location {
            id: Some(i as i64),
            physical_location: Some(physical(artifacts, report.store, r.span)),
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
            physical_location: Some(physical(artifacts, report.store, span)),
            ..Location::default()
        });
        vec![suppression]
    });
    SarifResult {
        rule_id: Some(finding.rule_id.clone()),
        rule_index: rule.map(|(i, _)| i as i64),
        level: Some(level_enum(finding.severity)),
        locations: Some(vec![Location {
            physical_location: Some(physical(artifacts, report.store, finding.primary.span)),
            logical_locations: logical(report.store, finding.primary.span),
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

/// Indices of the findings to report when at most `limit` fit: the most severe, unsuppressed
/// before suppressed, in report order.
pub fn keep_most_severe(findings: &[Finding], limit: usize) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..findings.len()).collect();
    if ranked.len() > limit {
        // Stable: among equals, earlier findings stay.
        ranked.sort_by_key(|&i| {
            let f = &findings[i];
            (f.suppression.is_some(), std::cmp::Reverse(f.severity))
        });
        ranked.truncate(limit);
        ranked.sort_unstable();
    }
    ranked
}

/// The run's `automationDetails.id`: `category/` (GitHub reads everything before the last
/// `/` as the category, so a bare name would otherwise be a run id with no category).
pub fn automation_id(category: &str) -> String {
    let category = category.trim();
    if category.is_empty() {
        DEFAULT_CATEGORY.to_string()
    } else if category.contains('/') {
        category.to_string()
    } else {
        format!("{category}/")
    }
}

/// The whole SARIF log, within GitHub's result limit.
pub fn build(report: &Report<'_>) -> Sarif {
    build_limited(report, MAX_RESULTS_PER_RUN)
}

/// The SARIF log with at most `max_results` results (the most severe), and a notification
/// when some were left out.
pub fn build_limited(report: &Report<'_>, max_results: usize) -> Sarif {
    let rules: Vec<&Policy> = report.catalogue.sorted();
    let artifacts = Artifacts::new(report);
    let kept = keep_most_severe(report.findings, max_results);
    // Secrets are masked in every text of the report.
    let redactor = super::redact::Redactor::new(report.store, report.findings);
    let results = kept
        .iter()
        .filter_map(|&i| report.findings.get(i))
        .map(|f| redactor.finding(f))
        .map(|f| {
            let rule = rules
                .iter()
                .position(|p| p.spec.id == f.rule_id)
                .and_then(|i| Some((i, *rules.get(i)?)));
            result(report, &artifacts, &f, rule)
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
    let omitted = report.findings.len() - kept.len();
    if omitted > 0 {
        let mut n = Notification::builder()
            .message(text(format!(
                "{omitted} of {} findings are not in this SARIF file: GitHub code scanning \
                 rejects runs with more than {MAX_RESULTS_PER_RUN} results or files over \
                 10 MB gzipped, so only the {} most severe are included. Narrow the scan \
                 (--select, --ignore, fewer paths); the human and JSON reports list every finding.",
                report.findings.len(),
                kept.len()
            )))
            .build();
        n.level = Some(json!("warning"));
        notifications.insert(0, n);
    }
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
            id: Some(automation_id(&report.sarif_category)),
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
    render_within(report, MAX_RESULTS_PER_RUN, MAX_GZIP_BYTES)
}

/// Renders with at most `max_results` results, halving them until the gzip-compressed file
/// is at most `max_gzip_bytes`.
pub fn render_within(report: &Report<'_>, max_results: usize, max_gzip_bytes: usize) -> String {
    let mut limit = max_results;
    loop {
        let mut text = serde_json::to_string_pretty(&build_limited(report, limit))
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize SARIF: {e}\"}}"));
        text.push('\n');
        let included = limit.min(report.findings.len());
        if included == 0 || gzip_fits(text.as_bytes(), max_gzip_bytes) {
            return text;
        }
        limit = included / 2;
    }
}

/// Whether `bytes` gzip-compress to at most `max` bytes. Compresses only when the raw size
/// could exceed it: DEFLATE adds at most 5 bytes per 16 KiB stored block, gzip 18 more.
pub fn gzip_fits(bytes: &[u8], max: usize) -> bool {
    let worst_case = bytes.len() + bytes.len() / 16_384 * 5 + 5 + 18;
    worst_case <= max || gzip_size(bytes) <= max
}

/// Size of `bytes` as a gzip file (DEFLATE level 6, as `gzip` uses, plus the gzip header
/// and trailer).
pub fn gzip_size(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, 6).len() + 18
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::policy::Catalogue;
    use crate::finding::{Suppression, SuppressionKind};
    use crate::pipeline::{Outcome as ScanResult, scan_texts};

    const INSECURE: &str = include_str!("../../examples/kubernetes/insecure/triton.yaml");

    fn scanned() -> (Catalogue, ScanResult) {
        let catalogue = Catalogue::load(&[], true).unwrap();
        let result = scan_texts(
            &catalogue,
            &[("deploy/triton.yaml".to_string(), INSECURE.to_string())],
            &|_| true,
        );
        (catalogue, result)
    }

    fn report<'a>(catalogue: &'a Catalogue, result: &'a ScanResult) -> Report<'a> {
        Report {
            store: &result.store,
            catalogue,
            findings: &result.findings,
            eval_errors: &result.eval_errors,
            notes: &result.notes,
            stats: &result.stats,
            scanned: "deploy".to_string(),
            fail_on: Some(Severity::Low),
            sarif_category: "deploy".to_string(),
            base_uri: None,
            base_dir: None,
            real_paths: Vec::new(),
            exposure: None,
            link_base: None,
        }
    }

    fn parsed(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn results_over_the_limit_keep_the_most_severe_and_say_so() {
        let (catalogue, result) = scanned();
        let all = result.findings.len();
        assert!(all > 5, "the insecure example has many findings");
        let report = report(&catalogue, &result);
        let sarif = serde_json::to_value(build_limited(&report, 3)).unwrap();
        let run = &sarif["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let mut severities: Vec<Severity> = result.findings.iter().map(|f| f.severity).collect();
        severities.sort_by(|a, b| b.cmp(a));
        let kept: Vec<Severity> = results
            .iter()
            .map(|r| {
                let id = r["ruleId"].as_str().unwrap();
                catalogue.get(id).unwrap().spec.severity
            })
            .collect();
        let mut kept_sorted = kept.clone();
        kept_sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(kept_sorted, severities[..3]);
        let note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap();
        assert!(
            note.starts_with(&format!(
                "{} of {all} findings are not in this SARIF file",
                all - 3
            )),
            "{note}"
        );
        // Under the limit: everything, and no such notification.
        let full = serde_json::to_value(build(&report)).unwrap();
        assert_eq!(full["runs"][0]["results"].as_array().unwrap().len(), all);
        assert!(!full.to_string().contains("not in this SARIF file"));
    }

    #[test]
    fn suppressed_findings_are_dropped_first() {
        let (_, mut result) = scanned();
        let findings = &mut result.findings;
        let top = findings
            .iter()
            .position(|f| f.severity == findings.iter().map(|f| f.severity).max().unwrap())
            .unwrap();
        findings[top].suppression = Some(Suppression {
            kind: SuppressionKind::InSource,
            justification: "accepted".to_string(),
            span: None,
        });
        let kept = keep_most_severe(findings, findings.len() - 1);
        assert!(!kept.contains(&top));
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "report order is kept");
        assert_eq!(keep_most_severe(findings, 100).len(), findings.len());
    }

    #[test]
    fn a_file_over_the_gzip_limit_loses_results_until_it_fits() {
        let (catalogue, result) = scanned();
        let report = report(&catalogue, &result);
        let empty = gzip_size(render_within(&report, 0, usize::MAX).as_bytes());
        let one = gzip_size(render_within(&report, 1, usize::MAX).as_bytes());
        let limit = one + 40;
        let text = render_within(&report, MAX_RESULTS_PER_RUN, limit);
        assert!(gzip_size(text.as_bytes()) <= limit);
        let results = parsed(&text)["runs"][0]["results"]
            .as_array()
            .unwrap()
            .len();
        assert!(
            (1..result.findings.len()).contains(&results),
            "{results} results"
        );
        assert!(text.contains("not in this SARIF file"));
        // A limit below the bare catalogue still gives a well-formed (if too large) file.
        let tiny = render_within(&report, MAX_RESULTS_PER_RUN, empty / 2);
        assert_eq!(parsed(&tiny)["runs"][0]["results"], serde_json::json!([]));
    }

    #[test]
    fn gzip_size_matches_real_compression() {
        let text = "a".repeat(100_000);
        assert!(gzip_size(text.as_bytes()) < 1_000);
        assert!(gzip_fits(text.as_bytes(), 1_000));
        assert!(!gzip_fits(text.as_bytes(), 50));
        // Small inputs are not compressed at all: they cannot exceed the limit.
        assert!(gzip_fits(b"{}", 100));
    }

    #[test]
    fn categories_end_in_a_slash() {
        assert_eq!(automation_id("deploy"), "deploy/");
        assert_eq!(automation_id("tritonguard/"), "tritonguard/");
        assert_eq!(automation_id("deploy/2026-01-02"), "deploy/2026-01-02");
        assert_eq!(automation_id("  "), DEFAULT_CATEGORY);
    }

    #[test]
    fn uris_resolve_symlinks_and_stay_inside_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(base.join("real dir")).unwrap();
        std::fs::write(base.join("real dir/t.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(base.join("real dir/t.yaml"), base.join("link.yaml")).unwrap();
        let link = artifact_location(
            "link.yaml",
            std::fs::canonicalize(base.join("link.yaml"))
                .ok()
                .as_deref(),
            Some(&base),
        );
        assert_eq!(link.uri.as_deref(), Some("real%20dir/t.yaml"));
        assert_eq!(link.uri_base_id.as_deref(), Some(SRCROOT));
        let outside = tempfile::tempdir().unwrap();
        let other = std::fs::canonicalize(outside.path())
            .unwrap()
            .join("o.yaml");
        std::fs::write(&other, "a: 1").unwrap();
        let loc = artifact_location("../o.yaml", Some(&other), Some(&base));
        assert_eq!(loc.uri, Some(file_uri(&other)));
        assert!(loc.uri_base_id.is_none());
        assert!(file_uri(&other).starts_with("file:///"));
        let stdin = artifact_location("<stdin>", None, Some(&base));
        assert_eq!(stdin.uri.as_deref(), Some("stdin"));
    }

    #[test]
    fn rules_fit_what_github_shows() {
        let catalogue = Catalogue::load(&[], true).unwrap();
        for policy in catalogue.sorted() {
            let rule = serde_json::to_value(rule_descriptor(policy)).unwrap();
            let id = &policy.spec.id;
            let tags: Vec<&str> = rule["properties"]["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert!(tags.contains(&"security"), "{id}: {tags:?}");
            assert!(tags.len() <= MAX_TAGS, "{id}: {tags:?}");
            let mut unique = tags.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), tags.len(), "{id}: duplicate tags {tags:?}");
            for field in ["shortDescription", "fullDescription"] {
                let text = rule[field]["text"].as_str().unwrap();
                assert!(
                    !text.trim().is_empty() && text.chars().count() <= 1024,
                    "{id} {field}"
                );
            }
            assert!(rule["name"].as_str().unwrap().chars().count() <= 255);
            assert!(!rule["help"]["text"].as_str().unwrap().trim().is_empty());
            assert!(rule["help"]["markdown"].as_str().unwrap().starts_with("# "));
            let band = match policy.spec.severity {
                Severity::Critical => 9.0..=10.0,
                Severity::High => 7.0..=8.9,
                Severity::Medium => 4.0..=6.9,
                Severity::Low => 0.1..=3.9,
                Severity::Info => {
                    assert!(rule["properties"].get("security-severity").is_none());
                    continue;
                }
            };
            let value = rule["properties"]["security-severity"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: security-severity must be a string"));
            let score: f64 = value.parse().unwrap();
            assert!(
                band.contains(&score),
                "{id}: {score} for {}",
                policy.spec.severity
            );
        }
    }
}
