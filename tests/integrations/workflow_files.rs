//! The GitHub files shipped for users: `action.yml` (a composite action) and
//! `examples/github/tritonguard.yml` (a workflow). Checked against SchemaStore's GitHub
//! action and workflow schemas (vendored by check-jsonschema), read for what they must
//! do, and the action's check step is run for real with bash against the built binary.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::common::{repo_root, tritonguard};
use super::support::tools::{JSONSCHEMA_PYTHON, require_tool};
use tritonguard::parse::yaml::parse_stream;
use tritonguard::source::FileId;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
    let stream = parse_stream(FileId(0), &text);
    assert!(stream.errors.is_empty(), "{path}: {:?}", stream.errors);
    stream.documents[0].root.to_json()
}

fn schema_check(python: &Path, schema: &str, file: &str) {
    let out = Command::new(python)
        .args(["-m", "check_jsonschema", "--builtin-schema", schema])
        .arg(repo_root().join(file))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file} against {schema}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn action_and_workflow_match_githubs_schemas() {
    let Some(python) = require_tool(JSONSCHEMA_PYTHON) else {
        return;
    };
    schema_check(&python, "vendor.github-actions", "action.yml");
    schema_check(
        &python,
        "vendor.github-workflows",
        "examples/github/tritonguard.yml",
    );
}

#[test]
fn the_workflow_uploads_the_sarif_even_when_the_check_fails() {
    let workflow = yaml("examples/github/tritonguard.yml");
    let job = &workflow["jobs"]["tritonguard"];
    assert_eq!(job["permissions"]["security-events"], "write");
    let steps = job["steps"].as_array().unwrap();
    let run_lines: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        run_lines
            .iter()
            .any(|r| r.starts_with("cargo install --locked --git ")),
        "{run_lines:?}"
    );
    assert!(
        run_lines.iter().any(|r| r
            .starts_with("tritonguard check . --format sarif --output tritonguard.sarif")),
        "{run_lines:?}"
    );
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert!(
        upload["if"]
            .as_str()
            .is_some_and(|c| c.contains("always()")),
        "{upload}"
    );
    assert_eq!(upload["with"]["sarif_file"], "tritonguard.sarif");
}

#[test]
fn github_files_are_plain_yaml_to_tritonguard() {
    let run = tritonguard(&["check", "examples/github", "action.yml", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["files"], 2);
    assert_eq!(report["summary"]["kubernetes_objects"], 0);
    assert_eq!(report["summary"]["launches"], 0);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["errors"], serde_json::json!([]));
}

/// Runs the action's `check` step script the way the runner does (bash, the step's env).
fn run_check_step(paths: &str, fail_on: &str) -> (i32, String, Option<Value>) {
    let (code, outputs, report, _) = run_check_step_with_summary(paths, fail_on, None);
    (code, outputs, report)
}

/// The same, with `step-summary` set (`None`: the runner gives no `GITHUB_STEP_SUMMARY`).
/// Returns what the step appended to the summary file too.
fn run_check_step_with_summary(
    paths: &str,
    fail_on: &str,
    step_summary: Option<&str>,
) -> (i32, String, Option<Value>, String) {
    let action = yaml("action.yml");
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "check")
        .expect("a step with id check")
        .clone();
    assert_eq!(step["shell"], "bash");
    let script = step["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tritonguard"), bin.join("tritonguard")).unwrap();
    let output = dir.path().join("github_output");
    let sarif = dir.path().join("out.sarif");
    let summary = dir.path().join("step_summary");
    let mut command = Command::new("bash");
    // A test run inside a workflow must not write to that workflow's own summary.
    command.env_remove("GITHUB_STEP_SUMMARY");
    if let Some(input) = step_summary {
        std::fs::write(&summary, "previous step's summary\n").unwrap();
        command
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("TG_STEP_SUMMARY", input)
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "team/models")
            .env("GITHUB_SHA", "0123abc");
    } else {
        command.env("TG_STEP_SUMMARY", "true");
    }
    let out = command
        .args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(repo_root())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GITHUB_OUTPUT", &output)
        .env("TG_PATHS", paths)
        .env("TG_FAIL_ON", fail_on)
        .env("TG_CATEGORY", "deploy")
        .env("TG_SARIF", &sarif)
        .output()
        .unwrap();
    let outputs = std::fs::read_to_string(&output).unwrap_or_default();
    let report = std::fs::read_to_string(&sarif)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    let _ = String::from_utf8_lossy(&out.stderr);
    let appended = std::fs::read_to_string(&summary).unwrap_or_default();
    (out.status.code().unwrap_or(-1), outputs, report, appended)
}

#[test]
fn the_action_appends_a_markdown_summary_to_the_step_summary() {
    let (code, outputs, report, summary) =
        run_check_step_with_summary("examples/kubernetes/insecure", "high", Some("true"));
    assert_eq!((code, outputs.trim()), (0, "exit-code=1"));
    assert!(report.is_some());
    // Appended after what was there, with links to the checked commit's lines.
    assert!(
        summary.starts_with("previous step's summary\n## tritonguard\n"),
        "{summary}"
    );
    assert!(
        summary.contains("](https://github.example/team/models/blob/0123abc/examples/kubernetes/insecure/triton.yaml#L"),
        "{summary}"
    );
    assert!(summary.contains("```mermaid\nflowchart LR\n"), "{summary}");

    // "false" leaves the summary alone.
    let (code, _, _, summary) =
        run_check_step_with_summary("examples/kubernetes/insecure", "high", Some("false"));
    assert_eq!(code, 0);
    assert_eq!(summary, "previous step's summary\n");
}

#[test]
fn the_action_check_step_reports_then_leaves_failing_to_the_last_step() {
    // Findings at or above fail-on: the step succeeds (so the upload runs) and says 1.
    let (code, outputs, report) = run_check_step("examples/kubernetes/insecure", "high");
    assert_eq!(code, 0);
    assert_eq!(outputs.trim(), "exit-code=1");
    let report = report.expect("a SARIF report");
    assert_eq!(report["runs"][0]["automationDetails"]["id"], "deploy/");
    assert!(!report["runs"][0]["results"].as_array().unwrap().is_empty());

    // Several paths, nothing found.
    let (code, outputs, _) = run_check_step("examples/kubernetes/hardened examples/github", "low");
    assert_eq!((code, outputs.trim()), (0, "exit-code=0"));

    // "never" only reports.
    let (code, outputs, report) = run_check_step("examples/kubernetes/insecure", "never");
    assert_eq!((code, outputs.trim()), (0, "exit-code=0"));
    assert!(report.is_some());

    // A usage error fails the step itself: there is nothing to upload.
    let (code, outputs, report) = run_check_step("examples/kubernetes/insecure", "severe");
    assert_eq!((code, outputs.trim()), (2, "exit-code=2"));
    assert!(report.is_none());
}
