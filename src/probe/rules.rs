//! The probe rules TG701–TG709: facts in, findings out. Their ids live in [`ids`], the one
//! table of them; their documentation and tests in `policies/TG70x-*.yaml`.

use std::sync::Arc;

use super::facts::{Access, Facts, Grpc, Metrics, Model, Observation};
use crate::evaluate::cel_value::to_cel;
use crate::evaluate::policy::Catalogue;
use crate::tree::{Node, Value};

/// The probe rules, by their registry names.
pub mod ids {
    use crate::evaluate::registry::Rule;

    pub const INFERENCE_UNAUTHENTICATED: Rule = Rule::InferenceUnauthenticated;
    pub const REPOSITORY_API_OPEN: Rule = Rule::RepositoryApiOpen;
    pub const METRICS_EXPOSED: Rule = Rule::MetricsEndpointOpen;
    pub const LOGGING_API_OPEN: Rule = Rule::LoggingApiOpen;
    pub const SHARED_MEMORY_API_OPEN: Rule = Rule::SharedMemoryApiOpen;
    pub const TRACE_API_OPEN: Rule = Rule::TraceApiOpen;
    pub const VULNERABLE_VERSION: Rule = Rule::VulnerableVersion;
    pub const PICKLE_MODEL_LOADED: Rule = Rule::PickleModelLoaded;
    pub const STATISTICS_API_OPEN: Rule = Rule::StatisticsApiOpen;
    /// Every probe rule.
    pub const ALL: [Rule; 9] = [
        INFERENCE_UNAUTHENTICATED,
        REPOSITORY_API_OPEN,
        METRICS_EXPOSED,
        LOGGING_API_OPEN,
        SHARED_MEMORY_API_OPEN,
        TRACE_API_OPEN,
        VULNERABLE_VERSION,
        PICKLE_MODEL_LOADED,
        STATISTICS_API_OPEN,
    ];
    /// The static rule whose release table and threshold TG707 applies.
    pub const STATIC_VULNERABLE_VERSION: Rule = Rule::VulnerableTritonVersion;
}

use ids::*;

/// Where a probe finding is: a server (its URL, or `grpc://host:port`) and a request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub url: String,
    pub endpoint: String,
}

/// A finding of a probe rule, before it becomes a report [`crate::finding::Finding`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeFinding {
    pub rule: crate::evaluate::registry::Rule,
    pub place: Place,
    pub message: String,
    /// What the finding is about (a model, a protocol): with the rule and place, it is the
    /// fingerprint.
    pub identity: String,
    pub label: String,
    pub notes: Vec<String>,
}

/// What the rules decided: findings, and checks that passed because the server refused
/// (restricted APIs), for the report's notes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub findings: Vec<ProbeFinding>,
    pub passed: Vec<String>,
}

/// First release with the fixes for CVE-2024-0087 / -0088 / -0100: log and trace file
/// paths can no longer be set over the network, and shared-memory access is checked.
const FIXED_2404: (u64, u64) = (2, 45);

/// `2.51.0` → Some(true) when at least 2.45 (24.04).
fn at_least_2404(version: Option<&str>) -> Option<bool> {
    let v = version?;
    let mut parts = v.split('.');
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts
        .next()?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((major, minor) >= FIXED_2404)
}

fn list(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

struct Judge<'a> {
    facts: &'a Facts,
    out: Verdicts,
}

impl Judge<'_> {
    fn http(&self, observation: &Observation) -> Place {
        Place {
            url: self.facts.url.clone(),
            endpoint: observation.endpoint.clone(),
        }
    }

    fn emit(
        &mut self,
        rule: crate::evaluate::registry::Rule,
        place: Place,
        message: String,
        identity: &str,
    ) {
        self.out.findings.push(ProbeFinding {
            rule,
            place,
            message,
            identity: identity.to_string(),
            label: String::new(),
            notes: Vec::new(),
        });
    }

    fn pass(&mut self, what: &str, observation: &Observation) {
        if let Access::Restricted { .. } | Access::Denied { .. } = observation.access {
            self.out.passed.push(format!(
                "{what}: {} {}",
                observation.endpoint,
                observation.access.describe()
            ));
        }
    }
}

/// Applies every probe rule to the facts. TG707 reads TG401's policy from `catalogue`.
pub fn judge(facts: &Facts, catalogue: &Catalogue) -> Verdicts {
    let mut j = Judge {
        facts,
        out: Verdicts::default(),
    };
    inference(&mut j);
    repository(&mut j);
    metrics(&mut j);
    admin_apis(&mut j);
    version(&mut j, catalogue);
    models(&mut j);
    j.out
}

fn grpc_place(addr: &str, observation: &Observation) -> Place {
    Place {
        url: format!("grpc://{addr}"),
        endpoint: observation.endpoint.clone(),
    }
}

/// TG701: inference or model metadata answer without credentials.
fn inference(j: &mut Judge<'_>) {
    let facts = j.facts;
    let loaded = facts.loaded_models();
    let models = if loaded.is_empty() {
        "no model name was visible to the probe".to_string()
    } else {
        format!("models it serves: {}", list(&loaded))
    };
    let http_open = [&facts.inference, &facts.model_metadata]
        .into_iter()
        .filter(|o| o.access.is_open())
        .collect::<Vec<_>>();
    if let Some(first) = http_open.first() {
        let what = http_open
            .iter()
            .map(|o| o.endpoint.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        let place = j.http(first);
        j.emit(
            INFERENCE_UNAUTHENTICATED,
            place,
            format!(
                "{what} take requests without credentials (Triton answered about the model, \
                 not with a restricted-API refusal); {models}"
            ),
            "http",
        );
    }
    // Each restricted one is noted, also when the other is open.
    j.pass("inference", &facts.inference);
    j.pass("model metadata", &facts.model_metadata);
    if let Some(Grpc::Probed {
        addr,
        model_metadata,
        infer,
        ..
    }) = &facts.grpc
    {
        let open = [infer, model_metadata]
            .into_iter()
            .filter(|o| o.access.is_open())
            .collect::<Vec<_>>();
        if let Some(first) = open.first() {
            let what = open
                .iter()
                .map(|o| o.endpoint.as_str())
                .collect::<Vec<_>>()
                .join(" and ");
            j.emit(
                INFERENCE_UNAUTHENTICATED,
                grpc_place(addr, first),
                format!("gRPC {what} take requests without credentials; {models}"),
                "grpc",
            );
        }
        j.pass("gRPC inference", infer);
        j.pass("gRPC model metadata", model_metadata);
    }
}

/// TG702: the model-repository API answers.
fn repository(j: &mut Judge<'_>) {
    let facts = j.facts;
    const RISK: &str = "the same API loads and unloads models, and with \
        --model-control-mode=explicit a load request can carry model files, so anyone who \
        reaches it can run code in the server";
    if facts.repository_index.access.is_open() {
        let names: Vec<&str> = facts.index_models.iter().map(String::as_str).collect();
        let place = j.http(&facts.repository_index);
        j.emit(
            REPOSITORY_API_OPEN,
            place,
            format!(
                "the model-repository API answers without credentials (the index lists {} \
                 model{}{}); {RISK}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                if names.is_empty() {
                    String::new()
                } else {
                    format!(": {}", list(&names))
                }
            ),
            "http",
        );
    } else {
        j.pass("model-repository API", &facts.repository_index);
    }
    if let Some(Grpc::Probed {
        addr,
        index,
        index_models,
        ..
    }) = &facts.grpc
    {
        if index.access.is_open() {
            let http_closed = !facts.repository_index.access.is_open();
            let names: Vec<&str> = index_models.iter().map(String::as_str).collect();
            j.emit(
                REPOSITORY_API_OPEN,
                grpc_place(addr, index),
                format!(
                    "the gRPC model-repository API answers without credentials (the index lists \
                     {} model{}){}; {RISK}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    if http_closed {
                        " although HTTP restricts it: --grpc-restricted-protocol is missing"
                    } else {
                        ""
                    }
                ),
                "grpc",
            );
        } else {
            j.pass("gRPC model-repository API", index);
        }
    }
}

/// TG703: the metrics endpoint answers.
fn metrics(j: &mut Judge<'_>) {
    if let Metrics::Open { url, models, .. } = &j.facts.metrics {
        let (base, path) = split_url(url);
        let names: Vec<&str> = models.iter().map(String::as_str).collect();
        j.emit(
            METRICS_EXPOSED,
            Place {
                url: base,
                endpoint: format!("GET {path}"),
            },
            if names.is_empty() {
                "the metrics endpoint answers without credentials (no model is loaded yet; \
                 loaded models appear in its labels)"
                    .to_string()
            } else {
                format!(
                    "the metrics endpoint answers without credentials and names {} model{}: {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    list(&names)
                )
            },
            "metrics",
        );
    }
}

/// `http://h:8002/metrics` → (`http://h:8002`, `/metrics`).
pub fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => (
            url[..after_scheme + i].to_string(),
            url[after_scheme + i..].to_string(),
        ),
        None => (url.to_string(), "/".to_string()),
    }
}

/// TG704, TG705, TG706, TG709: administrative APIs that answer a read.
fn admin_apis(j: &mut Judge<'_>) {
    let facts = j.facts;
    let fixed = at_least_2404(facts.version.as_deref());
    let version = facts
        .version
        .as_deref()
        .map(|v| format!("server {v}"))
        .unwrap_or_else(|| "this server (version hidden)".to_string());

    if facts.logging.access.is_open() {
        let what = match fixed {
            Some(true) => format!(
                "anyone can change log verbosity, levels and format ({version} refuses a new log \
                 file path over the network, fixed in 24.04); verbose logs record request details"
            ),
            Some(false) => format!(
                "anyone can change the log settings including the log file path: {version} is \
                 older than 24.04 (CVE-2024-0087, 9.0: write to any file the server can write)"
            ),
            None => "anyone can change log verbosity, levels and format, and before 24.04 the log \
                     file path too (CVE-2024-0087)"
                .to_string(),
        };
        let place = j.http(&facts.logging);
        j.emit(
            LOGGING_API_OPEN,
            place,
            format!("the logging API answers without credentials: {what}"),
            "logging",
        );
    } else {
        j.pass("logging API", &facts.logging);
    }

    let shm: Vec<&Observation> = [&facts.system_shared_memory, &facts.cuda_shared_memory]
        .into_iter()
        .filter(|o| o.access.is_open())
        .collect();
    if let Some(first) = shm.first() {
        let kinds = shm
            .iter()
            .map(|o| {
                if o.endpoint.contains("cuda") {
                    "CUDA"
                } else {
                    "system"
                }
            })
            .collect::<Vec<_>>()
            .join(" and ");
        let cve = match fixed {
            Some(false) => format!(
                "; {version} is older than 24.04 (CVE-2024-0088: memory access through this API)"
            ),
            _ => String::new(),
        };
        let place = j.http(first);
        j.emit(
            SHARED_MEMORY_API_OPEN,
            place,
            format!(
                "the {kinds} shared-memory API answers without credentials: anyone can list, \
                 register and unregister regions and make the server read and write them{cve}"
            ),
            "shared-memory",
        );
    } else {
        j.pass("system shared-memory API", &facts.system_shared_memory);
        j.pass("CUDA shared-memory API", &facts.cuda_shared_memory);
    }

    if facts.trace.access.is_open() {
        let what = match fixed {
            Some(true) => format!(
                "anyone can switch tracing on and change its level, rate and count ({version} \
                 refuses a new trace file path over the network, fixed in 24.04)"
            ),
            Some(false) => format!(
                "anyone can change trace settings including the trace file path: {version} is \
                 older than 24.04 (CVE-2024-0100: overwrite files the server can write)"
            ),
            None => "anyone can change trace settings, and before 24.04 the trace file path too \
                     (CVE-2024-0100)"
                .to_string(),
        };
        let place = j.http(&facts.trace);
        j.emit(
            TRACE_API_OPEN,
            place,
            format!("the trace API answers without credentials: {what}"),
            "trace",
        );
    } else {
        j.pass("trace API", &facts.trace);
    }

    if facts.statistics.access.is_open() {
        let loaded = facts.loaded_models();
        let place = j.http(&facts.statistics);
        j.emit(
            STATISTICS_API_OPEN,
            place,
            format!(
                "the statistics API answers without credentials: it lists every loaded model \
                 with its request counts and timings{}",
                if loaded.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", list(&loaded))
                }
            ),
            "statistics",
        );
    } else {
        j.pass("statistics API", &facts.statistics);
    }
}

/// TG707: the version, judged by TG401's policy (its release threshold and CVE list) on
/// the release that ships it.
fn version(j: &mut Judge<'_>, catalogue: &Catalogue) {
    let facts = j.facts;
    let Some(version) = facts.version.as_deref() else {
        return;
    };
    let place = Place {
        url: match facts
            .version_seen_at
            .as_deref()
            .filter(|s| s.starts_with("gRPC"))
        {
            Some(_) => match &facts.grpc {
                Some(Grpc::Probed { addr, .. }) => format!("grpc://{addr}"),
                _ => facts.url.clone(),
            },
            None => facts.url.clone(),
        },
        endpoint: facts
            .version_seen_at
            .clone()
            .unwrap_or_else(|| "GET /v2".to_string())
            .trim_start_matches("gRPC ")
            .to_string(),
    };
    let Some(release) = crate::model::image::release_for_triton_version(version) else {
        j.out.passed.push(format!(
            "server version {version} is not in the release table: TG707 could not judge it"
        ));
        return;
    };
    match static_verdict(catalogue, version, &release) {
        Ok(None) => j.out.passed.push(format!(
            "server {version} (release {release}) has no published vulnerability known to \
             {STATIC_VULNERABLE_VERSION}"
        )),
        Ok(Some(message)) => j.emit(
            VULNERABLE_VERSION,
            place,
            format!("server {version} is release {release}: {message}"),
            version,
        ),
        Err(why) => j
            .out
            .passed
            .push(format!("TG707 could not judge {version}: {why}")),
    }
}

/// Runs TG401's `match`, `assert` and `message` on a launch whose image is this release:
/// `Ok(Some(message))` when it would report it.
pub fn static_verdict(
    catalogue: &Catalogue,
    version: &str,
    release: &str,
) -> Result<Option<String>, String> {
    let policy = catalogue
        .rule(STATIC_VULNERABLE_VERSION)
        .ok_or_else(|| format!("rule {STATIC_VULNERABLE_VERSION} is not loaded"))?;
    let image = Node::map(vec![
        ("is_triton".to_string(), Node::new(Value::Bool(true))),
        ("release".to_string(), Node::str(release)),
        ("triton_version".to_string(), Node::str(version)),
        (
            "reference".to_string(),
            Node::str(format!("tritonserver {version}")),
        ),
    ]);
    let launch = Node::map(vec![("image".to_string(), image)]);
    let mut ctx = cel::Context::with_env(Arc::clone(&catalogue.env));
    ctx.add_variable_from_value("launch", to_cel(&launch));
    ctx.add_variable_from_value("file", to_cel(&Node::null()));
    let run_bool =
        |program: &Option<crate::evaluate::policy::LazyProgram>| -> Result<bool, String> {
            match program.as_ref().map(|p| p.execute(&ctx)) {
                None => Ok(true),
                Some(Ok(cel::Value::Bool(b))) => Ok(b),
                Some(Ok(other)) => Err(format!("expected a boolean, got {other:?}")),
                Some(Err(e)) => Err(e),
            }
        };
    if !run_bool(&policy.match_program)? {
        return Ok(None);
    }
    let passes = match &policy.assert_program {
        Some(_) => run_bool(&policy.assert_program)?,
        None => false,
    };
    if passes {
        return Ok(None);
    }
    let message = policy
        .message_program
        .as_ref()
        .and_then(|p| p.execute(&ctx).ok())
        .as_ref()
        .and_then(crate::evaluate::cel_value::to_text)
        .unwrap_or_else(|| policy.spec.summary.clone());
    Ok(Some(message))
}

/// What a loaded model's backend runs when it loads, for TG708; `None` for data formats.
pub fn code_risk(model: &Model) -> Option<String> {
    let backend = model.backend.as_str();
    let platform = model.platform.as_str();
    let runtime = model.runtime.as_str();
    if (backend == "pytorch" && runtime.ends_with(".py"))
        || (backend == "python" && platform == "pytorch")
    {
        return Some(
            "the PyTorch Python runtime: model.py is arbitrary Python and the weights are read \
             with torch.load, that is pickle, which can call any Python function while loading"
                .to_string(),
        );
    }
    if backend == "python" || (backend.is_empty() && platform == "python") {
        return Some(
            "the Python backend: its model.py is arbitrary Python run by the server's stub \
             process, and anything it unpickles (pickle, joblib, torch.load) runs too"
                .to_string(),
        );
    }
    if backend == "pytorch" || platform == "pytorch_libtorch" {
        return Some(
            "the PyTorch (LibTorch) backend: a TorchScript archive read by LibTorch's own \
             unpickler, which cannot import arbitrary Python callables, but whose TorchScript \
             code runs on every request"
                .to_string(),
        );
    }
    None
}

/// TG708: loaded models whose backend runs code from the model files.
fn models(j: &mut Judge<'_>) {
    let facts = j.facts;
    for model in facts.models.iter().filter(|m| m.loaded) {
        let Some(risk) = code_risk(model) else {
            continue;
        };
        let endpoint = model
            .seen_at
            .clone()
            .unwrap_or_else(|| "GET /v2/models/{model}/config".to_string());
        j.emit(
            PICKLE_MODEL_LOADED,
            Place {
                url: facts.url.clone(),
                endpoint,
            },
            format!("model '{}' is loaded and runs on {risk}", model.name),
            &model.name,
        );
    }
    let unread = facts
        .models
        .iter()
        .filter(|m| m.loaded && m.seen_at.is_none())
        .count();
    if unread > 0 {
        j.out.passed.push(format!(
            "TG708: the backend of {unread} loaded model{} is hidden (configuration and metadata \
             restricted)",
            if unread == 1 { "" } else { "s" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_with_24_04() {
        assert_eq!(at_least_2404(Some("2.51.0")), Some(true));
        assert_eq!(at_least_2404(Some("2.45.0")), Some(true));
        assert_eq!(at_least_2404(Some("2.44.0")), Some(false));
        assert_eq!(at_least_2404(Some("x")), None);
        assert_eq!(at_least_2404(None), None);
    }

    #[test]
    fn tg401_judges_the_release_of_a_live_version() {
        let catalogue = Catalogue::load(&[], true).unwrap();
        let m = static_verdict(&catalogue, "2.51.0", "24.10")
            .unwrap()
            .unwrap();
        assert!(m.contains("24.10") && m.contains("CVE-2025-23310"), "{m}");
        assert_eq!(static_verdict(&catalogue, "2.71.0", "26.07").unwrap(), None);
    }

    #[test]
    fn backends_that_run_code_are_named() {
        let m = |backend: &str, platform: &str, runtime: &str| Model {
            name: "m".into(),
            loaded: true,
            backend: backend.into(),
            platform: platform.into(),
            runtime: runtime.into(),
            seen_at: None,
        };
        assert!(
            code_risk(&m("python", "", ""))
                .unwrap()
                .contains("Python backend")
        );
        assert!(
            code_risk(&m("", "python", ""))
                .unwrap()
                .contains("Python backend")
        );
        assert!(
            code_risk(&m("pytorch", "", "model.py"))
                .unwrap()
                .contains("torch.load")
        );
        assert!(
            code_risk(&m("pytorch", "pytorch_libtorch", ""))
                .unwrap()
                .contains("TorchScript")
        );
        assert_eq!(code_risk(&m("onnxruntime", "onnxruntime_onnx", "")), None);
    }

    #[test]
    fn urls_split_into_server_and_path() {
        assert_eq!(
            split_url("http://h:8002/metrics"),
            ("http://h:8002".to_string(), "/metrics".to_string())
        );
    }
}
