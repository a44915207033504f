//! Findings of native rules: the rules whose logic is Rust code in the stage that owns the
//! facts (parse diagnostics, suppressions, the model repository audit, the probe). Each is
//! named by its [`Rule`]; its name, severity and help come from its policy file.

use crate::evaluate::cel::first_paragraph;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::registry::Rule;
use crate::finding::{Finding, Location, fingerprint};
use crate::source::{SourceStore, Span};

/// A finding of `rule` at `span`, or `None` when the catalogue does not hold the rule (loaded
/// without built-in policies). `identity` makes the fingerprint stable under unrelated edits.
pub fn finding(
    catalogue: &Catalogue,
    rule: Rule,
    span: Span,
    message: String,
    identity: &str,
    store: &SourceStore,
) -> Option<Finding> {
    let policy = catalogue.rule(rule)?;
    Some(finding_of(policy, span, message, identity, store))
}

/// A finding of a native policy.
pub fn finding_of(
    policy: &Policy,
    span: Span,
    message: String,
    identity: &str,
    store: &SourceStore,
) -> Finding {
    Finding {
        rule_id: policy.spec.id.clone(),
        rule_name: policy.spec.name.clone(),
        severity: policy.spec.severity,
        message,
        primary: Location {
            span,
            label: String::new(),
        },
        related: Vec::new(),
        notes: Vec::new(),
        help: first_paragraph(&policy.spec.remediation),
        fingerprint: fingerprint(&[&policy.spec.id, store.display(span.file), identity]),
        suppression: None,
        subject_extent: None,
        subject_anchor: None,
        secrets: Vec::new(),
        folded: 0,
    }
}

/// Whether `rule` is loaded and enabled.
pub fn runs(catalogue: &Catalogue, rule: Rule, enabled: &dyn Fn(&Policy) -> bool) -> bool {
    catalogue.rule(rule).is_some_and(enabled)
}
