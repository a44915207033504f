//! Policy evaluation errors as findings of the native rule `policy-evaluation-error`: a CEL
//! expression that fails on a subject (no such key, a type mismatch, a division by zero) is a
//! finding at the failing expression in the policy file, never a silent pass. One finding per
//! policy and error message, counting the subjects it failed on and naming the first.

use std::collections::{BTreeMap, HashMap};

use crate::evaluate::cel::EvalError;
use crate::evaluate::native;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::registry::Rule;
use crate::finding::{Finding, Location};
use crate::source::{FileId, SourceFile, SourceStore, Span};

/// The findings for `errors`, and the errors that could not be reported as findings (the
/// rule is not loaded or not enabled, or the policy is unknown): those stay warnings.
pub fn findings(
    catalogue: &Catalogue,
    store: &mut SourceStore,
    errors: Vec<EvalError>,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> (Vec<Finding>, Vec<EvalError>) {
    if errors.is_empty() || !native::runs(catalogue, Rule::PolicyEvaluationError, enabled) {
        return (Vec::new(), errors);
    }
    // (policy, message) → the subjects it failed on, in a deterministic order.
    let mut groups: BTreeMap<(String, String), Vec<EvalError>> = BTreeMap::new();
    let mut left = Vec::new();
    for error in errors {
        if catalogue.get(&error.rule_id).is_some() {
            groups
                .entry((error.rule_id.clone(), error.message.clone()))
                .or_default()
                .push(error);
        } else {
            left.push(error);
        }
    }
    let mut policy_files: HashMap<FileId, FileId> = HashMap::new();
    let mut out = Vec::new();
    for ((rule_id, message), mut subjects) in groups {
        let Some(policy) = catalogue.get(&rule_id) else {
            continue;
        };
        subjects.sort_by_key(|e| {
            let line = e.anchor.map(|a| store.position(a.file, a.start).line);
            (store.display(e.file).to_string(), line, e.subject.clone())
        });
        let Some(first) = subjects.first() else {
            continue;
        };
        let place = match first.anchor {
            Some(a) => format!(
                "{}:{}",
                store.display(a.file),
                store.position(a.file, a.start).line
            ),
            None => store.display(first.file).to_string(),
        };
        let count = subjects.len();
        let text = format!(
            "policy {rule_id} could not be evaluated on {count} subject{}{} ({}, {place}): {message}",
            if count == 1 { "" } else { "s" },
            if count == 1 { "" } else { ", first" },
            first.subject,
        );
        let span = failing_expression(policy, &message);
        let span = span.map(|s| {
            let file = *policy_files
                .entry(s.file)
                .or_insert_with(|| add_policy_file(catalogue, policy, s.file, store));
            Span::new(file, s.start, s.end)
        });
        let Some(span) = span else {
            left.extend(subjects);
            continue;
        };
        let identity = format!("{rule_id}:{message}");
        if let Some(mut finding) = native::finding(
            catalogue,
            Rule::PolicyEvaluationError,
            span,
            text,
            &identity,
            store,
        ) {
            finding.primary.label = "this expression failed".to_string();
            if let Some(anchor) = first.anchor {
                finding.related.push(Location {
                    span: anchor,
                    label: format!("{} failed on {}", rule_id, first.subject),
                });
            }
            out.push(finding);
        }
    }
    (out, left)
}

/// The expression the error came from: `match: ...`, `each: ...` and `variables.NAME: ...`
/// errors name theirs; every other error is the `assert`'s.
fn failing_expression(policy: &Policy, message: &str) -> Option<Span> {
    let spec = &policy.spec;
    let assert = spec.assert.as_ref().map(|e| e.span);
    let variable = message
        .strip_prefix("variables.")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(name, _)| spec.variables.iter().find(|v| v.name == name));
    if let Some(variable) = variable {
        Some(variable.expr.span)
    } else if message.starts_with("match:") {
        spec.match_expr.as_ref().map(|e| e.span).or(assert)
    } else if message.starts_with("each:") {
        spec.each.as_ref().map(|p| p.span).or(assert)
    } else {
        assert
    }
}

/// Copies the policy file into the scan's source store, so the diagnostic can show it: a
/// built-in policy under its path in the repository (`policies/TG101-....yaml`), a team
/// policy under the path it was loaded from.
fn add_policy_file(
    catalogue: &Catalogue,
    policy: &Policy,
    file: FileId,
    store: &mut SourceStore,
) -> FileId {
    let display = match policy.origin.strip_prefix("builtin:") {
        Some(name) => format!("policies/{name}"),
        None => policy.origin.clone(),
    };
    let (path, text) = match catalogue.sources.get(file) {
        Some(source) => (source.path.clone(), source.text.clone()),
        None => (None, std::sync::Arc::from("")),
    };
    store.add(SourceFile::new(display, path, text))
}
