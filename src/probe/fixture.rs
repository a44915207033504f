//! Canned servers for the probe rules' policy tests (and the probe's robustness tests): a
//! tiny HTTP/1.1 server on a loopback port that answers each request from a list written
//! in the policy file, so `tritonguard test` checks TG701–TG709 without a real Triton.
//!
//! ```yaml
//! input:
//!   probe:
//!     - {request: "GET /v2", status: 200, body: '{"name":"triton","version":"2.51.0"}'}
//!     - {request: "POST /v2/repository/index", status: 403,
//!        body: '{"error":"This API is restricted, expecting header ''admin-key''"}'}
//!     - {request: "GET /v2/models/{model}", status: 404,
//!        body: '{"error":"Request for unknown model"}'}   # {model}: any one path segment
//!     - {request: "GET /metrics", status: 200, body: "nv_inference_count{model=\"m\"} 0\n"}
//! ```
//!
//! A request that matches no entry gets Triton's `404 {"error":"Not Found"}`. An entry may
//! also give `headers` (a map), `raw` (bytes sent instead of an HTTP response) and
//! `delay_ms` (wait before answering, at most 60 s). gRPC is not served: the tests of the
//! gRPC probe run against a real tritonserver in the test suite.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::evaluate::policy::probe_fixture::{CannedReply, ProbeFixture, read};

/// A running canned server; dropping it stops it.
pub struct CannedServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Every request received, as `METHOD /path`.
    pub received: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl CannedServer {
    /// Starts serving `fixture` on a free loopback port.
    pub fn start(fixture: ProbeFixture) -> std::io::Result<CannedServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop2, received2) = (Arc::clone(&stop), Arc::clone(&received));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let fixture = fixture.clone();
                        let received = Arc::clone(&received2);
                        let stop = Arc::clone(&stop2);
                        std::thread::spawn(move || serve(stream, &fixture, &received, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(CannedServer {
            addr,
            stop,
            received,
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<String> {
        self.received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    fixture: &ProbeFixture,
    received: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    // Keep-alive: answer requests until the client closes.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0).min(1 << 20);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(mut r) = received.lock() {
            r.push(format!("{method} {path}"));
        }
        let reply = fixture.answer(&method, &path);
        if let Some(reply) = reply {
            let deadline = Instant::now() + reply.delay;
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if let Some(raw) = &reply.raw {
                let _ = writer.write_all(raw.as_bytes());
                return;
            }
        }
        let (status, body, headers) = match reply {
            Some(r) => (r.status, r.body.as_str(), r.headers.as_slice()),
            None => (404, r#"{"error":"Not Found"}"#, &[][..]),
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
            reason(status),
            body.len()
        );
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Runs a probe against a canned server of `fixture`, for `tritonguard test`: the result
/// has the shape of a `check` scan.
pub fn run_fixture(
    catalogue: &crate::evaluate::policy::Catalogue,
    fixture: &ProbeFixture,
    enabled: &(dyn Fn(&crate::evaluate::policy::Policy) -> bool + Sync),
) -> Result<crate::pipeline::Outcome, String> {
    let server = CannedServer::start(fixture.clone())
        .map_err(|e| format!("cannot start the canned server: {e}"))?;
    let url = super::target::BaseUrl::parse(&server.url())?;
    let options = super::ProbeOptions {
        metrics: if fixture.serves_metrics() {
            super::MetricsTarget::Given(url.join("/metrics"))
        } else {
            super::MetricsTarget::Off
        },
        url,
        grpc: super::GrpcTarget::Off,
        headers: Vec::new(),
        timeout: Duration::from_secs(5),
        tls: super::http::TlsChoice::default(),
    };
    let started = Instant::now();
    let facts = super::probe(&options).map_err(|e| format!("probe failed: {e}"))?;
    let verdicts = super::rules::judge(&facts, catalogue);
    let report = super::report::build(&facts, &verdicts, catalogue, enabled, started.elapsed());
    Ok(crate::pipeline::Outcome {
        store: report.store,
        findings: report.findings,
        notes: report.notes,
        stats: report.stats,
        ..crate::pipeline::Outcome::empty()
    })
}
