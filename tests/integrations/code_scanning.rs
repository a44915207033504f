//! GitHub code scanning: the SARIF of every example, of a Helm render and of Helm charts
//! checked in place passes Microsoft's validator (SARIF spec rules and GitHub's ingestion
//! rules, `--rule-kind Gh`), and meets what GitHub's "SARIF support for code scanning" page
//! requires beyond that validator.
//! Also `--format github`: workflow commands that decode, with the runner's unescaping, back
//! to the findings of the JSON report.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{examples, repo_root, slug, tritonguard, tritonguard_in};
use super::support::helm::{Render, fixture_chart};
use super::support::sarif::sarif_issues_many;
use super::support::tools::{HELM, SARIF_MULTITOOL, require_tool};

/// What GitHub documents but the validator does not check; one message per violation.
/// `files_exist`: relative URIs must name files under the repository root.
fn github_requirements(sarif: &Value, files_exist: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(what);
    let runs = sarif["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() || runs.len() > 20 {
        fail(format!("{} runs (GitHub: 1 to 20 per file)", runs.len()));
    }
    let size = miniz_oxide::deflate::compress_to_vec(sarif.to_string().as_bytes(), 6).len() + 18;
    if size > 10_000_000 {
        fail(format!("{size} bytes gzipped (GitHub: at most 10 MB)"));
    }
    for run in &runs {
        let id = run["automationDetails"]["id"].as_str().unwrap_or("");
        if !id.contains('/') {
            fail(format!(
                "automationDetails.id {id:?} has no category (needs a '/')"
            ));
        }
        let rules = run["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for rule in &rules {
            let rid = rule["id"].as_str().unwrap_or("?");
            for field in ["shortDescription", "fullDescription"] {
                let len = rule[field]["text"]
                    .as_str()
                    .map_or(0, |t| t.chars().count());
                if len == 0 || len > 1024 {
                    fail(format!("{rid}: {field} has {len} characters (1..=1024)"));
                }
            }
            if rule["name"].as_str().map_or(0, |n| n.chars().count()) > 255 {
                fail(format!("{rid}: name over 255 characters"));
            }
            if rule["help"]["text"].as_str().is_none_or(str::is_empty)
                || rule["help"]["markdown"].as_str().is_none_or(str::is_empty)
            {
                fail(format!("{rid}: help text and markdown are required"));
            }
            let tags = rule["properties"]["tags"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if tags.len() > 10 || !tags.iter().any(|t| t == "security") {
                fail(format!(
                    "{rid}: tags {tags:?} (need 'security', at most 10 shown)"
                ));
            }
            match &rule["properties"]["security-severity"] {
                Value::Null => {}
                Value::String(s) => match s.parse::<f64>() {
                    Ok(v) if v > 0.0 && v <= 10.0 => {}
                    _ => fail(format!("{rid}: security-severity {s:?} out of (0, 10]")),
                },
                other => fail(format!("{rid}: security-severity {other} is not a string")),
            }
            if rule["properties"]["precision"].as_str().is_none() {
                fail(format!("{rid}: no precision"));
            }
        }
        let results = run["results"].as_array().cloned().unwrap_or_default();
        if results.len() > 25_000 {
            fail(format!(
                "{} results in a run (at most 25,000)",
                results.len()
            ));
        }
        for result in &results {
            let rid = result["ruleId"].as_str().unwrap_or("?");
            let index = result["ruleIndex"]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok());
            if index.and_then(|i| rules.get(i)).map(|r| &r["id"]) != Some(&result["ruleId"]) {
                fail(format!("{rid}: ruleIndex {index:?} does not name the rule"));
            }
            if result["message"]["text"]
                .as_str()
                .is_none_or(|t| t.trim().is_empty())
            {
                fail(format!("{rid}: empty message"));
            }
            let hash = &result["partialFingerprints"]["primaryLocationLineHash"];
            if hash.as_str().is_none_or(str::is_empty) {
                fail(format!("{rid}: no primaryLocationLineHash"));
            }
            let locations = result["locations"].as_array().cloned().unwrap_or_default();
            // GitHub uses only the first location; tritonguard gives exactly one.
            if locations.len() != 1 {
                fail(format!("{rid}: {} locations", locations.len()));
            }
            let related = result["relatedLocations"].as_array().map_or(0, Vec::len);
            if locations.len() + related > 1_000 {
                fail(format!("{rid}: more than 1,000 locations"));
            }
            for location in locations
                .iter()
                .chain(result["relatedLocations"].as_array().into_iter().flatten())
            {
                let physical = &location["physicalLocation"];
                let region = &physical["region"];
                for key in ["startLine", "startColumn", "endLine", "endColumn"] {
                    if region[key].as_u64().is_none_or(|v| v < 1) {
                        fail(format!(
                            "{rid}: region.{key} = {} (needs >= 1)",
                            region[key]
                        ));
                    }
                }
                let artifact = &physical["artifactLocation"];
                let uri = artifact["uri"].as_str().unwrap_or("");
                if uri.is_empty()
                    || uri.starts_with('/')
                    || uri.contains(':')
                    || uri.split('/').any(|s| s == ".." || s == ".")
                {
                    fail(format!("{rid}: uri {uri:?} is not a clean relative path"));
                }
                if artifact["uriBaseId"] != "%SRCROOT%" {
                    fail(format!("{rid}: uriBaseId {}", artifact["uriBaseId"]));
                }
                if files_exist && !repo_root().join(uri.replace("%20", " ")).is_file() {
                    fail(format!("{rid}: {uri} is not a file of the repository"));
                }
            }
        }
    }
    problems
}

/// Writes the SARIF report of each example, and of the insecure Helm render when Helm is
/// available, into `dir`; returns `(name, path, files_exist)`.
fn write_reports(dir: &Path) -> Vec<(String, PathBuf, bool)> {
    let mut out = Vec::new();
    for example in examples() {
        let path = dir.join(format!("{}.sarif", slug(&example)));
        let path_text = path.to_string_lossy().into_owned();
        let run = tritonguard(&[
            "check", &example, "--format", "sarif", "--output", &path_text,
        ]);
        assert!(
            run.code == 0 || run.code == 1,
            "{example}: exit {}\n{}",
            run.code,
            run.stderr
        );
        out.push((example, path, true));
    }
    let chart = fixture_chart("triton");
    if let Some(rendered) = Render::new(&chart)
        .values(chart.join("values-insecure.yaml"))
        .run()
    {
        let stream = rendered.expect("the chart renders");
        let path = dir.join("helm-triton.sarif");
        let path_text = path.to_string_lossy().into_owned();
        let run = tritonguard_in(
            &repo_root(),
            &[
                "check",
                "-",
                "--stdin-filename",
                "deploy/triton.yaml",
                "--format",
                "sarif",
                "--output",
                &path_text,
            ],
            Some(&stream),
        );
        assert_eq!(
            run.code, 1,
            "the insecure render has findings: {}",
            run.stderr
        );
        out.push(("helm render".to_string(), path, false));
    }
    // Charts checked in place: findings on values and template lines, with the renders
    // (which are no files of the repository) as related locations.
    if let Some(helm) = require_tool(HELM) {
        let path = dir.join("helm-charts-in-place.sarif");
        let path_text = path.to_string_lossy().into_owned();
        let helm_text = helm.to_string_lossy().into_owned();
        let run = tritonguard(&[
            "check",
            "tests/fixtures/helm-repo",
            "--helm",
            &helm_text,
            "--format",
            "sarif",
            "--output",
            &path_text,
        ]);
        assert_eq!(
            run.code, 1,
            "the fixture charts have findings: {}",
            run.stderr
        );
        out.push(("helm charts in place".to_string(), path, false));
    }
    out
}

#[test]
fn sarif_of_every_example_passes_the_validator_and_githubs_requirements() {
    let Some(tool) = require_tool(SARIF_MULTITOOL) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let reports = write_reports(dir.path());
    let mut results = 0;
    for (name, path, files_exist) in &reports {
        let text = std::fs::read_to_string(path).unwrap();
        let sarif: Value = serde_json::from_str(&text).unwrap();
        let problems = github_requirements(&sarif, *files_exist);
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
        results += sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
    }
    assert!(
        results > 10,
        "the examples should produce findings to validate"
    );
    // Both validator passes over all reports at once (one validator start per pass).
    let paths: Vec<&Path> = reports.iter().map(|(_, p, _)| p.as_path()).collect();
    let issues = sarif_issues_many(&tool, &paths)
        .unwrap_or_else(|e| panic!("the validator did not run: {e}"));
    let mut failures = Vec::new();
    for (name, path, _) in &reports {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let (errors, others): (Vec<_>, Vec<_>) = issues
            .iter()
            .filter(|i| i.file.ends_with(&format!("/{file}")))
            .partition(|i| i.level == "error");
        if !errors.is_empty() {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            failures.push(format!("{name}:\n{}", lines.join("\n")));
        }
        // Warnings and notes do not block an upload, but none are expected either.
        let lines: Vec<String> = others.iter().map(ToString::to_string).collect();
        assert!(others.is_empty(), "{name}: {}", lines.join("\n"));
    }
    // Every issue belongs to one of the reports (none lost to a name mismatch).
    assert!(
        issues.iter().all(|i| reports
            .iter()
            .any(|(_, p, _)| i.file.ends_with(&*p.file_name().unwrap().to_string_lossy()))),
        "{issues:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_category_becomes_a_code_scanning_category() {
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--format",
        "sarif",
        "--sarif-category",
        "deploy",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["automationDetails"]["id"], "deploy/");
    let default = tritonguard(&["check", "examples/kubernetes/hardened", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&default.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["automationDetails"]["id"], "tritonguard/");
}

/// The runner's decoding of a workflow command value (actions/runner `ActionCommand`):
/// each escape back to its character, `%25` last.
fn unescape(value: &str, property: bool) -> String {
    let mut out = value.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        out = out.replace("%3A", ":").replace("%2C", ",");
    }
    out.replace("%25", "%")
}

#[test]
fn github_annotations_decode_to_the_json_findings() {
    for example in examples() {
        let github = tritonguard(&["check", &example, "--format", "github"]);
        let json = tritonguard(&["check", &example, "--format", "json"]);
        assert_eq!(github.code, json.code, "{example}");
        let report: Value = serde_json::from_str(&json.stdout).unwrap();
        let findings = report["findings"].as_array().unwrap();
        let commands: Vec<&str> = github
            .stdout
            .lines()
            .filter(|l| l.starts_with("::"))
            .collect();
        assert_eq!(
            commands.len(),
            findings.len(),
            "{example}:\n{}",
            github.stdout
        );
        for (line, finding) in commands.iter().zip(findings) {
            // ::<level> <k=v,...>::<message>
            let rest = line.strip_prefix("::").unwrap();
            let (head, message) = rest.split_once("::").unwrap();
            let (level, props) = head.split_once(' ').unwrap();
            let expected_level = match finding["severity"].as_str().unwrap() {
                "critical" | "high" => "error",
                "medium" => "warning",
                _ => "notice",
            };
            assert_eq!(level, expected_level, "{line}");
            let props: Vec<(&str, String)> = props
                .split(',')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k, unescape(v, true))
                })
                .collect();
            let get = |key: &str| {
                props
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
            };
            let location = &finding["location"];
            assert_eq!(get("file").as_deref(), location["file"].as_str());
            assert_eq!(get("line"), Some(location["line"].to_string()));
            assert_eq!(get("endLine"), Some(location["end_line"].to_string()));
            if location["line"] == location["end_line"] {
                assert_eq!(get("col"), Some(location["column"].to_string()));
            } else {
                assert_eq!(get("col"), None, "no columns across lines: {line}");
            }
            let title = get("title").unwrap();
            assert!(
                title.starts_with(&format!(
                    "{} {}",
                    finding["rule_id"].as_str().unwrap(),
                    finding["rule_name"].as_str().unwrap()
                )),
                "{title}"
            );
            let decoded = unescape(message, false);
            assert!(
                decoded.starts_with(finding["message"].as_str().unwrap()),
                "{decoded}"
            );
            assert!(!message.contains('\n') && !message.contains('\r'));
        }
        // The summary line closes the output, so a log shows what was scanned.
        assert!(
            github
                .stdout
                .lines()
                .last()
                .is_some_and(|l| l.starts_with(&example)),
            "{}",
            github.stdout
        );
    }
}

#[test]
fn workflow_command_escaping_round_trips() {
    // Properties and data that need every escape: what the runner decodes is what was meant.
    let dir = tempfile::tempdir().unwrap();
    let name = "odd, name: 100%.yaml";
    std::fs::write(
        dir.path().join(name),
        std::fs::read_to_string(repo_root().join("examples/kubernetes/insecure/triton.yaml"))
            .unwrap(),
    )
    .unwrap();
    let run = tritonguard_in(
        dir.path(),
        &["check", name, "--format", "github", "--select", "TG101"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run.stdout.lines().next().unwrap();
    assert!(
        line.starts_with("::error file=odd%2C name%3A 100%25.yaml,line="),
        "{line}"
    );
    let file = line
        .split_once("file=")
        .and_then(|(_, rest)| rest.split_once(','))
        .map(|(v, _)| unescape(v, true))
        .unwrap();
    assert_eq!(file, name);
    let message = line.splitn(3, "::").nth(2).unwrap();
    assert!(message.contains("%0A%0AFix: "), "{message}");
}
