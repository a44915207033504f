//! tritonguard's reading of tritonserver's command line against the real 2.51 server: for
//! each argv, tritonguard reports TG103 exactly when the server refuses to start because of
//! its arguments. (The server is pointed at a missing model repository, so an argv it
//! accepts fails later, at start-up, with a different message.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::tools::{HELM_PYTHON, TRITONSERVER, require_tool};
use support::tritonserver::Triton;
use tritonguard::model::server::{ArgWord, parse_server_args};

const CASES: &[&[&str]] = &[
    &["--model-control-mod=explicit"],
    &["--model-control-mode=EXPLICIT"],
    &["--model-contrl-mode=explicit"],
    &["--model=x"],
    &["--allow-metric=false"],
    &["--allow-metrics=maybe"],
    &["--allow-metrics=OFF"],
    &["--disable-auto-complete-config=true"],
    &["stray-argument"],
    &["-v"],
    &["--log-format=iso8601"],
    &["--log-format=ISO8601"],
    &["--log-verbose=true"],
    &["--http-port=8000abc"],
    &["--http-port=abc"],
    &["--http-restricted-api=logging,admin-key=x"],
    &["--http-restricted-api=Logging:admin-key=x"],
    &["--http-restricted-api=logging:admin-key=x"],
    &["--grpc-restricted-protocol=model-repository,logging:k=v"],
    &["--rate-limit=execution_count"],
    &["--rate-limit=fast"],
    &["--model-store=/also-missing"],
    &["--strict-readiness", "false"],
    &["--exit-on-error"],
    &["--trace-config=level=foo"],
    &["--trace-config=level=TIMESTAMPS"],
    &["--trace-config=triton,file=/tmp/t.json"],
    &["--trace-config=rate"],
    &["--metrics-config=summary_latencies"],
    &["--metrics-config=summary_latencies=true"],
    &["--cache-config=local"],
    &["--cache-config=local,size=1048576"],
    &["--backend-config=python"],
    &["--backend-config=python,shm-default-byte-size=1048576"],
    &["--host-policy=numa"],
    &["--rate-limit-resource=R1"],
    &["--rate-limit-resource=R1:10:0"],
    &["--cuda-memory-pool-byte-size=0"],
    &["--cuda-memory-pool-byte-size=0:1024"],
    &["--model-load-gpu-limit=0.5"],
    &["--model-load-gpu-limit=0:0.5"],
    &["--sagemaker-safe-port-range=8000"],
    &["--sagemaker-safe-port-range=8000-8010"],
    &["--metrics-interval-ms=abc"],
    &["--min-supported-compute-capability=abc"],
    &["--grpc-infer-response-compression-level=LOW"],
    &[
        "--response-cache-byte-size=1024",
        "--cache-config=local,size=1024",
    ],
    // Arguments a YAML-embedded shell script can produce (issue 15, item 1).
    &[""],
    &[" "],
    &[" --allow-metrics=false"],
    &["\n--allow-metrics=false"],
];

/// The server's own parse failures print its usage or one of these messages.
fn refused_arguments(stderr: &str) -> bool {
    [
        "unrecognized option",
        "is ambiguous",
        "Bad option",
        "requires an argument",
        "doesn't allow an argument",
        "Unexpected argument",
        "invalid option",
        "Usage:",
    ]
    .iter()
    .any(|m| stderr.contains(m))
}

#[test]
fn tg103_agrees_with_the_real_server_on_every_argv() {
    let Some(_) = require_tool(TRITONSERVER) else {
        return;
    };
    let triton = Triton::from_env().expect("tritonserver is available");
    let mut disagreements = Vec::new();
    for case in CASES {
        // The missing repository comes first, so a flag that takes a value cannot swallow it.
        let mut args = vec!["--model-repository=/nonexistent-tritonguard-repo"];
        args.extend_from_slice(case);
        let exited = triton
            .run_to_exit(&args, Duration::from_secs(60))
            .expect("tritonserver runs");
        let output = format!("{}{}", exited.stdout, exited.stderr);
        let server_refused = refused_arguments(&output);
        assert!(
            exited.code() != Some(0),
            "{case:?}: the server cannot start without its repository"
        );
        let words: Vec<ArgWord> = args.iter().map(|a| ArgWord::new(*a, None)).collect();
        let server = parse_server_args(&words, None, &BTreeMap::new());
        let tritonguard_refused = !server.invalid_flags.is_empty();
        if server_refused != tritonguard_refused {
            disagreements.push(format!(
                "{case:?}: server refused={server_refused}, tritonguard TG103={tritonguard_refused}\n  server said: {}",
                output.lines().take(3).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The `bash -c` scripts of the YAML fixtures, decoded by PyYAML (not by tritonguard) and run
/// by bash with the real tritonserver first on `PATH`: the server refuses its arguments exactly
/// when tritonguard reports TG103 for the fixture.
#[test]
fn yaml_shell_scripts_agree_with_bash_and_the_real_server() {
    let Some(_) = require_tool(TRITONSERVER) else {
        return;
    };
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let triton = Triton::from_env().expect("tritonserver is available");
    let bin_dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&triton.bin, bin_dir.path().join("tritonserver")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/accuracy/continuations");
    let catalogue = tritonguard::evaluate::policy::Catalogue::load(&[], true)
        .unwrap_or_else(|_| panic!("policies load"));
    let mut disagreements = Vec::new();
    for name in [
        "literal-block.yaml",
        "folded-block.yaml",
        "folded-more-indented.yaml",
        "space-after-backslash.yaml",
    ] {
        let path = root.join(name);
        let decoded = std::process::Command::new(&python)
            .args([
                "-c",
                "import sys, yaml\n\
                 d = yaml.safe_load(open(sys.argv[1]))\n\
                 spec = d['spec'].get('template', {}).get('spec', d['spec'])\n\
                 c = spec['containers'][0]\n\
                 argv = c.get('command', []) + c.get('args', [])\n\
                 sys.stdout.write(argv[argv.index('-c') + 1])",
            ])
            .arg(&path)
            .output()
            .expect("python runs");
        assert!(
            decoded.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&decoded.stderr)
        );
        let script = String::from_utf8(decoded.stdout).unwrap();
        let path_var = std::env::join_paths(
            [bin_dir.path().to_path_buf(), triton.venv_bin.clone()]
                .into_iter()
                .chain(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                )),
        )
        .unwrap();
        let out = std::process::Command::new("timeout")
            .args([
                "60",
                "bash",
                "-c",
                &script.replace("exec tritonserver", "tritonserver"),
            ])
            .env("PATH", path_var)
            .current_dir(bin_dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("bash runs");
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let server_refused = refused_arguments(&output);
        let mut request = tritonguard::load::Request::new(vec![path.clone()]);
        request.base = root.clone();
        let result = tritonguard::pipeline::scan(&catalogue, &request, &|_| true);
        let tg103 = result.findings.iter().any(|f| f.rule_id == "TG103");
        if server_refused != tg103 {
            disagreements.push(format!(
                "{name}: server refused={server_refused}, tritonguard TG103={tg103}\n  server said: {}",
                output.lines().filter(|l| !l.starts_with([' ', '\t'])).take(4).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
