//! A team's own policies: loaded with --policy-dir, tested with `tritonguard test`, and
//! rejected with a diagnostic inside the policy file when they are wrong.

mod support;

use support::cli::tritonguard;

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

const DIR: &str = "tests/fixtures/policies";

#[test]
fn a_team_policy_runs_beside_the_builtins() {
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--policy-dir",
        &format!("{DIR}/team"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["rule_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(rules, ["ACME001"]);
    let listed = tritonguard(&["rules", "--policy-dir", &format!("{DIR}/team")]);
    assert!(
        listed.stdout.contains("ACME001  triton-image-not-pinned"),
        "{}",
        listed.stdout
    );
    let explained = tritonguard(&["explain", "ACME001", "--policy-dir", &format!("{DIR}/team")]);
    assert!(
        explained.stdout.contains("## Bad example"),
        "{}",
        explained.stdout
    );
}

#[test]
fn tritonguard_test_runs_a_policy_directory() {
    let run = tritonguard(&["test", &format!("{DIR}/team")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("ok     ACME001 triton-image-not-pinned (2 tests)"),
        "{}",
        run.stdout
    );
    let untested = tritonguard(&["test", &format!("{DIR}/untested")]);
    assert_eq!(untested.code, 1);
    snapshot!("policy_test_untested", untested.stdout);
}

#[test]
fn the_builtin_policies_pass_tritonguard_test() {
    let run = tritonguard(&["test"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("0 failed"), "{}", run.stdout);
}

#[test]
fn a_failing_expectation_reads_like_a_test_failure() {
    let dir = support::scratch::Scratch::new("policy-fail");
    let text = std::fs::read_to_string(format!(
        "{}/{DIR}/team/ACME001-image-digest.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_default();
    std::fs::write(
        dir.join("ACME001.yaml"),
        text.replace("{id: ACME001, line: 7}", "{id: ACME001, line: 6}"),
    )
    .unwrap_or_default();
    let run = tritonguard(&["test", &dir.display().to_string()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("FAILED ACME001"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a tag only: expected [ACME001@6], got [ACME001@7]"),
        "{}",
        run.stdout
    );
}

#[test]
fn broken_policies_fail_with_a_diagnostic_in_the_policy_file() {
    for (case, needle) in [
        ("syntax-error", "CEL syntax error: `(` is never closed"),
        ("typo", "no field 'digset' here (did you mean 'digest'?)"),
        (
            "lowercase-method",
            "unknown function 'startswith' (did you mean 'startsWith'?)",
        ),
        (
            "unknown-key",
            "unknown field 'asert' (did you mean 'assert'?)",
        ),
        ("duplicate", "duplicate rule id: TG101"),
        ("at-typo", "has no field 'model_contrl_mode' (did you mean"),
        (
            "at-typo-config",
            "has no field 'max_queue_dealy_microseconds' (did you",
        ),
        (
            "variable-order",
            "variable 'http' is defined below this one",
        ),
        (
            "variable-unknown",
            "unknown variable 'variables.prots' (defined here: ports)",
        ),
        (
            "variable-typo",
            "no field 'htp' here (did you mean 'http'?)",
        ),
        ("variable-at", "path 'variables.http' names a variable"),
    ] {
        let run = tritonguard(&[
            "check",
            "examples/kubernetes/hardened",
            "--policy-dir",
            &format!("{DIR}/{case}"),
        ]);
        assert_eq!(run.code, 2, "{case}: {}", run.stdout);
        assert!(run.stderr.contains(needle), "{case}: {}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "nothing is scanned with a broken policy"
        );
        snapshot!(format!("policy_error_{case}"), run.stderr);
    }
}

#[test]
fn a_policy_without_tests_loads_with_a_warning() {
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--policy-dir",
        &format!("{DIR}/untested"),
        "-q",
    ]);
    assert_eq!(run.code, 1, "it still runs: {}", run.stdout);
    assert!(
        run.stderr.contains("policy ACME005 has no tests"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_policy_that_fails_to_evaluate_is_a_finding_in_the_policy_file_and_exits_two() {
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--policy-dir",
        &format!("{DIR}/evaluation-error"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let errors: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule_id"] == "TG004").collect())
        .unwrap_or_default();
    assert_eq!(
        errors.len(),
        1,
        "one finding per policy and error: {errors:?}"
    );
    let f = errors[0];
    assert_eq!(
        f["location"]["file"],
        format!("{DIR}/evaluation-error/ACME008.yaml")
    );
    assert_eq!(f["location"]["line"], 8, "the assert line: {f}");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("policy ACME008 could not be evaluated on ")
            && message.contains("examples/kubernetes/hardened/")
            && message.ends_with("assert: Division by zero of Int(1)"),
        "{message}"
    );
    // --fail-on does not hide it: the policy checked nothing.
    let quiet = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--policy-dir",
        &format!("{DIR}/evaluation-error"),
        "--fail-on",
        "critical",
        "-q",
    ]);
    assert_eq!(quiet.code, 2, "{}", quiet.stdout);
    // The policy's own tests: an evaluation error fails the case and the run exits 2.
    let tested = tritonguard(&["test", &format!("{DIR}/evaluation-error")]);
    assert_eq!(tested.code, 2, "{}", tested.stdout);
    assert!(
        tested
            .stdout
            .contains("bad: evaluation error on Pod//triton/triton: assert: Division by zero"),
        "{}",
        tested.stdout
    );
}

#[test]
fn tritonguard_test_compares_messages_severities_and_parse_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(format!(
        "{}/{DIR}/team/ACME001-image-digest.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_default();
    let write = |text: String| {
        std::fs::write(dir.path().join("ACME001.yaml"), text).unwrap_or_default();
        tritonguard(&["test", &dir.path().display().to_string()])
    };
    // A stated message and severity that match pass.
    let run = write(text.replace(
        "{id: ACME001, line: 7}",
        "{id: ACME001, line: 7, severity: medium, message: 'nvcr.io'}",
    ));
    assert_eq!(run.code, 0, "{}", run.stdout);
    // A message the finding does not contain fails, showing what came out.
    let run = write(text.replace(
        "{id: ACME001, line: 7}",
        "{id: ACME001, line: 7, message: 'no such text'}",
    ));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(r#"expected [ACME001@7 "no such text"], got [ACME001@7]"#),
        "{}",
        run.stdout
    );
    // A wrong severity fails.
    let run = write(text.replace(
        "{id: ACME001, line: 7}",
        "{id: ACME001, line: 7, severity: critical}",
    ));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("ACME001@7 [critical]"),
        "{}",
        run.stdout
    );
    // A good case whose YAML does not parse tests nothing: TG000 runs and fails it.
    let run = write(text.replace(
        "--model-repository=/models]\n    expect: []",
        "--model-repository=/models\n    expect: []",
    ));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("TG000@"), "{}", run.stdout);
}

#[test]
fn policy_variables_name_sub_expressions_in_both_forms() {
    // ACME009 chains map-form variables and iterates one with `each`, pointing at the route
    // the subject holds; ACME010 uses ValidatingAdmissionPolicy's list form on objects.
    let run = tritonguard(&["test", &format!("{DIR}/variables")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for line in [
        "ok     ACME009 http-routed-around-the-gateway (2 tests)",
        "ok     ACME010 object-without-team-label (2 tests)",
    ] {
        assert!(run.stdout.contains(line), "{}", run.stdout);
    }
    let checked = tritonguard(&[
        "check",
        "examples/kubernetes/insecure",
        "--policy-dir",
        &format!("{DIR}/variables"),
        "--select",
        "ACME009",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&checked.stdout).unwrap_or_default();
    let labels: Vec<&str> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["location"]["label"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(!labels.is_empty(), "{}{}", checked.stdout, checked.stderr);
    assert!(
        labels
            .iter()
            .all(|l| l.starts_with("not through the Ingress (")),
        "{labels:?}"
    );
}

#[test]
fn a_variable_that_fails_is_a_finding_at_the_variable() {
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/hardened",
        "--policy-dir",
        &format!("{DIR}/evaluation-error-variable"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let errors: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule_id"] == "TG004").collect())
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["location"]["line"], 10, "the variable's line");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with("variables.ratio: Division by zero of Int(1)"),
        "{message}"
    );
}

#[test]
fn a_related_place_shows_where_its_when_holds_and_a_typo_in_it_is_a_policy_error() {
    let dir = support::scratch::Scratch::new("related-when");
    let policies = dir.join("policies");
    std::fs::create_dir(&policies).unwrap();
    let policy = |related: &str| {
        format!(
            "id: ACME020\nname: routes-listed\nseverity: low\nsubject: launch\n\
             summary: s\ndescription: d\nremediation: r\n\
             each: launch.exposure.http.routes\nassert: item.reach != 'internet'\nat: item\n\
             related:\n{related}"
        )
    };
    std::fs::write(
        policies.join("ACME020.yaml"),
        policy(
            "  - at: launch.exposure.http.declared\n    when: item.kind == 'Service'\n    label: \"'container port ' + string(item)\"\n",
        ),
    )
    .unwrap();
    let deploy = dir.join("deploy.yaml");
    std::fs::write(
        &deploy,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: t, labels: {app: t}}\nspec:\n  containers:\n    - name: t\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      args: [tritonserver, --model-repository=/m]\n      ports: [{containerPort: 8000, name: http}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec:\n  type: LoadBalancer\n  selector: {app: t}\n  ports: [{name: http, port: 80, targetPort: http}]\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: t}\nspec:\n  defaultBackend:\n    service: {name: t, port: {name: http}}\n",
    )
    .unwrap();
    let args = |path: &std::path::Path| {
        vec![
            "check".to_string(),
            deploy.display().to_string(),
            "--policy-dir".to_string(),
            path.display().to_string(),
            "--select".to_string(),
            "ACME020".to_string(),
            "--format".to_string(),
            "json".to_string(),
        ]
    };
    let run = tritonguard(
        &args(&policies)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let related: Vec<(u64, usize)> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["location"]["line"].as_u64().unwrap_or_default(),
                        f["related"].as_array().map_or(0, Vec::len),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // The Service's port relates the containerPort; the Ingress's backend does not.
    assert_eq!(related, [(17, 1), (23, 0)], "{}", run.stdout);

    std::fs::write(
        policies.join("ACME020.yaml"),
        policy("  - at: launch.exposure.http.declared\n    when: item.knd == 'Service'\n"),
    )
    .unwrap();
    let run = tritonguard(
        &args(&policies)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("knd"), "{}", run.stderr);
    assert!(run.stderr.contains("kind"), "{}", run.stderr);

    std::fs::write(
        policies.join("ACME020.yaml"),
        policy("  - at: launch.exposure.http.declared\n    wen: item.kind == 'Service'\n"),
    )
    .unwrap();
    let run = tritonguard(
        &args(&policies)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("unknown field 'wen' in related (at, label, when)"),
        "{}",
        run.stderr
    );
}

/// A team policy that would run for hours or exhaust memory on a large scan (nested scans of
/// every object, a billion-element list, a string grown a hundredfold per step) is stopped by
/// the evaluation budget: a TG004 finding in the policy file naming the budget, exit 2, and
/// the built-in rules' findings still reported. Run under a memory limit and timed.
#[test]
fn a_policy_over_its_evaluation_budget_is_reported_and_the_scan_goes_on() {
    let scratch = support::scratch::Scratch::new("budget");
    let mut manifest = String::new();
    for i in 0..150 {
        manifest.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: triton-{i}}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:26.07-py3\n          args: [tritonserver, --model-repository=/models]\n"
        ));
    }
    std::fs::write(scratch.join("deploy.yaml"), manifest).unwrap();
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("budget");
    let started = std::time::Instant::now();
    // 4 GiB of address space: the unmetered policies would need far more.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$@\"")
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_tritonguard"))
        .args(["check", "deploy.yaml", "--format", "json", "--policy-dir"])
        .arg(&policies)
        .current_dir(&*scratch)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let errors: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule_id"] == "TG004")
        .collect();
    let mut over: Vec<String> = errors
        .iter()
        .filter_map(|f| f["message"].as_str())
        .filter(|m| m.contains("exceeded the evaluation budget of 1,000,000 units on one subject"))
        .map(|m| m.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect();
    over.sort();
    assert_eq!(over, ["ACME020", "ACME021", "ACME022"], "{errors:#?}");
    for f in &errors {
        let message = f["message"].as_str().unwrap_or_default();
        // Stopped on the first Deployment, not run 150 times.
        assert!(
            message.contains("could not be evaluated on 1 subject (Deployment//triton-0/triton")
                && message.ends_with(
                    "the policy was not evaluated on the 149 later subjects of its kind"
                ),
            "{message}"
        );
        let file = f["location"]["file"].as_str().unwrap_or_default();
        assert!(file.ends_with(".yaml") && file.contains("ACME02"), "{f}");
    }
    let variable = errors
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("policy ACME021"))
        })
        .unwrap();
    assert!(
        variable["message"]
            .as_str()
            .unwrap()
            .contains("): variables.huge: exceeded"),
        "{variable}"
    );
    assert_eq!(
        variable["location"]["line"], 10,
        "the variable's expression: {variable}"
    );
    // The built-in rules still ran on every Deployment.
    let builtin = findings
        .iter()
        .filter(|f| f["rule_id"].as_str().is_some_and(|r| r.starts_with("TG1")))
        .count();
    assert!(builtin >= 150, "{builtin} built-in findings");
}
