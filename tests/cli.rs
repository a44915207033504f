//! The command line as a user runs it: outputs pinned by snapshots, exit codes asserted.

use std::path::Path;

mod support;

use support::cli::{Run, tritonguard_in};

fn tritonguard(args: &[&str], stdin: Option<&str>) -> Run {
    tritonguard_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, stdin)
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![
                (r" in \d+ ms", " in [duration]"),
                (r#""duration_ms": \d+"#, r#""duration_ms": "[duration]""#),
                (r#""uri": "file://[^"]*""#, r#""uri": "file://[base]/""#),
                (r"tritonguard \d+\.\d+\.\d+", "tritonguard [version]"),
                (r#""version": "\d+\.\d+\.\d+""#, r#""version": "[version]""#),
                (r#""semanticVersion": "\d+\.\d+\.\d+""#, r#""semanticVersion": "[version]""#),
                (r#""catalogue": "[^"]*""#, r#""catalogue": "[catalogue]""#),
            ],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn check_examples_human_report() {
    let run = tritonguard(&["check", "examples/kubernetes"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_examples_kubernetes_human", run.stdout);
}

#[test]
fn hardened_example_is_clean_and_exits_zero() {
    let run = tritonguard(&["check", "examples/kubernetes/hardened"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("1 Triton launch, 0 findings"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_examples_sarif() {
    let run = tritonguard(&["check", "examples/kubernetes", "--format", "sarif"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("SARIF is not JSON: {e}"));
    assert_eq!(sarif["version"], "2.1.0");
    snapshot!("check_examples_kubernetes_sarif", run.stdout);
}

#[test]
fn check_examples_json() {
    let run = tritonguard(&["check", "examples/kubernetes", "--format", "json"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_examples_kubernetes_json", run.stdout);
}

#[test]
fn github_annotations() {
    let run = tritonguard(
        &[
            "check",
            "examples/kubernetes/insecure",
            "--format",
            "github",
            "--select",
            "TG101,TG301",
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_github_annotations", run.stdout);
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    let high = tritonguard(
        &[
            "check",
            "examples/kubernetes/insecure",
            "--fail-on",
            "critical",
            "-q",
        ],
        None,
    );
    assert_eq!(
        high.code, 0,
        "no critical findings in the insecure example: {}",
        high.stdout
    );
    let low = tritonguard(
        &[
            "check",
            "examples/kubernetes/insecure",
            "--fail-on",
            "medium",
            "-q",
        ],
        None,
    );
    assert_eq!(low.code, 1);
}

#[test]
fn stdin_is_scanned_as_helm_output() {
    let input = "---\n# Source: triton/templates/deployment.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      args: [tritonserver, --model-repository=/m, --model-control-mode=poll]\n";
    let run = tritonguard(&["check", "-", "--select", "TG101"], Some(input));
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_stdin_helm", run.stdout);
}

#[test]
fn usage_errors_exit_two() {
    let missing = tritonguard(&["check", "does/not/exist"], None);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("does/not/exist"),
        "{}",
        missing.stderr
    );
    let unknown_rule = tritonguard(&["check", "examples", "--select", "TG999"], None);
    assert_eq!(unknown_rule.code, 2);
    assert!(
        unknown_rule.stderr.contains("unknown rule 'TG999'"),
        "{}",
        unknown_rule.stderr
    );
    let bad_flag = tritonguard(&["check", "--format", "xml"], None);
    assert_eq!(bad_flag.code, 2);
}

#[test]
fn rules_and_explain() {
    let rules = tritonguard(&["rules"], None);
    assert_eq!(rules.code, 0);
    snapshot!("rules_table", rules.stdout);
    let json = tritonguard(&["rules", "--format", "json"], None);
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        parsed
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"] == "TG101"))
    );
    let explain = tritonguard(&["explain", "TG101"], None);
    assert_eq!(explain.code, 0);
    snapshot!("explain_TG101", explain.stdout);
    let by_name = tritonguard(&["explain", "metrics-exposed"], None);
    assert!(by_name.stdout.starts_with("# TG301 metrics-exposed"));
    let unknown = tritonguard(&["explain", "model-control-enabld"], None);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("did you mean TG101 model-control-enabled"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn version_names_the_policy_catalogue() {
    let run = tritonguard(&["--version"], None);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("policy catalogue"), "{}", run.stdout);
}

#[test]
fn context_files_correlate_without_being_reported() {
    // The Deployment alone is cluster-internal; with the Service file read for context, the
    // LoadBalancer exposes its metrics port, reported on the Deployment's file... and on the
    // Service's line, which is in a context file: the finding is kept because it involves the
    // checked file.
    let alone = tritonguard(
        &[
            "check",
            "tests/fixtures/context/deployment.yaml",
            "--select",
            "TG301",
            "-q",
        ],
        None,
    );
    assert_eq!(alone.code, 0, "{}", alone.stdout);
    let with_context = tritonguard(
        &[
            "check",
            "tests/fixtures/context/deployment.yaml",
            "--context",
            "tests/fixtures/context",
            "--select",
            "TG301,TG208",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(with_context.code, 1, "{}", with_context.stderr);
    let report: serde_json::Value = serde_json::from_str(&with_context.stdout).unwrap_or_default();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["rule_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(rules, ["TG208", "TG301"], "{}", with_context.stdout);
    assert_eq!(
        report["summary"]["files"], 1,
        "context files are not counted as scanned"
    );
    // The other Deployment in the context directory has findings of its own: not reported.
    assert!(
        !with_context
            .stdout
            .contains("other.yaml\",\n        \"line\""),
        "{}",
        with_context.stdout
    );
}

#[test]
fn check_each_example_format() {
    for dir in ["docker", "compose", "kserve", "model-configs"] {
        let run = tritonguard(&["check", &format!("examples/{dir}")], None);
        assert_eq!(run.code, 1, "{dir}: {}", run.stderr);
        snapshot!(format!("check_examples_{dir}_human"), run.stdout);
    }
    let hardened = tritonguard(&["check", "examples/docker/hardened"], None);
    assert_eq!(hardened.code, 0, "{}", hardened.stdout);
}
