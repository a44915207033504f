//! Stage 4, evaluate: every enabled rule of the registry runs on the subjects it applies to
//! and yields findings — CEL policies on the correlated subjects ([`cel`]), native rules on
//! the facts their stage produced ([`native`]: parse diagnostics here; suppressions in the
//! filter stage; the model repository audit and the probe in their own pipelines).

pub mod ast_codec;
pub mod budget;
pub mod cel;
pub mod cel_value;
pub mod eval_errors;
pub mod metering;
pub mod native;
pub mod policy;
pub mod registry;
pub mod selector;

use std::collections::BTreeMap;

use crate::correlate::Correlated;
use crate::extract::{DiagnosticKind, Extracted};
use crate::finding::{Finding, Location};
use crate::source::{SourceStore, Span};
use cel::EvalError;
use policy::{Catalogue, Policy};
use registry::Rule;

/// The parse errors reported for one file before the rest are summed up in one finding.
pub const MAX_PARSE_ERRORS_PER_FILE: usize = 20;

/// The evaluate stage's output.
pub struct Evaluated {
    pub findings: Vec<Finding>,
    pub errors: Vec<EvalError>,
}

/// Runs the native diagnostic rules and the CEL policies.
pub fn evaluate(
    catalogue: &Catalogue,
    store: &SourceStore,
    extracted: &[Extracted],
    correlated: &Correlated,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Evaluated {
    let mut findings = Vec::new();
    for e in extracted {
        findings.extend(diagnostic_findings(catalogue, store, e, enabled));
    }
    let evaluation = cel::evaluate(
        catalogue,
        &correlated.subjects,
        &correlated.launches,
        &correlated.groups,
        store,
        enabled,
    );
    findings.extend(evaluation.findings);
    name_helm_templates(&mut findings, extracted);
    Evaluated {
        findings,
        errors: evaluation.errors,
    }
}

/// TG000 for files that cannot be read or parsed, TG501 for invalid model configurations.
/// The message is part of the identity, so fixing one error does not change the others'
/// fingerprints; a file that is not what its name says (a binary, source code named like a
/// Dockerfile) gets at most [`MAX_PARSE_ERRORS_PER_FILE`] findings and one that counts the
/// rest.
pub fn diagnostic_findings(
    catalogue: &Catalogue,
    store: &SourceStore,
    extracted: &Extracted,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Vec<Finding> {
    let display = store.display(extracted.file);
    let mut out = Vec::new();
    let mut parse_errors: Vec<&crate::extract::Diagnostic> = Vec::new();
    for d in &extracted.diagnostics {
        match d.kind {
            DiagnosticKind::Unreadable => {
                if native::runs(catalogue, Rule::ParseError, enabled) {
                    out.extend(native::finding(
                        catalogue,
                        Rule::ParseError,
                        d.span,
                        d.message.clone(),
                        display,
                        store,
                    ));
                }
            }
            DiagnosticKind::Syntax => parse_errors.push(d),
            DiagnosticKind::ModelConfig => {
                if !native::runs(catalogue, Rule::ModelConfigInvalid, enabled) {
                    continue;
                }
                if let Some(mut f) = native::finding(
                    catalogue,
                    Rule::ModelConfigInvalid,
                    d.span,
                    d.message.clone(),
                    &format!("{display}:{}", d.message),
                    store,
                ) {
                    if let Some((span, label)) = &d.related {
                        f.related.push(Location {
                            span: *span,
                            label: label.clone(),
                        });
                    }
                    out.push(f);
                }
            }
        }
    }
    if !parse_errors.is_empty() && native::runs(catalogue, Rule::ParseError, enabled) {
        for d in parse_errors.iter().take(MAX_PARSE_ERRORS_PER_FILE) {
            out.extend(native::finding(
                catalogue,
                Rule::ParseError,
                d.span,
                d.message.clone(),
                &format!("{display}:{}", d.message),
                store,
            ));
        }
        if let Some(d) = parse_errors.get(MAX_PARSE_ERRORS_PER_FILE) {
            let more = parse_errors.len() - MAX_PARSE_ERRORS_PER_FILE;
            out.extend(native::finding(
                catalogue,
                Rule::ParseError,
                d.span,
                format!(
                    "{more} more parse error{} in this file from here on; fix the ones above \
                     first, or exclude the file if it is not a deployment file",
                    if more == 1 { "" } else { "s" }
                ),
                &format!("{display}:more-parse-errors"),
                store,
            ));
        }
    }
    out
}

/// Names the chart template of the rendered document that holds each finding's location; if
/// the finding is about a workload from another template, names that one too.
fn name_helm_templates(findings: &mut [Finding], extracted: &[Extracted]) {
    // Per file, the rendered documents in order of position.
    let mut templates: BTreeMap<u32, Vec<(Span, &str)>> = BTreeMap::new();
    for e in extracted {
        for doc in &e.helm {
            templates
                .entry(e.file.0)
                .or_default()
                .push((doc.extent, doc.template.as_str()));
        }
    }
    if templates.is_empty() {
        return;
    }
    for docs in templates.values_mut() {
        docs.sort_by_key(|(extent, _)| extent.start);
    }
    let template_of = |span: Span| -> Option<String> {
        let docs = templates.get(&span.file.0)?;
        let i = docs.partition_point(|(e, _)| e.start <= span.start);
        let (extent, template) = docs.get(i.checked_sub(1)?)?;
        (span.start < extent.end.max(extent.start + 1)).then(|| (*template).to_string())
    };
    for f in findings.iter_mut() {
        let Some(here) = template_of(f.primary.span) else {
            continue;
        };
        let about = f.subject_extent.and_then(template_of);
        f.notes.retain(|n| !n.starts_with("Helm template "));
        f.notes.insert(0, format!("Helm template {here}"));
        if let Some(about) = about.filter(|a| *a != here) {
            f.notes
                .insert(1, format!("about the workload of Helm template {about}"));
        }
    }
}
