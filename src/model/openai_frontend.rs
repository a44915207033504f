//! Triton's OpenAI-compatible frontend (`python3 .../openai_frontend/main.py`, shipped in the
//! `-vllm-python-py3` and `-trtllm-python-py3` images): it starts Triton in-process through the
//! `tritonserver` Python API and serves an OpenAI HTTP API, and optionally Triton's KServe
//! HTTP and gRPC frontends, on `--host`.
//!
//! Followed: `python/openai/openai_frontend/main.py` of triton-inference-server/server at
//! commit 1da6a175d3a60e059f2bbf0bfd02d85f7c55cd40 (the first with `--model-control-mode` and
//! `--load-model`), its `frontend/fastapi/middleware/api_restriction.py` (API groups of
//! `--openai-restricted-api`) and the Python API's server defaults
//! (triton-inference-server/core `python/tritonserver/_api/_server.py`: model control `none`,
//! `strict_model_config=False`, no metrics or SageMaker/Vertex AI listeners of its own).

use std::collections::BTreeMap;

use crate::model::argparse::{self, Given, Opt};
use crate::model::launch::{At, Endpoint, Fact, Logging, Server};
use crate::model::server::ArgWord;
use crate::source::Span;

const PROGRAM: &str = "main.py";

/// The frontend's argument parser.
const OPTIONS: &[Opt] = &[
    Opt::value("model-repository"),
    Opt::value("tokenizer"),
    Opt::value("backend"),
    Opt::value("lora-separator"),
    Opt::value("tritonserver-log-verbose-level"),
    Opt::value("host"),
    Opt::value("tool-call-parser"),
    Opt::value("max-tool-call-parse-bytes"),
    Opt::value("chat-template"),
    Opt::value("default-max-tokens"),
    Opt::value("model-control-mode"),
    Opt::value("load-model"),
    Opt::value("openai-port"),
    Opt::value("uvicorn-log-level"),
    Opt {
        name: "openai-restricted-api",
        short: None,
        nargs: 3,
    },
    Opt::value("http-max-input-size"),
    Opt::flag("enable-kserve-frontends"),
    Opt::value("kserve-http-port"),
    Opt::value("kserve-grpc-port"),
    Opt {
        name: "help",
        short: Some("-h"),
        nargs: 0,
    },
];

const INT_OPTIONS: &[&str] = &[
    "tritonserver-log-verbose-level",
    "max-tool-call-parse-bytes",
    "default-max-tokens",
    "openai-port",
    "http-max-input-size",
    "kserve-http-port",
    "kserve-grpc-port",
];

const CHOICES: &[(&str, &[&str])] = &[
    ("backend", &["vllm", "tensorrtllm"]),
    ("model-control-mode", &["none", "explicit"]),
    (
        "uvicorn-log-level",
        &["debug", "info", "warning", "error", "critical", "trace"],
    ),
];

/// API groups `--openai-restricted-api` accepts (api_restriction.py `ENDPOINT_MAPPING`).
pub const RESTRICTABLE_APIS: &[&str] = &[
    "inference",
    "model-repository",
    "model-management",
    "metrics",
    "health",
];

/// The frontend's entry point, by path.
pub fn is_frontend(word: &str) -> bool {
    word == "openai_frontend/main.py" || word.ends_with("/openai_frontend/main.py")
}

/// The Triton settings the frontend's options give.
pub fn server_settings(argv: &[ArgWord], anchor: Option<Span>) -> Server {
    let (given, mut errors) = argparse::parse(OPTIONS, argv, PROGRAM);
    let last = |name: &str| argparse::last(&given, name);
    let known = |g: &Given| {
        g.values
            .first()
            .filter(|v| !v.unresolved)
            .map(|v| v.text.clone())
    };
    for g in &given {
        let Some(value) = g.values.first().filter(|v| !v.unresolved) else {
            continue;
        };
        if INT_OPTIONS.contains(&g.name) && value.text.trim().parse::<i64>().is_err() {
            errors.push(argparse::error(
                value,
                PROGRAM,
                format!("argument --{}: invalid int value: '{}'", g.name, value.text),
            ));
        }
        if let Some((_, choices)) = CHOICES.iter().find(|(n, _)| *n == g.name)
            && !choices.contains(&value.text.as_str())
        {
            errors.push(argparse::error(
                value,
                PROGRAM,
                format!(
                    "argument --{}: invalid choice: '{}' (choose from {})",
                    g.name,
                    value.text,
                    choices
                        .iter()
                        .map(|c| format!("'{c}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    if last("model-repository").is_none() && !argv.iter().any(|w| w.unresolved) {
        errors.push(argparse::error(
            &ArgWord::new(PROGRAM, anchor),
            PROGRAM,
            "the following arguments are required: --model-repository".to_string(),
        ));
    }
    let string = |name: &str, default: &str| -> Fact<String> {
        match last(name) {
            Some(g) => Fact {
                value: known(g),
                span: g.span,
            },
            None => Fact::known(default.to_string(), anchor),
        }
    };
    let int = |name: &str, default: i64| -> Fact<i64> {
        match last(name) {
            Some(g) => Fact {
                value: known(g).and_then(|v| v.trim().parse().ok()),
                span: g.span,
            },
            None => Fact::known(default, anchor),
        }
    };
    let mode = string("model-control-mode", "none");
    let load_models: Vec<Fact<String>> = given
        .iter()
        .filter(|g| g.name == "load-model")
        .map(|g| Fact {
            value: known(g),
            span: g.span,
        })
        .collect();
    if let Some(first) = load_models.first()
        && mode.value.as_deref() == Some("none")
    {
        errors.push(Fact::known(
            crate::model::launch::InvalidFlag {
                arg: "--load-model".to_string(),
                reason: "launcher-argument".to_string(),
                message: "Error: Use of '--load-model' requires setting \
                          '--model-control-mode=explicit' as well."
                    .to_string(),
                suggestion: None,
            },
            first.span,
        ));
    }
    let kserve = match last("enable-kserve-frontends") {
        Some(g) => Fact::known(true, g.span),
        None => Fact::known(false, anchor),
    };
    let host = string("host", "0.0.0.0");
    let kserve_endpoint = |port: Fact<i64>| Endpoint {
        enabled: kserve.clone(),
        address: host.clone(),
        port,
        // tritonfrontend's KServe options restrict nothing unless the program says so.
        restricted_apis: Vec::new(),
        header_forward_pattern: Fact::known(String::new(), anchor),
        ssl: Fact::known(false, None),
        ssl_mutual: Fact::known(false, None),
    };
    let off = |port: i64| Endpoint {
        enabled: Fact::known(false, anchor),
        address: host.clone(),
        port: Fact::known(port, anchor),
        ssl: Fact::known(false, None),
        ssl_mutual: Fact::known(false, None),
        ..Endpoint::default()
    };
    let mut flags: BTreeMap<String, Vec<Fact<String>>> = BTreeMap::new();
    for g in &given {
        flags.entry(g.name.to_string()).or_default().push(Fact {
            value: (!g.values.iter().any(|v| v.unresolved)).then(|| {
                g.values
                    .iter()
                    .map(|v| v.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            span: g.span,
        });
    }
    Server {
        invoked: true,
        argv: At {
            value: argv
                .iter()
                .map(|w| Fact {
                    value: (!w.unresolved).then(|| w.text.clone()),
                    span: w.span,
                })
                .collect(),
            span: anchor,
        },
        flags,
        invalid_flags: errors,
        model_repositories: last("model-repository")
            .map(|g| {
                vec![Fact {
                    value: known(g),
                    span: g.span,
                }]
            })
            .unwrap_or_default(),
        model_control_mode: mode,
        repository_poll_secs: Fact::known(15, anchor),
        load_models,
        // Not a flag of the frontend; the Python API's default is applied below.
        strict_model_config: Fact::unknown(anchor),
        disable_auto_complete_config: Fact::known(false, anchor),
        // The Python API's default `strict_model_config=False`: backends may complete configs.
        auto_complete_config: Fact::known(true, anchor),
        exit_on_error: Fact::known(true, anchor),
        strict_readiness: Fact::known(true, anchor),
        http: kserve_endpoint(int("kserve-http-port", 8000)),
        grpc: kserve_endpoint(int("kserve-grpc-port", 8001)),
        metrics: off(8002),
        sagemaker: off(8080),
        vertex_ai: off(8080),
        openai: Endpoint {
            enabled: Fact::known(true, anchor),
            address: host.clone(),
            port: int("openai-port", 9000),
            restricted_apis: restricted_apis(&given),
            header_forward_pattern: Fact::known(String::new(), anchor),
            ssl: Fact::known(false, None),
            ssl_mutual: Fact::known(false, None),
        },
        log: Logging {
            file: Fact::unknown(anchor),
            verbose: int("tritonserver-log-verbose-level", 0),
            format: Fact::known("default".to_string(), anchor),
        },
        rate_limit: Fact::known("off".to_string(), anchor),
        trace_level: Fact::known("OFF".to_string(), anchor),
        backend_directory: Fact::known("/opt/tritonserver/backends".to_string(), anchor),
        repoagent_directory: Fact::known("/opt/tritonserver/repoagents".to_string(), anchor),
        cache_directory: Fact::known("/opt/tritonserver/caches".to_string(), anchor),
        model_namespacing: Fact::known(false, anchor),
    }
}

/// The API groups every `--openai-restricted-api APIS KEY VALUE` restricts.
fn restricted_apis(given: &[Given]) -> Vec<Fact<String>> {
    let mut apis = Vec::new();
    for g in given.iter().filter(|g| g.name == "openai-restricted-api") {
        match g.values.first().filter(|v| !v.unresolved) {
            Some(list) => {
                for api in list.text.split(',') {
                    apis.push(Fact::known(api.to_string(), g.span));
                }
            }
            None => apis.push(Fact::unknown(g.span)),
        }
    }
    apis
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(line: &str) -> Server {
        let words: Vec<ArgWord> = line.split(' ').map(|w| ArgWord::new(w, None)).collect();
        server_settings(&words, None)
    }

    #[test]
    fn defaults_follow_main_py() {
        let s = server("--model-repository /models");
        assert!(s.invalid_flags.is_empty());
        assert_eq!(s.openai.port.value, Some(9000));
        assert_eq!(s.openai.address.value.as_deref(), Some("0.0.0.0"));
        assert_eq!(s.http.enabled.value, Some(false));
        assert_eq!(s.model_control_mode.value.as_deref(), Some("none"));
        assert_eq!(s.auto_complete_config.value, Some(true));
    }

    #[test]
    fn kserve_frontends_restrictions_and_errors() {
        let s = server(
            "--model-repository=/m --model-control-mode explicit --enable-kserve-frontends --kserve-http-port 8010 --openai-restricted-api inference,model-management k v --host 127.0.0.1",
        );
        assert_eq!(s.http.enabled.value, Some(true));
        assert_eq!(s.http.port.value, Some(8010));
        assert_eq!(s.grpc.address.value.as_deref(), Some("127.0.0.1"));
        let apis: Vec<_> = s
            .openai
            .restricted_apis
            .iter()
            .filter_map(|a| a.value.clone())
            .collect();
        assert_eq!(apis, ["inference", "model-management"]);
        let bad = server("--model-repository=/m --load-model x --openai-port abc");
        assert_eq!(bad.invalid_flags.len(), 2);
        assert_eq!(
            server("--tokenizer x").invalid_flags.len(),
            1,
            "the repository is required"
        );
    }
}
