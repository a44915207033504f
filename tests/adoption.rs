//! Adopting tritonguard on a repository that already has findings: configuration file,
//! suppressions (inline, annotation, config, expiry, required reasons), baselines.

use std::fs;
use std::path::Path;

mod support;

use support::cli::{Run, tritonguard_in};
use support::scratch::Scratch;

fn tritonguard(dir: &Path, args: &[&str]) -> Run {
    tritonguard_in(dir, args, None)
}

fn repo(name: &str, files: &[(&str, &str)]) -> Scratch {
    let dir = Scratch::new(&format!("adoption-{name}"));
    for (path, text) in files {
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap_or(&dir)).unwrap_or_default();
        fs::write(full, text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout, run.stderr))
}

/// (rule, line, suppressed-kind) of every finding in a JSON report.
fn findings(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["rule_id"].as_str().unwrap_or_default().to_string(),
                        f["location"]["line"].as_u64().unwrap_or(0),
                        f["suppression"]["kind"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![(r" in \d+ ms", " in [duration]")],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: triton
spec:
  containers:
    - name: triton
      image: nvcr.io/nvidia/tritonserver:26.07-py3
      args:
        - tritonserver
        - --model-repository=s3://models/prod
        - --model-control-mode=explicit  # tritonguard:ignore[TG101] the repository API is behind our gateway
";

#[test]
fn inline_comment_suppresses_and_sarif_keeps_it_with_its_justification() {
    let dir = repo("inline", &[("pod.yaml", POD)]);
    let run = tritonguard(
        &dir,
        &["check", ".", "--select", "TG101", "--format", "sarif"],
    );
    assert_eq!(
        run.code, 0,
        "the only TG101 finding is suppressed: {}",
        run.stdout
    );
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "TG101");
    assert_eq!(result["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "the repository API is behind our gateway"
    );
    let human = tritonguard(&dir, &["check", ".", "--select", "TG101"]);
    assert!(
        human.stdout.contains("0 findings, 1 suppressed"),
        "{}",
        human.stdout
    );
    let distrust = tritonguard(
        &dir,
        &[
            "check",
            ".",
            "--select",
            "TG101",
            "--no-inline-ignores",
            "-q",
        ],
    );
    assert_eq!(
        distrust.code, 1,
        "--no-inline-ignores trusts only the config: {}",
        distrust.stdout
    );
}

#[test]
fn expired_and_stale_and_malformed_ignores_are_reported() {
    let expired = POD.replace("behind our gateway", "behind our gateway until=2020-01-01");
    let stale = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\n  # tritonguard:ignore[TG101] nothing to see\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:26.07-py3\n      args: [tritonserver, --model-repository=s3://m]  # tritonguard:ignore[TG998] typo\n";
    let dir = repo("expired", &[("a.yaml", &expired), ("b.yaml", stale)]);
    let run = tritonguard(
        &dir,
        &["check", ".", "--select", "TG101", "--format", "json"],
    );
    assert_eq!(run.code, 1);
    let report = json(&run);
    let found = findings(&report);
    assert!(
        found.contains(&("TG101".to_string(), 12, String::new())),
        "expired ignore no longer applies: {found:?}"
    );
    assert!(
        found.contains(&("TG002".to_string(), 5, String::new())),
        "stale ignore: {found:?}"
    );
    assert!(
        found.contains(&("TG003".to_string(), 10, String::new())),
        "unknown rule in an ignore: {found:?}"
    );
    let text = report.to_string();
    assert!(
        text.contains("expired on 2020-01-01"),
        "the expired ignore says so: {text}"
    );
}

#[test]
fn kubernetes_annotation_suppresses_findings_about_the_object() {
    let annotated = POD.replace(
        "metadata:\n  name: triton\n",
        "metadata:\n  name: triton\n  annotations:\n    tritonguard.dev/ignore: \"TG201,TG205\"\n    tritonguard.dev/ignore-reason: sandboxed by gVisor\n",
    );
    let dir = repo("annotation", &[("pod.yaml", &annotated)]);
    let report = json(&tritonguard(
        &dir,
        &[
            "check",
            ".",
            "--select",
            "TG201,TG205,TG208",
            "--format",
            "json",
        ],
    ));
    let found = findings(&report);
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .map(|(r, _, k)| (r.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("TG201", "inSource"), ("TG205", "inSource"), ("TG208", "")],
        "{found:?}"
    );
}

#[test]
fn config_file_sets_rules_severity_exclusions_and_ignores() {
    let config = "fail-on: high\nignore: [TG105]\nseverity:\n  TG208: high\nexclude: ['vendor/**']\nignores:\n  - rules: [TG101]\n    paths: ['pod.yaml']\n    reason: accepted risk, ticket SEC-12\n";
    let dir = repo(
        "config",
        &[
            (".tritonguard.yaml", config),
            ("pod.yaml", POD),
            ("vendor/chart.yaml", POD),
        ],
    );
    let run = tritonguard(
        &dir,
        &[
            "check",
            ".",
            "--select",
            "TG101,TG208,TG105",
            "--no-inline-ignores",
            "--format",
            "json",
        ],
    );
    let report = json(&run);
    let found = findings(&report);
    assert_eq!(report["summary"]["files"], 1, "vendor/ is excluded");
    assert!(
        found.contains(&("TG101".to_string(), 12, "external".to_string())),
        "{found:?}"
    );
    let tg208 = report["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["rule_id"] == "TG208").cloned())
        .unwrap_or_default();
    assert_eq!(tg208["severity"], "high", "severity override");
    assert_eq!(run.code, 1, "TG208 is now high, at the fail-on threshold");
    let lenient = tritonguard(&dir, &["check", ".", "--fail-on", "critical", "-q"]);
    assert_eq!(
        lenient.code, 0,
        "the command line overrides the config's fail-on: {}",
        lenient.stdout
    );
}

#[test]
fn config_mistakes_point_into_the_config_and_exit_two() {
    let dir = repo(
        "badconfig",
        &[
            (
                ".tritonguard.yaml",
                "fail-on: medium\nignores:\n  - rules: [TG101]\n    util: 2027-01-01\nseveritys: {}\n",
            ),
            ("pod.yaml", POD),
        ],
    );
    let run = tritonguard(&dir, &["check", "."]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    snapshot!("config_errors", run.stderr);
}

#[test]
fn required_reasons_are_enforced() {
    let bare = POD.replace(" the repository API is behind our gateway", "");
    let dir = repo(
        "reason",
        &[
            (".tritonguard.yaml", "require-reason: true\n"),
            ("pod.yaml", &bare),
        ],
    );
    let report = json(&tritonguard(
        &dir,
        &["check", ".", "--select", "TG101", "--format", "json"],
    ));
    let found = findings(&report);
    assert!(
        found.contains(&("TG101".to_string(), 12, String::new())),
        "{found:?}"
    );
    assert!(
        found.contains(&("TG003".to_string(), 12, String::new())),
        "{found:?}"
    );
}

#[test]
fn a_baseline_reports_only_new_findings_and_survives_edits() {
    let dir = repo(
        "baseline",
        &[(
            "pod.yaml",
            &POD.replace(
                "  # tritonguard:ignore[TG101] the repository API is behind our gateway",
                "",
            ),
        )],
    );
    let write = tritonguard(&dir, &["check", ".", "--write-baseline", "baseline.json"]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    assert!(write.stderr.contains("to the baseline"), "{}", write.stderr);
    let clean = tritonguard(&dir, &["check", ".", "--baseline", "baseline.json"]);
    assert_eq!(
        clean.code, 0,
        "everything is in the baseline: {}",
        clean.stdout
    );
    // Unrelated edits: lines above, and a new document ahead of the pod.
    let edited = format!(
        "# Production Triton\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: unrelated}}\n---\n{}",
        fs::read_to_string(dir.join("pod.yaml")).unwrap_or_default()
    );
    fs::write(dir.join("pod.yaml"), &edited).unwrap_or_default();
    let still_clean = tritonguard(&dir, &["check", ".", "--baseline", "baseline.json", "-q"]);
    assert_eq!(still_clean.code, 0, "{}", still_clean.stdout);
    // A new problem is reported.
    fs::write(
        dir.join("pod.yaml"),
        edited.replace(
            "--model-control-mode=explicit",
            "--model-control-mode=explicit\n        - --allow-sagemaker=maybe",
        ),
    )
    .unwrap_or_default();
    let new = tritonguard(
        &dir,
        &[
            "check",
            ".",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(new.code, 1);
    let found: Vec<String> = findings(&json(&new))
        .into_iter()
        .filter(|(_, _, k)| k.is_empty())
        .map(|(r, _, _)| r)
        .collect();
    assert_eq!(found, ["TG103"]);
    let broken = tritonguard(&dir, &["check", ".", "--baseline", "pod.yaml"]);
    assert_eq!(
        broken.code, 2,
        "a file that is not a baseline is a usage error"
    );
}

#[test]
fn two_hundred_findings_stay_grouped_and_summarised() {
    let mut files = Vec::new();
    for i in 0..20 {
        files.push((
            format!("deploy-{i:02}.yaml"),
            POD.replace(
                "  # tritonguard:ignore[TG101] the repository API is behind our gateway",
                "",
            )
            .replace("name: triton\n", &format!("name: triton-{i}\n")),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = repo("many", &refs);
    let run = tritonguard(&dir, &["check", "."]);
    let headers = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("── deploy-"))
        .count();
    assert_eq!(headers, 20, "one header per file");
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(".: 20 files, 20 Triton launches, 220 findings (60 high, 160 medium)"),
        "{last}"
    );
    let titles = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  × ") || l.starts_with("  ⚠ "))
        .count();
    assert_eq!(titles, 220, "every finding is shown");
}
