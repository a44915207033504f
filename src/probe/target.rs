//! The addresses a probe talks to: the HTTP base URL the user gave, the gRPC address and the
//! metrics URL (Triton's default ports on the same host unless given).

use std::fmt;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed `http(s)://host[:port][/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    pub scheme: Scheme,
    /// As written, IPv6 literals with their brackets.
    pub host: String,
    pub port: u16,
    /// A path prefix in front of Triton's paths (a gateway route), without a trailing `/`.
    pub prefix: String,
}

/// Triton's default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 8001;
/// Triton's default metrics port.
pub const DEFAULT_METRICS_PORT: u16 = 8002;

impl BaseUrl {
    /// Parses a URL given on the command line. Credentials in the URL, queries and fragments
    /// are refused: headers go in `--header`.
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let text = text.trim();
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(format!(
                "'{text}' is not an http:// or https:// URL (e.g. http://triton:8000)"
            ));
        };
        if rest.contains(['?', '#']) {
            return Err(format!("'{text}': a query or fragment is not allowed here"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(format!(
                "'{text}': credentials in the URL are not supported; pass them with --header"
            ));
        }
        let (host, port) = split_host_port(authority).map_err(|e| format!("'{text}': {e}"))?;
        let port = port.unwrap_or(scheme.default_port());
        Ok(BaseUrl {
            scheme,
            host,
            port,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    /// The URL of a Triton path (`/v2/logging`).
    pub fn join(&self, path: &str) -> String {
        format!("{self}{path}")
    }

    /// `host:port` of the same host with another port (the default gRPC address).
    pub fn with_port(&self, port: u16) -> String {
        format!("{}:{port}", self.host)
    }

    /// The metrics URL Triton serves by default: same host, port 8002, plain HTTP (the
    /// metrics endpoint has no TLS option).
    pub fn default_metrics_url(&self) -> String {
        format!("http://{}:{DEFAULT_METRICS_PORT}/metrics", self.host)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme.as_str(),
            self.host,
            self.port,
            self.prefix
        )
    }
}

/// `host`, `host:port`, `[::1]:port`.
pub fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    if authority.is_empty() {
        return Err("no host".to_string());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| "an IPv6 address needs its closing ']'".to_string())?;
        let host = format!("[{}]", &rest[..end]);
        match &rest[end + 1..] {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected '{p}' after the address"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() || host.contains([' ', '/', '\\']) {
        return Err(format!("'{host}' is not a host name"));
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("'{p}' is not a port (1-65535)"))?,
        ),
    };
    Ok((host, port))
}

/// A gRPC address `HOST:PORT`.
pub fn parse_grpc_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    let bare = text
        .strip_prefix("grpc://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    match split_host_port(bare) {
        Ok((host, Some(port))) => Ok(format!("{host}:{port}")),
        Ok((host, None)) => Ok(format!("{host}:{DEFAULT_GRPC_PORT}")),
        Err(e) => Err(format!("'{text}' is not a HOST:PORT gRPC address: {e}")),
    }
}

/// Percent-encodes one path segment (a model name) for a URL.
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_with_default_ports_and_prefixes() {
        let u = BaseUrl::parse("http://triton:8000").unwrap();
        assert_eq!(u.to_string(), "http://triton:8000");
        assert_eq!(u.join("/v2"), "http://triton:8000/v2");
        let u = BaseUrl::parse("https://gw.example/triton/").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (443, "/triton"));
        let u = BaseUrl::parse("http://[::1]:9000").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 9000));
        assert_eq!(u.with_port(8001), "[::1]:8001");
        assert_eq!(u.default_metrics_url(), "http://[::1]:8002/metrics");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for bad in [
            "triton:8000",
            "ftp://x",
            "http://",
            "http://u:p@x:8000",
            "http://x:0",
            "http://x:99999",
            "http://x:8000/?a=1",
            "http://[::1",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grpc_addresses_default_to_8001() {
        assert_eq!(parse_grpc_address("triton").unwrap(), "triton:8001");
        assert_eq!(
            parse_grpc_address("127.0.0.1:9001").unwrap(),
            "127.0.0.1:9001"
        );
        assert!(parse_grpc_address("x:y").is_err());
    }

    #[test]
    fn model_names_are_encoded() {
        assert_eq!(path_segment("a b/../c"), "a%20b%2F..%2Fc");
    }
}
