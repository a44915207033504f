//! Ground truth for the config.pbtxt rules (TG503–TG511): what a real `tritonserver` 2.51
//! does with the settings they report. Each model below is a python-backend model (the only
//! backend the test server has); the repository sits next to an `outside/` directory that
//! stands for "any file the server can read".
//!
//! Without `TG_TRITONSERVER` the tests are skipped locally and fail in CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic with the value is the failure report"
)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http;
use support::tritonserver::{
    IDENTITY_MODEL_PY, ServerOptions, Triton, WaitFor, free_port, write_model,
};

/// A python model config with three FP32 elements in and out, plus `extra` lines.
fn config(name: &str, extra: &str, output_extra: &str) -> String {
    format!(
        r#"name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ 3 ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 3 ] {output_extra} }} ]
instance_group [ {{ kind: KIND_CPU, count: 1 }} ]
{extra}
"#
    )
}

/// The identity model, with `line` inserted as the first statement of `execute`'s loop.
fn identity_with(line: &str) -> String {
    IDENTITY_MODEL_PY.replace(
        "        for request in requests:\n",
        &format!("        for request in requests:\n            {line}\n"),
    )
}

/// A temp dir holding `repo/` (the model repository) and `outside/` (everything else).
struct Layout {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    outside: PathBuf,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::Builder::new()
            .prefix("tg-pbtxt-")
            .tempdir()
            .unwrap();
        let repo = dir.path().join("repo");
        let outside = dir.path().join("outside");
        fs::create_dir_all(&repo).unwrap();
        fs::create_dir_all(&outside).unwrap();
        Layout {
            _dir: dir,
            repo,
            outside,
        }
    }

    fn model(&self, name: &str, config: &str, model_py: Option<&str>) {
        write_model(&self.repo, name, Some(config), model_py.unwrap_or("")).unwrap();
        if model_py.is_none() {
            fs::remove_file(self.repo.join(name).join("1/model.py")).unwrap();
        }
    }

    fn outside(&self, name: &str) -> PathBuf {
        self.outside.join(name)
    }
}

fn py_str(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

fn wait_for_file(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    path.exists()
}

/// Model states from `POST /v2/repository/index`: name → (state, reason).
fn states(addr: std::net::SocketAddr) -> Vec<(String, Option<String>, Option<String>)> {
    let r = http::post(addr, "/v2/repository/index", None).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["state"].as_str().map(str::to_string),
                m["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn state_of(addr: std::net::SocketAddr, model: &str) -> Option<String> {
    states(addr)
        .into_iter()
        .find(|(n, ..)| n == model)
        .and_then(|(_, s, _)| s)
}

/// TG503 (EXECUTION_ENV_PATH outside the model: its bin/activate runs), TG504 (a bounded
/// queue rejects at once), TG505 (a mismatched name is not loaded), TG506 (default_model_filename
/// with `..` runs code outside the repository), TG507 (a label file outside the model is
/// served to inference clients), TG508 (a warmup file outside warmup/ is read and fed to the
/// model; an absolute path is not), TG509 (TRITON_BATCH_STRATEGY_PATH dlopens any library),
/// TG510 (parameters are served by the model-config API), TG511 (an ensemble step naming an
/// absent model keeps the ensemble from loading).
#[test]
fn tg503_to_tg511_what_triton_does_with_model_config_paths_and_names() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let l = Layout::new();

    // TG505: directory `mism`, config name `other_name`.
    l.model(
        "mism",
        &config("other_name", "", ""),
        Some(IDENTITY_MODEL_PY),
    );

    // TG506: the model file is found by climbing out of <repo>/escape_file/1/.
    let evil_ran = l.outside("evil_ran");
    fs::write(
        l.outside("evil.py"),
        IDENTITY_MODEL_PY.replace(
            "class TritonPythonModel:",
            &format!(
                "import pathlib\npathlib.Path({}).write_text('ran')\n\n\nclass TritonPythonModel:",
                py_str(&evil_ran)
            ),
        ),
    )
    .unwrap();
    l.model(
        "escape_file",
        &config(
            "escape_file",
            r#"default_model_filename: "../../../outside/evil.py""#,
            "",
        ),
        None,
    );

    // TG507: labels from a file next to the repository.
    fs::write(
        l.outside("secret.txt"),
        "line-one-secret\nline-two-secret\nline-three-secret\n",
    )
    .unwrap();
    l.model(
        "labels",
        &config(
            "labels",
            "",
            r#"label_filename: "../../outside/secret.txt""#,
        ),
        Some(IDENTITY_MODEL_PY),
    );

    // TG508: warmup data from outside warmup/ (relative with `..`, and absolute).
    let data = l.outside("data.bin");
    let mut bytes = Vec::new();
    for x in [1.0f32, 2.0, 3.0] {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    fs::write(&data, bytes).unwrap();
    let warm_seen = l.outside("warm_seen");
    let recorder = identity_with(&format!(
        "open({}, 'a').write(repr(pb_utils.get_input_tensor_by_name(request, 'INPUT0').as_numpy().tolist()) + '\\n')",
        py_str(&warm_seen)
    ));
    let warmup = |file: &str| {
        format!(
            r#"model_warmup [ {{ name: "w" batch_size: 1 inputs {{ key: "INPUT0" value: {{ data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "{file}" }} }} }} ]"#
        )
    };
    l.model(
        "warm_rel",
        &config("warm_rel", &warmup("../../../outside/data.bin"), ""),
        Some(&recorder),
    );
    l.model(
        "warm_abs",
        &config("warm_abs", &warmup(&data.display().to_string()), ""),
        Some(&recorder),
    );
    for m in ["warm_rel", "warm_abs"] {
        fs::create_dir_all(l.repo.join(m).join("warmup")).unwrap();
    }

    // TG510: a credential in parameters.
    l.model(
        "secret",
        &config(
            "secret",
            r#"parameters { key: "api_key" value: { string_value: "sk-live-123" } }"#,
            "",
        ),
        Some(IDENTITY_MODEL_PY),
    );

    // TG503: an "environment" outside the model whose activate script leaves a marker.
    let activate_ran = l.outside("activate_ran");
    fs::create_dir_all(l.outside("env/bin")).unwrap();
    fs::write(
        l.outside("env/bin/activate"),
        format!("echo activated > '{}'\n", activate_ran.display()),
    )
    .unwrap();
    l.model(
        "envpath",
        &config(
            "envpath",
            r#"parameters { key: "EXECUTION_ENV_PATH" value: { string_value: "$$TRITON_MODEL_DIRECTORY/../../outside/env" } }"#,
            "",
        ),
        Some(IDENTITY_MODEL_PY),
    );

    // TG511: an ensemble step naming a model the repository does not have.
    fs::create_dir_all(l.repo.join("ens/1")).unwrap();
    fs::write(
        l.repo.join("ens/config.pbtxt"),
        r#"name: "ens"
platform: "ensemble"
max_batch_size: 0
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 3 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 3 ] } ]
ensemble_scheduling { step [ { model_name: "missing_model" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "OUT" } } ] }
"#,
    )
    .unwrap();

    // TG509: a shared library outside the repository whose constructor leaves a marker.
    let so_loaded = l.outside("so_loaded");
    let c_file = l.outside("strategy.c");
    let so_file = l.outside("strategy.so");
    fs::write(
        &c_file,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void init(void) {{\n  FILE *f = fopen(\"{}\", \"w\");\n  if (f) {{ fputs(\"loaded\", f); fclose(f); }}\n}}\n",
            so_loaded.display()
        ),
    )
    .unwrap();
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so_file)
        .arg(&c_file)
        .output()
        .expect("a C compiler `cc` is needed to build the test library");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    l.model(
        "batchlib",
        &config(
            "batchlib",
            &format!(
                r#"parameters {{ key: "TRITON_BATCH_STRATEGY_PATH" value: {{ string_value: "{}" }} }}"#,
                so_file.display()
            ),
            "",
        ),
        Some(IDENTITY_MODEL_PY),
    );

    // TG504: one busy instance and room for one queued request.
    let started = l.outside("slow_started");
    let release = l.outside("slow_release");
    let slow_py = identity_with(&format!(
        "import pathlib, time; pathlib.Path({}).touch(); t = time.time()\n            while not pathlib.Path({}).exists() and time.time() - t < 20: time.sleep(0.05)",
        py_str(&started),
        py_str(&release)
    ));
    l.model(
        "slow",
        &config(
            "slow",
            "dynamic_batching { default_queue_policy { max_queue_size: 1 } }",
            "",
        )
        .replace("max_batch_size: 0", "max_batch_size: 1"),
        Some(&slow_py),
    );

    let server = triton
        .start(
            ServerOptions::with_repo_path(&l.repo)
                .arg("--exit-on-error=false")
                // Not every model loads, so the server never becomes ready; in `none`
                // mode it opens its endpoints only after every load has been tried.
                .wait_for(WaitFor::Live)
                .startup_timeout(Duration::from_secs(120)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let log = server.log();
    let addr = server.http;

    // TG505
    assert_eq!(state_of(addr, "mism"), None, "{log}");
    assert!(
        log.contains("unexpected directory name 'mism' for model 'other_name', directory name must equal model name"),
        "{log}"
    );
    let r = server.get("/v2/models/other_name/ready").unwrap();
    assert_eq!(r.status, 400, "served under the config name: {}", r.text());

    // TG506
    assert_eq!(state_of(addr, "escape_file").as_deref(), Some("READY"));
    assert_eq!(fs::read_to_string(&evil_ran).unwrap(), "ran");

    // TG507: an ordinary inference request returns the outside file's lines.
    let r = server
        .post(
            "/v2/models/labels/infer",
            Some(r#"{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[3],"data":[1,2,3]}],"outputs":[{"name":"OUTPUT0","parameters":{"classification":3}}]}"#),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let body: Value = r.json().unwrap();
    assert_eq!(
        body["outputs"][0]["data"],
        serde_json::json!([
            "3.000000:2:line-three-secret",
            "2.000000:1:line-two-secret",
            "1.000000:0:line-one-secret"
        ])
    );

    // TG508: the relative path escapes and the model sees the data; the absolute one
    // is looked up under warmup/.
    assert_eq!(state_of(addr, "warm_rel").as_deref(), Some("READY"));
    assert_eq!(
        fs::read_to_string(&warm_seen).unwrap().lines().next(),
        Some("[1.0, 2.0, 3.0]")
    );
    let (_, abs_state, abs_reason) = states(addr)
        .into_iter()
        .find(|(n, ..)| n == "warm_abs")
        .unwrap();
    assert_eq!(abs_state.as_deref(), Some("UNAVAILABLE"));
    let expected_path =
        l.repo.join("warm_abs/warmup").display().to_string() + &data.display().to_string();
    assert!(
        abs_reason.as_deref().unwrap_or("").contains(&expected_path),
        "{abs_reason:?}"
    );

    // TG510
    let r = server.get("/v2/models/secret/config").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json().unwrap()["parameters"]["api_key"]["string_value"],
        "sk-live-123"
    );

    // TG503
    assert_eq!(state_of(addr, "envpath").as_deref(), Some("READY"));
    assert!(
        activate_ran.exists(),
        "bin/activate outside the model did not run"
    );

    // TG511
    assert_eq!(state_of(addr, "ens"), None);
    assert!(
        log.contains(
            "ensemble ens contains models that are not available or ambiguous: missing_model"
        ),
        "{log}"
    );

    // TG509
    assert!(
        log.contains(&format!(
            "Loading custom batching strategy library {} for model batchlib",
            so_file.display()
        )),
        "{log}"
    );
    assert_eq!(fs::read_to_string(&so_loaded).unwrap(), "loaded");

    // TG504: request 1 runs, request 2 waits in the queue, request 3 is turned away at once.
    let body = r#"{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}"#;
    let first = std::thread::spawn(move || http::post(addr, "/v2/models/slow/infer", Some(body)));
    assert!(wait_for_file(&started, Duration::from_secs(20)));
    let second = std::thread::spawn(move || http::post(addr, "/v2/models/slow/infer", Some(body)));
    std::thread::sleep(Duration::from_millis(500));
    let third = http::post(addr, "/v2/models/slow/infer", Some(body)).unwrap();
    fs::write(&release, "").unwrap();
    assert_eq!(third.status, 503, "{}", third.text());
    assert!(
        third.text().contains("Exceeds maximum queue size"),
        "{}",
        third.text()
    );
    for handle in [first, second] {
        let r = handle.join().unwrap().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// TG505: with the default `--exit-on-error=true`, one model whose config name differs
/// from its directory stops the whole server at start-up, also for a custom config chosen
/// with `--model-config-name`.
#[test]
fn tg505_name_mismatch_stops_the_server() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let l = Layout::new();
    l.model("good", &config("good", "", ""), Some(IDENTITY_MODEL_PY));
    fs::create_dir_all(l.repo.join("good/configs")).unwrap();
    fs::write(
        l.repo.join("good/configs/custom.pbtxt"),
        config("custom_name", "", ""),
    )
    .unwrap();
    let repo = format!("--model-repository={}", l.repo.display());
    let backends = format!("--backend-directory={}", triton.backends.display());
    let ports: Vec<String> = ["http", "grpc", "metrics"]
        .iter()
        .map(|p| format!("--{p}-port={}", free_port().unwrap()))
        .collect();
    let mut args: Vec<&str> = vec![&repo, &backends, "--model-config-name=custom"];
    args.extend(ports.iter().map(String::as_str));
    args.extend([
        "--http-address=127.0.0.1",
        "--grpc-address=127.0.0.1",
        "--metrics-address=127.0.0.1",
    ]);
    let run = triton.run_to_exit(&args, Duration::from_secs(120)).unwrap();
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code(), Some(1), "{output}");
    assert!(
        output.contains(
            "unexpected directory name 'good' for model 'custom_name', directory name must equal model name"
        ),
        "{output}"
    );
    assert!(output.contains("failed to load all models"), "{output}");
}
