//! What a probe learnt from a running server: how each endpoint answered a request without
//! Triton's restricted-API header, the server's version and the models it shows. The rules
//! ([`super::rules`]) and `--watch` ([`super::watch`]) read only these facts.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::http::Reply;

/// How one endpoint answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "access", rename_all = "kebab-case")]
pub enum Access {
    /// It answered: 200, or an error about the request itself (an unknown model), which
    /// shows that the endpoint takes requests from anyone.
    Open,
    /// Triton's restricted-API refusal (HTTP 403, gRPC UNAVAILABLE), naming the header
    /// it expects.
    Restricted { header: String },
    /// Refused by something else: 401 or 403 from a gateway, gRPC UNAUTHENTICATED or
    /// PERMISSION_DENIED.
    Denied { status: u16 },
    /// Not served here: 404 for the path, 501, a disabled protocol, another error.
    Absent { status: u16, detail: String },
}

impl Access {
    pub fn is_open(&self) -> bool {
        matches!(self, Access::Open)
    }

    /// A short phrase for notes and events.
    pub fn describe(&self) -> String {
        match self {
            Access::Open => "open".to_string(),
            Access::Restricted { header } => format!("restricted (expects header '{header}')"),
            Access::Denied { status } => format!("denied ({status})"),
            Access::Absent { status, detail } if detail.is_empty() => {
                format!("not served ({status})")
            }
            Access::Absent { status, detail } => format!("not served ({status}: {detail})"),
        }
    }
}

/// One request and how it was answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// `POST /v2/repository/index`, or `inference.GRPCInferenceService/RepositoryIndex`.
    pub endpoint: String,
    #[serde(flatten)]
    pub access: Access,
}

/// The text of Triton's restricted-API refusal: `This API is restricted, expecting header
/// 'admin-key'` (HTTP) or `This protocol is restricted, expecting header
/// 'triton-grpc-protocol-admin-key'` (gRPC).
pub fn restricted_header(message: &str) -> Option<String> {
    let rest = message.split("is restricted, expecting header '").nth(1)?;
    let header = rest.split('\'').next()?;
    (!header.is_empty()).then(|| header.to_string())
}

/// The `error` member of a Triton JSON error body.
pub fn error_text(reply: &Reply) -> String {
    reply
        .json()
        .and_then(|j| j.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| reply.excerpt())
}

/// Classifies an HTTP answer. `about_request` accepts answers that are errors about the
/// request itself (an unknown model): those count as open.
pub fn classify_http(reply: &Reply, about_request: bool) -> Access {
    let error = error_text(reply);
    match reply.status {
        200 => Access::Open,
        403 if restricted_header(&error).is_some() => Access::Restricted {
            header: restricted_header(&error).unwrap_or_default(),
        },
        401 | 403 | 407 => Access::Denied {
            status: reply.status,
        },
        400 | 404 if about_request && error.contains("unknown model") => Access::Open,
        status => Access::Absent {
            status,
            detail: error,
        },
    }
}

/// Classifies a gRPC status the same way (codes: 0 OK, 5 NOT_FOUND, 7 PERMISSION_DENIED,
/// 12 UNIMPLEMENTED, 14 UNAVAILABLE, 16 UNAUTHENTICATED).
pub fn classify_grpc(code: i32, message: &str, about_request: bool) -> Access {
    let status = u16::try_from(code).unwrap_or(u16::MAX);
    match code {
        0 => Access::Open,
        _ if restricted_header(message).is_some() => Access::Restricted {
            header: restricted_header(message).unwrap_or_default(),
        },
        7 | 16 => Access::Denied { status },
        _ if about_request && message.contains("unknown model") => Access::Open,
        _ => Access::Absent {
            status,
            detail: message.to_string(),
        },
    }
}

/// A model the server showed, with what its configuration says it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Model {
    pub name: String,
    /// Loaded and ready (in the statistics, the metrics, or READY in the index).
    pub loaded: bool,
    /// From the configuration (`backend`) or empty.
    pub backend: String,
    /// From the configuration or the metadata (`platform`) or empty.
    pub platform: String,
    /// The configuration's `runtime` (`model.py` for the PyTorch Python runtime) or empty.
    pub runtime: String,
    /// The request that showed the backend or platform (config or metadata).
    pub seen_at: Option<String>,
}

/// The metrics endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Metrics {
    /// It answered with a metrics page.
    Open {
        url: String,
        models: BTreeSet<String>,
        failures: BTreeMap<String, f64>,
    },
    /// It answered with a refusal (a gateway's 401/403).
    Denied { url: String, status: u16 },
    /// Nothing answered there (connection refused, or not a metrics page).
    Unreachable { url: String, why: String },
}

/// The gRPC endpoint.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per probe; boxing would only complicate the matches"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Grpc {
    Probed {
        addr: String,
        live: Observation,
        metadata: Observation,
        version: Option<String>,
        index: Observation,
        index_models: Vec<String>,
        model_metadata: Observation,
        infer: Observation,
    },
    Unreachable {
        addr: String,
        why: String,
    },
}

/// Everything one probe learnt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Facts {
    /// The base URL probed.
    pub url: String,
    /// `GET /v2`.
    pub server_metadata: Observation,
    /// Server name and version (from `GET /v2`, or gRPC `ServerMetadata` when HTTP hides it).
    pub server_name: Option<String>,
    pub version: Option<String>,
    /// Where the version was read.
    pub version_seen_at: Option<String>,
    pub extensions: Vec<String>,
    /// `POST /v2/repository/index` and the model names it listed.
    pub repository_index: Observation,
    pub index_models: Vec<String>,
    /// `GET /v2/models/stats`.
    pub statistics: Observation,
    /// `GET /v2/logging`.
    pub logging: Observation,
    /// `GET /v2/trace/setting`.
    pub trace: Observation,
    /// `GET /v2/systemsharedmemory/status` and `GET /v2/cudasharedmemory/status`.
    pub system_shared_memory: Observation,
    pub cuda_shared_memory: Observation,
    /// `GET /v2/models/<a model that does not exist>`: metadata without credentials.
    pub model_metadata: Observation,
    /// `POST /v2/models/<a model that does not exist>/infer`.
    pub inference: Observation,
    /// Metadata of the models seen, by name (`GET /v2/models/<m>`).
    pub models: Vec<Model>,
    pub metrics: Metrics,
    /// `None` when gRPC was not asked (`--no-grpc`).
    pub grpc: Option<Grpc>,
    /// Requests sent.
    pub endpoints: usize,
    /// What the probe could not judge, for the report.
    pub notes: Vec<String>,
}

impl Facts {
    /// Names of loaded models, sorted.
    pub fn loaded_models(&self) -> Vec<&str> {
        self.models
            .iter()
            .filter(|m| m.loaded)
            .map(|m| m.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tritons_refusals_and_answers_are_told_apart() {
        let r = reply(
            403,
            r#"{"error":"This API is restricted, expecting header 'admin-key'"}"#,
        );
        assert_eq!(
            classify_http(&r, false),
            Access::Restricted {
                header: "admin-key".into()
            }
        );
        assert_eq!(
            classify_http(&reply(403, "Forbidden"), false),
            Access::Denied { status: 403 }
        );
        let unknown = reply(
            404,
            r#"{"error":"Request for unknown model: 'x' is not found"}"#,
        );
        assert_eq!(classify_http(&unknown, true), Access::Open);
        assert!(matches!(
            classify_http(&unknown, false),
            Access::Absent { status: 404, .. }
        ));
        assert!(matches!(
            classify_http(&reply(404, r#"{"error":"Not Found"}"#), true),
            Access::Absent { status: 404, .. }
        ));
        assert_eq!(
            classify_grpc(
                14,
                "This protocol is restricted, expecting header 'triton-grpc-protocol-k'",
                false
            ),
            Access::Restricted {
                header: "triton-grpc-protocol-k".into()
            }
        );
        assert_eq!(classify_grpc(0, "", false), Access::Open);
    }
}
