//! Scale checks, ignored by default; run them in release mode:
//!
//! ```text
//! cargo test --release --test repo_bench -- --ignored --nocapture --test-threads=1
//! ```
//!
//! They assert what they scanned and print how long it took.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a benchmark reports its timings and fails loudly"
)]

mod support;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use tritonguard::repo::classify::Class;
use tritonguard::repo::format::Format;
use tritonguard::repo::hash::sha256_file;
use tritonguard::repo::{AuditOptions, audit};

/// Peak resident memory of this process (not of the Python child that generates fixtures).
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn bench_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// 1000 models, each a `config.pbtxt` and a torch.save archive (`1/model.pt`).
fn repository_of_1000_models(name: &str) -> PathBuf {
    let g = support::generated("bench");
    let archive = fs::read(g.torch_zip("torch_data", "stored")).unwrap();
    let root = bench_dir(name);
    for i in 0..1000 {
        let model = root.join(format!("model_{i:04}"));
        fs::create_dir_all(model.join("1")).unwrap();
        fs::write(
            model.join("config.pbtxt"),
            format!("name: \"model_{i:04}\"\nplatform: \"pytorch_libtorch\"\nmax_batch_size: 8\n"),
        )
        .unwrap();
        fs::write(model.join("1/model.pt"), &archive).unwrap();
    }
    root
}

#[test]
#[ignore = "benchmark: run with --release --ignored"]
fn audit_and_hash_a_repository_of_1000_models() {
    let root = repository_of_1000_models("bench-repo");
    let start = Instant::now();
    let a = audit(
        &root,
        &AuditOptions {
            hash: true,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(a.walk.models.len(), 1000);
    assert_eq!(a.files.len(), 2000);
    let archives: Vec<_> = a
        .files
        .iter()
        .filter(|f| f.scan.format == Format::TorchZip)
        .collect();
    assert_eq!(archives.len(), 1000);
    assert!(
        archives
            .iter()
            .all(|f| f.scan.streams[0].scan.worst() == Some(Class::Safe))
    );
    assert!(a.files.iter().all(|f| f.hash.is_some()));
    eprintln!(
        "audit (walk + scan + sha256) of 1000 models / 2000 files ({} KiB): {:.1} ms, peak RSS {} KiB",
        a.files.iter().map(|f| f.size).sum::<u64>() / 1024,
        elapsed.as_secs_f64() * 1000.0,
        peak_rss_kib()
    );
}

/// The commands end to end, as a user runs them: `repo lock`, then `repo audit` with the
/// lock (walk, pickle scan, hashes, lock comparison, the config.pbtxt rules on 1000
/// configs, findings and the JSON report).
#[test]
#[ignore = "benchmark: run with --release --ignored"]
fn repo_lock_and_repo_audit_commands_on_1000_models() {
    let root = repository_of_1000_models("bench-repo-cli");
    let run = |args: &[&str]| {
        let start = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tritonguard"))
            .args(args)
            .arg(&root)
            .output()
            .unwrap();
        (start.elapsed(), out)
    };
    let (lock_time, lock) = run(&["repo", "lock"]);
    assert_eq!(lock.status.code(), Some(0));
    let (audit_time, audit) = run(&["repo", "audit", "--format", "json"]);
    // Every archive is a pickle with allow-listed globals only (TG602, low) and every
    // config names a TorchScript platform (TG502, low): 2000 low findings.
    assert_eq!(audit.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(report["summary"]["models"], 1000);
    assert_eq!(report["summary"]["files"], 2000);
    assert_eq!(report["summary"]["by_severity"]["low"], 2000);
    assert_eq!(report["summary"]["findings"], 2000);
    let findings = report["findings"].as_array().unwrap();
    for rule in ["TG502", "TG602"] {
        let count = findings.iter().filter(|f| f["rule_id"] == rule).count();
        assert_eq!(count, 1000, "{rule}");
    }
    let (clean_time, clean) = run(&["repo", "audit", "--fail-on", "medium", "-q"]);
    assert_eq!(clean.status.code(), Some(0));
    eprintln!(
        "repo lock of 1000 models: {:.0} ms; repo audit --format json (with the lock): {:.0} ms; repo audit -q: {:.0} ms",
        lock_time.as_secs_f64() * 1000.0,
        audit_time.as_secs_f64() * 1000.0,
        clean_time.as_secs_f64() * 1000.0,
    );
}

#[test]
#[ignore = "benchmark: run with --release --ignored"]
fn hash_a_1_gib_file() {
    let dir = bench_dir("bench-hash");
    let path = dir.join("big.bin");
    let size: usize = 1 << 30;
    // Generated, not sparse: pseudo-random bytes (xorshift64), written once.
    {
        let mut out = std::io::BufWriter::new(fs::File::create(&path).unwrap());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..size / block.len() {
            for chunk in block.chunks_exact_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            std::io::Write::write_all(&mut out, &block).unwrap();
        }
    }
    let reference = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()
        .unwrap();
    let reference = String::from_utf8(reference.stdout).unwrap();
    for run in 1..=3 {
        let start = Instant::now();
        let h = sha256_file(&path).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(h.size, size as u64);
        assert_eq!(
            h.sha256.to_hex(),
            reference.split_whitespace().next().unwrap()
        );
        eprintln!(
            "sha256 of 1 GiB, run {run}: {:.2} s, {:.0} MiB/s",
            elapsed.as_secs_f64(),
            1024.0 / elapsed.as_secs_f64()
        );
    }
    eprintln!("peak RSS {} KiB", peak_rss_kib());
    fs::remove_file(&path).unwrap();
}
