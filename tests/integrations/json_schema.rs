//! `--format json` against `schema/report.schema.json` (JSON Schema 2020-12, every object
//! closed), with Python's `jsonschema`: every example, a scan with parse errors and notes,
//! and mutated reports that must fail, so the validation is known to bite.

use std::path::Path;

use serde_json::{Value, json};

use super::common::{examples, repo_root, tritonguard, tritonguard_in};
use super::support::jsonschema::validate_json_file;
use super::support::tools::{JSONSCHEMA_PYTHON, require_tool};

fn schema() -> std::path::PathBuf {
    repo_root().join("schema/report.schema.json")
}

/// Validates one JSON value (written to `dir/name.json`).
fn validate(python: &Path, dir: &Path, name: &str, value: &Value) -> Result<(), String> {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    validate_json_file(python, &schema(), &path)
}

fn report(args: &[&str]) -> Value {
    let run = tritonguard(args);
    assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

#[test]
fn every_example_report_matches_the_schema() {
    let Some(python) = require_tool(JSONSCHEMA_PYTHON) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut reports: Vec<(String, Value)> = examples()
        .into_iter()
        .map(|e| {
            let r = report(&["check", &e, "--format", "json"]);
            (e, r)
        })
        .collect();
    reports.push((
        "context".to_string(),
        report(&[
            "check",
            "tests/fixtures/context/deployment.yaml",
            "--context",
            "tests/fixtures/context",
            "--format",
            "json",
        ]),
    ));
    // Parse errors (TG000 findings without a label) and a discovery note (an `errors` entry).
    let odd = tempfile::tempdir().unwrap();
    std::fs::write(odd.path().join("broken.yaml"), "kind: [unclosed\n").unwrap();
    std::fs::write(dir.path().join("outside.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("outside.yaml"),
        odd.path().join("link.yaml"),
    )
    .unwrap();
    let run = tritonguard_in(odd.path(), &["check", ".", "--format", "json"], None);
    let odd_report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        odd_report["findings"][0]["rule_id"], "TG000",
        "{}",
        run.stdout
    );
    assert_eq!(odd_report["errors"][0]["kind"], "note", "{}", run.stdout);
    reports.push(("parse errors and notes".to_string(), odd_report));

    let mut failures = Vec::new();
    for (i, (name, value)) in reports.iter().enumerate() {
        if let Err(e) = validate(&python, dir.path(), &format!("report{i}"), value) {
            failures.push(format!("{name}:\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn reports_that_drift_from_the_schema_fail() {
    let Some(python) = require_tool(JSONSCHEMA_PYTHON) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = report(&["check", "examples/kubernetes/insecure", "--format", "json"]);
    assert_eq!(validate(&python, dir.path(), "base", &base), Ok(()));

    // A suppressed finding, as json.rs writes it, is valid.
    let mut suppressed = base.clone();
    suppressed["findings"][0]["suppression"] =
        json!({"kind": "inSource", "justification": "accepted risk"});
    assert_eq!(
        validate(&python, dir.path(), "suppressed", &suppressed),
        Ok(())
    );

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "unknown severity",
            Box::new(|v| v["findings"][0]["severity"] = json!("severe")),
            "$.findings[0].severity: 'severe' is not one of",
        ),
        (
            "a field the schema does not describe",
            Box::new(|v| v["summary"]["files_skipped"] = json!(3)),
            "$.summary: Additional properties are not allowed ('files_skipped' was unexpected)",
        ),
        (
            "line 0",
            Box::new(|v| v["findings"][0]["location"]["line"] = json!(0)),
            "$.findings[0].location.line: 0 is less than the minimum of 1",
        ),
        (
            "no fingerprint",
            Box::new(|v| {
                v["findings"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("fingerprint");
            }),
            "$.findings[0]: 'fingerprint' is a required property",
        ),
        (
            "another schema version",
            Box::new(|v| v["schema_version"] = json!(2)),
            "$.schema_version: 1 was expected",
        ),
        (
            "unknown suppression kind",
            Box::new(|v| {
                v["findings"][0]["suppression"] = json!({"kind": "inline", "justification": ""})
            }),
            "$.findings[0].suppression.kind: 'inline' is not one of",
        ),
    ];
    for (i, (what, mutate, expected)) in cases.iter().enumerate() {
        let mut value = base.clone();
        mutate(&mut value);
        let err = validate(&python, dir.path(), &format!("bad{i}"), &value)
            .expect_err(&format!("{what}: must not validate"));
        assert!(err.contains(expected), "{what}: {err}");
    }
}
