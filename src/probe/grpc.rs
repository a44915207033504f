//! The probe's gRPC client: unary calls of Triton's `GRPCInferenceService` over plaintext
//! HTTP/2 (the `h2` crate on a current-thread tokio runtime), with the few request and
//! response messages declared by hand for prost. Every call has a deadline; responses are
//! size-capped. Only read-only RPCs are sent (health, server metadata, the repository
//! index) plus model metadata and inference requests for a model that does not exist,
//! which Triton answers without touching any model.

use std::time::Duration;

use bytes::{Buf, Bytes};
use prost::Message;

/// Largest gRPC response message read.
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024;

const SERVICE: &str = "/inference.GRPCInferenceService/";

#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Message)]
pub struct ServerLiveResponse {
    #[prost(bool, tag = "1")]
    pub live: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct ServerMetadataResponse {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(string, repeated, tag = "3")]
    pub extensions: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct RepositoryIndexRequest {
    #[prost(string, tag = "1")]
    pub repository_name: String,
    #[prost(bool, tag = "2")]
    pub ready: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct ModelIndex {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(string, tag = "3")]
    pub state: String,
    #[prost(string, tag = "4")]
    pub reason: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct RepositoryIndexResponse {
    #[prost(message, repeated, tag = "1")]
    pub models: Vec<ModelIndex>,
}

/// `ModelMetadataRequest` and the head of `ModelInferRequest` share their first field:
/// the model name.
#[derive(Clone, PartialEq, Message)]
pub struct ModelNameRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// The RPCs a probe sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    ServerLive,
    ServerMetadata,
    RepositoryIndex,
    ModelMetadata,
    ModelInfer,
}

impl Rpc {
    pub fn method(self) -> &'static str {
        match self {
            Rpc::ServerLive => "ServerLive",
            Rpc::ServerMetadata => "ServerMetadata",
            Rpc::RepositoryIndex => "RepositoryIndex",
            Rpc::ModelMetadata => "ModelMetadata",
            Rpc::ModelInfer => "ModelInfer",
        }
    }

    /// `inference.GRPCInferenceService/RepositoryIndex`, as reports show it.
    pub fn endpoint(self) -> String {
        format!("inference.GRPCInferenceService/{}", self.method())
    }
}

/// A call's outcome: the gRPC status and, on OK, the response message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcReply {
    /// 0 OK, 5 NOT_FOUND, 14 UNAVAILABLE (Triton's answer for a restricted protocol), ...
    pub code: i32,
    pub message: String,
    pub body: Option<Vec<u8>>,
}

/// Why nothing could be asked at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot connect to {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("{addr} did not answer within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("{addr} does not speak plaintext gRPC (HTTP/2): {why}")]
    Protocol { addr: String, why: String },
}

/// Sends `calls` over one HTTP/2 connection to `addr`, each with `headers` as metadata.
/// Per-call failures (a reset stream, a bad frame) come back as a status 13 reply.
pub fn call_all(
    addr: &str,
    headers: &[(String, String)],
    timeout: Duration,
    calls: &[(Rpc, Vec<u8>)],
) -> Result<Vec<GrpcReply>, GrpcError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| GrpcError::Connect {
            addr: addr.to_string(),
            why: format!("cannot start the I/O runtime: {e}"),
        })?;
    runtime.block_on(call_all_async(addr, headers, timeout, calls))
}

async fn call_all_async(
    addr: &str,
    headers: &[(String, String)],
    timeout: Duration,
    calls: &[(Rpc, Vec<u8>)],
) -> Result<Vec<GrpcReply>, GrpcError> {
    let timed_out = || GrpcError::Timeout {
        addr: addr.to_string(),
        timeout,
    };
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| GrpcError::Connect {
            addr: addr.to_string(),
            why: e.to_string(),
        })?;
    let protocol = |why: String| GrpcError::Protocol {
        addr: addr.to_string(),
        why,
    };
    let mut builder = h2::client::Builder::new();
    builder
        .max_frame_size(16_384)
        .max_header_list_size(64 * 1024);
    let (client, connection) = tokio::time::timeout(timeout, builder.handshake::<_, Bytes>(tcp))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| protocol(e.to_string()))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut replies = Vec::new();
    for (rpc, body) in calls {
        let call = one_call(client.clone(), addr, headers, *rpc, body);
        let reply = match tokio::time::timeout(timeout, call).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(CallError::Protocol(why))) if replies.is_empty() => {
                // The first call failing at the HTTP/2 level: this is not a gRPC server.
                return Err(protocol(why));
            }
            Ok(Err(CallError::Protocol(why))) => GrpcReply {
                code: 13,
                message: why,
                body: None,
            },
            Ok(Ok(reply)) => reply,
        };
        replies.push(reply);
    }
    driver.abort();
    Ok(replies)
}

enum CallError {
    Protocol(String),
}

impl From<h2::Error> for CallError {
    fn from(e: h2::Error) -> Self {
        CallError::Protocol(e.to_string())
    }
}

async fn one_call(
    client: h2::client::SendRequest<Bytes>,
    addr: &str,
    headers: &[(String, String)],
    rpc: Rpc,
    body: &[u8],
) -> Result<GrpcReply, CallError> {
    let mut client = client.ready().await?;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{SERVICE}{}", rpc.method()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header(
            "user-agent",
            concat!("tritonguard-probe/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in headers {
        request = request.header(k.to_ascii_lowercase(), v);
    }
    let request = request
        .body(())
        .map_err(|e| CallError::Protocol(format!("bad request header: {e}")))?;
    let (response, mut send) = client.send_request(request, false)?;
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    framed.extend_from_slice(body);
    send.send_data(Bytes::from(framed), true)?;

    let response = response.await?;
    let (head, mut recv) = response.into_parts();
    if head.status != http::StatusCode::OK {
        return Err(CallError::Protocol(format!(
            "HTTP status {} instead of a gRPC response",
            head.status
        )));
    }
    let is_grpc = head
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if !is_grpc {
        return Err(CallError::Protocol(
            "the response is not application/grpc".to_string(),
        ));
    }
    // A trailers-only response carries the status in the head.
    if let Some(code) = status_of(&head.headers) {
        return Ok(GrpcReply {
            code,
            message: message_of(&head.headers),
            body: None,
        });
    }
    let mut data = Vec::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        if data.len() + chunk.len() > MAX_MESSAGE + 5 {
            return Err(CallError::Protocol(format!(
                "the response is larger than {MAX_MESSAGE} bytes"
            )));
        }
        data.extend_from_slice(chunk.chunk());
    }
    let trailers = recv.trailers().await?.unwrap_or_default();
    let code = status_of(&trailers)
        .ok_or_else(|| CallError::Protocol("no grpc-status in the trailers".to_string()))?;
    let message = message_of(&trailers);
    let body = if code == 0 {
        Some(unframe(&data).map_err(CallError::Protocol)?)
    } else {
        None
    };
    Ok(GrpcReply {
        code,
        message,
        body,
    })
}

fn status_of(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `grpc-message` is percent-encoded.
fn message_of(headers: &http::HeaderMap) -> String {
    let raw = headers
        .get("grpc-message")
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let Some(b) = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The one message of a unary response: a 5-byte prefix (compressed flag, length) + bytes.
fn unframe(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.len() < 5 {
        return Err("a gRPC response without a message".to_string());
    }
    if data[0] != 0 {
        return Err("a compressed gRPC message (none was asked for)".to_string());
    }
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    data.get(5..5 + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "a truncated gRPC message".to_string())
}

/// The request bodies of the probe's calls.
pub fn request(rpc: Rpc, unknown_model: &str) -> Vec<u8> {
    match rpc {
        Rpc::ServerLive | Rpc::ServerMetadata => Empty {}.encode_to_vec(),
        Rpc::RepositoryIndex => RepositoryIndexRequest::default().encode_to_vec(),
        Rpc::ModelMetadata | Rpc::ModelInfer => ModelNameRequest {
            name: unknown_model.to_string(),
        }
        .encode_to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_messages_round_trip() {
        let msg = ServerMetadataResponse {
            name: "triton".into(),
            version: "2.51.0".into(),
            extensions: vec!["logging".into()],
        }
        .encode_to_vec();
        let mut framed = vec![0];
        framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        framed.extend_from_slice(&msg);
        let back = ServerMetadataResponse::decode(unframe(&framed).unwrap().as_slice()).unwrap();
        assert_eq!(back.version, "2.51.0");
        assert!(unframe(&framed[..framed.len() - 1]).is_err());
        assert!(unframe(&[1, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn grpc_messages_are_percent_decoded() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "grpc-message",
            http::HeaderValue::from_static("This protocol is restricted%2C x%"),
        );
        assert_eq!(message_of(&h), "This protocol is restricted, x%");
    }
}
