//! Real Helm output through `tritonguard check -`: the fixture chart rendered offline with
//! the Helm SDK (as `helm template` would), piped in. Findings stay positioned in the stream
//! and name the chart template each document came from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::helm::{Render, fixture_chart};
use support::tools::{HELM_PYTHON, require_tool};

fn render(values: &str) -> Option<String> {
    let python = require_tool(HELM_PYTHON)?;
    let chart = fixture_chart("triton");
    let render = Render::new(&chart)
        .release("tg", "inference")
        .values(chart.join(values));
    Some(render.run_with(&python).expect("the chart renders"))
}

fn check_stdin(stream: &str, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(["check", "-"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_insecure_chart_render_fails_with_findings_that_name_their_templates() {
    let Some(stream) = render("values-insecure.yaml") else {
        return;
    };
    let (code, stdout) = check_stdin(&stream, &["--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let rules: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    for rule in [
        "TG101", "TG102", "TG104", "TG201", "TG209", "TG301", "TG302", "TG401",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
    for f in findings {
        let line = f["location"]["line"].as_u64().unwrap() as usize;
        let notes = f["notes"].as_array().unwrap();
        let template = notes
            .iter()
            .filter_map(|n| n.as_str())
            .find_map(|n| n.strip_prefix("Helm template "))
            .unwrap_or_else(|| panic!("{f}"));
        // The named template is the one whose rendered document holds the finding's line.
        let source_line = stream
            .lines()
            .take(line)
            .filter_map(|l| l.strip_prefix("# Source: "))
            .last()
            .unwrap();
        assert_eq!(template, source_line, "{}", f["rule_id"]);
    }
}

#[test]
fn the_hardened_chart_render_is_clean() {
    let Some(stream) = render("values-hardened.yaml") else {
        return;
    };
    let (code, stdout) = check_stdin(&stream, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 Triton launch, 0 findings"), "{stdout}");
}

#[test]
fn sarif_of_helm_output_names_the_template_in_the_message() {
    let Some(stream) = render("values-insecure.yaml") else {
        return;
    };
    let (_, stdout) = check_stdin(&stream, &["--format", "sarif", "--select", "TG101"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let message = sarif["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        message.ends_with("(Helm template triton/templates/deployment.yaml)"),
        "{message}"
    );
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert_eq!(uri, "stdin", "the location stays in the scanned stream");
}
