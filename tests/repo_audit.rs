//! `tritonguard repo audit` and `repo lock` as a user runs them, on model repositories built
//! in temporary directories with pickles written by CPython (`support/picklegen.py`) and
//! torch.save-style zip archives (`support/torchzip.py`): reports pinned by snapshots, exit
//! codes, the lock round trip, and damage that must not stop the audit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail loudly on unexpected errors, and say when they skip"
)]

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::cli::Run;

/// Runs tritonguard in `dir`; `as_nobody` drops root privileges first (so that a mode 000
/// file really is unreadable).
fn tritonguard_in(dir: &Path, args: &[&str], as_nobody: bool) -> Run {
    let exe = env!("CARGO_BIN_EXE_tritonguard");
    // `nobody` may not reach the target folder (a checkout under a 0700 folder): run a copy.
    let staged = as_nobody.then(|| support::unprivileged::stage_executable(Path::new(exe)));
    let mut cmd = if let Some(staged) = &staged {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(&staged.exe);
        c
    } else {
        Command::new(exe)
    };
    let out = cmd
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start tritonguard: {e}"));
    Run::from(out)
}

fn tritonguard(dir: &Path, args: &[&str]) -> Run {
    tritonguard_in(dir, args, false)
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
                (r#""version": "\d+\.\d+\.\d+""#, r#""version": "[version]""#),
                (r#""semanticVersion": "\d+\.\d+\.\d+""#, r#""semanticVersion": "[version]""#),
                // Indices into the rule catalogue change whenever a rule is added.
                (r#""ruleIndex": \d+"#, r#""ruleIndex": "[index]""#),
            ],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// A temporary directory that other users may enter (for the privilege-dropped runs).
/// A temporary folder that `nobody` can reach too (see `support::unprivileged`).
fn workdir() -> tempfile::TempDir {
    support::unprivileged::world_tempdir("tg-repo-audit-")
}

/// Writes `path` (creating parents with mode 0755) with an explicit mode, whatever the umask.
fn put(root: &Path, path: &str, bytes: &[u8], mode: u32) {
    let full = root.join(path);
    mkdirs(full.parent().unwrap());
    fs::write(&full, bytes).unwrap();
    fs::set_permissions(&full, fs::Permissions::from_mode(mode)).unwrap();
}

fn mkdirs(dir: &Path) {
    if dir.exists() {
        return;
    }
    mkdirs(dir.parent().unwrap());
    fs::create_dir(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn config(name: &str, platform: &str) -> Vec<u8> {
    format!("name: \"{name}\"\n{platform}\nmax_batch_size: 8\n").into_bytes()
}

/// ONNX's first bytes (ir_version 7, producer "pytorch"): not a pickle.
const ONNX: &[u8] = b"\x08\x07\x12\x07pytorch";

/// The bytes of a stored torch.save-style archive around a generated pickle.
fn torch_zip(g: &support::Generated, case: &str) -> Vec<u8> {
    torch_zip_as(g, case, "stored")
}

/// The archive in `mode` (see `support/torchzip.py`). Tests run in parallel and
/// `torch_zip` writes to one shared path per case and mode, so writing and reading take
/// turns.
fn torch_zip_as(g: &support::Generated, case: &str, mode: &str) -> Vec<u8> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    fs::read(g.torch_zip(case, mode)).unwrap()
}

/// A repository with one model of each kind, and one problem of each kind:
///
/// - `densenet_onnx`: clean;
/// - `resnet_torch`: a torch.save zip with only allow-listed globals (TG602 low);
/// - `text_python`: world-writable (TG601), a group-writable config (TG606), and a
///   tokenizer pickle that calls `os.system` (TG602 critical);
/// - `tampered`: a torch.save zip whose data.pkl calls `os.system` (TG602 critical, with
///   the archive member and the file offset), and a version linked from outside (TG607);
/// - `broken`: a truncated pickle (TG600 at the cut, and TG602 for what came before it).
fn build_repository(root: &Path) {
    let g = support::generated("repo-audit");
    mkdirs(root);
    put(
        root,
        "densenet_onnx/config.pbtxt",
        &config("densenet_onnx", "platform: \"onnxruntime_onnx\""),
        0o644,
    );
    put(root, "densenet_onnx/1/model.onnx", ONNX, 0o644);
    put(
        root,
        "resnet_torch/config.pbtxt",
        &config("resnet_torch", "platform: \"pytorch_libtorch\""),
        0o644,
    );
    let safe_zip = torch_zip(g, "torch_data");
    put(root, "resnet_torch/1/model.pt", &safe_zip, 0o644);
    put(
        root,
        "text_python/config.pbtxt",
        &config("text_python", "backend: \"python\""),
        0o664,
    );
    put(
        root,
        "text_python/1/model.py",
        b"import pickle\n\nTOKENIZER = pickle.load(open('tokenizer.pkl', 'rb'))\n",
        0o644,
    );
    put(
        root,
        "text_python/1/tokenizer.pkl",
        &g.bytes("os_system_p2"),
        0o644,
    );
    chmod(&root.join("text_python"), 0o777);
    put(
        root,
        "tampered/config.pbtxt",
        &config("tampered", "platform: \"pytorch_libtorch\""),
        0o644,
    );
    let evil_zip = torch_zip(g, "torch_data_evil");
    put(root, "tampered/1/model.pt", &evil_zip, 0o644);
    symlink("/srv/shared-models/tampered/2", root.join("tampered/2")).unwrap();
    put(
        root,
        "broken/config.pbtxt",
        &config("broken", "backend: \"python\""),
        0o644,
    );
    let torch_data = g.bytes("torch_data");
    put(root, "broken/1/state.pkl", &torch_data[..60], 0o644);
}

#[test]
fn audit_report_human_and_sarif() {
    let dir = workdir();
    build_repository(&dir.path().join("models"));
    let human = tritonguard(dir.path(), &["repo", "audit", "models"]);
    assert_eq!(human.code, 1, "{}{}", human.stdout, human.stderr);
    snapshot!("repo_audit_human", human.stdout);

    let sarif = tritonguard(
        dir.path(),
        &["repo", "audit", "models", "--format", "sarif"],
    );
    assert_eq!(sarif.code, 1, "{}", sarif.stderr);
    let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
    // Only the results: the rule catalogue is pinned by the check SARIF snapshot.
    let run = &log["runs"][0];
    let pinned = serde_json::json!({
        "automationDetails": run["automationDetails"],
        "results": run["results"],
        "notifications": run["invocations"][0]["toolExecutionNotifications"],
    });
    snapshot!(
        "repo_audit_sarif_results",
        serde_json::to_string_pretty(&pinned).unwrap()
    );
    let path = dir.path().join("audit.sarif");
    fs::write(&path, &sarif.stdout).unwrap();
    support::sarif::validate_sarif(&path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn sarif_regions_of_binary_files_carry_the_byte_range_of_the_global() {
    let dir = workdir();
    let root = dir.path().join("models");
    build_repository(&root);
    let run = tritonguard(
        dir.path(),
        &[
            "repo", "audit", "models", "--format", "sarif", "--select", "TG602",
        ],
    );
    let log: Value = serde_json::from_str(&run.stdout).unwrap();
    let result = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "models/tampered/1/model.pt"
        })
        .unwrap();
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 1, "GitHub requires a start line");
    assert!(region.get("startColumn").is_none(), "{region}");
    let offset = usize::try_from(region["byteOffset"].as_u64().unwrap()).unwrap();
    let length = usize::try_from(region["byteLength"].as_u64().unwrap()).unwrap();
    let bytes = fs::read(root.join("tampered/1/model.pt")).unwrap();
    assert_eq!(&bytes[offset..offset + length], b"cposix\nsystem\n");
    assert_eq!(result["level"], "error");
}

#[test]
fn severities_of_the_pickle_rule_and_fail_on() {
    let dir = workdir();
    let root = dir.path().join("models");
    build_repository(&root);
    let run = tritonguard(
        dir.path(),
        &[
            "repo", "audit", "models", "--format", "json", "--select", "TG602",
        ],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("models/broken/1/state.pkl".to_string(), "low".to_string()),
            ("models/resnet_torch/1/model.pt".into(), "low".into()),
            ("models/tampered/1/model.pt".into(), "critical".into()),
            (
                "models/text_python/1/tokenizer.pkl".into(),
                "critical".into()
            ),
        ]
    );
    assert_eq!(report["summary"]["models"], 5);

    // Only the safe torch model: low, so clean at --fail-on medium.
    let only_safe = dir.path().join("safe");
    mkdirs(&only_safe);
    fs::rename(root.join("resnet_torch"), only_safe.join("resnet_torch")).unwrap();
    let low = tritonguard(dir.path(), &["repo", "audit", "safe", "-q"]);
    assert_eq!(low.code, 1, "{}", low.stdout);
    let medium = tritonguard(
        dir.path(),
        &["repo", "audit", "safe", "--fail-on", "medium"],
    );
    assert_eq!(medium.code, 0, "{}", medium.stdout);
    assert!(
        medium
            .stdout
            .contains("safe: 2 files, 1 model, 2 findings (2 low)"),
        "{}",
        medium.stdout
    );
}

#[test]
fn usage_errors_exit_two() {
    let dir = workdir();
    let no_dir = tritonguard(dir.path(), &["repo", "audit"]);
    assert_eq!(no_dir.code, 2);
    assert!(no_dir.stderr.contains("<DIR>"), "{}", no_dir.stderr);
    let missing = tritonguard(dir.path(), &["repo", "audit", "nowhere"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("cannot read repository root nowhere"),
        "{}",
        missing.stderr
    );
    put(dir.path(), "afile", b"x", 0o644);
    let not_a_dir = tritonguard(dir.path(), &["repo", "audit", "afile"]);
    assert_eq!(not_a_dir.code, 2, "{}", not_a_dir.stderr);
    mkdirs(&dir.path().join("empty"));
    let bad_lock = tritonguard(
        dir.path(),
        &["repo", "audit", "empty", "--lock", "missing.lock"],
    );
    assert_eq!(bad_lock.code, 2);
    assert!(
        bad_lock
            .stderr
            .contains("cannot read lock file missing.lock"),
        "{}",
        bad_lock.stderr
    );
    let unknown_rule = tritonguard(dir.path(), &["repo", "audit", "empty", "--ignore", "TG699"]);
    assert_eq!(unknown_rule.code, 2);
    let lock_missing_dir = tritonguard(dir.path(), &["repo", "lock", "nowhere"]);
    assert_eq!(lock_missing_dir.code, 2);
    // An empty repository is clean, and says that it has no lock.
    let empty = tritonguard(dir.path(), &["repo", "audit", "empty"]);
    assert_eq!(empty.code, 0, "{}", empty.stdout);
    assert!(
        empty.stdout.contains("note: empty: no lock file"),
        "{}",
        empty.stdout
    );
}

/// The JSON findings as (rule, file, line).
fn located(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["file"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// 1-based line of `path`'s entry in a lock file.
fn lock_line(lock: &str, path: &str) -> u64 {
    let at = lock
        .lines()
        .position(|l| l.ends_with(&format!("  {path}")))
        .unwrap();
    u64::try_from(at + 1).unwrap()
}

#[test]
fn lock_round_trip_reports_changed_missing_and_added_files_at_the_lock_lines() {
    let dir = workdir();
    let root = dir.path().join("models");
    build_repository(&root);
    let lock = tritonguard(dir.path(), &["repo", "lock", "models"]);
    assert_eq!(lock.code, 0, "{}", lock.stderr);
    assert!(
        lock.stderr
            .contains("wrote models/tritonguard.lock: 11 files"),
        "{}",
        lock.stderr
    );
    let text = fs::read_to_string(root.join("tritonguard.lock")).unwrap();
    assert!(
        !text.lines().any(|l| l.ends_with("  tritonguard.lock")),
        "the lock locks itself:\n{text}"
    );
    // GNU sha256sum verifies it as it is.
    let verified = Command::new("sha256sum")
        .args(["--strict", "-c", "tritonguard.lock"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");

    // Nothing changed: no drift, and the lock was found by itself.
    let clean = tritonguard(
        dir.path(),
        &["repo", "audit", "models", "--select", "TG603,TG604,TG605"],
    );
    assert_eq!(clean.code, 0, "{}", clean.stdout);
    assert!(
        clean
            .stdout
            .contains("note: models/tritonguard.lock: 11 lock entries compared"),
        "{}",
        clean.stdout
    );

    fs::write(root.join("densenet_onnx/1/model.onnx"), b"retrained").unwrap();
    fs::remove_file(root.join("resnet_torch/1/model.pt")).unwrap();
    put(&root, "densenet_onnx/2/model.onnx", ONNX, 0o644);
    let drift = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--select",
            "TG603,TG604,TG605",
            "--format",
            "json",
        ],
    );
    assert_eq!(drift.code, 1, "{}", drift.stderr);
    let report: Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(
        located(&report),
        [
            (
                "TG605".to_string(),
                "models/densenet_onnx/2/model.onnx".to_string(),
                1
            ),
            (
                "TG603".into(),
                "models/tritonguard.lock".into(),
                lock_line(&text, "densenet_onnx/1/model.onnx")
            ),
            (
                "TG604".into(),
                "models/tritonguard.lock".into(),
                lock_line(&text, "resnet_torch/1/model.pt")
            ),
        ]
    );

    // --lock elsewhere, and --no-lock.
    fs::rename(
        root.join("tritonguard.lock"),
        dir.path().join("models.lock"),
    )
    .unwrap();
    let elsewhere = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--lock",
            "models.lock",
            "--select",
            "TG603,TG604,TG605",
            "-q",
        ],
    );
    assert!(
        elsewhere.stdout.contains("3 findings (2 high, 1 medium)"),
        "{}",
        elsewhere.stdout
    );
    fs::copy(
        dir.path().join("models.lock"),
        root.join("tritonguard.lock"),
    )
    .unwrap();
    let no_lock = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--no-lock",
            "--select",
            "TG603,TG604,TG605",
        ],
    );
    assert_eq!(no_lock.code, 0, "{}", no_lock.stdout);

    // `--output -` prints the lock.
    let printed = tritonguard(dir.path(), &["repo", "lock", "models", "--output", "-"]);
    assert_eq!(printed.code, 0);
    assert!(printed.stdout.starts_with("# tritonguard lock v1\n"));
    assert!(printed.stdout.contains("  densenet_onnx/2/model.onnx\n"));
}

#[test]
fn malformed_lock_lines_are_positioned_and_the_rest_is_compared() {
    let dir = workdir();
    let root = dir.path().join("models");
    put(&root, "m/config.pbtxt", b"name: \"m\"\n", 0o644);
    put(&root, "m/1/model.onnx", ONNX, 0o644);
    let listed = tritonguard(dir.path(), &["repo", "lock", "models", "--output", "-"]);
    let mut lock = listed.stdout.clone();
    lock.push_str("this is not a checksum line\n");
    lock.push_str(&format!("{}  ../outside\n", "0".repeat(64)));
    fs::write(root.join("tritonguard.lock"), &lock).unwrap();
    let run = tritonguard(dir.path(), &["repo", "audit", "models", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = u64::try_from(lock.lines().count()).unwrap();
    assert_eq!(
        located(&report),
        [
            (
                "TG600".to_string(),
                "models/tritonguard.lock".to_string(),
                lines - 1
            ),
            ("TG600".into(), "models/tritonguard.lock".into(), lines),
        ]
    );
}

fn running_as_root(dir: &Path) -> bool {
    fs::metadata(dir).unwrap().uid() == 0
}

#[test]
fn unreadable_files_and_truncated_pickles_do_not_stop_the_audit() {
    let dir = workdir();
    let root = dir.path().join("models");
    let g = support::generated("repo-audit");
    put(&root, "a_model/config.pbtxt", b"name: \"a_model\"\n", 0o644);
    put(
        &root,
        "a_model/1/model.pkl",
        &g.bytes("os_system_p4"),
        0o000,
    );
    put(&root, "b_model/config.pbtxt", b"name: \"b_model\"\n", 0o644);
    let torch_data = g.bytes("torch_data");
    put(&root, "b_model/1/model.pkl", &torch_data[..100], 0o644);
    put(&root, "c_model/config.pbtxt", b"name: \"c_model\"\n", 0o644);
    put(
        &root,
        "c_model/1/model.pkl",
        &g.bytes("os_system_p2"),
        0o644,
    );
    mkdirs(&root.join("d_model/1"));
    chmod(&root.join("d_model/1"), 0o000);

    // Root reads anything; drop to `nobody` so that mode 000 means what it says.
    let as_nobody = running_as_root(dir.path());
    if as_nobody && Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("skipped: unreadable_files...: running as root without setpriv");
        return;
    }
    let run = tritonguard_in(
        dir.path(),
        &["repo", "audit", "models", "--format", "json", "--no-lock"],
        as_nobody,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(String, String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["location"]["file"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let summary: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|(r, s, f, _)| (r.as_str(), s.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("TG600", "medium", "models/a_model/1/model.pkl"),
            ("TG602", "low", "models/b_model/1/model.pkl"),
            ("TG600", "medium", "models/b_model/1/model.pkl"),
            ("TG602", "critical", "models/c_model/1/model.pkl"),
            ("TG600", "medium", "models/d_model/1"),
        ],
        "{found:#?}"
    );
    assert!(found[0].3.contains("Permission denied"), "{}", found[0].3);
    assert!(found[2].3.contains("truncated"), "{}", found[2].3);
    assert!(
        found[4].3.contains("cannot list directory"),
        "{}",
        found[4].3
    );
    // The truncated pickle's error is placed at the opcode that was cut.
    let cut = &report["findings"][2]["location"];
    assert_eq!(cut["byte_offset"], 98, "{cut}");
    chmod(&root.join("d_model/1"), 0o755);
}

#[test]
fn config_rules_run_on_the_repository_configs_and_merge_into_one_report() {
    let dir = workdir();
    let root = dir.path().join("models");
    put(
        &root,
        "good/config.pbtxt",
        b"name: \"good\"\nmax_batch_size: 8\n",
        0o644,
    );
    put(
        &root,
        "unbounded/config.pbtxt",
        b"name: \"unbounded\"\nbackend: \"python\"\n",
        0o644,
    );
    // Not UTF-8: the check pipeline's TG000, at the first bad byte.
    put(&root, "latin1/config.pbtxt", b"name: \"caf\xe9\"\n", 0o644);
    put(
        &root,
        "unbounded/1/model.pkl",
        b"cos\nsystem\n(S'id'\ntR.",
        0o644,
    );
    let policies = dir.path().join("policies");
    put(
        &policies,
        "X900-batch-size-unset.yaml",
        br#"id: X900
name: batch-size-unset
severity: low
subject: pbtxt
summary: max_batch_size is not set
description: A test policy on config.pbtxt.
remediation: Set max_batch_size.
assert: has(config.max_batch_size)
message: "'max_batch_size is not set in ' + model.name"
at: config.name
tests:
  - name: unset
    input: {path: m/config.pbtxt, text: "name: \"m\"\n"}
    expect: [X900]
  - name: set
    input: {path: m/config.pbtxt, text: "name: \"m\"\nmax_batch_size: 1\n"}
    expect: []
"#,
        0o644,
    );
    let run = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--policy-dir",
            "policies",
            "--select",
            "X900,TG000,TG602",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        located(&report),
        [
            (
                "TG000".to_string(),
                "models/latin1/config.pbtxt".to_string(),
                1
            ),
            ("TG602".into(), "models/unbounded/1/model.pkl".into(), 1),
            ("X900".into(), "models/unbounded/config.pbtxt".into(), 1),
        ]
    );
    assert_eq!(
        report["findings"][2]["message"],
        "max_batch_size is not set in unbounded"
    );
}

#[test]
fn world_writable_and_group_writable_entries() {
    let dir = workdir();
    let root = dir.path().join("models");
    put(&root, "m/config.pbtxt", b"name: \"m\"\n", 0o664);
    put(&root, "m/1/model.onnx", ONNX, 0o666);
    put(&root, "m/1/model.py", b"import os\n", 0o646);
    chmod(&root, 0o1777);
    let run = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--format",
            "json",
            "--select",
            "TG601,TG606",
        ],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["file"].as_str().unwrap().to_string(),
                f["location"]["label"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "TG601".to_string(),
                "models".to_string(),
                "mode 1777 (drwxrwxrwt)".to_string()
            ),
            (
                "TG601".into(),
                "models/m/1/model.onnx".into(),
                "mode 0666 (-rw-rw-rw-)".into()
            ),
            (
                "TG601".into(),
                "models/m/1/model.py".into(),
                "mode 0646 (-rw-r--rw-)".into()
            ),
            (
                "TG606".into(),
                "models/m/config.pbtxt".into(),
                "mode 0664 (-rw-rw-r--)".into()
            ),
        ]
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].starts_with("world-writable model repository directory"));
    assert!(messages[2].contains("change code that runs inside the server"));
}

#[test]
fn a_lock_written_inside_the_repository_leaves_itself_out() {
    // `repo lock` writes inside the repository by default and leaves itself out; a lock
    // written elsewhere locks everything.
    let dir = workdir();
    let root = dir.path().join("models");
    put(&root, "m/config.pbtxt", b"name: \"m\"\n", 0o644);
    let outside = tritonguard(
        dir.path(),
        &["repo", "lock", "models", "--output", "outside.lock"],
    );
    assert_eq!(outside.code, 0, "{}", outside.stderr);
    let text = fs::read_to_string(dir.path().join("outside.lock")).unwrap();
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 1);
    let inside = PathBuf::from("models/custom.lock");
    let run = tritonguard(
        dir.path(),
        &[
            "repo",
            "lock",
            "models",
            "--output",
            inside.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0);
    let text = fs::read_to_string(dir.path().join(&inside)).unwrap();
    assert!(!text.lines().any(|l| l.ends_with("custom.lock")), "{text}");
}

#[test]
fn example_repository_matches_its_lock_and_shows_both_pickle_severities() {
    // Permissions depend on the checkout's umask, so the permission rules are left out.
    let run = tritonguard(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "repo",
            "audit",
            "examples/models",
            "--ignore",
            "TG601,TG606",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("repo_audit_examples_human", run.stdout);
}

#[test]
fn torchscript_archives_and_deflated_members() {
    let g = support::generated("repo-audit");
    let dir = workdir();
    let root = dir.path().join("models");
    put(
        &root,
        "a_script/1/model.pt",
        &torch_zip_as(g, "torch_data", "torchscript"),
        0o644,
    );
    put(
        &root,
        "b_script_evil/1/model.pt",
        &torch_zip_as(g, "torch_data_evil", "torchscript"),
        0o644,
    );
    put(
        &root,
        "c_deflated_evil/1/model.pt",
        &torch_zip_as(g, "torch_data_evil", "deflated"),
        0o644,
    );
    let run = tritonguard(
        dir.path(),
        &[
            "repo", "audit", "models", "--select", "TG602", "--format", "json",
        ],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(&str, &str, &str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["location"]["label"].as_str().unwrap(),
                f["location"]["byte_offset"].as_u64().unwrap(),
            )
        })
        .collect();
    // A TorchScript archive with allow-listed globals only is not reported: TorchScript's
    // own unpickler reads it. A dangerous global is, wherever it is.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].0, "models/b_script_evil/1/model.pt");
    assert_eq!(found[0].1, "critical");
    // Deflated: the offset counts uncompressed bytes of the member, and says so.
    assert_eq!(found[1].0, "models/c_deflated_evil/1/model.pt");
    assert_eq!(
        found[1].2,
        "(archive/data.pkl) offset 0xf0 of the uncompressed member: GLOBAL posix.system"
    );
    assert_eq!(found[1].3, 0);
}

#[test]
fn a_pickle_beyond_the_scanner_limits_is_reported_high_not_skipped() {
    use tritonguard::audit::{AuditRequest, audit_repository};
    let dir = workdir();
    let root = dir.path().join("models");
    // Seven values on the stack: more than the limit of three set below.
    put(&root, "deep/1/a.pkl", b"(I1\nI2\nI3\nI4\nI5\nI6\nl.", 0o644);
    // os.system comes first; the limit stops the scan in its arguments.
    put(
        &root,
        "deep/1/b.pkl",
        b"cos\nsystem\n(I1\nI2\nI3\nI4\ntR.",
        0o644,
    );
    let catalogue = tritonguard::evaluate::policy::Catalogue::load(&[], true).unwrap();
    let mut request = AuditRequest::new(root.clone());
    request.base = dir.path().to_path_buf();
    request.scan.pickle.max_stack = 3;
    let result = audit_repository(&catalogue, &request, &|p| p.spec.id == "TG602").unwrap();
    let found: Vec<(String, String, String)> = result
        .findings
        .iter()
        .map(|f| {
            (
                f.severity.to_string(),
                f.message.clone(),
                f.notes.join("; "),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].0, "high");
    assert!(
        found[0].1.contains("could not be scanned to its end"),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, "critical");
    assert!(found[1].1.contains("imports os.system"), "{}", found[1].1);
    assert!(found[1].2.contains("the scan stopped"), "{}", found[1].2);
}

#[test]
fn the_configuration_applies_to_the_audit_as_to_check() {
    // `.tritonguard.yaml` above the repository: an ignored rule, a severity override, a
    // path-scoped ignore, fail-on; and an inline ignore in a config.pbtxt.
    let dir = workdir();
    let root = dir.path().join("models");
    put(
        &root,
        "unbounded/config.pbtxt",
        b"name: \"unbounded\"\nbackend: \"python\"\n",
        0o644,
    );
    put(
        &root,
        "quiet/config.pbtxt",
        b"# tritonguard:ignore[TG502] reviewed model.py\nname: \"quiet\"\nbackend: \"python\"\n",
        0o644,
    );
    put(
        &root,
        "unbounded/1/model.pkl",
        b"cos\nsystem\n(S'id'\ntR.",
        0o644,
    );
    put(
        &root,
        "vendored/1/model.pkl",
        b"cos\nsystem\n(S'id'\ntR.",
        0o644,
    );
    put(
        &root,
        "vendored/config.pbtxt",
        b"name: \"vendored\"\nmax_batch_size: 8\n",
        0o644,
    );
    chmod(&root.join("unbounded"), 0o777);
    let config = "fail-on: high\nignore: [TG601]\nseverity: {TG502: info}\nignores:\n  - rules: [TG602]\n    paths: [\"models/vendored/**\"]\n    reason: scanned upstream\n";
    put(dir.path(), ".tritonguard.yaml", config.as_bytes(), 0o644);
    let active = |report: &Value| -> Vec<(String, String, String)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("suppression").is_none_or(Value::is_null))
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap_or_default().to_string(),
                    f["location"]["file"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    f["severity"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let run = tritonguard(dir.path(), &["repo", "audit", "models", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let got = active(&report);
    assert!(
        got.iter().all(|(id, _, _)| id != "TG601"),
        "TG601 is ignored: {got:?}"
    );
    assert!(
        got.contains(&(
            "TG502".to_string(),
            "models/unbounded/config.pbtxt".to_string(),
            "info".to_string()
        )),
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|(id, path, _)| id == "TG502" && path.contains("quiet")),
        "the inline ignore holds: {got:?}"
    );
    assert!(
        got.iter()
            .any(|(id, path, _)| id == "TG602" && path.contains("unbounded")),
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|(id, path, _)| id == "TG602" && path.contains("vendored")),
        "the path-scoped ignore holds: {got:?}"
    );
    // fail-on: high from the file; only the info and low findings left once TG602 is
    // ignored too, so the audit passes.
    let run = tritonguard(
        dir.path(),
        &[
            "repo", "audit", "models", "--ignore", "TG602", "--format", "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // --no-config: every rule at its own severity again.
    let run = tritonguard(
        dir.path(),
        &["repo", "audit", "models", "--no-config", "--format", "json"],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let got = active(&report);
    assert!(got.iter().any(|(id, _, _)| id == "TG601"), "{got:?}");
    assert!(
        got.iter().any(|(id, _, sev)| id == "TG502" && sev == "low"),
        "{got:?}"
    );
    // --config names another file.
    put(dir.path(), "other.yaml", b"select: [TG502]\n", 0o644);
    let run = tritonguard(
        dir.path(),
        &[
            "repo",
            "audit",
            "models",
            "--config",
            "other.yaml",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<String> = active(&report).into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, ["TG502"], "{}", run.stderr);
}
