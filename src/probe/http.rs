//! The probe's HTTP/1.1 client (ureq with rustls): no redirects followed, bounded bodies and
//! headers, a deadline on every connect and read, and no proxy (a probe asks the server
//! itself, not whatever the environment routes to).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// Largest response body read (a metrics page of many models fits comfortably).
pub const MAX_BODY: u64 = 8 * 1024 * 1024;
/// Largest response head read.
const MAX_HEAD: usize = 64 * 1024;

/// How to check the server's certificate for `https://`.
#[derive(Clone, Debug, Default)]
pub enum TlsChoice {
    /// The Mozilla root store (webpki-roots).
    #[default]
    WebPki,
    /// Only the certificates in this PEM file.
    Ca(std::path::PathBuf),
    /// No verification (`--insecure`).
    Insecure,
}

/// One answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The start of the body, for error messages.
    pub fn excerpt(&self) -> String {
        let text = self.text();
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 120 {
            format!("{}…", one_line.chars().take(120).collect::<String>())
        } else {
            one_line
        }
    }
}

/// Why a request got no answer to judge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the response body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error(
        "redirected ({status}) to '{location}'; redirects are not followed, probe the target directly"
    )]
    Redirect { status: u16, location: String },
    #[error("not an HTTP response: {0}")]
    Protocol(String),
}

/// A configured client: TLS, deadline and the headers sent with every request.
pub struct HttpClient {
    agent: ureq::Agent,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

/// Reads the certificates of a PEM file for `--ca`.
pub fn read_ca(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read --ca {}: {e}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("--ca {}: {e}", path.display())),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "--ca {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        ));
    }
    Ok(certs)
}

impl HttpClient {
    pub fn new(
        tls: &TlsChoice,
        timeout: Duration,
        headers: Vec<(String, String)>,
    ) -> Result<HttpClient, String> {
        let tls_config = match tls {
            TlsChoice::WebPki => TlsConfig::builder().build(),
            TlsChoice::Ca(path) => TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(read_ca(path)?)))
                .build(),
            TlsChoice::Insecure => TlsConfig::builder().disable_verification(true).build(),
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .tls_config(tls_config)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .max_response_header_size(MAX_HEAD)
            .max_idle_connections(0)
            .user_agent(concat!("tritonguard-probe/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpClient {
            agent: config.new_agent(),
            headers,
            timeout,
        })
    }

    pub fn get(&self, url: &str) -> Result<Reply, HttpError> {
        let mut request = self.agent.get(url);
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        self.finish(request.call(), url.starts_with("https://"))
    }

    /// A POST with a JSON body (only ever one that reads or that Triton rejects).
    pub fn post_json(&self, url: &str, body: &str) -> Result<Reply, HttpError> {
        let mut request = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        self.finish(request.send(body), url.starts_with("https://"))
    }

    fn finish(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        https: bool,
    ) -> Result<Reply, HttpError> {
        let mut response = result.map_err(|e| match self.error(e) {
            // A broken exchange on https:// is most often a server that does not speak TLS.
            HttpError::Protocol(why) if https => {
                HttpError::Tls(format!("{why} (does the server speak TLS on this port?)"))
            }
            other => other,
        })?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            return Err(HttpError::Redirect { status, location });
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.error(e))?;
        Ok(Reply { status, body })
    }

    fn error(&self, e: ureq::Error) -> HttpError {
        match e {
            ureq::Error::Timeout(_) => HttpError::Timeout(self.timeout),
            ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge,
            ureq::Error::HostNotFound => HttpError::Connect("host not found".to_string()),
            ureq::Error::ConnectionFailed => HttpError::Connect("connection failed".to_string()),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    HttpError::Timeout(self.timeout)
                }
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::NotConnected
                | std::io::ErrorKind::AddrNotAvailable => HttpError::Connect(io.to_string()),
                _ => HttpError::Protocol(io.to_string()),
            },
            ureq::Error::Tls(msg) => HttpError::Tls(msg.to_string()),
            ureq::Error::Rustls(e) => HttpError::Tls(e.to_string()),
            other => {
                let text = other.to_string();
                if text.to_ascii_lowercase().contains("tls") {
                    HttpError::Tls(text)
                } else {
                    HttpError::Protocol(text)
                }
            }
        }
    }
}
