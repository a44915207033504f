//! The canned answers of a probe rule's policy test, as written in the policy file; the
//! server that gives them is `crate::probe::fixture`.
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

use std::time::Duration;

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
