//! The SARIF validation helper really detects errors: a hand-made valid log passes both
//! passes, a log with spec errors fails the default pass, and a log that only GitHub's
//! ingestion rules reject fails the `--rule-kind Gh` pass. Also checks the JSON Schema
//! helper against the SARIF 2.1.0 schema shipped with the multitool.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic with the value is the failure report"
)]

mod support;

use std::path::PathBuf;

use support::jsonschema::validate_json_file;
use support::sarif::{RuleSet, SarifIssue, sarif_issues, sarif_schema_path, validate_sarif_with};
use support::tools::{JSONSCHEMA_PYTHON, SARIF_MULTITOOL, require_tool, require_tools};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sarif")
        .join(name)
}

fn errors(issues: &[SarifIssue], set: RuleSet) -> Vec<(String, Option<u64>)> {
    let mut out: Vec<_> = issues
        .iter()
        .filter(|i| i.rule_set == set && i.level == "error")
        .map(|i| (i.rule_id.clone(), i.line))
        .collect();
    out.sort();
    out
}

#[test]
fn valid_sarif_passes_both_rule_sets() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let path = fixture("valid.sarif");
    assert_eq!(validate_sarif_with(&tool, &path), Ok(()));
    // Not even warnings: the fixture is the model for tritonguard's own output.
    assert_eq!(sarif_issues(&tool, &path).unwrap(), vec![]);
}

#[test]
fn spec_errors_are_reported_with_rule_and_line() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let path = fixture("invalid-spec.sarif");
    let issues = sarif_issues(&tool, &path).unwrap();
    assert_eq!(
        errors(&issues, RuleSet::Sarif),
        [
            ("JSON1008".to_string(), Some(32)),
            ("SARIF1004".to_string(), Some(31)),
            ("SARIF1007".to_string(), Some(32)),
        ]
    );
    let slash = issues.iter().find(|i| i.rule_id == "SARIF1004").unwrap();
    assert!(
        slash.message.contains("begins with a slash") && !slash.message.contains("{0}"),
        "message template not filled in: {}",
        slash.message
    );
    // The schema error shows up in both passes.
    assert_eq!(
        errors(&issues, RuleSet::GitHub),
        [("JSON1008".to_string(), Some(32))]
    );
    let err = validate_sarif_with(&tool, &path).unwrap_err();
    assert!(
        err.contains("SARIF1004") && err.contains("JSON1008"),
        "{err}"
    );
}

#[test]
fn github_ingestion_errors_need_the_gh_pass() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let path = fixture("invalid-github.sarif");
    let issues = sarif_issues(&tool, &path).unwrap();
    assert_eq!(errors(&issues, RuleSet::Sarif), [], "{issues:#?}");
    assert_eq!(
        errors(&issues, RuleSet::GitHub),
        [
            ("GH2012".to_string(), Some(12)),
            ("GH2012".to_string(), Some(12))
        ]
    );
    let err = validate_sarif_with(&tool, &path).unwrap_err();
    assert!(
        err.contains("fullDescription") && err.contains("'help'"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_an_error_not_a_pass() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let err = validate_sarif_with(&tool, &fixture("no-such-file.sarif")).unwrap_err();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn unparsable_json_is_an_error() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.sarif");
    std::fs::write(&path, "{\"version\": \"2.1.0\", \"runs\": [").unwrap();
    let err = validate_sarif_with(&tool, &path).unwrap_err();
    assert!(err.contains("JSON0001"), "{err}");
}

#[test]
fn json_schema_helper_checks_sarif_schema() {
    let Some([tool, python]) = require_tools([SARIF_MULTITOOL, JSONSCHEMA_PYTHON]) else {
        return;
    };
    let schema = sarif_schema_path(&tool).expect("sarif-2.1.0.json ships with the multitool");
    assert_eq!(
        validate_json_file(&python, &schema, &fixture("valid.sarif")),
        Ok(())
    );
    let err = validate_json_file(&python, &schema, &fixture("invalid-spec.sarif")).unwrap_err();
    assert_eq!(
        err,
        "$.runs[0].results[0].locations[0].physicalLocation.region.startLine: 0 is less than the minimum of 1"
    );
}
