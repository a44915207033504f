//! `tritonguard probe` against servers that are not a healthy Triton: canned answers from a
//! loopback server (no tritonserver needed). Every case ends with a clear error and exit 2,
//! quickly, never a hang or a panic; and the probe only ever sends the requests it documents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]

mod support;

use std::time::{Duration, Instant};

use support::cli::{Run, tritonguard};
use tritonguard::probe::fixture::{CannedReply, CannedServer, ProbeFixture};

const V2: &str = r#"{"name":"triton","version":"2.51.0","extensions":[]}"#;

fn reply(request: &str, status: u16, body: &str) -> CannedReply {
    CannedReply {
        request: request.to_string(),
        status,
        body: body.to_string(),
        ..CannedReply::default()
    }
}

fn serve(replies: Vec<CannedReply>) -> CannedServer {
    CannedServer::start(ProbeFixture { replies }).unwrap()
}

/// Probes `url` (no gRPC, no metrics unless `extra` says) and checks it took under `limit`.
fn probe(url: &str, extra: &[&str], limit: Duration) -> Run {
    let mut args = vec!["probe", url, "--no-grpc"];
    if !extra.contains(&"--metrics-url") {
        args.push("--no-metrics");
    }
    args.extend_from_slice(extra);
    let started = Instant::now();
    let run = tritonguard(&args);
    assert!(
        started.elapsed() < limit,
        "took {:?}: {}",
        started.elapsed(),
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn fails_with(run: &Run, text: &str) {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(text),
        "expected '{text}' in: {}",
        run.stderr
    );
}

const QUICK: Duration = Duration::from_secs(10);

#[test]
fn a_web_page_is_not_triton() {
    let server = serve(vec![reply(
        "GET /v2",
        200,
        "<html><body>hello</body></html>",
    )]);
    fails_with(&probe(&server.url(), &[], QUICK), "is not a Triton server");
    let server = serve(vec![]);
    fails_with(
        &probe(&server.url(), &[], QUICK),
        "is not a Triton server: GET /v2 answered 404",
    );
    let server = serve(vec![reply("GET /v2", 200, r#"{"hello":"world"}"#)]);
    fails_with(&probe(&server.url(), &[], QUICK), "is not a Triton server");
}

#[test]
fn redirects_are_reported_not_followed() {
    let mut moved = reply("GET /v2", 302, "");
    moved.headers = vec![("Location".into(), "http://example.invalid/v2".into())];
    let server = serve(vec![moved]);
    let run = probe(&server.url(), &[], QUICK);
    fails_with(&run, "redirected (302) to 'http://example.invalid/v2'");
    assert_eq!(server.requests(), ["GET /v2"]);
}

#[test]
fn garbage_huge_and_slow_answers_end_with_an_error() {
    let mut garbage = reply("GET /v2", 200, "");
    garbage.raw = Some("\u{1}\u{2}not http at all\r\n\r\n".into());
    let server = serve(vec![garbage]);
    fails_with(&probe(&server.url(), &[], QUICK), "error:");

    let huge = format!(
        "{{\"name\":\"triton\",\"version\":\"{}\"}}",
        "9".repeat(9 << 20)
    );
    let server = serve(vec![reply("GET /v2", 200, &huge)]);
    fails_with(&probe(&server.url(), &[], QUICK), "larger than");

    let mut slow = reply("GET /v2", 200, V2);
    slow.delay = Duration::from_secs(20);
    let server = serve(vec![slow]);
    fails_with(
        &probe(&server.url(), &["--timeout", "0.5"], Duration::from_secs(5)),
        "no answer within",
    );
}

#[test]
fn connection_tls_and_argument_errors() {
    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fails_with(
        &probe(&format!("http://127.0.0.1:{port}"), &[], QUICK),
        "cannot connect",
    );
    // TLS against a plain HTTP server.
    let server = serve(vec![reply("GET /v2", 200, V2)]);
    let https = format!("https://{}", server.addr);
    fails_with(&probe(&https, &[], QUICK), "TLS");
    fails_with(&probe(&https, &["--insecure"], QUICK), "TLS");
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    fails_with(
        &probe(&https, &["--ca", not_pem.to_str().unwrap()], QUICK),
        "no PEM certificate",
    );
    fails_with(
        &probe(&https, &["--ca", "/nonexistent/ca.pem"], QUICK),
        "cannot read --ca",
    );
    for bad in ["triton:8000", "http://u:p@triton:8000", "http://x:99999"] {
        fails_with(&probe(bad, &[], QUICK), "error:");
    }
    fails_with(
        &probe(&server.url(), &["--header", "no-colon"], QUICK),
        "NAME:VALUE",
    );
}

#[test]
fn a_metrics_url_that_is_no_metrics_page_and_a_grpc_port_that_is_http() {
    let server = serve(vec![
        reply("GET /v2", 200, V2),
        reply("GET /metrics", 200, "<html>dashboard</html>"),
    ]);
    let metrics = format!("{}/metrics", server.url());
    fails_with(
        &probe(&server.url(), &["--metrics-url", &metrics], QUICK),
        "not a Prometheus metrics page",
    );
    // HTTP/1.1 where gRPC (HTTP/2) is expected.
    let run = tritonguard(&[
        "probe",
        &server.url(),
        "--no-metrics",
        "--grpc",
        &server.addr.to_string(),
        "--timeout",
        "3",
    ]);
    fails_with(&run, "does not speak plaintext gRPC");
}

#[test]
fn the_probe_sends_only_reads_and_requests_about_a_model_that_does_not_exist() {
    let server = serve(vec![
        reply("GET /v2", 200, V2),
        reply(
            "POST /v2/repository/index",
            200,
            r#"[{"name":"m","version":"1","state":"READY"}]"#,
        ),
        reply(
            "GET /v2/models/stats",
            200,
            r#"{"model_stats":[{"name":"m"}]}"#,
        ),
        reply("GET /v2/logging", 200, "{}"),
        reply("GET /v2/trace/setting", 200, "{}"),
        reply("GET /v2/systemsharedmemory/status", 200, "[]"),
        reply("GET /v2/cudasharedmemory/status", 200, "[]"),
        reply(
            "GET /v2/models/m/config",
            403,
            r#"{"error":"This API is restricted, expecting header 'k'"}"#,
        ),
        reply(
            "GET /v2/models/m",
            200,
            r#"{"name":"m","platform":"python"}"#,
        ),
        reply(
            "GET /v2/models/{model}",
            404,
            r#"{"error":"Request for unknown model"}"#,
        ),
        reply(
            "POST /v2/models/{model}/infer",
            404,
            r#"{"error":"Request for unknown model"}"#,
        ),
        reply(
            "GET /metrics",
            200,
            "nv_inference_count{model=\"m\",version=\"1\"} 0\n",
        ),
    ]);
    let metrics = format!("{}/metrics", server.url());
    let run = probe(
        &server.url(),
        &["--metrics-url", &metrics, "--format", "json"],
        QUICK,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let requests = server.requests();
    let unknown = "tritonguard%20probe%3A%20no%20such%20model";
    let allowed = [
        "GET /v2".to_string(),
        "GET /v2/health/live".to_string(),
        "POST /v2/repository/index".to_string(),
        "GET /v2/models/stats".to_string(),
        "GET /v2/logging".to_string(),
        "GET /v2/trace/setting".to_string(),
        "GET /v2/systemsharedmemory/status".to_string(),
        "GET /v2/cudasharedmemory/status".to_string(),
        format!("GET /v2/models/{unknown}"),
        format!("POST /v2/models/{unknown}/infer"),
        "GET /v2/models/m/config".to_string(),
        "GET /v2/models/m".to_string(),
        "GET /metrics".to_string(),
    ];
    for r in &requests {
        assert!(allowed.contains(r), "unexpected request {r}");
    }
    assert_eq!(requests.len(), allowed.len(), "{requests:?}");
    // The model's platform came from its metadata when its configuration was restricted.
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "TG708" && f["location"]["endpoint"] == "GET /v2/models/m"),
        "{report:#}"
    );
}

/// A TLS server (a test CA's certificate for 127.0.0.1) answering `GET /v2` like Triton
/// and 404 to anything else; returns its address and the CA certificate in PEM.
fn tls_server() -> (std::net::SocketAddr, String) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::Arc;

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &*ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = Arc::new(
        // The one crypto provider built in (ring) is the default.
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut reader = BufReader::new(rustls::StreamOwned::new(conn, stream));
                let mut first = String::new();
                if reader.read_line(&mut first).unwrap_or(0) == 0 {
                    return;
                }
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                // Read the body: closing with unread bytes would reset the connection.
                let mut body = vec![0u8; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let (status, body) = if first.starts_with("GET /v2 ") {
                    ("200 OK", V2)
                } else {
                    ("404 Not Found", r#"{"error":"Not Found"}"#)
                };
                let tls = reader.get_mut();
                let _ = write!(
                    tls,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (addr, ca.pem())
}

#[test]
fn https_with_the_servers_ca_or_insecure() {
    let (addr, ca_pem) = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let url = format!("https://{addr}");
    let trusted = probe(
        &url,
        &["--ca", ca.to_str().unwrap(), "--format", "json"],
        QUICK,
    );
    assert_eq!(trusted.code, 1, "{}", trusted.stderr);
    let report: serde_json::Value = serde_json::from_str(&trusted.stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["TG707"], "{report:#}");
    assert_eq!(report["findings"][0]["location"]["file"], url.as_str());
    // An unknown issuer without --ca; no verification with --insecure.
    fails_with(&probe(&url, &[], QUICK), "TLS");
    assert_eq!(probe(&url, &["--insecure"], QUICK).code, 1);
}
