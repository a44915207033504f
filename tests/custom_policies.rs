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
    let dir = std::env::temp_dir().join(format!("tritonguard-policy-fail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_default();
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
