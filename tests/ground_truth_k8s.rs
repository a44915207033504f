//! What TG210 and TG801 claim about Triton, checked on the real tritonserver 2.51:
//! where it loads backends and repository agents from (and that a library planted there
//! runs inside the server), and how `/v2/health/live`, `/v2/health/ready` and the gRPC
//! health service answer while models load.
//!
//! Needs the tools of `scripts/tools.sh` (skipped without them outside CI) and a C compiler
//! (`cc`, which the Rust toolchain needs as its linker anyway).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use support::http;
use support::tritonserver::{ServerOptions, Triton, WaitFor, free_port, write_model};

/// A model whose backend `name` tritonserver has to find as a shared library.
fn native_model_config(model: &str, backend: &str, agent: Option<&str>) -> String {
    let agents = agent
        .map(|a| format!("model_repository_agents {{ agents [ {{ name: \"{a}\" }} ] }}\n"))
        .unwrap_or_default();
    format!(
        "name: \"{model}\"\nbackend: \"{backend}\"\nmax_batch_size: 0\n\
         input [ {{ name: \"I\", data_type: TYPE_FP32, dims: [ 1 ] }} ]\n\
         output [ {{ name: \"O\", data_type: TYPE_FP32, dims: [ 1 ] }} ]\n{agents}"
    )
}

/// Loopback flags and fresh ports, for servers started without the helper.
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

/// TG210: the defaults of `--backend-directory` and `--repoagent-directory`, and a library
/// in the backend directory is loaded into the server when a model names its backend.
#[test]
fn backends_and_repo_agents_are_shared_libraries_loaded_from_their_directories() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let help = triton.help_text().unwrap();
    assert!(
        help.contains("Default is '/opt/tritonserver/backends'"),
        "{help}"
    );
    assert!(
        help.contains("Default is '/opt/tritonserver/repoagents'"),
        "{help}"
    );

    // Without --repoagent-directory the server searches the default directory.
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("models");
    fs::create_dir_all(repo.join("agented/1")).unwrap();
    fs::write(
        repo.join("agented/config.pbtxt"),
        native_model_config("agented", "planted", Some("planted_agent")),
    )
    .unwrap();
    let mut args = vec![format!("--model-repository={}", repo.display())];
    args.extend(loopback_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = triton.run_to_exit(&args, Duration::from_secs(60)).unwrap();
    let log = format!("{}{}", run.stdout, run.stderr);
    assert!(
        log.contains(
            "unable to find 'libtritonrepoagent_planted_agent.so' for repo agent \
             'planted_agent', searched: /opt/tritonserver/repoagents"
        ),
        "{log}"
    );

    // A library planted in the backend directory runs its code inside the server.
    let backends = work.path().join("backends");
    fs::create_dir_all(backends.join("planted")).unwrap();
    let marker = work.path().join("planted-ran");
    let source = work.path().join("planted.c");
    fs::write(
        &source,
        "#include <stdio.h>\n\
         __attribute__((constructor)) static void planted(void) {\n\
           FILE *f = fopen(MARKER, \"w\");\n\
           if (f) { fputs(\"ran inside tritonserver\", f); fclose(f); }\n\
         }\n",
    )
    .unwrap();
    let built = Command::new("cc")
        .arg("-shared")
        .arg("-fPIC")
        .arg(format!("-DMARKER=\"{}\"", marker.display()))
        .arg("-o")
        .arg(backends.join("planted/libtriton_planted.so"))
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(built.success());
    fs::remove_dir_all(repo.join("agented")).unwrap();
    fs::create_dir_all(repo.join("native/1")).unwrap();
    fs::write(
        repo.join("native/config.pbtxt"),
        native_model_config("native", "planted", None),
    )
    .unwrap();
    let mut args = vec![
        format!("--model-repository={}", repo.display()),
        format!("--backend-directory={}", backends.display()),
    ];
    args.extend(loopback_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = triton.run_to_exit(&args, Duration::from_secs(60)).unwrap();
    let log = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(
        fs::read_to_string(&marker).unwrap_or_default(),
        "ran inside tritonserver",
        "{log}"
    );
    // It ran before the server even checked that the library is a backend.
    assert!(
        log.contains("unable to find required entrypoint 'TRITONBACKEND_ModelInstanceExecute'")
            && log.contains(&format!(
                "{}",
                backends.join("planted/libtriton_planted.so").display()
            )),
        "{log}"
    );
}

/// A python model whose `initialize` takes `secs` seconds.
fn slow_model_py(secs: u32) -> String {
    format!(
        "import time\nimport triton_python_backend_utils as pb_utils\n\n\n\
         class TritonPythonModel:\n    def initialize(self, args):\n        time.sleep({secs})\n\n\
         \x20   def execute(self, requests):\n        return [pb_utils.InferenceResponse(output_tensors=[\
         pb_utils.Tensor(\"OUTPUT0\", pb_utils.get_input_tensor_by_name(r, \"INPUT0\").as_numpy())]) \
         for r in requests]\n"
    )
}

/// Status of `GET path`, or `None` when nothing accepts the connection.
fn status(addr: SocketAddr, path: &str) -> Option<u16> {
    http::get(addr, path).ok().map(|r| r.status)
}

struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        for pid in support::tritonserver::descendants(self.0.id()) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

/// TG801: while the models given at start-up load, the server does not listen at all
/// (liveness and readiness both fail); a model loaded later keeps `/v2/health/live` at 200
/// and `/v2/health/ready` at 400 until it is ready; a model that failed to load keeps
/// `/v2/health/ready` at 400 while the server lives on.
#[test]
fn health_endpoints_while_models_load() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("models");
    let config = support::tritonserver::identity_config("slow");
    write_model(&repo, "slow", Some(&config), &slow_model_py(6)).unwrap();

    let http_port = free_port().unwrap();
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), http_port);
    let log = work.path().join("log");
    let child = triton
        .command()
        .arg(format!("--model-repository={}", repo.display()))
        .arg(format!("--backend-directory={}", triton.backends.display()))
        .arg(format!("--http-port={http_port}"))
        .arg(format!("--grpc-port={}", free_port().unwrap()))
        .arg(format!("--metrics-port={}", free_port().unwrap()))
        .args([
            "--http-address=127.0.0.1",
            "--grpc-address=127.0.0.1",
            "--metrics-address=127.0.0.1",
        ])
        .current_dir(work.path())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(fs::File::create(work.path().join("err")).unwrap())
        .spawn()
        .unwrap();
    let _server = Spawned(child);
    let started = Instant::now();
    let mut refused_while_loading = 0;
    let live_at = loop {
        let text = fs::read_to_string(&log).unwrap_or_default()
            + &fs::read_to_string(work.path().join("err")).unwrap_or_default();
        let loading = text.contains("loading: slow:1") && !text.contains("successfully loaded");
        let live = status(addr, "/v2/health/live");
        if loading {
            assert_eq!(live, None, "nothing listens while start-up models load");
            assert_eq!(status(addr, "/v2/health/ready"), None);
            refused_while_loading += 1;
        }
        if live == Some(200) {
            break started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{text}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        refused_while_loading >= 4,
        "observed {refused_while_loading} times"
    );
    assert!(live_at >= Duration::from_secs(6), "{live_at:?}");
    assert_eq!(status(addr, "/v2/health/ready"), Some(200));

    // Explicit mode: a load after start-up keeps live at 200 and ready at 400 meanwhile.
    let repo2 = work.path().join("models2");
    write_model(&repo2, "slow", Some(&config), &slow_model_py(5)).unwrap();
    let server = triton
        .start(ServerOptions::with_repo_path(&repo2).arg("--model-control-mode=explicit"))
        .unwrap();
    assert_eq!(server.get("/v2/health/ready").unwrap().status, 200);
    let http_addr = server.http;
    let loader =
        std::thread::spawn(move || http::post(http_addr, "/v2/repository/models/slow/load", None));
    let saw_loading = server.wait_until(Duration::from_secs(20), |s| {
        s.log().contains("loading: slow:1")
    });
    assert!(saw_loading, "{}", server.log());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.get("/v2/health/live").unwrap().status, 200);
    assert_eq!(server.get("/v2/health/ready").unwrap().status, 400);
    assert_eq!(loader.join().unwrap().unwrap().status, 200);
    assert_eq!(server.get("/v2/health/ready").unwrap().status, 200);
    drop(server);

    // A model that failed to load, with --exit-on-error=false: the server runs on, live,
    // but not ready; the model that loaded is ready on its own endpoint.
    let repo3 = support::tritonserver::ModelRepo::new();
    repo3.add_identity_py("ok_py");
    repo3.add_model(
        "broken_py",
        Some(&support::tritonserver::identity_config("broken_py")),
        "raise RuntimeError(\"broken model\")\n",
    );
    let server = triton
        .start(
            ServerOptions::new(&repo3)
                .arg("--exit-on-error=false")
                .wait_for(WaitFor::Live),
        )
        .unwrap();
    assert_eq!(server.get("/v2/health/live").unwrap().status, 200);
    assert_eq!(server.get("/v2/health/ready").unwrap().status, 400);
    assert_eq!(server.get("/v2/models/ok_py/ready").unwrap().status, 200);
}

/// The serving status of a `grpc.health.v1.Health/Check` call for `service` (the call a
/// Kubernetes `grpc:` probe makes), or the gRPC status code when the call fails.
fn grpc_health(addr: SocketAddr, service: &str) -> Result<u64, String> {
    use bytes::{Buf, Bytes};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (client, connection) = h2::client::handshake(tcp)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.map_err(|e| e.to_string())?;
        let request = ::http::Request::builder()
            .method("POST")
            .uri(format!("http://{addr}/grpc.health.v1.Health/Check"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let (response, mut send) = client
            .send_request(request, false)
            .map_err(|e| e.to_string())?;
        // HealthCheckRequest { string service = 1; }
        let mut message = Vec::new();
        if !service.is_empty() {
            message.push(0x0a);
            message.push(u8::try_from(service.len()).unwrap());
            message.extend_from_slice(service.as_bytes());
        }
        let mut framed = vec![0u8];
        framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        framed.extend_from_slice(&message);
        send.send_data(Bytes::from(framed), true)
            .map_err(|e| e.to_string())?;
        let (head, mut body) = response.await.map_err(|e| e.to_string())?.into_parts();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(chunk.chunk());
        }
        let trailers = body.trailers().await.map_err(|e| e.to_string())?;
        let code = trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| head.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("missing")
            .to_string();
        if code != "0" {
            return Err(format!("grpc-status {code}"));
        }
        // HealthCheckResponse { ServingStatus status = 1; } after the 5-byte frame header.
        match data.get(5..) {
            Some([0x08, status]) => Ok(u64::from(*status)),
            Some([]) => Ok(0),
            other => Err(format!("unexpected response {other:?}")),
        }
    })
}

/// TG801: with `--allow-http=false` the HTTP health endpoints are gone, and the standard
/// gRPC health service (what a Kubernetes `grpc:` probe calls) answers SERVING on the gRPC
/// port.
#[test]
fn the_grpc_health_service_answers_without_http() {
    let Some(triton) = Triton::from_env() else {
        return;
    };
    let repo = support::tritonserver::ModelRepo::new();
    repo.add_identity_py("identity_py");
    let grpc_port = free_port().unwrap();
    let grpc = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), grpc_port);
    let work = tempfile::tempdir().unwrap();
    let child = triton
        .command()
        .arg(format!("--model-repository={}", repo.path().display()))
        .arg(format!("--backend-directory={}", triton.backends.display()))
        .arg("--allow-http=false")
        .arg(format!("--grpc-port={grpc_port}"))
        .arg(format!("--metrics-port={}", free_port().unwrap()))
        .args(["--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1"])
        .current_dir(work.path())
        .stdout(fs::File::create(work.path().join("out")).unwrap())
        .stderr(fs::File::create(work.path().join("err")).unwrap())
        .spawn()
        .unwrap();
    let server = Spawned(child);
    let started = Instant::now();
    let serving = loop {
        if let Ok(status) = grpc_health(grpc, "") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            fs::read_to_string(work.path().join("out")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(serving, 1, "SERVING");
    let log = fs::read_to_string(work.path().join("out")).unwrap_or_default()
        + &fs::read_to_string(work.path().join("err")).unwrap_or_default();
    assert!(!log.contains("Started HTTPService"), "{log}");
    drop(server);
    assert!(Path::new(&repo.path()).exists());
}
