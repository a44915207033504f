//! Living with tritonguard day to day (issue 14, items 8–14): report-only runs, scans that
//! find no Triton, rule selection by prefix and category, configuration per file, excludes
//! on named files, stdin names, and context files.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up its files should stop there"
)]

use std::path::Path;

mod support;

use support::cli::{Run, tritonguard_in};

fn tritonguard(args: &[&str]) -> Run {
    tritonguard_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

const INSECURE: &str = "examples/kubernetes/insecure";

#[test]
fn exit_zero_reports_findings_but_never_fails() {
    let run = tritonguard(&["check", INSECURE, "--exit-zero"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("TG101"), "{}", run.stdout);
    // An error is still an error.
    let missing = tritonguard(&["check", "does/not/exist", "--exit-zero"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

#[test]
fn fail_on_never_only_reports_from_the_flag_or_the_config() {
    let run = tritonguard(&["check", INSECURE, "--fail-on", "never", "-f", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["summary"]["fail_on"], "never");
    assert!(json["summary"]["findings"].as_u64().unwrap() > 0);

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pod.yaml",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(INSECURE)
                .join("triton.yaml"),
        )
        .unwrap(),
    );
    write(dir.path(), ".tritonguard.yaml", "fail-on: never\n");
    let run = tritonguard_in(dir.path(), &["check", "-q"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The command line still wins over the config.
    let run = tritonguard_in(dir.path(), &["check", "-q", "--fail-on", "high"], None);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_scan_without_triton_says_so_and_fail_if_none_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy/redis.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: redis}\ndata: {a: b}\n",
    );
    write(
        dir.path(),
        "deploy/web.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n",
    );
    let run = tritonguard_in(dir.path(), &["check", "deploy/"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no Triton deployment found under deploy/: 2 files read, 0 launches"),
        "{}",
        run.stderr
    );
    let run = tritonguard_in(dir.path(), &["check", "deploy/", "--fail-if-none"], None);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    // Report-only mode stays report-only: exit 0, the note still printed.
    for report_only in [["--exit-zero", ""], ["--fail-on", "never"]] {
        let mut args = vec!["check", "deploy/", "--fail-if-none"];
        args.extend(report_only.iter().filter(|a| !a.is_empty()));
        let run = tritonguard_in(dir.path(), &args, None);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("no Triton deployment found"),
            "{}",
            run.stderr
        );
    }
    // An empty folder too.
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let run = tritonguard_in(dir.path(), &["check", "empty", "--fail-if-none"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("0 files read"), "{}", run.stderr);
    // A Triton launch or a model configuration is something: no note, no failure.
    let run = tritonguard(&["check", INSECURE, "--fail-if-none", "--exit-zero"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains("no Triton deployment"),
        "{}",
        run.stderr
    );
    let run = tritonguard(&[
        "check",
        "examples/model-configs",
        "--fail-if-none",
        "--exit-zero",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains("no Triton deployment"),
        "{}",
        run.stderr
    );
}

/// The rule ids of a concise report, in order, each once.
fn rules_reported(run: &Run) -> Vec<String> {
    let mut ids: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .filter(|id| id.starts_with("TG"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn select_takes_prefixes_and_categories() {
    let by_prefix = tritonguard(&["check", INSECURE, "--select", "TG2", "-f", "concise"]);
    assert_eq!(by_prefix.code, 1, "{}", by_prefix.stderr);
    let ids = rules_reported(&by_prefix);
    assert!(
        !ids.is_empty() && ids.iter().all(|id| id.starts_with("TG2")),
        "{ids:?}"
    );
    let by_category = tritonguard(&["check", INSECURE, "--select", "container", "-f", "concise"]);
    assert_eq!(rules_reported(&by_category), ids);
    let ignored = tritonguard(&[
        "check",
        INSECURE,
        "--select",
        "container",
        "--ignore",
        "TG20",
        "-f",
        "concise",
    ]);
    let left = rules_reported(&ignored);
    assert!(left.iter().all(|id| id.starts_with("TG21")), "{left:?}");
    let exposure = tritonguard(&[
        "check",
        INSECURE,
        "--select",
        "exposure,TG101",
        "-f",
        "concise",
    ]);
    let ids = rules_reported(&exposure);
    assert!(ids.contains(&"TG101".to_string()), "{ids:?}");
    assert!(
        ids.iter().all(|id| id == "TG101" || id.starts_with("TG3")),
        "{ids:?}"
    );
}

#[test]
fn a_typo_in_a_selector_suggests_the_closest_id_and_exits_two() {
    let run = tritonguard(&["check", INSECURE, "--select", "TG1O1"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("unknown rule 'TG1O1'; did you mean TG101?"),
        "{}",
        run.stderr
    );
    let run = tritonguard(&["check", INSECURE, "--ignore", "contaner"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean container?"),
        "{}",
        run.stderr
    );
}

#[test]
fn selecting_a_rule_of_another_command_is_noted() {
    let run = tritonguard(&["check", INSECURE, "--select", "TG602"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "note: --select TG602: TG602 runs in `tritonguard repo audit`, not in `check`"
        ),
        "{}",
        run.stderr
    );
    // A selector that also selects check rules says nothing.
    let run = tritonguard(&["check", INSECURE, "--select", "TG", "-q"]);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
}

#[test]
fn cli_select_replaces_the_config_and_extend_select_adds() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(INSECURE)
            .join("triton.yaml"),
    )
    .unwrap();
    write(dir.path(), "triton.yaml", &manifest);
    write(dir.path(), ".tritonguard.yaml", "select: [TG101]\n");
    let concise = ["-f", "concise"];
    let from_config = tritonguard_in(dir.path(), &[&["check"][..], &concise].concat(), None);
    assert_eq!(rules_reported(&from_config), ["TG101"]);
    let replaced = tritonguard_in(
        dir.path(),
        &[&["check", "--select", "TG301"][..], &concise].concat(),
        None,
    );
    assert_eq!(rules_reported(&replaced), ["TG301"]);
    let extended = tritonguard_in(
        dir.path(),
        &[&["check", "--extend-select", "TG301"][..], &concise].concat(),
        None,
    );
    assert_eq!(rules_reported(&extended), ["TG101", "TG301"]);
}

#[test]
fn rules_shows_and_filters_by_severity_category_and_subject() {
    let run = tritonguard(&["rules", "--severity", "high", "--category", "container"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = run.stdout.lines().next().unwrap();
    for column in ["SEVERITY", "CATEGORY", "SUBJECT"] {
        assert!(header.contains(column), "{header}");
    }
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("TG"))
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(
            row.contains(" high ") && row.contains(" container "),
            "{row}"
        );
    }
    assert!(
        run.stdout.contains(&format!("{} rules;", rows.len())),
        "{}",
        run.stdout
    );
    let repo = tritonguard(&["rules", "--subject", "repo", "-f", "json"]);
    let json: serde_json::Value = serde_json::from_str(&repo.stdout).unwrap();
    let rules = json.as_array().unwrap();
    assert!(!rules.is_empty());
    assert!(
        rules
            .iter()
            .all(|r| r["subject"] == "repo" && r["category"] == "repository")
    );
    let unknown = tritonguard(&["rules", "--category", "containers"]);
    assert_eq!(unknown.code, 2);
}

/// Two teams with their own `.tritonguard.yaml` under one repository, and a config above
/// the repository that must never apply.
fn two_teams() -> tempfile::TempDir {
    let outer = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(INSECURE)
            .join("triton.yaml"),
    )
    .unwrap();
    write(outer.path(), ".tritonguard.yaml", "ignore: [TG105]\n");
    let repo = outer.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(&repo, "team-a/deploy/triton.yaml", &manifest);
    write(&repo, "team-b/deploy/triton.yaml", &manifest);
    write(
        &repo,
        "team-a/.tritonguard.yaml",
        "select: [TG101, TG105]\n",
    );
    write(
        &repo,
        "team-b/.tritonguard.yaml",
        "exclude: ['legacy/**']\nignores:\n  - rules: [TG101]\n    paths: ['deploy/*.yaml']\n    reason: dev cluster\n",
    );
    write(&repo, "team-b/legacy/triton.yaml", &manifest);
    outer
}

/// `(file, rule)` of each unsuppressed finding of a concise report.
fn findings(run: &Run) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = run
        .stdout
        .lines()
        .filter_map(|l| {
            let (place, rest) = l.split_once(": ")?;
            let file = place.split(':').next()?.to_string();
            let rule = rest.split(' ').next()?.to_string();
            rule.starts_with("TG").then_some((file, rule))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn each_file_uses_the_nearest_config_up_to_the_repository_root() {
    let outer = two_teams();
    let repo = outer.path().join("repo");
    let ab = tritonguard_in(&repo, &["check", "team-a", "team-b", "-f", "concise"], None);
    let ba = tritonguard_in(&repo, &["check", "team-b", "team-a", "-f", "concise"], None);
    let all = tritonguard_in(&repo, &["check", ".", "-f", "concise"], None);
    assert_eq!(findings(&ab), findings(&ba));
    assert_eq!(findings(&ab), findings(&all));
    let found = findings(&all);
    let of = |file: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(f, _)| f == file)
            .map(|(_, r)| r.as_str())
            .collect()
    };
    // team-a selects two rules; the config above the repository does not ignore TG105.
    assert_eq!(
        of("team-a/deploy/triton.yaml"),
        ["TG101", "TG105"],
        "{}",
        all.stdout
    );
    // team-b: every rule, TG101 ignored by a path relative to team-b/, legacy/ excluded.
    let b = of("team-b/deploy/triton.yaml");
    assert!(b.contains(&"TG105") && b.contains(&"TG201"), "{b:?}");
    assert!(!b.contains(&"TG101"), "{b:?}");
    assert!(of("team-b/legacy/triton.yaml").is_empty(), "{}", all.stdout);
    // From inside a team, the same.
    let inside = tritonguard_in(
        &repo.join("team-b"),
        &["check", "deploy", "-f", "concise"],
        None,
    );
    assert!(
        !findings(&inside).iter().any(|(_, r)| r == "TG101"),
        "{}",
        inside.stdout
    );
    // --config FILE is one config for everything.
    let one = tritonguard_in(
        &repo,
        &[
            "check",
            ".",
            "--config",
            "team-a/.tritonguard.yaml",
            "-f",
            "concise",
        ],
        None,
    );
    let rules: Vec<String> = findings(&one).into_iter().map(|(_, r)| r).collect();
    assert!(
        rules.iter().all(|r| r == "TG101" || r == "TG105"),
        "{rules:?}"
    );
    assert!(
        findings(&one)
            .iter()
            .any(|(f, _)| f.starts_with("team-b/deploy"))
    );
}

#[test]
fn force_exclude_applies_excludes_to_files_named_explicitly() {
    let outer = two_teams();
    let repo = outer.path().join("repo");
    write(&repo, "team-a/.tritonguardignore", "generated/\n");
    let manifest = std::fs::read_to_string(repo.join("team-a/deploy/triton.yaml")).unwrap();
    write(&repo, "team-a/generated/triton.yaml", &manifest);
    let named = ["team-b/legacy/triton.yaml", "team-a/generated/triton.yaml"];
    // Named explicitly, excluded files are checked by default (as ruff does) ...
    let plain = tritonguard_in(&repo, &[&["check", "-q"][..], &named].concat(), None);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(
        plain.stdout.contains("2 files, 2 Triton launches"),
        "{}",
        plain.stdout
    );
    let legacy = tritonguard_in(&repo, &["check", "-f", "concise", named[0]], None);
    assert!(legacy.stdout.contains("TG201"), "{}", legacy.stdout);
    // ... and skipped with --force-exclude, as the pre-commit hooks pass it.
    let forced = tritonguard_in(
        &repo,
        &[&["check", "--force-exclude"][..], &named].concat(),
        None,
    );
    assert_eq!(forced.code, 0, "{}{}", forced.stdout, forced.stderr);
    assert!(forced.stdout.contains("0 findings"), "{}", forced.stdout);
    let kept = tritonguard_in(
        &repo,
        &[
            "check",
            "--force-exclude",
            "-q",
            "team-b/deploy/triton.yaml",
        ],
        None,
    );
    assert_eq!(kept.code, 1, "{}", kept.stdout);
    assert!(kept.stdout.contains("1 file"), "{}", kept.stdout);
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let entries: Vec<&str> = hooks.lines().filter(|l| l.contains("entry:")).collect();
    assert_eq!(entries.len(), 3);
    assert!(
        entries.iter().all(|e| e.contains("--force-exclude")),
        "{entries:?}"
    );
}

#[test]
fn stdin_filename_names_standard_input_in_every_format() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(INSECURE)
            .join("triton.yaml"),
    )
    .unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let named = [
        "--stdin-filename",
        "deploy/triton.yaml",
        "--select",
        "TG101",
    ];
    let github = tritonguard_in(
        here,
        &[&["check", "-", "-f", "github"][..], &named].concat(),
        Some(&manifest),
    );
    assert_eq!(github.code, 1, "{}", github.stderr);
    assert!(
        github
            .stdout
            .starts_with("::error file=deploy/triton.yaml,line=26,"),
        "{}",
        github.stdout
    );
    let sarif = tritonguard_in(
        here,
        &[&["check", "-", "-f", "sarif"][..], &named].concat(),
        Some(&manifest),
    );
    let sarif: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "deploy/triton.yaml");
    let inspect = tritonguard_in(
        here,
        &["inspect", "-", "--stdin-filename", "deploy/triton.yaml"],
        Some(&manifest),
    );
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    assert!(
        inspect.stdout.contains("\"file\": \"deploy/triton.yaml\""),
        "{}",
        inspect.stdout
    );
    // The name also says what the text is: a Dockerfile is read as one.
    let dockerfile = "FROM nvcr.io/nvidia/tritonserver:24.10-py3\nCMD [\"tritonserver\", \"--model-repository=/m\", \"--model-control-mode=poll\"]\n";
    let run = tritonguard_in(
        here,
        &[
            "check",
            "-",
            "--stdin-filename",
            "images/Dockerfile",
            "--select",
            "TG101",
            "-f",
            "concise",
        ],
        Some(dockerfile),
    );
    assert!(
        run.stdout.starts_with("images/Dockerfile:2:"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn a_finding_kept_for_a_staged_file_points_into_it() {
    // The pre-commit case: the Deployment is staged, the LoadBalancer Service is in an
    // unchanged file read with --context. The finding stays at the Service's port and
    // carries the staged Deployment's Triton container as a related location.
    let run = tritonguard(&[
        "check",
        "tests/fixtures/context/deployment.yaml",
        "--context",
        "tests/fixtures/context",
        "--select",
        "TG301",
        "-f",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(
        finding["location"]["file"],
        "tests/fixtures/context/service.yaml"
    );
    assert_eq!(finding["location"]["line"], 9);
    let related = finding["related"].as_array().unwrap();
    assert_eq!(related.len(), 1, "{finding}");
    assert_eq!(related[0]["file"], "tests/fixtures/context/deployment.yaml");
    assert_eq!(related[0]["line"], 13);
    assert_eq!(
        related[0]["label"],
        "the Triton launch this finding is about"
    );
    // Without --context the same files checked together need no such location.
    let both = tritonguard(&[
        "check",
        "tests/fixtures/context/deployment.yaml",
        "tests/fixtures/context/service.yaml",
        "--select",
        "TG301",
        "-f",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&both.stdout).unwrap();
    assert!(
        json["findings"][0]["related"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        both.stdout
    );
}

/// A nested config's `severity` and `ignores[].rules` are checked like the root config's: a
/// typo is an error in that file, at the name, with the closest rule suggested.
#[test]
fn a_nested_config_names_only_rules_that_exist() {
    for (config, typo) in [
        (
            "# TG11 in a comment is not the typo\nseverity: {TG11: high}\n",
            "TG11",
        ),
        (
            "ignores:\n  - rules: [TG1O1]\n    paths: ['deploy/*.yaml']\n    reason: dev cluster\n",
            "TG1O1",
        ),
    ] {
        let outer = two_teams();
        let repo = outer.path().join("repo");
        write(&repo, "team-b/.tritonguard.yaml", config);
        let run = tritonguard_in(&repo, &["check", "."], None);
        assert_eq!(run.code, 2, "{typo}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("team-b/.tritonguard.yaml") && run.stderr.contains(typo),
            "{}",
            run.stderr
        );
        let line = config
            .lines()
            .position(|l| l.contains(typo) && !l.starts_with('#'))
            .unwrap()
            + 1;
        assert!(
            run.stderr
                .contains(&format!("team-b/.tritonguard.yaml:{line}:")),
            "{typo} at line {line}: {}",
            run.stderr
        );
        if typo == "TG1O1" {
            let words = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                words.contains("did you mean │ TG101?") || words.contains("did you mean TG101?"),
                "{}",
                run.stderr
            );
        }
    }
}
