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
