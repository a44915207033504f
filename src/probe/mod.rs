//! `tritonguard probe`: ask a running Triton server what it exposes, with requests that
//! change nothing, and judge the answers with the TG7xx rules.
//!
//! Requests sent (none loads, unloads, infers or writes a setting):
//! * HTTP: `GET /v2`, `GET /v2/health/live`, `POST /v2/repository/index` (read-only),
//!   `GET /v2/models/stats`, `GET /v2/logging`, `GET /v2/trace/setting`,
//!   `GET /v2/{system,cuda}sharedmemory/status`, `GET /v2/models/<m>` and
//!   `GET /v2/models/<m>/config` for the models seen, and two requests about a model that
//!   does not exist (`GET /v2/models/<none>`, `POST /v2/models/<none>/infer` with `{}`),
//!   which Triton refuses either for the restricted-API header or for the unknown model —
//!   the difference is the finding. Inference on a real model is never sent: an empty
//!   `POST .../infer` body runs one (seen on 2.51).
//! * metrics: `GET /metrics`.
//! * gRPC: `ServerLive`, `ServerMetadata`, `RepositoryIndex`, and `ModelMetadata` /
//!   `ModelInfer` for the model that does not exist.

pub mod facts;
pub mod fixture;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod report;
pub mod rules;
pub mod target;
pub mod watch;

use std::collections::BTreeSet;
use std::time::Duration;

use prost::Message;

use facts::{Access, Facts, Grpc, Metrics, Model, Observation, classify_grpc, classify_http};
use http::{HttpClient, HttpError, Reply, TlsChoice};
use target::{BaseUrl, path_segment};

/// A model name no repository holds (Triton model names cannot contain `/`, and this one
/// is not URL-safe, so it is never a real model): requests about it show whether an API
/// takes requests without touching any model.
pub const UNKNOWN_MODEL: &str = "tritonguard probe: no such model";

/// Most models whose metadata and configuration are asked for.
pub const MAX_MODELS: usize = 64;

/// Where the gRPC endpoint is. Nothing listening there is a note either way (not
/// reachable from here); an answer that is not gRPC is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrpcTarget {
    /// Triton's default (same host, port 8001).
    Default(String),
    /// Given with `--grpc`.
    Given(String),
    Off,
}

/// Where the metrics endpoint is. Nothing listening there is a note; a page that is not
/// Prometheus text at a given URL is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricsTarget {
    Default(String),
    Given(String),
    Off,
}

/// What to probe and how.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    pub url: BaseUrl,
    pub grpc: GrpcTarget,
    pub metrics: MetricsTarget,
    /// Sent with every HTTP request and as gRPC metadata.
    pub headers: Vec<(String, String)>,
    /// Deadline of each connect, request and response.
    pub timeout: Duration,
    pub tls: TlsChoice,
}

/// Why a probe could not judge the server (exit code 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("{url}: {source}")]
    Http { url: String, source: HttpError },
    #[error("{url} is not a Triton server: GET /v2 answered {status} {excerpt:?}")]
    NotTriton {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("{0}")]
    Grpc(#[from] grpc::GrpcError),
    #[error("{url}: not a Prometheus metrics page ({status} {excerpt:?})")]
    NotMetrics {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("{0}")]
    Setup(String),
}

struct Prober<'a> {
    options: &'a ProbeOptions,
    client: HttpClient,
    asked: usize,
}

impl Prober<'_> {
    fn get(&mut self, path: &str) -> Result<Reply, ProbeError> {
        let url = self.options.url.join(path);
        self.asked += 1;
        self.client
            .get(&url)
            .map_err(|source| ProbeError::Http { url, source })
    }

    fn post(&mut self, path: &str, body: &str) -> Result<Reply, ProbeError> {
        let url = self.options.url.join(path);
        self.asked += 1;
        self.client
            .post_json(&url, body)
            .map_err(|source| ProbeError::Http { url, source })
    }

    /// `GET path`, classified; a 200 whose body is not JSON means this is not Triton.
    fn observe_get(
        &mut self,
        path: &str,
        about_request: bool,
    ) -> Result<(Observation, Reply), ProbeError> {
        let reply = self.get(path)?;
        self.judge(format!("GET {path}"), reply, about_request)
    }

    fn observe_post(
        &mut self,
        path: &str,
        body: &str,
        about_request: bool,
    ) -> Result<(Observation, Reply), ProbeError> {
        let reply = self.post(path, body)?;
        self.judge(format!("POST {path}"), reply, about_request)
    }

    fn judge(
        &self,
        endpoint: String,
        reply: Reply,
        about_request: bool,
    ) -> Result<(Observation, Reply), ProbeError> {
        if reply.status == 200 && !reply.body.is_empty() && reply.json().is_none() {
            return Err(ProbeError::NotTriton {
                url: self.options.url.to_string(),
                status: reply.status,
                excerpt: format!("{endpoint}: {}", reply.excerpt()),
            });
        }
        let access = classify_http(&reply, about_request);
        Ok((Observation { endpoint, access }, reply))
    }
}

/// Probes the server once.
pub fn probe(options: &ProbeOptions) -> Result<Facts, ProbeError> {
    let client = HttpClient::new(&options.tls, options.timeout, options.headers.clone())
        .map_err(ProbeError::Setup)?;
    let mut p = Prober {
        options,
        client,
        asked: 0,
    };
    let mut notes = Vec::new();

    // GET /v2 first: it tells Triton from anything else.
    let (server_metadata, reply) = p.observe_get("/v2", false)?;
    let (mut server_name, mut version, mut extensions) = (None, None, Vec::new());
    match &server_metadata.access {
        Access::Open => {
            let json = reply.json().unwrap_or_default();
            let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
            server_name = text("name");
            version = text("version");
            if version.is_none() {
                return Err(ProbeError::NotTriton {
                    url: options.url.to_string(),
                    status: reply.status,
                    excerpt: reply.excerpt(),
                });
            }
            extensions = json
                .get("extensions")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
        }
        Access::Restricted { .. } => {}
        _ => {
            return Err(ProbeError::NotTriton {
                url: options.url.to_string(),
                status: reply.status,
                excerpt: reply.excerpt(),
            });
        }
    }
    let mut version_seen_at = version.as_ref().map(|_| "GET /v2".to_string());
    let _ = p.get("/v2/health/live")?;

    let (repository_index, reply) = p.observe_post("/v2/repository/index", "{}", false)?;
    let mut index_models = Vec::new();
    let mut models: Vec<Model> = Vec::new();
    if repository_index.access.is_open() {
        for entry in reply
            .json()
            .and_then(|j| j.as_array().cloned())
            .unwrap_or_default()
        {
            let Some(name) = entry.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            index_models.push(name.to_string());
            let ready = entry.get("state").and_then(|s| s.as_str()) == Some("READY");
            add_model(&mut models, name, ready);
        }
    }
    let (statistics, reply) = p.observe_get("/v2/models/stats", false)?;
    if statistics.access.is_open() {
        let stats = reply.json().unwrap_or_default();
        for entry in stats
            .get("model_stats")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(name) = entry.get("name").and_then(|n| n.as_str()) {
                add_model(&mut models, name, true);
            }
        }
    }
    let (logging, _) = p.observe_get("/v2/logging", false)?;
    let (trace, _) = p.observe_get("/v2/trace/setting", false)?;
    let (system_shared_memory, _) = p.observe_get("/v2/systemsharedmemory/status", false)?;
    let (cuda_shared_memory, _) = p.observe_get("/v2/cudasharedmemory/status", false)?;
    let unknown = path_segment(UNKNOWN_MODEL);
    // Shown as templates: the made-up name means nothing to a reader.
    let (mut model_metadata, _) = p.observe_get(&format!("/v2/models/{unknown}"), true)?;
    model_metadata.endpoint = "GET /v2/models/{model}".to_string();
    let (mut inference, _) = p.observe_post(&format!("/v2/models/{unknown}/infer"), "{}", true)?;
    inference.endpoint = "POST /v2/models/{model}/infer".to_string();

    let metrics = probe_metrics(options, &p.client, &mut p.asked, &mut notes)?;
    if let Metrics::Open { models: names, .. } = &metrics {
        for name in names {
            add_model(&mut models, name, true);
        }
    }

    let grpc = probe_grpc(options, &mut p.asked, &mut notes)?;
    if let Some(Grpc::Probed {
        version: Some(v),
        metadata,
        ..
    }) = &grpc
        && version.is_none()
    {
        version = Some(v.clone());
        version_seen_at = Some(format!("gRPC {}", metadata.endpoint));
        server_name = server_name.or(Some("triton".to_string()));
    }

    // What each loaded model runs: its configuration, else its metadata.
    models.sort_by(|a, b| a.name.cmp(&b.name));
    if models.len() > MAX_MODELS {
        notes.push(format!(
            "{} models seen; the configuration of only the first {MAX_MODELS} was read",
            models.len()
        ));
    }
    for model in models.iter_mut().filter(|m| m.loaded).take(MAX_MODELS) {
        let name = path_segment(&model.name);
        let (config, reply) = p.observe_get(&format!("/v2/models/{name}/config"), false)?;
        if config.access.is_open() {
            let json = reply.json().unwrap_or_default();
            let text = |k: &str| {
                json.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            model.backend = text("backend");
            model.platform = text("platform");
            model.runtime = text("runtime");
            model.seen_at = Some(config.endpoint.clone());
            continue;
        }
        let (metadata, reply) = p.observe_get(&format!("/v2/models/{name}"), false)?;
        if metadata.access.is_open() {
            model.platform = reply
                .json()
                .and_then(|j| {
                    j.get("platform")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            model.seen_at = Some(metadata.endpoint.clone());
        }
    }
    if version.is_none() {
        notes.push(
            "the server version is hidden (GET /v2 is restricted and gRPC did not show it): \
             TG707 could not judge it"
                .to_string(),
        );
    }

    Ok(Facts {
        url: options.url.to_string(),
        server_metadata,
        server_name,
        version,
        version_seen_at,
        extensions,
        repository_index,
        index_models,
        statistics,
        logging,
        trace,
        system_shared_memory,
        cuda_shared_memory,
        model_metadata,
        inference,
        models,
        metrics,
        grpc,
        endpoints: p.asked,
        notes,
    })
}

fn add_model(models: &mut Vec<Model>, name: &str, loaded: bool) {
    match models.iter_mut().find(|m| m.name == name) {
        Some(m) => m.loaded |= loaded,
        None => models.push(Model {
            name: name.to_string(),
            loaded,
            ..Model::default()
        }),
    }
}

fn probe_metrics(
    options: &ProbeOptions,
    client: &HttpClient,
    asked: &mut usize,
    notes: &mut Vec<String>,
) -> Result<Metrics, ProbeError> {
    let (url, given) = match &options.metrics {
        MetricsTarget::Off => {
            return Ok(Metrics::Unreachable {
                url: String::new(),
                why: "not probed (--no-metrics)".to_string(),
            });
        }
        MetricsTarget::Default(url) => (url.clone(), false),
        MetricsTarget::Given(url) => (url.clone(), true),
    };
    *asked += 1;
    let reply = match client.get(&url) {
        Ok(reply) => reply,
        // Nothing listening is an answer: the endpoint is not reachable from here.
        Err(HttpError::Connect(why)) => {
            notes.push(if given {
                format!("no metrics endpoint reachable at {url}: {why}")
            } else {
                format!(
                    "no metrics endpoint reachable at {url} (Triton's default port): {why}; give \
                     --metrics-url if it listens elsewhere"
                )
            });
            return Ok(Metrics::Unreachable { url, why });
        }
        Err(source) => return Err(ProbeError::Http { url, source }),
    };
    match reply.status {
        200 => match metrics::parse(&reply.text()) {
            Some(page) => Ok(Metrics::Open {
                url,
                models: page.models,
                failures: page.failures,
            }),
            None => Err(ProbeError::NotMetrics {
                url,
                status: reply.status,
                excerpt: reply.excerpt(),
            }),
        },
        401 | 403 | 407 => Ok(Metrics::Denied {
            url,
            status: reply.status,
        }),
        status => {
            let why = format!("{status} {}", reply.excerpt());
            if given {
                return Err(ProbeError::NotMetrics {
                    url,
                    status,
                    excerpt: reply.excerpt(),
                });
            }
            notes.push(format!("no metrics page at {url}: {why}"));
            Ok(Metrics::Unreachable { url, why })
        }
    }
}

fn probe_grpc(
    options: &ProbeOptions,
    asked: &mut usize,
    notes: &mut Vec<String>,
) -> Result<Option<Grpc>, ProbeError> {
    use grpc::Rpc;
    let (addr, given) = match &options.grpc {
        GrpcTarget::Off => return Ok(None),
        GrpcTarget::Default(addr) => (addr.clone(), false),
        GrpcTarget::Given(addr) => (addr.clone(), true),
    };
    let rpcs = [
        Rpc::ServerLive,
        Rpc::ServerMetadata,
        Rpc::RepositoryIndex,
        Rpc::ModelMetadata,
        Rpc::ModelInfer,
    ];
    let calls: Vec<(Rpc, Vec<u8>)> = rpcs
        .iter()
        .map(|r| (*r, grpc::request(*r, UNKNOWN_MODEL)))
        .collect();
    let replies = match grpc::call_all(&addr, &options.headers, options.timeout, &calls) {
        Ok(replies) => replies,
        // Nothing listening is an answer: gRPC is not reachable from here.
        Err(e @ grpc::GrpcError::Connect { .. }) => {
            notes.push(if given {
                format!("gRPC not reachable: {e}")
            } else {
                format!(
                    "gRPC not reachable: {e} (Triton's default port); give --grpc if it listens \
                     elsewhere"
                )
            });
            return Ok(Some(Grpc::Unreachable {
                addr,
                why: e.to_string(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    *asked += replies.len();
    let observe = |i: usize, about_request: bool| {
        let reply = &replies[i];
        Observation {
            endpoint: rpcs[i].endpoint(),
            access: classify_grpc(reply.code, &reply.message, about_request),
        }
    };
    let version = replies[1]
        .body
        .as_deref()
        .and_then(|b| grpc::ServerMetadataResponse::decode(b).ok())
        .map(|m| m.version)
        .filter(|v| !v.is_empty());
    let index_models: Vec<String> = replies[2]
        .body
        .as_deref()
        .and_then(|b| grpc::RepositoryIndexResponse::decode(b).ok())
        .map(|r| {
            r.models
                .into_iter()
                .map(|m| m.name)
                .collect::<BTreeSet<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Some(Grpc::Probed {
        addr,
        live: observe(0, false),
        metadata: observe(1, false),
        version,
        index: observe(2, false),
        index_models,
        model_metadata: observe(3, true),
        infer: observe(4, true),
    }))
}
