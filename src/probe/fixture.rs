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

use crate::evaluate::policy::fixture::FixtureError;
use crate::source::Span;
use crate::tree::{Node, Value};

/// One canned answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CannedReply {
    /// `GET /v2/logging`; a `{model}` segment matches any one segment.
    pub request: String,
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Sent as is instead of a response.
    pub raw: Option<String>,
    pub delay: Duration,
}

/// The answers of one canned server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeFixture {
    pub replies: Vec<CannedReply>,
}

const KEYS: &[&str] = &["request", "status", "body", "headers", "raw", "delay_ms"];
const MAX_DELAY_MS: i64 = 60_000;

fn error(span: Option<Span>, message: impl Into<String>) -> FixtureError {
    FixtureError {
        span,
        message: message.into(),
    }
}

/// Reads `probe: [...]` from a test input.
pub fn read(node: &Node) -> Result<ProbeFixture, Vec<FixtureError>> {
    let Value::List(items) = &node.value else {
        return Err(vec![error(
            node.label_span(),
            "'probe' is a list of answers: {request: \"GET /v2\", status, body, headers, raw, delay_ms}",
        )]);
    };
    let mut fixture = ProbeFixture::default();
    let mut errors = Vec::new();
    for item in items {
        match read_entry(item) {
            Ok(reply) => fixture.replies.push(reply),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(fixture)
    } else {
        Err(errors)
    }
}

fn read_entry(item: &Node) -> Result<CannedReply, FixtureError> {
    for (key, value) in item.as_map() {
        if !KEYS.contains(&key.as_str()) {
            return Err(error(
                value.key_span,
                format!(
                    "unknown field '{key}' in a probe answer (request, status, body, headers, raw, delay_ms)"
                ),
            ));
        }
    }
    let request = item.get("request").and_then(Node::as_str).ok_or_else(|| {
        error(
            item.label_span(),
            "a probe answer needs 'request: \"METHOD /path\"'",
        )
    })?;
    let valid = request
        .split_once(' ')
        .is_some_and(|(m, p)| !m.is_empty() && p.starts_with('/') && !p.contains(' '));
    if !valid {
        return Err(error(
            item.get("request").and_then(Node::label_span),
            format!("'{request}' is not 'METHOD /path'"),
        ));
    }
    let status = match item.get("status") {
        None => 200,
        Some(n) => n
            .as_i64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| error(n.label_span(), "'status' is an HTTP status code (100-599)"))?,
    };
    let text = |key: &str| -> Result<Option<String>, FixtureError> {
        match item.get(key) {
            None => Ok(None),
            Some(n) => n
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| error(n.label_span(), format!("'{key}' must be text"))),
        }
    };
    let mut headers = Vec::new();
    if let Some(h) = item.get("headers") {
        for (k, v) in h.as_map() {
            let v = v
                .as_scalar_text()
                .ok_or_else(|| error(v.label_span(), "a header value must be text"))?;
            headers.push((k.clone(), v));
        }
    }
    let delay = match item.get("delay_ms") {
        None => Duration::ZERO,
        Some(n) => Duration::from_millis(
            n.as_i64()
                .filter(|d| (0..=MAX_DELAY_MS).contains(d))
                .and_then(|d| u64::try_from(d).ok())
                .ok_or_else(|| error(n.label_span(), "'delay_ms' is 0 to 60000"))?,
        ),
    };
    Ok(CannedReply {
        request: request.to_string(),
        status,
        body: text("body")?.unwrap_or_default(),
        headers,
        raw: text("raw")?,
        delay,
    })
}

impl ProbeFixture {
    /// Whether a request for `/metrics` is answered (the runner then probes it).
    pub fn serves_metrics(&self) -> bool {
        self.replies.iter().any(|r| r.request == "GET /metrics")
    }

    /// The answers, one per line, for `explain`: `GET /v2 -> 200 {...}`.
    pub fn listing(&self) -> String {
        let mut out = String::new();
        for r in &self.replies {
            let body = r.raw.as_deref().unwrap_or(&r.body);
            out.push_str(&format!(
                "{} -> {} {}\n",
                r.request,
                r.status,
                body.trim_end()
            ));
        }
        out
    }

    /// The answer to `METHOD path`: an exact entry first, then one with `{model}`.
    pub fn answer(&self, method: &str, path: &str) -> Option<&CannedReply> {
        let wanted = format!("{method} {path}");
        self.replies
            .iter()
            .find(|r| r.request == wanted)
            .or_else(|| {
                self.replies
                    .iter()
                    .find(|r| pattern_matches(&r.request, &wanted))
            })
    }
}

fn pattern_matches(pattern: &str, request: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let r: Vec<&str> = request.split('/').collect();
    p.len() == r.len() && p.iter().zip(&r).all(|(p, r)| *p == "{model}" || p == r)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment() {
        assert!(pattern_matches(
            "GET /v2/models/{model}",
            "GET /v2/models/a%20b"
        ));
        assert!(!pattern_matches(
            "GET /v2/models/{model}",
            "GET /v2/models/a/config"
        ));
        assert!(pattern_matches(
            "POST /v2/models/{model}/infer",
            "POST /v2/models/x/infer"
        ));
    }
}
