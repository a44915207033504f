//! What a person reads in the terminal and in CI logs: severities in words with a look of
//! their own, the one-line-per-finding format and per-rule statistics, wrapping that never
//! breaks code, ASCII on terminals without Unicode, long lines, findings sharing a span, fixes
//! worded for the file's format, the summary on stderr when the report goes to a file, and
//! secrets that are never printed.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of these tests fail loudly on unexpected output"
)]

use std::path::Path;
use std::time::{Duration, Instant};

mod support;

use support::cli::{Run, tritonguard_env};

fn tritonguard(args: &[&str]) -> Run {
    tritonguard_env(Path::new(env!("CARGO_MANIFEST_DIR")), args, None, &[])
}

fn with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    tritonguard_env(Path::new(env!("CARGO_MANIFEST_DIR")), args, None, env)
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

const EVERY_SEVERITY: &str = "tests/fixtures/output/every-severity";
const SECRET: &str = "tests/fixtures/output/secret";
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// The headline of each finding: (glyph, severity word).
fn headlines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("  ")?.split(' ');
            let glyph = words.next()?;
            let severity = words.next()?;
            let id = words.next()?;
            (SEVERITIES.contains(&severity) && id.starts_with("TG"))
                .then(|| (glyph.to_string(), severity.to_string()))
        })
        .collect()
}

#[test]
fn every_finding_names_its_severity_and_each_severity_looks_different() {
    let run = tritonguard(&["check", EVERY_SEVERITY]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("output_every_severity_human", run.stdout);
    let heads = headlines(&run.stdout);
    assert_eq!(heads.len(), 13, "one headline per finding:\n{}", run.stdout);
    let mut glyph_of = std::collections::BTreeMap::new();
    for (glyph, severity) in &heads {
        let previous = glyph_of.insert(severity.clone(), glyph.clone());
        assert!(
            previous.is_none_or(|p| p == *glyph),
            "{severity} drawn two ways"
        );
    }
    assert_eq!(glyph_of.len(), 5, "{glyph_of:?}");
    let mut glyphs: Vec<&String> = glyph_of.values().collect();
    glyphs.sort();
    glyphs.dedup();
    assert_eq!(glyphs.len(), 5, "critical ≠ high, low ≠ info: {glyph_of:?}");
    assert!(
        !glyph_of.values().any(|g| g == "☞"),
        "the related marker is no severity's"
    );
    // In colour, critical and high differ too.
    let color = tritonguard(&["check", EVERY_SEVERITY, "--color", "always"]);
    let colour_of = |word: &str| {
        color
            .stdout
            .lines()
            .find_map(|l| {
                let at = l.find(&format!(" {word}\x1b[0m"))?;
                let start = l[..at].rfind("\x1b[")?;
                Some(l[start..at].split(' ').next()?.to_string())
            })
            .unwrap_or_else(|| panic!("no coloured {word}:\n{}", color.stdout))
    };
    let colours: Vec<String> = SEVERITIES.iter().map(|s| colour_of(s)).collect();
    let mut unique = colours.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{colours:?}");
}

#[test]
fn concise_prints_one_line_per_finding_and_the_summary() {
    let run = tritonguard(&["check", "examples/", "--format", "concise"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_examples_concise", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let (summary, findings) = lines.split_last().unwrap();
    assert!(
        summary.starts_with("examples/: 14 files, 6 Triton launches, "),
        "{summary}"
    );
    let json = tritonguard(&["check", "examples/", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let total = report["summary"]["findings"].as_u64().unwrap() as usize;
    assert_eq!(findings.len(), total, "{}", run.stdout);
    for line in findings {
        // path:line:col: TG101 [high] message
        let mut parts = line.splitn(4, ':');
        let (path, row, col, rest) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(path).is_file(),
            "{line}"
        );
        assert!(
            row.parse::<usize>().is_ok() && col.parse::<usize>().is_ok(),
            "{line}"
        );
        let mut words = rest.trim_start().splitn(3, ' ');
        let id = words.next().unwrap();
        let severity = words.next().unwrap();
        assert!(id.starts_with("TG") && id.len() == 5, "{line}");
        assert!(
            SEVERITIES.iter().any(|s| severity == format!("[{s}]")),
            "{line}"
        );
        assert!(!words.next().unwrap_or("").is_empty(), "{line}");
    }
}

#[test]
fn statistics_count_findings_per_rule_most_first() {
    let run = tritonguard(&["check", "examples/", "--statistics"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_examples_statistics", run.stdout);
    let counts: Vec<usize> = run
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let json = tritonguard(&["check", "examples/", "--statistics", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let from_json: Vec<usize> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(from_json, counts);
    let total = tritonguard(&["check", "examples/", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&total.stdout).unwrap();
    assert_eq!(
        counts.iter().sum::<usize>() as u64,
        report["summary"]["findings"].as_u64().unwrap()
    );
    let sarif = tritonguard(&["check", "examples/", "--statistics", "--format", "sarif"]);
    assert_eq!(sarif.code, 2, "{}", sarif.stdout);
}

#[test]
fn help_wraps_at_the_terminal_width_and_never_inside_code() {
    for columns in ["60", "80", "140"] {
        let run = with_env(
            &["check", "examples/kubernetes/insecure", "--select", "TG101"],
            &[("COLUMNS", columns)],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        let width: usize = columns.parse().unwrap();
        let lines: Vec<&str> = run.stdout.lines().collect();
        // The summary is one line for logs, whatever the width.
        for line in &lines[..lines.len() - 1] {
            // Source lines are shown as they are; prose fits the width.
            let source = line.contains(" │ ") || line.contains(" · ");
            // A word (or code span) wider than the line stands alone on it, whole.
            let words = line.trim().trim_start_matches("help:").trim();
            let one_word = words.starts_with('`') && words.ends_with('`') || !words.contains(' ');
            assert!(
                source || one_word || line.chars().count() <= width,
                "{columns} columns: {line:?}"
            );
        }
        for code in [
            "`--http-restricted-api=model-repository:<header>=<secret>`",
            "`--grpc-restricted-protocol=model-repository:<header>=<secret>`",
        ] {
            assert!(
                run.stdout.lines().any(|l| l.contains(code)),
                "{code} broken at {columns} columns:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn terminals_without_unicode_get_ascii() {
    for env in [
        [("TERM", "dumb")],
        [("LC_ALL", "C")],
        [("LC_ALL", "en_US.ISO-8859-1")],
    ] {
        let run = with_env(&["check", EVERY_SEVERITY], &env);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let other: Vec<char> = run.stdout.chars().filter(|c| !c.is_ascii()).collect();
        assert!(other.is_empty(), "{env:?}: {other:?}\n{}", run.stdout);
        assert!(run.stdout.contains("  !! critical TG206"), "{}", run.stdout);
        assert!(run.stdout.contains("  x high TG"), "{}", run.stdout);
    }
    snapshot!(
        "output_every_severity_ascii",
        with_env(&["check", EVERY_SEVERITY], &[("TERM", "dumb")]).stdout
    );
}

#[test]
fn a_very_long_line_shows_the_part_that_matters() {
    let dir = tempfile::tempdir().unwrap();
    let padding = "x".repeat(70_000);
    std::fs::write(
        dir.path().join("run.sh"),
        format!(
            "#!/bin/sh\necho {padding}; docker run nvcr.io/nvidia/tritonserver:26.07-py3 \
             tritonserver --model-repository=/m --model-control-mode=explicit\n"
        ),
    )
    .unwrap();
    let run = tritonguard_env(
        dir.path(),
        &["check", "run.sh", "--select", "TG101"],
        None,
        &[("COLUMNS", "100")],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.contains("[run.sh:2:70"), "{}", run.stdout);
    let shown = run
        .stdout
        .lines()
        .find(|l| l.starts_with(" 2 │ "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(shown.contains("--model-control-mode=explicit"), "{shown}");
    assert!(shown.contains('…'), "{shown}");
    assert!(shown.chars().count() <= 100, "{shown}");
    // A minified JSON manifest: one line, the span deep inside it.
    let manifest = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"t\",\"annotations\":{{\"pad\":\"{padding}\"}}}},\"spec\":{{\"containers\":[{{\"name\":\"triton\",\"image\":\"nvcr.io/nvidia/tritonserver:26.07-py3\",\"args\":[\"tritonserver\",\"--model-repository=/m\",\"--model-control-mode=poll\"]}}]}}}}\n"
    );
    std::fs::write(dir.path().join("pod.json.yaml"), manifest).unwrap();
    let run = tritonguard_env(
        dir.path(),
        &["check", "pod.json.yaml", "--select", "TG101"],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("--model-control-mode=poll"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_human_report_costs_about_what_json_costs_on_a_large_file() {
    // 2,000 Deployments in one 0.57 MB file: every finding once copied the whole file. The
    // report keeps 100 findings per rule in the file (plus a summary each), so every rule
    // runs: about 1,100 findings on the large file.
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<String> = (0..2000)
        .map(|i| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: triton-{i}}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:24.10-py3\n          args: [tritonserver, --model-repository=/models, --model-control-mode=explicit]\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("many.yaml"), docs.join("---\n")).unwrap();
    let time = |format: &str| {
        let start = Instant::now();
        let run = tritonguard_env(
            dir.path(),
            &["check", "many.yaml", "--format", format],
            None,
            &[],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        (start.elapsed(), run.stdout.len())
    };
    let (json, _) = time("json");
    let (human, size) = time("human");
    assert!(size > 400_000, "{size} bytes of report");
    assert!(
        human <= json * 3 + Duration::from_secs(2),
        "human {human:?} vs json {json:?}"
    );
}

#[test]
fn findings_on_one_span_share_one_snippet() {
    let run = tritonguard(&["check", EVERY_SEVERITY]);
    let header = "╭─[tests/fixtures/output/every-severity/run.sh:3:1]";
    assert_eq!(run.stdout.matches(header).count(), 1, "{}", run.stdout);
    for id in ["TG201", "TG202", "TG204", "TG205", "TG208"] {
        assert!(
            run.stdout.contains(&format!("{id}: ")),
            "{id} labelled under the shared span:\n{}",
            run.stdout
        );
    }
}

/// (label, help) of a rule's first finding in a JSON report of `path`.
fn wording(path: &str, rule: &str) -> (String, String) {
    let run = tritonguard(&["check", path, "--format", "json", "--select", rule]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let f = &report["findings"][0];
    (
        f["location"]["label"].as_str().unwrap_or("").to_string(),
        f["help"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn labels_and_fixes_use_the_words_of_the_file_format() {
    let cases = [
        (
            "examples/compose",
            "TG202",
            "cap_drop: [ALL]",
            "`cap_drop: [ALL]`",
        ),
        (
            "examples/docker/run-triton.sh",
            "TG202",
            "--cap-drop ALL",
            "`--cap-drop ALL`",
        ),
        (
            "examples/kubernetes/insecure",
            "TG202",
            "capabilities.drop",
            "`capabilities: {drop: [\"ALL\"]}`",
        ),
        (
            "examples/compose",
            "TG205",
            "read_only: true",
            "`read_only: true`",
        ),
        (
            "examples/docker/run-triton.sh",
            "TG205",
            "--read-only",
            "`--read-only",
        ),
        (
            "examples/compose",
            "TG204",
            "security_opt: no-new-privileges",
            "`security_opt:",
        ),
        (
            "examples/docker/run-triton.sh",
            "TG204",
            "--security-opt no-new-privileges",
            "`--security-opt no-new-privileges`",
        ),
    ];
    for (path, rule, label, fix) in cases {
        let (got_label, help) = wording(path, rule);
        assert!(
            got_label.contains(label),
            "{path} {rule}: label {got_label:?}"
        );
        assert!(help.contains(fix), "{path} {rule}: help {help:?}");
        // Only the fix for this format: no other format's syntax.
        for other in ["securityContext", "docker run", "the service"] {
            let own = match other {
                "securityContext" => path.contains("kubernetes"),
                "docker run" => path.contains("docker"),
                _ => path.contains("compose"),
            };
            assert!(own || !help.contains(other), "{path} {rule}: {help:?}");
        }
    }
}

#[test]
fn a_report_written_to_a_file_still_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["sarif", "json"] {
        let out = dir.path().join(format!("report.{format}"));
        let out_text = out.display().to_string();
        let run = tritonguard(&[
            "check",
            "examples/kubernetes/insecure",
            "--format",
            format,
            "--output",
            &out_text,
        ]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(
            run.stderr
                .starts_with("examples/kubernetes/insecure: 1 file, 1 Triton launch, "),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(&out_text), "{}", run.stderr);
        assert!(std::fs::metadata(&out).unwrap().len() > 100);
    }
}

#[test]
fn secrets_are_masked_in_every_format() {
    let secret = "hf_TestFixtureNotARealToken0123456789";
    let raw = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(SECRET)
            .join("models/llm/config.pbtxt"),
    )
    .unwrap();
    assert!(raw.contains(secret), "the fixture holds the token");
    for format in ["human", "concise", "json", "sarif", "github"] {
        let run = tritonguard(&["check", SECRET, "--format", format]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(run.stdout.contains("TG510"), "{format}: {}", run.stdout);
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(!text.contains("hf_Test"), "{format} {stream}:\n{text}");
        }
    }
    // A policy whose message and label quote the value: masked there too.
    for format in ["human", "concise", "json", "sarif", "github"] {
        let run = tritonguard(&[
            "check",
            SECRET,
            "--policy-dir",
            "tests/fixtures/output/quoting-policy",
            "--select",
            "ACME010",
            "--format",
            format,
        ]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            run.stdout.contains("holds ********"),
            "{format}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("hf_Test"), "{format}:\n{}", run.stdout);
    }
    let human = tritonguard(&["check", SECRET]);
    assert!(
        human.stdout.contains("string_value: \"********\""),
        "{}",
        human.stdout
    );
    snapshot!("output_secret_human", human.stdout);
}

/// A generated manifest with 250 Triton Deployments: each rule keeps its first 100 findings
/// in the file and one more finding, after them, stands for the others;
/// every format's counts say the true total, SARIF stays valid, and a baseline written from
/// the scan records every finding, so the next run with it reports nothing.
#[test]
fn findings_of_a_rule_in_a_file_are_capped_with_a_summary() {
    use std::collections::BTreeMap;
    let scratch = support::scratch::Scratch::new("cap");
    let mut manifest = String::new();
    for i in 0..250 {
        manifest.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: triton-{i}}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:26.07-py3\n          args: [tritonserver, --model-repository=/models]\n"
        ));
    }
    std::fs::write(scratch.join("deploy.yaml"), manifest).unwrap();
    let run = |args: &[&str]| support::cli::tritonguard_in(&scratch, args, None);

    // The baseline records every finding: the true count of each rule.
    let write = run(&["check", "deploy.yaml", "--write-baseline", "baseline.json"]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scratch.join("baseline.json")).unwrap())
            .unwrap();
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for e in baseline["findings"].as_array().unwrap() {
        *totals
            .entry(e["rule"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let total: usize = totals.values().sum();
    assert!(
        write.stderr.contains(&format!("wrote {total} findings")),
        "{}",
        write.stderr
    );
    assert!(
        totals.values().filter(|&&n| n > 100).count() >= 3,
        "{totals:?}"
    );

    let json = run(&["check", "deploy.yaml", "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for (rule, n) in &totals {
        let of_rule: Vec<&serde_json::Value> =
            findings.iter().filter(|f| f["rule_id"] == *rule).collect();
        let summaries: Vec<&&serde_json::Value> = of_rule
            .iter()
            .filter(|f| f["message"].as_str().unwrap().contains("not shown"))
            .collect();
        if *n <= 100 {
            assert_eq!((of_rule.len(), summaries.len()), (*n, 0), "{rule}");
            continue;
        }
        assert_eq!(of_rule.len(), 101, "{rule}: 100 kept and one summary");
        assert_eq!(summaries.len(), 1, "{rule}");
        assert_eq!(
            summaries[0]["message"],
            format!(
                "{} more findings of {rule} in this file are not shown: a report keeps the first 100 of a rule in a file",
                n - 100
            )
        );
        // After the kept ones, in report order.
        let line = |f: &serde_json::Value| f["location"]["line"].as_u64().unwrap();
        let summary_line = line(summaries[0]);
        assert!(of_rule.iter().all(|f| line(f) <= summary_line), "{rule}");
    }
    assert_eq!(report["summary"]["findings"], total, "the true total");
    let by_severity: u64 = report["summary"]["by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_severity as usize, total);

    let human = run(&["check", "deploy.yaml"]);
    assert_eq!(human.code, 1);
    let words = human
        .stdout
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let capped = totals.iter().filter(|(_, n)| **n > 100).count();
    assert_eq!(
        words.matches(" more findings of TG").count(),
        capped,
        "{}",
        human.stdout
    );
    assert!(human.stdout.lines().count() < 30_000);
    let summary = human.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(&format!(", {total} findings (")),
        "{summary}"
    );

    let stats = run(&["check", "deploy.yaml", "--statistics"]);
    for (rule, n) in &totals {
        assert!(
            stats
                .stdout
                .lines()
                .any(|l| l.contains(rule.as_str()) && l.trim_start().starts_with(&n.to_string())),
            "{rule} {n}: {}",
            stats.stdout
        );
    }

    let sarif = scratch.join("out.sarif");
    let sarif_run = run(&[
        "check",
        "deploy.yaml",
        "--format",
        "sarif",
        "--output",
        "out.sarif",
    ]);
    assert_eq!(sarif_run.code, 1, "{}", sarif_run.stderr);
    support::sarif::validate_sarif(&sarif).unwrap_or_else(|e| panic!("{e}"));

    let write = run(&["check", "deploy.yaml", "--write-baseline", "baseline.json"]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    assert!(
        write.stderr.contains(&format!("wrote {total} findings")),
        "{}",
        write.stderr
    );
    let again = run(&[
        "check",
        "deploy.yaml",
        "--baseline",
        "baseline.json",
        "--format",
        "json",
    ]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(report["summary"]["findings"], 0);
}

/// `--timings` names every step of a run in the order it ran, the walk for files and charts
/// and the per-file config lookup included (they run outside the pipeline's stages, and a
/// large scan spent a third of its time there unaccounted).
#[test]
fn timings_list_every_step_in_order() {
    let run = tritonguard(&["check", "examples/", "--format", "json", "--timings"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let timings = run
        .stderr
        .split_once("timings:\n")
        .unwrap_or_else(|| panic!("no timings: {}", run.stderr))
        .1;
    let names: Vec<&str> = timings
        .lines()
        .filter_map(|line| line.split("  ").map(str::trim).find(|w| !w.is_empty()))
        .collect();
    assert_eq!(
        names,
        [
            "config and policies",
            "find files, render charts",
            "load",
            "extract",
            "correlate",
            "evaluate",
            "per-file configs",
            "filter",
            "report",
            "total",
        ],
        "{timings}"
    );
}
