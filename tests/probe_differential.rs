//! Differential ground truth: every Triton launch of `examples/` is started as a real
//! tritonserver with the argv tritonguard extracted from it (`tritonguard inspect`), with
//! ports remapped to free loopback ports and the model repository replaced by a tiny one,
//! then probed; what the static analysis says and what the live server does must agree on
//! every point both can see (docs/probe.md has the table):
//!
//! * admin APIs (TG104 ↔ TG702/TG704/TG705/TG706/TG709): each of model-repository,
//!   logging, shared-memory, trace and statistics is unrestricted in the extracted
//!   launch exactly when the live server answers it without credentials (gRPC:
//!   model-repository, the one admin API the probe asks there);
//! * inference and metadata (TG302 ↔ TG701), per protocol;
//! * metrics enabled (TG301 ↔ TG703);
//! * explicit model control (TG101): a load of a model that does not exist is refused as
//!   "not allowed" (none, poll) or tried (explicit) — asked by this harness, never by the
//!   probe;
//! * unknown flags (TG103) ⇔ the server refuses to start;
//! * extra endpoints (TG303): the server listens on exactly the enabled endpoints;
//! * the version (TG401 ↔ TG707) where the example's release is the test server's (24.10).
//!
//! Exposure (who can reach a port) is the static side's alone: the probe sees what is
//! reachable from where it runs. All mismatches are collected and reported together.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::cli::tritonguard;
use support::tritonserver::{ModelRepo, Server, ServerOptions, Triton, WaitFor, free_port};

const ADMIN_APIS: [(&str, &str); 5] = [
    ("model-repository", "TG702"),
    ("logging", "TG704"),
    ("shared-memory", "TG705"),
    ("trace", "TG706"),
    ("statistics", "TG709"),
];

/// Header used when an extracted word was a secret tritonguard could not read.
const REBUILT_HEADER: (&str, &str) = ("tg-admin", "secret");

/// Flags the harness replaces: where the server listens and what it loads.
const REPLACED: [&str; 12] = [
    "model-repository",
    "model-store",
    "backend-directory",
    "repoagent-directory",
    "cache-directory",
    "http-port",
    "grpc-port",
    "metrics-port",
    "http-address",
    "grpc-address",
    "metrics-address",
    "sagemaker-port",
];

fn json(args: &[&str]) -> Value {
    let run = tritonguard(args);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "tritonguard {args:?}: not JSON ({e}): {}{}",
            run.stdout, run.stderr
        )
    })
}

/// The extracted argv with unreadable words rebuilt from what tritonguard understood of
/// them, and the harness's flags removed.
fn remapped_argv(server: &Value) -> (Vec<String>, Vec<(String, String)>) {
    let mut rebuilt: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    for (flag, values) in server["flags"].as_object().unwrap() {
        for v in values.as_array().unwrap() {
            if !v.is_null() {
                continue;
            }
            let protocol = match flag.as_str() {
                "http-restricted-api" => "http",
                "grpc-restricted-protocol" => "grpc",
                other => panic!("cannot rebuild the unreadable value of --{other}"),
            };
            let apis: Vec<&str> = server[protocol]["restricted_apis"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            rebuilt.push(format!(
                "--{flag}={}:{}={}",
                apis.join(","),
                REBUILT_HEADER.0,
                REBUILT_HEADER.1
            ));
            let header = if protocol == "grpc" {
                format!("triton-grpc-protocol-{}", REBUILT_HEADER.0)
            } else {
                REBUILT_HEADER.0.to_string()
            };
            headers.push((header, REBUILT_HEADER.1.to_string()));
        }
    }
    let mut rebuilt = rebuilt.into_iter();
    let mut out = Vec::new();
    let mut skip_value = false;
    for word in server["argv"].as_array().unwrap() {
        let word = match word.as_str() {
            Some(w) => w.to_string(),
            None => rebuilt
                .next()
                .expect("as many rebuilt words as unreadable ones"),
        };
        if skip_value {
            skip_value = false;
            continue;
        }
        let name = word.trim_start_matches('-');
        let (name, has_value) = match name.split_once('=') {
            Some((n, _)) => (n, true),
            None => (name, false),
        };
        if word.starts_with("--") && REPLACED.contains(&name) {
            skip_value = !has_value;
            continue;
        }
        out.push(word);
    }
    (out, headers)
}

/// `(rule, "http" | "grpc" | "metrics")` of a probe report.
fn live_findings(server: &Server, report: &Value) -> BTreeSet<(String, &'static str)> {
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

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn static_and_live_verdicts_agree_for_every_example_launch() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let subjects = json(&["inspect", "examples"]);
    let static_report = json(&["check", "examples", "--format", "json", "--no-config"]);
    let launches: Vec<&Value> = subjects
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["subject"] == "launch" && s["launch"]["server"]["invoked"] == true)
        .collect();
    assert!(launches.len() >= 6, "the examples hold at least 6 launches");
    let mut files = BTreeSet::new();
    for l in &launches {
        assert!(
            files.insert(l["file"].as_str().unwrap()),
            "two launches in {}: static findings cannot be attributed by file",
            l["file"]
        );
    }
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let mut mismatches: Vec<String> = Vec::new();
    let mut compared = 0;

    for subject in launches {
        let file = subject["file"].as_str().unwrap();
        let launch = &subject["launch"];
        let server_facts = &launch["server"];
        let static_rules: BTreeSet<String> = static_report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["location"]["file"] == file)
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect();
        let (argv, headers) = remapped_argv(server_facts);
        let mut disagree = |what: String| mismatches.push(format!("{file}: {what}"));

        // TG103: unknown flags refuse start-up.
        let invalid = !server_facts["invalid_flags"].as_array().unwrap().is_empty();
        let mut opts = ServerOptions::with_repo_path(repo.path())
            .wait_for(WaitFor::Live)
            .startup_timeout(Duration::from_secs(60));
        let sagemaker = server_facts["sagemaker"]["enabled"] == true;
        let sagemaker_port = free_port().unwrap();
        if sagemaker {
            opts = opts.arg(&format!("--sagemaker-port={sagemaker_port}"));
        }
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let started = triton.start(opts.args(&refs));
        let server = match (started, invalid) {
            (Err(_), true) => {
                compared += 1;
                continue;
            }
            (Ok(_), true) => {
                disagree(format!(
                    "TG103 says {argv:?} cannot start, but the server started"
                ));
                continue;
            }
            (Err(e), false) => panic!("{file}: tritonserver {argv:?} did not start: {e}"),
            (Ok(server), false) => server,
        };

        let mut args = vec![
            "probe".to_string(),
            format!("http://{}", server.http),
            "--grpc".to_string(),
            server.grpc.to_string(),
            "--metrics-url".to_string(),
            format!("http://{}/metrics", server.metrics),
            "--format".to_string(),
            "json".to_string(),
        ];
        let run = tritonguard(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(run.code <= 1, "{file}: probe failed: {}", run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        let live = live_findings(&server, &report);
        let has = |rule: &str, place: &str| live.contains(&(rule.to_string(), place_static(place)));

        // Admin APIs, per protocol.
        for (protocol, rules) in [("http", &ADMIN_APIS[..]), ("grpc", &ADMIN_APIS[..1])] {
            let facts = &server_facts[protocol];
            let restricted = strings(&facts["restricted_apis"]);
            for (api, rule) in rules {
                let static_open = facts["enabled"] == true && !restricted.iter().any(|a| a == api);
                let live_open = has(rule, protocol);
                compared += 1;
                if static_open != live_open {
                    disagree(format!(
                        "{protocol} {api}: static says {}, live {rule} says {}",
                        open_word(static_open),
                        open_word(live_open)
                    ));
                }
            }
            // Inference and metadata (TG302 ↔ TG701).
            let static_open = facts["enabled"] == true
                && !(restricted.iter().any(|a| a == "inference")
                    && restricted.iter().any(|a| a == "metadata"));
            compared += 1;
            if static_open != has("TG701", protocol) {
                disagree(format!(
                    "{protocol} inference/metadata: static says {}, live TG701 says {}",
                    open_word(static_open),
                    open_word(has("TG701", protocol))
                ));
            }
        }

        // Metrics (TG301 ↔ TG703).
        let metrics_on = server_facts["metrics"]["enabled"] == true;
        compared += 1;
        if metrics_on != has("TG703", "metrics") {
            disagree(format!(
                "metrics: static enabled={metrics_on}, live TG703={}",
                has("TG703", "metrics")
            ));
        }

        // Explicit model control (TG101), asked by the harness with the admin header.
        let mut load_headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(k, _)| !k.starts_with("triton-grpc"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for word in &argv {
            if let Some(rest) = word.strip_prefix("--http-restricted-api=")
                && let Some((_, kv)) = rest.rsplit_once(':')
                && let Some((k, v)) = kv.split_once('=')
            {
                load_headers.push((k, v));
            }
        }
        let load = server
            .request(
                "POST",
                "/v2/repository/models/tg_no_such_model/load",
                &load_headers,
                None,
            )
            .unwrap();
        let live_explicit = load.status != 503;
        let static_explicit = server_facts["model_control_mode"] == "explicit";
        compared += 1;
        if live_explicit != static_explicit {
            disagree(format!(
                "model control: static mode {}, live load answered {} {}",
                server_facts["model_control_mode"],
                load.status,
                load.text()
            ));
        }
        let tg101 = static_rules.contains("TG101");
        let live_tg101 = server_facts["model_control_mode"] == "poll"
            || (live_explicit && (has("TG702", "http") || has("TG702", "grpc")));
        compared += 1;
        if tg101 != live_tg101 {
            disagree(format!(
                "TG101: static {tg101}, live explicit={live_explicit} with the repository API {}",
                if has("TG702", "http") || has("TG702", "grpc") {
                    "open"
                } else {
                    "restricted"
                }
            ));
        }

        // Extra endpoints (TG303): the server listens on the enabled endpoints only.
        let mut expected: BTreeSet<u16> = BTreeSet::new();
        for (key, addr) in [
            ("http", server.http),
            ("grpc", server.grpc),
            ("metrics", server.metrics),
        ] {
            if server_facts[key]["enabled"] == true {
                expected.insert(addr.port());
            }
        }
        if sagemaker {
            expected.insert(sagemaker_port);
        }
        let listening: BTreeSet<u16> = server
            .listening()
            .unwrap()
            .iter()
            .map(|a| a.port())
            .collect();
        compared += 1;
        if listening != expected {
            disagree(format!(
                "listeners: static expects ports {expected:?}, the server listens on {listening:?}"
            ));
        }

        // The version, where the example's release is the test server's.
        if launch["image"]["release"] == "24.10" {
            compared += 1;
            if static_rules.contains("TG401") != has("TG707", "http") {
                disagree(format!(
                    "version: TG401 {} but TG707 {}",
                    static_rules.contains("TG401"),
                    has("TG707", "http")
                ));
            }
        }
        args.clear();
        drop(server);
    }
    // 12 per started launch: 5 + 1 on HTTP, 1 + 1 on gRPC, metrics, model control, TG101,
    // listeners (and the version where it applies).
    assert!(compared >= 6 * 12, "only {compared} comparisons were made");
    assert!(
        mismatches.is_empty(),
        "static and live disagree ({} of {compared} comparisons):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn place_static(place: &str) -> &'static str {
    match place {
        "grpc" => "grpc",
        "metrics" => "metrics",
        _ => "http",
    }
}

fn open_word(open: bool) -> &'static str {
    if open { "open" } else { "restricted or off" }
}
