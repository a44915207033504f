//! Ground truth: the Triton behaviours tritonguard's rules rely on, pinned against a real
//! `tritonserver` 2.51.0 (from the `nvidia-pytriton==0.7.0` wheel; see scripts/tools.sh).
//!
//! Each test names the rules it backs. Server starts cost seconds, so each test groups
//! the assertions that one server configuration can answer. Without `TG_TRITONSERVER`
//! the tests are skipped locally and fail in CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic with the value is the failure report"
)]

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::triton_help::{long_flag_names, parse_help_flags};
use support::tritonserver::{
    Endpoint, IDENTITY_INFER_BODY, IDENTITY_MODEL_PY, ModelRepo, Server, ServerOptions, Triton,
    identity_config, metric_lines_for_model,
};

const ADMIN: (&str, &str) = ("admin-key", "s3cret");
const RESTRICTED_MSG: &str = r#"{"error":"This API is restricted, expecting header 'admin-key'"}"#;
const NOT_ALLOWED_MSG: &str =
    r#"{"error":"explicit model load / unload is not allowed if polling is enabled"}"#;

/// A python model whose config.pbtxt names only the model and backend; inputs, outputs
/// and max_batch_size come from `auto_complete_config`, which also leaves a marker file
/// `auto_complete_ran` next to model.py when Triton calls it.
const AUTO_CONFIG: &str = "name: \"auto_py\"\nbackend: \"python\"\n";
const AUTO_MODEL_PY: &str = r#"import os
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    @staticmethod
    def auto_complete_config(auto_complete_model_config):
        marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "auto_complete_ran")
        with open(marker, "w") as f:
            f.write("yes")
        auto_complete_model_config.add_input({"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [-1]})
        auto_complete_model_config.add_output({"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [-1]})
        auto_complete_model_config.set_max_batch_size(0)
        return auto_complete_model_config

    def execute(self, requests):
        responses = []
        for request in requests:
            in0 = pb_utils.get_input_tensor_by_name(request, "INPUT0")
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT0", in0.as_numpy())]))
        return responses
"#;

fn start(triton: &Triton, opts: ServerOptions) -> Server {
    triton.start(opts).unwrap_or_else(|e| panic!("{e}"))
}

fn json_of(r: &support::http::Response) -> Value {
    r.json().unwrap_or_else(|e| panic!("{e}"))
}

/// Names (and states, when present) from `POST /v2/repository/index`.
fn index(server: &Server, headers: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    let r = server
        .request("POST", "/v2/repository/index", headers, None)
        .unwrap();
    assert_eq!(r.status, 200, "index: {}", r.text());
    json_of(&r)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["state"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc4648_vectors() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, enc) in cases {
        assert_eq!(base64(plain.as_bytes()), enc);
    }
}

/// TG103: tritonserver reads argv with getopt_long. A misspelled flag, an ambiguous
/// prefix, a missing or unexpected value, or a bad boolean makes it exit 1 at start-up,
/// before it touches the model repository. No server is started here.
#[test]
fn tg103_bad_argv_exits_1_with_getopt_messages() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let run = |args: &[&str]| {
        triton
            .run_to_exit(args, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("cannot run tritonserver {args:?}: {e}"))
    };

    let r = run(&["--model-contrl-mode=explicit"]);
    assert_eq!(r.code(), Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("unrecognized option '--model-contrl-mode=explicit'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Usage: tritonserver [options]"));

    // Ambiguous prefix. The candidates list --model-store but not --model-repository:
    // getopt_long drops candidates that map to the same option (the two are aliases).
    let r = run(&["--model=x"]);
    assert_eq!(r.code(), Some(1), "{r:?}");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(
        first.ends_with(
            "option '--model=x' is ambiguous; possibilities: '--model-store' \
             '--model-control-mode' '--model-config-name' '--model-load-thread-count' \
             '--model-load-retry-count' '--model-namespacing' '--model-load-gpu-limit'"
        ),
        "{first}"
    );

    let r = run(&["--allow-metrics"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr
            .contains("option '--allow-metrics' requires an argument"),
        "{}",
        r.stderr
    );

    let r = run(&["--disable-auto-complete-config=true"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr
            .contains("option '--disable-auto-complete-config' doesn't allow an argument"),
        "{}",
        r.stderr
    );

    // Booleans: yes/no are NOT booleans to tritonserver.
    for bad in ["yes", "no", "maybe"] {
        let r = run(&[&format!("--allow-metrics={bad}")]);
        assert_eq!(r.code(), Some(1), "--allow-metrics={bad}: {r:?}");
        assert!(
            r.stderr.contains(&format!(
                "Bad option: \"--allow-metrics\".\ninvalid value for bool option: {bad}"
            )),
            "--allow-metrics={bad}: {}",
            r.stderr
        );
    }
    // Accepted values, case-insensitive: options are parsed left to right, so a value
    // that parses lets getopt reach the unknown flag after it and fail there instead.
    for good in [
        "true", "false", "1", "0", "on", "off", "TRUE", "False", "On",
    ] {
        let r = run(&[&format!("--allow-metrics={good}"), "--tg-sentinel"]);
        assert_eq!(r.code(), Some(1));
        assert!(
            r.stderr.contains("unrecognized option '--tg-sentinel'")
                && !r.stderr.contains("invalid value for bool option"),
            "--allow-metrics={good}: {}",
            r.stderr
        );
    }
    // Mode values are checked at parse time (case-insensitively: see the tg102 test,
    // which runs with `Explicit`).
    let r = run(&["--model-control-mode=bogus"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr.contains(
            "Bad option: \"--model-control-mode\".\ninvalid argument for --model-control-mode"
        ),
        "{}",
        r.stderr
    );
    // A unique prefix is accepted as the full flag (and takes its value) ...
    let r = run(&[
        "--model-control-mod=explicit",
        "--allow-metric=false",
        "--tg-sentinel",
    ]);
    assert!(
        r.stderr.contains("unrecognized option '--tg-sentinel'")
            && !r.stderr.contains("--model-control-mod'")
            && !r.stderr.contains("--allow-metric'"),
        "{}",
        r.stderr
    );
    // ... and a space-separated value works like `=value`.
    let r = run(&["--model-control-mode", "explicit", "--tg-sentinel"]);
    assert!(
        r.stderr.contains("unrecognized option '--tg-sentinel'"),
        "{}",
        r.stderr
    );
}

/// TG104: the restricted-API flags are validated at start-up. The form `--help` itself
/// documents (`<apis>,<key>=<value>`) is rejected; only `<apis>:<key>=<value>` works, API
/// names are lower-case only, and one API may not appear in two groups.
#[test]
fn tg104_restricted_api_syntax_is_checked_at_startup() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let first_error = |args: &[&str]| {
        let mut argv = args.to_vec();
        argv.push("--tg-sentinel");
        let r = triton.run_to_exit(&argv, Duration::from_secs(30)).unwrap();
        assert_eq!(r.code(), Some(1), "{args:?}: {r:?}");
        r.stderr
    };
    let cases: [(&[&str], &str); 7] = [
        (
            &["--http-restricted-api=logging,admin-key=s3cret"],
            "Bad option: \"--http-restricted-api\".\n--http-restricted-api option format is \
             '<config name>:<setting>=<value>'. Got logging,admin-key=s3cret",
        ),
        (
            &["--http-restricted-api=logging:admin-key"],
            "--http-restricted-api option format is '<config name>:<setting>=<value>'. Got logging:admin-key",
        ),
        (
            &["--http-restricted-api=bogus:k=v"],
            "unknown restricted api 'bogus'",
        ),
        (
            &["--http-restricted-api=Logging:k=v"],
            "unknown restricted api 'Logging'",
        ),
        (
            &[
                "--http-restricted-api=logging:a=b",
                "--http-restricted-api=logging,trace:c=d",
            ],
            "restricted api 'logging' can not be specified in multiple config groups",
        ),
        (
            &["--grpc-restricted-protocol=logging,admin-key=s3cret"],
            "--grpc-restricted-protocol option format is '<config name>:<setting>=<value>'. Got logging,admin-key=s3cret",
        ),
        (
            &["--grpc-restricted-protocol=bogus:k=v"],
            "unknown restricted protocol 'bogus'",
        ),
    ];
    for (args, want) in cases {
        let stderr = first_error(args);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    // Accepted forms get as far as the sentinel.
    for args in [
        &["--http-restricted-api=model-repository,logging:admin-key=s3cret"][..],
        &[
            "--http-restricted-api=logging:a=b",
            "--http-restricted-api=trace,inference:c=d",
        ][..],
        &["--grpc-restricted-protocol=model-repository,health:k=v"][..],
    ] {
        let stderr = first_error(args);
        assert!(
            stderr.contains("unrecognized option '--tg-sentinel'")
                && !stderr.contains("Bad option"),
            "{args:?}: {stderr}"
        );
    }
}

/// TG103 and the flag table: the long flags `tritonserver --help` lists, with their
/// value kind and section, as a snapshot (tests/snapshots/). The lead cross-checks
/// tritonguard's flag table against it; a different server version changes it loudly.
#[test]
fn tg103_help_flag_list_of_2_51() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let help = triton.help_text().unwrap();
    let flags = parse_help_flags(&help);
    let table: String = flags
        .iter()
        .map(|f| {
            format!(
                "--{} {} [{}]{}\n",
                f.name,
                f.value.as_deref().unwrap_or("(no value)"),
                f.section,
                if f.deprecated() { " DEPRECATED" } else { "" }
            )
        })
        .collect();
    insta::assert_snapshot!("tritonserver_2_51_long_flags", table);

    let names = long_flag_names(&help);
    for must in [
        "model-store",
        "model-repository",
        "model-control-mode",
        "disable-auto-complete-config",
        "strict-model-config",
        "http-restricted-api",
        "grpc-restricted-protocol",
        "allow-metrics",
        "metrics-address",
        "metrics-port",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "--{must} missing from --help"
        );
    }
    // Added after 2.51 (see reference/triton-security-facts.md): absent here.
    for later in ["allow-client-shm", "http-max-input-size"] {
        assert!(!names.iter().any(|n| n == later), "--{later} is in 2.51?");
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a flag is listed twice");
}

/// TG101 (explicit mode = runtime code loading), TG103 (unique prefix takes effect),
/// TG104 (restricted API), and `--model-store` as an alias of `--model-repository`.
/// Also TG102's baseline: with auto-complete on, model.py's `auto_complete_config` runs
/// and shapes the config, and a python model loads even without a config.pbtxt.
#[test]
fn tg101_tg103_tg104_explicit_mode_by_prefix_restricted_api_and_model_store_alias() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py")
        .add_model("auto_py", Some(AUTO_CONFIG), AUTO_MODEL_PY)
        .add_model("noconfig_py", None, AUTO_MODEL_PY);
    let server = start(
        &triton,
        ServerOptions::new(&repo)
            .repository_flag("--model-store")
            .arg("--model-control-mod=explicit")
            .arg("--http-restricted-api=model-repository,logging:admin-key=s3cret"),
    );
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("model_control_mode") && l.contains("MODE_EXPLICIT")),
        "startup table should show MODE_EXPLICIT:\n{log}"
    );
    let repo_path = repo.path().display().to_string();
    assert!(
        log.lines()
            .any(|l| l.contains("model_repository_path[0]") && l.contains(&repo_path)),
        "--model-store should set the repository:\n{log}"
    );

    // TG104: restricted APIs answer 403 without the header or with a wrong value.
    for (path, method) in [
        ("/v2/repository/index", "POST"),
        ("/v2/repository/models/identity_py/load", "POST"),
        ("/v2/logging", "GET"),
    ] {
        for headers in [&[][..], &[("admin-key", "wrong")][..]] {
            let r = server.request(method, path, headers, None).unwrap();
            assert_eq!(
                (r.status, r.text().as_str()),
                (403, RESTRICTED_MSG),
                "{method} {path} {headers:?}"
            );
        }
    }
    // Unrestricted groups stay open.
    assert_eq!(server.get("/v2/models/stats").unwrap().status, 200);
    assert_eq!(server.get("/v2/health/ready").unwrap().status, 200);
    let r = server
        .request("GET", "/v2/logging", &[ADMIN], None)
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());

    // Alias: the repository given with --model-store is indexed; nothing is loaded yet.
    let mut listed = index(&server, &[ADMIN]);
    listed.sort();
    assert_eq!(
        listed,
        [
            ("auto_py".to_string(), None),
            ("identity_py".to_string(), None),
            ("noconfig_py".to_string(), None)
        ]
    );

    // TG101/TG103: `--model-control-mod=explicit` really is explicit mode: load works.
    let r = server
        .request(
            "POST",
            "/v2/repository/models/identity_py/load",
            &[ADMIN],
            None,
        )
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, ""), "load identity_py");
    let r = server
        .post("/v2/models/identity_py/infer", Some(IDENTITY_INFER_BODY))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json_of(&r)["outputs"][0]["data"], json!([1.0, 2.0, 3.0]));

    // TG101: the load API accepts model files in the request body and runs them. Whoever
    // reaches an unrestricted model-repository API in explicit mode runs code here.
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("uploaded_model_ran");
    let uploaded_py = format!(
        "import triton_python_backend_utils as pb_utils\n\n\nclass TritonPythonModel:\n    \
         def initialize(self, args):\n        open({:?}, \"w\").write(\"executed\")\n\n    \
         def execute(self, requests):\n        return [pb_utils.InferenceResponse(output_tensors=[\
         pb_utils.Tensor(\"OUTPUT0\", pb_utils.get_input_tensor_by_name(r, \"INPUT0\").as_numpy())]) \
         for r in requests]\n",
        marker.display().to_string()
    );
    let config = json!({
        "name": "uploaded_py", "backend": "python", "max_batch_size": 0,
        "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [-1]}],
        "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [-1]}],
    });
    let body = json!({"parameters": {
        "config": config.to_string(),
        "file:1/model.py": base64(uploaded_py.as_bytes()),
    }});
    let r = server
        .request(
            "POST",
            "/v2/repository/models/uploaded_py/load",
            &[ADMIN],
            Some(&body.to_string()),
        )
        .unwrap();
    assert_eq!(r.status, 200, "upload+load: {}", r.text());
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("executed"),
        "uploaded model.py did not run"
    );
    let r = server
        .post("/v2/models/uploaded_py/infer", Some(IDENTITY_INFER_BODY))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // The uploaded model does not show up in the repository index.
    assert!(
        !index(&server, &[ADMIN])
            .iter()
            .any(|(n, _)| n == "uploaded_py")
    );

    // Failed loads: 500 with a message naming the model.
    let r = server
        .request(
            "POST",
            "/v2/repository/models/doesnotexist/load",
            &[ADMIN],
            None,
        )
        .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            500,
            r#"{"error":"failed to load 'doesnotexist', failed to poll from model repository"}"#
        )
    );

    // TG102 baseline: auto-complete is on by default. auto_complete_config (model code)
    // runs when the model is loaded and supplies the inputs and outputs.
    for model in ["auto_py", "noconfig_py"] {
        let r = server
            .request(
                "POST",
                &format!("/v2/repository/models/{model}/load"),
                &[ADMIN],
                None,
            )
            .unwrap();
        assert_eq!(r.status, 200, "load {model}: {}", r.text());
        assert!(
            repo.path()
                .join(model)
                .join("1")
                .join("auto_complete_ran")
                .exists(),
            "{model}: auto_complete_config did not run"
        );
        let cfg = json_of(&server.get(&format!("/v2/models/{model}/config")).unwrap());
        assert_eq!(cfg["backend"], "python", "{model}: {cfg}");
        assert_eq!(cfg["input"][0]["name"], "INPUT0", "{model}: {cfg}");
        assert_eq!(cfg["output"][0]["name"], "OUTPUT0", "{model}: {cfg}");
        let r = server
            .post(
                &format!("/v2/models/{model}/infer"),
                Some(IDENTITY_INFER_BODY),
            )
            .unwrap();
        assert_eq!(r.status, 200, "infer {model}: {}", r.text());
    }
}

/// TG101 (mode none refuses load/unload with 503, the rest of the API stays open) and
/// TG301 (metrics: bind address follows --http-address while gRPC's does not; the port
/// is the --metrics-port value; the page names every loaded model, unauthenticated).
#[test]
fn tg101_tg301_mode_none_bind_addresses_and_metrics_leak() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    // Only --http-address=127.0.0.1: gRPC and metrics keep their defaults.
    let server = start(
        &triton,
        ServerOptions::new(&repo)
            .omit_bind_flag(Endpoint::Grpc)
            .omit_bind_flag(Endpoint::Metrics),
    );

    for action in ["load", "unload"] {
        let r = server
            .post(&format!("/v2/repository/models/identity_py/{action}"), None)
            .unwrap();
        assert_eq!(
            (r.status, r.text().as_str()),
            (503, NOT_ALLOWED_MSG),
            "{action} in mode none"
        );
    }
    assert_eq!(
        index(&server, &[]),
        [("identity_py".to_string(), Some("READY".to_string()))]
    );
    let meta = json_of(&server.get("/v2").unwrap());
    assert_eq!(meta["name"], "triton");
    assert_eq!(meta["version"], "2.51.0");
    let r = server
        .post("/v2/models/identity_py/infer", Some(IDENTITY_INFER_BODY))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());

    // Bind addresses, read from the kernel's socket table for this process.
    let listening = server.listening().unwrap();
    let on = |port: u16| {
        listening
            .iter()
            .find(|a| a.port() == port)
            .unwrap_or_else(|| panic!("nothing listens on {port}: {listening:?}"))
    };
    assert_eq!(
        on(server.http.port()).ip().to_string(),
        "127.0.0.1",
        "HTTP bind"
    );
    assert_eq!(
        on(server.metrics.port()).ip().to_string(),
        "127.0.0.1",
        "metrics must follow --http-address when --metrics-address is absent"
    );
    assert!(
        on(server.grpc.port()).ip().is_unspecified(),
        "gRPC must NOT follow --http-address: {listening:?}"
    );
    // --metrics-port moved the endpoint: the server listens on exactly its three ports,
    // so not on the default 8002.
    let mut ports: Vec<u16> = listening.iter().map(|a| a.port()).collect();
    ports.sort();
    let mut expected = vec![
        server.http.port(),
        server.grpc.port(),
        server.metrics.port(),
    ];
    expected.sort();
    assert_eq!(ports, expected, "{listening:?}");
    let log = server.log();
    assert!(log.contains(&format!(
        "Started Metrics Service at 127.0.0.1:{}",
        server.metrics.port()
    )));
    assert!(log.contains(&format!(
        "Started GRPCInferenceService at 0.0.0.0:{}",
        server.grpc.port()
    )));

    // The metrics page is unauthenticated and names the loaded model.
    let r = server.metrics().unwrap();
    assert_eq!(r.status, 200);
    let text = r.text();
    let leaked = metric_lines_for_model(&text, "identity_py");
    assert!(
        leaked.contains(&r#"nv_inference_count{model="identity_py",version="1"} 1"#),
        "{leaked:#?}"
    );
    assert!(
        leaked.len() >= 10,
        "expected a dozen series naming the model, got {leaked:#?}"
    );

    let stopped = server.stop();
    assert!(!stopped.killed, "SIGTERM should be enough: {stopped:?}");
    assert_eq!(
        stopped.status.and_then(|s| s.code()),
        Some(0),
        "{}",
        stopped.log
    );
}

/// TG101/TG209 (poll mode: whatever lands in the repository is loaded and run, no API
/// call needed; load/unload are refused) and TG301 (`--allow-metric=false`, a unique
/// prefix, closes the metrics port).
#[test]
fn tg101_tg209_tg301_poll_mode_loads_copied_model_and_metrics_off() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_identity_py("identity_py");
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[
            "--model-control-mode=poll",
            "--repository-poll-secs=1",
            "--allow-metric=false",
        ]),
    );

    let r = server
        .post("/v2/repository/models/identity_py/load", None)
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (503, NOT_ALLOWED_MSG));

    // TG301: no metrics listener at all.
    let ports: Vec<u16> = server
        .listening()
        .unwrap()
        .iter()
        .map(|a| a.port())
        .collect();
    assert!(
        !ports.contains(&server.metrics.port()),
        "metrics port open: {ports:?}"
    );
    assert!(TcpStream::connect_timeout(&server.metrics, Duration::from_secs(2)).is_err());
    assert!(!server.log().contains("Started Metrics Service"));

    // TG101/TG209: copy a model in; the next poll loads it and its code runs.
    let copied_at = Instant::now();
    repo.add_model_atomically(
        "polled_py",
        Some(&identity_config("polled_py")),
        IDENTITY_MODEL_PY,
    );
    let ready = server.wait_until(Duration::from_secs(30), |s| {
        index(s, &[])
            .iter()
            .any(|(n, st)| n == "polled_py" && st.as_deref() == Some("READY"))
    });
    assert!(ready, "polled_py not loaded after 30 s:\n{}", server.log());
    let picked_up = copied_at.elapsed();
    let r = server
        .post("/v2/models/polled_py/infer", Some(IDENTITY_INFER_BODY))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        picked_up < Duration::from_secs(15),
        "took {picked_up:?} with --repository-poll-secs=1"
    );
}

/// Shared checks for TG102: with auto-complete disabled, `auto_complete_config` is not
/// called; a config.pbtxt without inputs/outputs still LOADS (with no inputs at all, so
/// inference fails with 400), and a python model without config.pbtxt fails to load.
fn assert_auto_complete_disabled(server: &Server, repo: &ModelRepo) {
    let r = server
        .post("/v2/repository/models/auto_py/load", None)
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, ""), "load auto_py");
    assert!(
        !repo.path().join("auto_py/1/auto_complete_ran").exists(),
        "auto_complete_config ran although auto-complete is disabled"
    );
    let cfg = json_of(&server.get("/v2/models/auto_py/config").unwrap());
    assert_eq!(cfg["input"], json!([]), "{cfg}");
    assert_eq!(cfg["output"], json!([]), "{cfg}");
    let r = server
        .post("/v2/models/auto_py/infer", Some(IDENTITY_INFER_BODY))
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("expected 0 inputs but got 1 inputs for model 'auto_py'"),
        "{}",
        r.text()
    );

    let r = server
        .post("/v2/repository/models/noconfig_py/load", None)
        .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            500,
            r#"{"error":"failed to load 'noconfig_py', failed to poll from model repository"}"#
        )
    );
    let missing = repo.path().join("noconfig_py").join("config.pbtxt");
    assert!(
        server.log().contains(&format!(
            "Poll failed for model directory 'noconfig_py': failed to open text file for read {}: No such file or directory",
            missing.display()
        )),
        "{}",
        server.log()
    );
    assert!(!repo.path().join("noconfig_py/1/auto_complete_ran").exists());
}

fn auto_complete_repo() -> ModelRepo {
    let repo = ModelRepo::new();
    repo.add_model("auto_py", Some(AUTO_CONFIG), AUTO_MODEL_PY)
        .add_model("noconfig_py", None, AUTO_MODEL_PY);
    repo
}

/// TG102: the deprecated `--strict-model-config=true` disables auto-complete. (TG103:
/// the mode is written `Explicit` here; the value is case-insensitive, as the load
/// requests answering 200 show.)
#[test]
fn tg102_strict_model_config_true_disables_auto_complete() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = auto_complete_repo();
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[
            "--model-control-mode=Explicit",
            "--strict-model-config=true",
        ]),
    );
    assert!(server.log().contains(
        "Warning: '--strict-model-config' has been deprecated! Please use '--disable-auto-complete-config' instead."
    ));
    assert_auto_complete_disabled(&server, &repo);
}

/// TG102: `--disable-auto-complete-config` disables auto-complete, and wins over a
/// `--strict-model-config=false` given after it (the server says it overrides it).
#[test]
fn tg102_disable_auto_complete_config_wins_over_strict_false() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = auto_complete_repo();
    let server = start(
        &triton,
        ServerOptions::new(&repo).args(&[
            "--model-control-mode=explicit",
            "--disable-auto-complete-config",
            "--strict-model-config=false",
        ]),
    );
    assert!(server.log().contains(
        "Warning: Overriding deprecated '--strict-model-config' from False to True in favor of '--disable-auto-complete-config'!"
    ), "{}", server.log());
    assert_auto_complete_disabled(&server, &repo);
}

/// The helper itself: a server whose models fail to load in mode none exits during
/// start-up (exit-on-error), and the start error carries the exit status and the log.
#[test]
fn failed_start_reports_exit_status_and_log() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = ModelRepo::new();
    repo.add_model(
        "broken_py",
        Some(&identity_config("broken_py")),
        "raise RuntimeError('tg: model import fails')\n",
    );
    match triton.start(ServerOptions::new(&repo)) {
        Err(support::tritonserver::StartError::Exited(e)) => {
            assert_eq!(e.code(), Some(1), "{e:?}");
            let all = format!("{}{}", e.stdout, e.stderr);
            assert!(all.contains("tg: model import fails"), "{all}");
        }
        Err(other) => panic!("expected an early exit, got {other}"),
        Ok(server) => panic!("server with a broken model came up:\n{}", server.log()),
    }
}

/// TG607: Triton follows symbolic links in a model repository. A model directory and a
/// version directory that link outside the repository are both loaded and served, and
/// `repo audit` reports both links (without following them).
#[test]
fn tg607_models_linked_from_outside_the_repository_are_served() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let outside = ModelRepo::new();
    outside.add_identity_py("linked_py");
    outside.add_identity_py("versioned_py");
    let repo = ModelRepo::new();
    std::os::unix::fs::symlink(
        outside.path().join("linked_py"),
        repo.path().join("linked_py"),
    )
    .unwrap();
    std::fs::create_dir(repo.path().join("versioned_py")).unwrap();
    std::fs::copy(
        outside.path().join("versioned_py/config.pbtxt"),
        repo.path().join("versioned_py/config.pbtxt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("versioned_py/1"),
        repo.path().join("versioned_py/1"),
    )
    .unwrap();

    let server = start(&triton, ServerOptions::new(&repo));
    let models = index(&server, &[]);
    for name in ["linked_py", "versioned_py"] {
        assert!(
            models
                .iter()
                .any(|(n, st)| n == name && st.as_deref() == Some("READY")),
            "{name} not served: {models:?}\n{}",
            server.log()
        );
        let r = server
            .post(
                &format!("/v2/models/{name}/infer"),
                Some(IDENTITY_INFER_BODY),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    drop(server);

    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(["repo", "audit", "--select", "TG607", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let linked: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["file"].as_str().unwrap())
        .collect();
    let root = repo.path().display().to_string();
    assert_eq!(
        linked,
        [
            format!("{root}/linked_py"),
            format!("{root}/versioned_py/1")
        ],
        "{report}"
    );
}
