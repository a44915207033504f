//! What TG802 and TG803 claim about Triton, checked on the real tritonserver 2.51 (python
//! backend): a model's instance group on a GPU the container does not have fails to load and
//! the server exits, and a Python-backend model whose shared-memory region does not fit in
//! `/dev/shm` fails to load with the message that points Docker users at `--shm-size`.
//!
//! Needs the tools of `scripts/tools.sh` (skipped without them outside CI). The GPU test
//! runs only on a machine without NVIDIA GPUs; the /dev/shm test only as root where
//! `unshare -m` works (it mounts a 64 MiB tmpfs on /dev/shm in a mount namespace of its own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::tritonserver::{ModelRepo, Triton, free_port, identity_config};

fn loopback_args() -> Vec<String> {
    let (http, grpc, metrics) = (
        free_port().unwrap(),
        free_port().unwrap(),
        free_port().unwrap(),
    );
    vec![
        format!("--http-port={http}"),
        format!("--grpc-port={grpc}"),
        format!("--metrics-port={metrics}"),
        "--http-address=127.0.0.1".into(),
        "--grpc-address=127.0.0.1".into(),
        "--metrics-address=127.0.0.1".into(),
    ]
}

fn server_args(triton: &Triton, repo: &Path) -> Vec<String> {
    let mut args = vec![
        format!("--model-repository={}", repo.display()),
        format!("--backend-directory={}", triton.backends.display()),
    ];
    args.extend(loopback_args());
    args
}

/// An identity python model whose instance_group line is `group`.
fn repo_with_group(group: &str) -> ModelRepo {
    let repo = ModelRepo::new();
    let config = identity_config("identity_py")
        .replace("instance_group [ { kind: KIND_CPU, count: 1 } ]", group);
    assert!(config.contains(group));
    repo.add_model(
        "identity_py",
        Some(&config),
        support::tritonserver::IDENTITY_MODEL_PY,
    );
    repo
}

/// TG803: on a machine without GPUs, `kind: KIND_GPU`, and `gpus: [1]` with or without a
/// kind, fail to load; the server exits (exit-on-error) with the reason in its log.
#[test]
fn instance_groups_on_missing_gpus_fail_to_load_and_the_server_exits() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    if Path::new("/dev/nvidia0").exists() {
        eprintln!("skipped: this machine has an NVIDIA GPU");
        return;
    }
    let cases = [
        (
            "instance_group [ { kind: KIND_GPU, count: 1 } ]",
            "instance group identity_py_0 of model identity_py has kind KIND_GPU but no GPUs are available",
        ),
        (
            "instance_group [ { kind: KIND_GPU, count: 1, gpus: [ 1 ] } ]",
            "instance group identity_py_0 of model identity_py specifies invalid or unsupported gpu id 1",
        ),
        // model_config.proto says KIND_AUTO falls back to the CPU; 2.51 rejects it.
        (
            "instance_group [ { count: 1, gpus: [ 1 ] } ]",
            "instance group identity_py_0 of model identity_py has kind KIND_CPU but specifies one or more GPUs",
        ),
    ];
    for (group, error) in cases {
        let repo = repo_with_group(group);
        let args = server_args(&triton, repo.path());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = triton.run_to_exit(&args, Duration::from_secs(60)).unwrap();
        let log = format!("{}{}", run.stdout, run.stderr);
        assert!(
            run.code().is_some_and(|c| c != 0),
            "{group}: {:?}\n{log}",
            run.status
        );
        assert!(log.contains(error), "{group}: expected {error:?} in\n{log}");
        assert!(
            log.contains("error: creating server: Internal - failed to load all models"),
            "{log}"
        );
    }
    // Without a kind and without gpus, the model runs on the CPU.
    let repo = repo_with_group("instance_group [ { count: 1 } ]");
    let args = server_args(&triton, repo.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // This server keeps running: it is stopped when the time is up, its log read then.
    let run = triton.run_to_exit(&args, Duration::from_secs(15)).unwrap();
    let log = format!("{}{}", run.stdout, run.stderr);
    assert!(
        log.contains("TRITONBACKEND_ModelInstanceInitialize: identity_py_0_0 (CPU device 0)"),
        "{log}"
    );
}

/// Runs the server under `unshare -m` with a tmpfs of `size` on /dev/shm, to its exit.
fn run_with_shm(triton: &Triton, size: &str, args: &[String], timeout: Duration) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs /dev/shm && exec '{}' {}",
        triton.bin.display(),
        quoted.join(" ")
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![triton.venv_bin.clone()];
    dirs.extend(std::env::split_paths(&path));
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("err")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + timeout;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            // unshare and sh exec: the child is the server itself.
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = std::fs::read_to_string(&log).unwrap_or_default();
    let err = std::fs::read_to_string(dir.path().join("err")).unwrap_or_default();
    format!("{out}{err}")
}

/// TG802: a Python-backend instance whose shared-memory region does not fit in a 64 MiB
/// /dev/shm fails to load, with the message that tells Docker users to raise --shm-size.
#[test]
fn a_python_model_that_does_not_fit_in_64_mib_of_dev_shm_fails_to_load() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let can_unshare = Command::new("unshare")
        .args(["-m", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !can_unshare {
        eprintln!("skipped: needs root and unshare -m");
        return;
    }
    let repo = repo_with_group("instance_group [ { kind: KIND_CPU, count: 1 } ]");
    let mut args = server_args(&triton, repo.path());
    args.push("--backend-config=python,shm-default-byte-size=134217728".into());
    let log = run_with_shm(&triton, "64m", &args, Duration::from_secs(60));
    assert!(
        log.contains("to requested size (134217728 bytes). If you are running Triton inside docker, use '--shm-size' flag to control the shared memory region size. Each Python backend model instance requires at least 1 MB of shared memory. Error: No space left on device"),
        "{log}"
    );
    assert!(
        log.contains("error: creating server: Internal - failed to load all models"),
        "{log}"
    );
}
