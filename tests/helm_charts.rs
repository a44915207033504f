//! Helm charts checked in place, with the real Helm engine: `tritonguard check` on a
//! repository holding the charts of tests/fixtures/helm-repo renders them through the test
//! tools' `helm` (scripts/helm_shim.py on the Helm v4 SDK, `TG_HELM`) and reports each
//! finding on the values line that causes it, or on the template line where no value does.
//!
//! The fixture repository:
//! - charts/triton-server: values.yaml polls the model repository, publishes metrics on a
//!   LoadBalancer and mounts the models read-write; values-prod.yaml fixes the first and
//!   the last;
//! - charts/model-store: a `required` value with no default (its render fails);
//! - charts/triton-common: a library chart (skipped silently).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::cli::Run;
use support::tools::{HELM, require_tool};

/// The fixture repository, copied so that tests can edit it.
fn fixture_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm-repo"),
        dir.path(),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs `tritonguard` in `dir` with `path` as the whole PATH.
fn tritonguard(dir: &Path, args: &[&str], path: &Path) -> Run {
    Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// The directory holding the test tools' `helm`, to put on PATH.
fn helm_dir() -> Option<PathBuf> {
    let helm = require_tool(HELM)?;
    Some(helm.parent().unwrap().to_path_buf())
}

fn json_report(dir: &Path, args: &[&str], path: &Path) -> Value {
    let mut all = vec!["check", ".", "--format", "json"];
    all.extend_from_slice(args);
    let run = tritonguard(dir, &all, path);
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn findings(report: &Value) -> Vec<&Value> {
    report["findings"].as_array().unwrap().iter().collect()
}

/// The render a finding is about, from its `Helm render:` note.
/// The renders a finding was seen in (one finding holds every render that gave it).
fn renders_of(finding: &Value) -> Vec<String> {
    let renders: Vec<String> = finding["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str()?.strip_prefix("Helm render: "))
        .map(str::to_string)
        .collect();
    assert!(!renders.is_empty(), "no render note: {finding}");
    renders
}

const DEFAULT_RENDER: &str = "helm template release-name charts/triton-server";
const PROD_RENDER: &str =
    "helm template release-name charts/triton-server -f charts/triton-server/values-prod.yaml";

/// `file:line: text` of a location, reading the file from the checked directory.
fn shown(dir: &Path, location: &Value) -> String {
    let file = location["file"].as_str().unwrap();
    let line = location["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(dir.join(file))
        .map(|t| t.lines().nth(line - 1).unwrap_or("").trim().to_string())
        .unwrap_or_else(|_| "<not a file>".to_string());
    format!("{file}:{line}: {text}")
}

fn located(dir: &Path, report: &Value, rule: &str, render: &str) -> Vec<String> {
    findings(report)
        .into_iter()
        .filter(|f| f["rule_id"] == rule && renders_of(f).iter().any(|r| r == render))
        .map(|f| shown(dir, &f["location"]))
        .collect()
}

#[test]
fn findings_land_on_the_values_lines_that_cause_them() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let report = json_report(dir, &[], &helm);
    let values = "charts/triton-server/values.yaml";
    for (rule, line) in [
        ("TG101", format!("{values}:13: modelControlMode: poll")),
        ("TG301", format!("{values}:20: type: LoadBalancer")),
        ("TG209", format!("{values}:24: readOnly: false")),
        ("TG401", format!("{values}:9: tag: 24.08-py3")),
    ] {
        let mut places = located(dir, &report, rule, DEFAULT_RENDER);
        // Until correlation is per render (deployment units), the default render's metrics
        // Service also reaches the pods of the values-prod.yaml render (same labels), so
        // TG301 is reported for both launches, at the same place.
        places.dedup();
        assert_eq!(places, [line], "{rule}");
    }
    // The values key, how it was proven, and the template and the rendered text beside it.
    let tg101 = findings(&report)
        .into_iter()
        .find(|f| f["rule_id"] == "TG101")
        .unwrap();
    let notes: Vec<&str> = tg101["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes.contains(
            &"set by the Helm values key server.modelControlMode: re-rendering with it changed \
              changes the rendered text"
        ),
        "{notes:?}"
    );
    let related: Vec<String> = tg101["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} ({})", shown(dir, r), r["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        related,
        [
            "charts/triton-server/templates/deployment.yaml:21: \
             - --model-control-mode={{ .Values.server.modelControlMode }} \
             (the template writes the value here)",
            "charts/triton-server (rendered with default values):60: <not a file> \
             (rendered: polls the repository and loads new models)",
        ]
    );
    // The template place underlines exactly the flag as the template writes it.
    let template = &tg101["related"][0];
    let text = std::fs::read_to_string(dir.join(template["file"].as_str().unwrap())).unwrap();
    let start = template["byte_offset"].as_u64().unwrap() as usize;
    let len = template["byte_length"].as_u64().unwrap() as usize;
    assert_eq!(
        &text[start..start + len],
        "--model-control-mode={{ .Values.server.modelControlMode }}"
    );
    // A metrics Service that is a LoadBalancer: proven by the finding going away.
    let tg301 = findings(&report)
        .into_iter()
        .find(|f| f["rule_id"] == "TG301")
        .unwrap();
    assert!(
        tg301["notes"].as_array().unwrap().iter().any(|n| n
            == "set by the Helm values key metrics.service.type: re-rendering with it changed \
                removes the finding"),
        "{tg301}"
    );
}

#[test]
fn findings_without_a_value_land_on_the_template_line() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let report = json_report(dir, &[], &helm);
    let deployment = "charts/triton-server/templates/deployment.yaml";
    for rule in ["TG201", "TG202", "TG204", "TG205", "TG207", "TG208"] {
        assert_eq!(
            located(dir, &report, rule, DEFAULT_RENDER),
            [format!("{deployment}:16: - name: triton")],
            "{rule}"
        );
    }
    for rule in ["TG102", "TG104"] {
        assert_eq!(
            located(dir, &report, rule, DEFAULT_RENDER),
            [format!("{deployment}:19: args:")],
            "{rule}"
        );
    }
    // Where the rendered text came from an include, its related place is the template.
    let tg104 = findings(&report)
        .into_iter()
        .find(|f| f["rule_id"] == "TG104" && renders_of(f).iter().any(|r| r == DEFAULT_RENDER))
        .unwrap();
    let related: Vec<String> = tg104["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| shown(dir, r))
        .collect();
    assert!(
        related.contains(&"charts/triton-server/templates/service.yaml:10: - name: http".into()),
        "{related:?}"
    );
    for f in findings(&report) {
        let file = f["location"]["file"].as_str().unwrap();
        assert!(
            dir.join(file).is_file(),
            "every finding points at a file the user edits: {f}"
        );
    }
}

#[test]
fn each_values_file_is_its_own_render() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let report = json_report(dir, &[], &helm);
    // values-prod.yaml turns polling and the writable mount off...
    for rule in ["TG101", "TG209"] {
        assert_eq!(
            located(dir, &report, rule, PROD_RENDER),
            Vec::<String>::new()
        );
        assert_eq!(located(dir, &report, rule, DEFAULT_RENDER).len(), 1);
    }
    // ...and keeps the rest, still set by values.yaml or written in the templates.
    assert_eq!(
        located(dir, &report, "TG401", PROD_RENDER),
        ["charts/triton-server/values.yaml:9: tag: 24.08-py3"]
    );
    assert_eq!(
        located(dir, &report, "TG201", PROD_RENDER),
        ["charts/triton-server/templates/deployment.yaml:16: - name: triton"]
    );
    let renders: std::collections::BTreeSet<String> = findings(&report)
        .iter()
        .flat_map(|f| renders_of(f))
        .collect();
    assert!(
        renders.contains(DEFAULT_RENDER) && renders.contains(PROD_RENDER),
        "{renders:?}"
    );
}

#[test]
fn a_chart_that_does_not_render_is_one_positioned_finding_and_the_scan_goes_on() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let report = json_report(dir, &[], &helm);
    let failures: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["rule_id"] == "TG000")
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = failures[0];
    assert_eq!(
        shown(dir, &f["location"]),
        "charts/model-store/Chart.yaml:2: name: model-store"
    );
    assert_eq!(
        f["message"],
        "the chart does not render with its default values: execution error at \
         (model-store/templates/job.yaml:15:17): bucket is required: the S3 bucket that holds \
         the models"
    );
    assert_eq!(
        shown(dir, &f["related"][0]),
        "charts/model-store/templates/job.yaml:15: - {{ required \"bucket is required: the S3 \
         bucket that holds the models\" .Values.bucket | quote }}"
    );
    assert_eq!(f["related"][0]["column"], 17);
    // The other chart was still rendered and checked.
    assert!(findings(&report).iter().any(|f| f["rule_id"] == "TG101"));
}

#[test]
fn failures_point_at_the_values_file_or_the_missing_dependency() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    // A values file of the failing chart that still leaves the bucket out.
    std::fs::write(
        dir.join("charts/model-store/values-eu.yaml"),
        "# Europe\nimage: amazon/aws-cli:2.17.1\n",
    )
    .unwrap();
    // A chart whose dependency was never vendored into charts/.
    let chart = dir.join("charts/with-dependency");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: with-dependency\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 19.0.0\n    repository: https://charts.example.com\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let report = json_report(dir, &["--select", "TG000"], &helm);
    let failures: Vec<String> = findings(&report)
        .into_iter()
        .map(|f| {
            format!(
                "{} | {}",
                shown(dir, &f["location"]),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(
        failures.contains(
            &"charts/model-store/values-eu.yaml:2: image: amazon/aws-cli:2.17.1 | the chart does \
              not render with values-eu.yaml: execution error at \
              (model-store/templates/job.yaml:15:17): bucket is required: the S3 bucket that \
              holds the models"
                .to_string()
        ),
        "{failures:#?}"
    );
    let dependency = failures
        .iter()
        .find(|f| f.starts_with("charts/with-dependency/Chart.yaml:5: - name: redis |"))
        .unwrap_or_else(|| panic!("{failures:#?}"));
    assert!(
        dependency.contains("missing in charts/ directory: redis"),
        "{dependency}"
    );
}

/// Runs the test tools' `helm` as a user would.
fn helm_cmd(helm: &Path, dir: &Path, args: &[&str]) -> Run {
    Command::new(helm)
        .args(args)
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into()
}

#[test]
fn the_test_helm_behaves_like_helm_template() {
    let Some(helm) = require_tool(HELM) else {
        return;
    };
    let repo = fixture_repo();
    let dir = repo.path();
    let version = helm_cmd(&helm, dir, &["version", "--short"]);
    assert!(version.stdout.starts_with("v4."), "{}", version.stdout);

    // Helm's own output: install order (Services before the Deployment), `# Source:`.
    let out = helm_cmd(
        &helm,
        dir,
        &[
            "template",
            "tg",
            "charts/triton-server",
            "-f",
            "charts/triton-server/values-prod.yaml",
            "--set",
            "replicas=3",
            "--namespace",
            "inference",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sources: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .collect();
    assert_eq!(
        sources,
        [
            "triton-server/templates/metrics-service.yaml",
            "triton-server/templates/service.yaml",
            "triton-server/templates/deployment.yaml"
        ]
    );
    assert!(out.stdout.starts_with("---\n# Source: "), "{}", out.stdout);
    for expected in [
        "replicas: 3",
        "--model-control-mode=none",
        "name: tg-triton-server",
        "readOnly: true",
    ] {
        assert!(out.stdout.contains(expected), "{expected}: {}", out.stdout);
    }
    assert!(
        !out.stdout.contains("Triton is deployed"),
        "NOTES.txt is not printed"
    );

    // A failed render: exit 1 and Helm's message.
    let failed = helm_cmd(&helm, dir, &["template", "charts/model-store"]);
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.stderr.trim(),
        "Error: execution error at (model-store/templates/job.yaml:15:17): bucket is required: \
         the S3 bucket that holds the models"
    );
    // Nothing is ever fetched: a chart reference that is not a local chart is refused.
    let remote = helm_cmd(
        &helm,
        dir,
        &["template", "x", "oci://registry.example.com/charts/triton"],
    );
    assert_eq!(remote.code, 1);
    assert!(
        remote.stderr.contains("never downloads"),
        "{}",
        remote.stderr
    );
    let unknown = helm_cmd(
        &helm,
        dir,
        &["template", "charts/triton-server", "--dry-run"],
    );
    assert_eq!(
        (unknown.code, unknown.stderr.trim()),
        (1, "Error: unknown flag: --dry-run")
    );
}

#[test]
fn library_charts_are_skipped_silently_and_rendered_charts_lose_their_note() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let report = json_report(repo.path(), &[], &helm);
    let text = report.to_string();
    assert!(!text.contains("triton-common"), "{text}");
    assert_eq!(report["errors"], serde_json::json!([]));
}

fn chart_notes(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("Helm chart:"))
        .map(|m| m.split(':').next().unwrap().to_string())
        .collect()
}

#[test]
fn without_helm_charts_keep_the_note() {
    let repo = fixture_repo();
    let empty = tempfile::tempdir().unwrap();
    let report = json_report(repo.path(), &[], empty.path());
    assert_eq!(
        chart_notes(&report),
        [
            "charts/model-store",
            "charts/triton-common",
            "charts/triton-server"
        ]
    );
    assert_eq!(report["summary"]["launches"], 0);
    assert_eq!(findings(&report).len(), 0);
}

#[test]
fn no_helm_turns_rendering_off() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let report = json_report(repo.path(), &["--no-helm"], &helm);
    assert_eq!(chart_notes(&report).len(), 3);
    assert_eq!(findings(&report).len(), 0);
}

#[test]
fn a_helm_that_is_named_but_unusable_is_a_usage_error() {
    let repo = fixture_repo();
    let empty = tempfile::tempdir().unwrap();
    let run = tritonguard(
        repo.path(),
        &["check", ".", "--helm", "/nonexistent/helm"],
        empty.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--helm: /nonexistent/helm does not run"),
        "{}",
        run.stderr
    );
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn ignore_comments_in_values_files_and_templates_suppress_the_findings_there() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let chart = dir.join("charts/triton-server");
    edit(
        &chart.join("values.yaml"),
        "  modelControlMode: poll\n",
        "  # tritonguard:ignore[TG101] the lab cluster loads models by polling\n  modelControlMode: poll\n",
    );
    edit(
        &chart.join("templates/deployment.yaml"),
        "        - name: triton\n",
        "        - name: triton # tritonguard:ignore[TG201] the image drops root itself\n",
    );
    let report = json_report(dir, &[], &helm);
    let suppressed = |rule: &str| -> Vec<String> {
        findings(&report)
            .into_iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| {
                f["suppression"]["justification"]
                    .as_str()
                    .unwrap_or("active")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        suppressed("TG101"),
        ["the lab cluster loads models by polling"]
    );
    assert_eq!(
        suppressed("TG201"),
        ["the image drops root itself"],
        "both renders' findings are one finding at the template line"
    );
    assert_eq!(
        suppressed("TG002"),
        Vec::<String>::new(),
        "no ignore is unused"
    );
    assert_eq!(suppressed("TG202"), ["active"]);
}

#[test]
fn a_baseline_holds_the_findings_on_values_and_template_lines() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let write = tritonguard(
        dir,
        &["check", ".", "--write-baseline", "baseline.json"],
        &helm,
    );
    assert_eq!(write.code, 0, "{}", write.stderr);
    let baseline = std::fs::read_to_string(dir.join("baseline.json")).unwrap();
    assert!(
        baseline.contains("\"file\": \"charts/triton-server/values.yaml\""),
        "{baseline}"
    );
    // An edit elsewhere in the values file moves lines but keeps the findings known.
    edit(
        &dir.join("charts/triton-server/values.yaml"),
        "replicas: 1\n",
        "# Scaled by the autoscaler.\nreplicas: 1\n",
    );
    let run = tritonguard(dir, &["check", ".", "--baseline", "baseline.json"], &helm);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains(" 0 findings"), "{}", run.stdout);
    // A new problem is reported: the production values turn polling on again.
    edit(
        &dir.join("charts/triton-server/values-prod.yaml"),
        "modelControlMode: none",
        "modelControlMode: poll",
    );
    let report = json_report(dir, &["--baseline", "baseline.json"], &helm);
    let active: Vec<String> = findings(&report)
        .into_iter()
        .filter(|f| f["suppression"].is_null())
        .map(|f| {
            format!(
                "{} {}",
                f["rule_id"].as_str().unwrap(),
                shown(dir, &f["location"])
            )
        })
        .collect();
    assert_eq!(
        active,
        ["TG101 charts/triton-server/values-prod.yaml:4: modelControlMode: poll"]
    );
}

#[test]
fn the_config_lists_values_files_and_set_pairs_per_chart() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    std::fs::write(
        dir.join("charts/triton-server/gke.yaml"),
        "metrics:\n  enabled: false\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".tritonguard.yaml"),
        "helm:\n  charts:\n    - path: charts/model-store\n      set: ['bucket=s3://models']\n    \
         - path: charts/triton-server\n      values: [charts/triton-server/gke.yaml]\n      \
         namespace: inference\n",
    )
    .unwrap();
    let report = json_report(dir, &[], &helm);
    assert!(
        findings(&report).iter().all(|f| f["rule_id"] != "TG000"),
        "the bucket is set"
    );
    let gke = "helm template release-name charts/triton-server -f charts/triton-server/gke.yaml \
               --namespace inference";
    assert_eq!(
        located(dir, &report, "TG101", gke),
        ["charts/triton-server/values.yaml:13: modelControlMode: poll"]
    );
    assert_eq!(
        located(dir, &report, "TG301", gke),
        Vec::<String>::new(),
        "metrics are off"
    );

    // A values file that does not exist is a config error at its entry.
    std::fs::write(
        dir.join(".tritonguard.yaml"),
        "helm:\n  charts:\n    - path: charts/triton-server\n      values: [nope.yaml]\n",
    )
    .unwrap();
    let run = tritonguard(dir, &["check", "."], &helm);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("values file") && run.stderr.contains("nope.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_human_report_shows_the_values_line_first() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let run = tritonguard(
        repo.path(),
        &["check", "charts/triton-server", "--select", "TG101"],
        &helm,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        filters => vec![(r" in \d+ ms", " in [duration]")],
    }, {
        insta::assert_snapshot!("check_helm_chart_in_place_human", run.stdout);
    });
}

#[test]
fn sarif_names_the_values_line_the_template_and_the_render() {
    let Some(helm) = helm_dir() else { return };
    let repo = fixture_repo();
    let dir = repo.path();
    let run = tritonguard(
        dir,
        &["check", ".", "--format", "sarif", "--select", "TG101"],
        &helm,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let uri = |l: &Value| {
        l["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        uri(&result["locations"][0]),
        "charts/triton-server/values.yaml"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );
    let related: Vec<String> = result["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(uri)
        .collect();
    assert_eq!(
        related,
        [
            "charts/triton-server/templates/deployment.yaml",
            "charts/triton-server%20%28rendered%20with%20default%20values%29"
        ]
    );
}

#[test]
fn render_costs_stay_small() {
    let Some(helm) = require_tool(HELM) else {
        return;
    };
    let repo = fixture_repo();
    let dir = repo.path();
    // A `helm` that logs each call and runs the real one.
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls.log");
    let wrapper = bin.path().join("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            helm.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let started = std::time::Instant::now();
    let run = tritonguard(dir, &["check", "."], Path::new(&path));
    let elapsed = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let calls = std::fs::read_to_string(&log).unwrap();
    let count = |what: &str| calls.lines().filter(|l| *l == what).count();
    // One version check; three renders (two of triton-server, one of model-store); the
    // rest are re-renders proving values keys, shared by the findings of a render.
    assert_eq!(count("version"), 1);
    let templates = count("template");
    eprintln!("helm invocations: 1 version + {templates} template in {elapsed:?}");
    assert!(
        (3..=20).contains(&templates),
        "{templates} helm template runs"
    );
}

#[test]
fn values_reach_findings_through_helpers_lists_and_to_yaml() {
    // The richer chart of tests/fixtures/helm: args built by an `include`d helper, extra
    // args from a values list, security settings written with `toYaml`, and an image tag
    // that defaults to the chart's appVersion.
    let Some(helm) = helm_dir() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let report = json_report_at(root, "tests/fixtures/helm/triton", &helm);
    let insecure = "helm template release-name tests/fixtures/helm/triton -f \
                    tests/fixtures/helm/triton/values-insecure.yaml";
    let values = "tests/fixtures/helm/triton/values-insecure.yaml";
    for (rule, line) in [
        ("TG101", format!("{values}:14: modelControlMode: explicit")),
        ("TG303", format!("{values}:24: - --allow-sagemaker=true")),
        (
            "TG106",
            format!("{values}:25: - --http-header-forward-pattern=.*"),
        ),
        (
            "TG204",
            format!("{values}:40: allowPrivilegeEscalation: true"),
        ),
        ("TG401", format!("{values}:6: tag: \"23.05-py3\"")),
        ("TG301", format!("{values}:46: type: LoadBalancer")),
    ] {
        let mut places = located(root, &report, rule, insecure);
        places.dedup();
        assert_eq!(places, [line], "{rule}");
    }
    let tg101 = findings(&report)
        .into_iter()
        .find(|f| f["rule_id"] == "TG101")
        .unwrap();
    assert_eq!(
        shown(root, &tg101["related"][0]),
        "tests/fixtures/helm/triton/templates/_helpers.tpl:70: \
         - --model-control-mode={{ $s.modelControlMode }}",
        "the helper line the include printed"
    );
    // With the default values the version comes from Chart.yaml's appVersion: the image
    // repository is rendered into the same text, but the finding stays on the template.
    let default = "helm template release-name tests/fixtures/helm/triton";
    assert_eq!(
        located(root, &report, "TG401", default),
        ["tests/fixtures/helm/triton/templates/deployment.yaml:37: \
          image: {{ include \"triton.image\" . | quote }}"]
    );
}

fn json_report_at(dir: &Path, target: &str, path: &Path) -> Value {
    let run = tritonguard(dir, &["check", target, "--format", "json"], path);
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}
