//! `tritonguard probe` against real tritonserver 2.51 processes started with different
//! flags: the findings each configuration really has, the server's state unchanged by a
//! probe, `--watch` seeing a model loaded at run time, and the reports valid.
//!
//! Each test starts its own servers (they run in parallel); a server that fails to start
//! fails the test with its log. Without the TG_* tools the tests skip, except in CI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Run, tritonguard};
use support::tritonserver::{Endpoint, ModelRepo, Server, ServerOptions, Triton};

const ADMIN: &str = "model-repository,logging,shared-memory,trace,statistics:admin-key=s";

fn start(triton: &Triton, opts: ServerOptions) -> Server {
    triton
        .start(opts)
        .unwrap_or_else(|e| panic!("tritonserver did not start: {e}"))
}

fn probe_args(server: &Server, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "probe".to_string(),
        format!("http://{}", server.http),
        "--grpc".to_string(),
        server.grpc.to_string(),
    ];
    if !extra.contains(&"--metrics-url") {
        args.push("--metrics-url".to_string());
        args.push(format!("http://{}/metrics", server.metrics));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn probe(server: &Server, extra: &[&str]) -> Run {
    let args = probe_args(server, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    tritonguard(&refs)
}

/// Runs a JSON probe; returns the exit code and the report.
fn probe_json(server: &Server, extra: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(extra);
    let run = probe(server, &all);
    assert!(
        run.code == 0 || run.code == 1,
        "probe failed: {}{}",
        run.stdout,
        run.stderr
    );
    let json: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout));
    (run.code, json)
}

/// `(rule, where)` of every finding: where is `http`, `grpc` or `metrics`.
fn found(server: &Server, report: &Value) -> BTreeSet<(String, &'static str)> {
    let metrics = format!("http://{}", server.metrics);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["location"]["file"].as_str().unwrap();
            let place = if file.starts_with("grpc://") {
                "grpc"
            } else if file == metrics {
                "metrics"
            } else {
                "http"
            };
            (f["rule_id"].as_str().unwrap().to_string(), place)
        })
        .collect()
}

fn set(items: &[(&str, &'static str)]) -> BTreeSet<(String, &'static str)> {
    items.iter().map(|(r, p)| (r.to_string(), *p)).collect()
}

fn message(report: &Value, rule: &str, place_prefix: &str) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule_id"] == rule
                && f["location"]["file"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(place_prefix))
        })
        .map(|f| f["message"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {rule} at {place_prefix}: {report:#}"))
}

fn notes(report: &Value) -> String {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a probe must not change: the repository index, log and trace settings, loaded
/// models and their statistics, and the inference counters of the metrics page.
fn state(server: &Server, headers: &[(&str, &str)]) -> Vec<String> {
    let ask = |method: &str, path: &str| {
        let r = server.request(method, path, headers, None).unwrap();
        format!("{method} {path} -> {} {}", r.status, r.text())
    };
    let metrics = server.metrics().unwrap().text();
    let counters: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("nv_inference_") || l.starts_with("nv_model_load"))
        .collect();
    vec![
        ask("POST", "/v2/repository/index"),
        ask("GET", "/v2/logging"),
        ask("GET", "/v2/trace/setting"),
        ask("GET", "/v2/models/stats"),
        ask("GET", "/v2/systemsharedmemory/status"),
        ask("GET", "/v2/models/identity_py/ready"),
        counters.join("\n"),
    ]
}

#[test]
fn a_default_server_is_open_everywhere_and_a_probe_leaves_it_unchanged() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let server = start(&triton, ServerOptions::new(&repo));

    let before = state(&server, &[]);
    let (code, report) = probe_json(&server, &[]);
    let human = probe(&server, &["--color", "never"]);
    let sarif = probe(&server, &["--format", "sarif"]);
    let after = state(&server, &[]);
    assert_eq!(before, after, "the probe changed the server's state");

    assert_eq!(code, 1);
    assert_eq!(
        found(&server, &report),
        set(&[
            ("TG701", "grpc"),
            ("TG701", "http"),
            ("TG702", "grpc"),
            ("TG702", "http"),
            ("TG703", "metrics"),
            ("TG704", "http"),
            ("TG705", "http"),
            ("TG706", "http"),
            ("TG707", "http"),
            ("TG708", "http"),
            ("TG709", "http"),
        ]),
        "{report:#}"
    );
    let http = format!("http://{}", server.http);
    assert!(message(&report, "TG701", &http).contains("'identity_py'"));
    assert!(message(&report, "TG702", &http).contains("'identity_py'"));
    assert!(message(&report, "TG703", "http").contains("'identity_py'"));
    assert!(message(&report, "TG704", &http).contains("server 2.51.0 refuses a new log file path"));
    assert!(message(&report, "TG707", &http).contains("release 24.10"));
    assert!(message(&report, "TG708", &http).contains("Python backend"));
    assert!(message(&report, "TG709", &http).contains("'identity_py'"));
    assert_eq!(report["summary"]["models"], 1);
    assert_eq!(human.code, 1);
    assert!(
        human
            .stdout
            .contains(&format!("at {http} POST /v2/repository/index")),
        "{}",
        human.stdout
    );

    // SARIF: the server URL as the artifact, the request as a logical location.
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let index = results
        .iter()
        .find(|r| {
            r["ruleId"] == "TG702"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == http.as_str()
        })
        .expect("TG702 at the HTTP URL");
    assert_eq!(
        index["locations"][0]["logicalLocations"][0]["name"],
        "POST /v2/repository/index"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sarif");
    std::fs::write(&path, serde_json::to_string_pretty(&sarif).unwrap()).unwrap();
    if let Some(multitool) = support::tools::require_tool(support::tools::SARIF_MULTITOOL) {
        support::sarif::validate_sarif_with(&multitool, &path).unwrap();
    }
    if let Some(python) = support::tools::require_tool(support::tools::JSONSCHEMA_PYTHON) {
        let json_path = dir.path().join("probe.json");
        std::fs::write(&json_path, serde_json::to_string(&report).unwrap()).unwrap();
        let schema =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
        support::jsonschema::validate_json_file(&python, &schema, &json_path).unwrap();
    }
}

/// Reads the watch's stdout lines until one satisfies `want` or `timeout` passes.
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    timeout: Duration,
    seen: &mut Vec<String>,
    want: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("a watch line is not JSON ({e}): {line}"));
                assert!(
                    event["time"].is_string() && event["event"].is_string(),
                    "{line}"
                );
                if want(&event) {
                    return Some(event);
                }
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn http_restricted_but_grpc_open_is_reported_and_watch_sees_a_model_loaded() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[
            "--model-control-mode=explicit",
            &format!("--http-restricted-api={ADMIN}"),
        ]),
    );
    let (code, report) = probe_json(&server, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        found(&server, &report),
        set(&[
            ("TG701", "grpc"),
            ("TG701", "http"),
            ("TG702", "grpc"),
            ("TG703", "metrics"),
            ("TG707", "http"),
        ]),
        "{report:#}"
    );
    assert!(message(&report, "TG702", "grpc://").contains("although HTTP restricts it"));
    let notes = notes(&report);
    for api in [
        "model-repository API",
        "logging API",
        "trace API",
        "statistics API",
    ] {
        assert!(
            notes.contains(&format!("{api}: ")) && notes.contains("expects header 'admin-key'"),
            "{api} not noted as restricted: {notes}"
        );
    }
    // With the header, the probe sees what its holders can do.
    let (_, with_key) = probe_json(&server, &["--header", "admin-key: s", "--select", "TG702"]);
    assert_eq!(
        found(&server, &with_key),
        set(&[("TG702", "grpc"), ("TG702", "http")])
    );

    // --watch: load a model through the API and see it within one interval.
    let args = probe_args(&server, &["--watch", "1", "--format", "json"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let first = wait_for_line(&rx, Duration::from_secs(30), &mut seen, |e| {
        e["event"] == "finding" && e["rule"] == "TG702"
    });
    assert!(first.is_some(), "no initial finding: {seen:?}");
    let load = server
        .request(
            "POST",
            "/v2/repository/models/identity_py/load",
            &[("admin-key", "s")],
            None,
        )
        .unwrap();
    assert_eq!(load.status, 200, "{}", load.text());
    let loaded_at = Instant::now();
    let event = wait_for_line(&rx, Duration::from_secs(20), &mut seen, |e| {
        e["event"] == "model-loaded" && e["model"] == "identity_py"
    });
    let waited = loaded_at.elapsed();
    assert!(event.is_some(), "no model-loaded event: {seen:?}");
    // One interval (1 s) plus the time of one probe.
    assert!(waited < Duration::from_secs(4), "seen after {waited:?}");

    // Ctrl-C ends it cleanly.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{seen:?}");
}

#[test]
fn restricted_on_both_protocols_leaves_only_inference_metrics_and_version() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[
            "--model-control-mode=explicit",
            "--load-model=identity_py",
            &format!("--http-restricted-api={ADMIN}"),
            &format!("--grpc-restricted-protocol={ADMIN}"),
        ]),
    );
    let (_, report) = probe_json(&server, &[]);
    assert_eq!(
        found(&server, &report),
        set(&[
            ("TG701", "grpc"),
            ("TG701", "http"),
            ("TG703", "metrics"),
            ("TG707", "http"),
            ("TG708", "http"),
        ]),
        "{report:#}"
    );
    assert!(notes(&report).contains("expects header 'triton-grpc-protocol-admin-key'"));
    // The model was found through the metrics labels; its configuration is not restricted.
    assert!(message(&report, "TG701", "http").contains("'identity_py'"));
}

#[test]
fn metrics_off_or_elsewhere_are_not_reported_where_nothing_listens() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let off = start(
        &triton,
        ServerOptions::new(&repo).arg("--allow-metrics=false"),
    );
    let moved = start(
        &triton,
        ServerOptions::new(&repo)
            .omit_bind_flag(Endpoint::Metrics)
            .arg("--metrics-address=127.0.0.2"),
    );

    let (_, report) = probe_json(&off, &["--select", "TG703"]);
    assert!(found(&off, &report).is_empty(), "{report:#}");
    assert!(
        notes(&report).contains("no metrics endpoint reachable"),
        "{report:#}"
    );

    // The moved server's metrics port answers on 127.0.0.2 only.
    let (_, report) = probe_json(&moved, &["--select", "TG703"]);
    assert!(found(&moved, &report).is_empty(), "{report:#}");
    let elsewhere = format!("http://127.0.0.2:{}/metrics", moved.metrics.port());
    let (_, report) = probe_json(&moved, &["--select", "TG703", "--metrics-url", &elsewhere]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(
        findings[0]["location"]["file"],
        format!("http://127.0.0.2:{}", moved.metrics.port())
    );
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("'identity_py'")
    );
}

/// The one place static and live views differ by construction (docs/probe.md): TG302 counts
/// an `inference` restriction as authentication, while the live server still answers model
/// and server metadata, which TG701 reports. Pinned here so a change on either side shows.
#[test]
fn an_inference_only_restriction_still_answers_metadata() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let flag = "--http-restricted-api=inference:k=v";
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[flag, "--grpc-restricted-protocol=inference:k=v"]),
    );
    let (_, report) = probe_json(&server, &["--select", "TG701"]);
    let findings = report["findings"].as_array().unwrap();
    let endpoints: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["location"]["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(
        endpoints,
        BTreeSet::from([
            "GET /v2/models/{model}",
            "inference.GRPCInferenceService/ModelMetadata"
        ]),
        "{report:#}"
    );
    assert!(notes(&report).contains("inference: POST /v2/models/{model}/infer restricted"));

    // The static side: the same flags published on every address are "authenticated".
    let script = format!(
        "docker run -p 8000:8000 -p 8001:8001 nvcr.io/nvidia/tritonserver:24.10-py3 \\\n  \
         tritonserver --model-repository=/models {flag} --grpc-restricted-protocol=inference:k=v\n"
    );
    let run = support::cli::tritonguard_in(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check",
            "-",
            "--stdin-filename",
            "run.sh",
            "--select",
            "TG302",
            "--format",
            "json",
            "--no-config",
        ],
        Some(&script),
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["launches"], 1, "{report:#}");
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}
