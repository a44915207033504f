//! tritonserver's argv to [`Server`] settings: flags resolved the way getopt_long resolves
//! them, values checked the way the server checks them, and Triton's defaults filled in where
//! the argv leaves a setting out (pointing at the argv that omitted it).

use std::collections::BTreeMap;

use crate::model::flags::{self, ArgKind, Resolution};
use crate::model::launch::{At, Endpoint, Fact, InvalidFlag, Logging, Server};
use crate::source::Span;

/// One argv element with where it is written. `unresolved` marks text that depends on a
/// variable or command substitution the files do not determine.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgWord {
    pub text: String,
    pub span: Option<Span>,
    pub unresolved: bool,
    /// Exact spans for byte ranges of `text` when they are literal copies of the source:
    /// `(text_start, source_span)` pieces, in order.
    pub pieces: Vec<(usize, Span)>,
    /// The shell or Dockerfile word this came from, which maps any part of its text back to
    /// the source exactly.
    pub origin: Option<Box<crate::parse::words::Word>>,
    /// Why the argument has the text it has, when that is not what its author likely meant
    /// (a line break YAML folded into a space after `\`): said in findings about it.
    pub note: Option<String>,
}

impl From<&crate::parse::words::Word> for ArgWord {
    fn from(word: &crate::parse::words::Word) -> ArgWord {
        ArgWord {
            text: word.text.clone(),
            span: Some(word.span),
            unresolved: !word.is_resolved(),
            pieces: Vec::new(),
            origin: Some(Box::new(word.clone())),
            note: None,
        }
    }
}

impl ArgWord {
    pub fn new(text: impl Into<String>, span: Option<Span>) -> ArgWord {
        ArgWord {
            text: text.into(),
            span,
            unresolved: false,
            pieces: Vec::new(),
            origin: None,
            note: None,
        }
    }

    /// A word whose text is a verbatim copy of the source at `span`.
    pub fn literal(text: impl Into<String>, span: Span) -> ArgWord {
        ArgWord {
            text: text.into(),
            span: Some(span),
            unresolved: false,
            pieces: vec![(0, span)],
            origin: None,
            note: None,
        }
    }

    /// This argument as a mapped word (for splitting its text again as a script): its
    /// origin, or a word built from its exact pieces, or one produced by its whole span.
    pub fn to_word(&self) -> Option<crate::parse::words::Word> {
        use crate::parse::words::{TextOrigin, Word};
        if let Some(word) = &self.origin {
            return Some((**word).clone());
        }
        let span = self.span?;
        let mut runs = Vec::new();
        let mut at = 0;
        for (i, (start, piece)) in self.pieces.iter().enumerate() {
            let end = self
                .pieces
                .get(i + 1)
                .map_or(self.text.len(), |(next, _)| *next)
                .min(start + piece.len())
                .min(self.text.len());
            if *start < at || end <= *start {
                continue;
            }
            if at < *start {
                runs.push((at..*start, TextOrigin::Produced(span.start, span.end)));
            }
            runs.push((*start..end, TextOrigin::Copy(piece.start)));
            at = end;
        }
        if at < self.text.len() {
            runs.push((
                at..self.text.len(),
                TextOrigin::Produced(span.start, span.end),
            ));
        }
        Some(Word::mapped(self.text.clone(), span, &runs))
    }

    /// The source span of `text[start..end]`, exact where the text is a literal copy,
    /// otherwise the whole word.
    pub fn subspan(&self, start: usize, end: usize) -> Option<Span> {
        if let Some(word) = &self.origin {
            return Some(word.subspan(start..end));
        }
        for (i, (piece_start, piece_span)) in self.pieces.iter().enumerate() {
            let piece_end = self
                .pieces
                .get(i + 1)
                .map(|(s, _)| *s)
                .unwrap_or(self.text.len())
                .min(piece_start + piece_span.len());
            if start >= *piece_start && end <= piece_end {
                let offset = piece_span.start + (start - piece_start);
                return Some(Span::new(piece_span.file, offset, offset + (end - start)));
            }
        }
        self.span
    }
}

/// Triton's built-in defaults (2.51).
mod defaults {
    pub const HTTP_PORT: i64 = 8000;
    pub const GRPC_PORT: i64 = 8001;
    pub const METRICS_PORT: i64 = 8002;
    pub const SAGEMAKER_PORT: i64 = 8080;
    pub const VERTEX_AI_PORT: i64 = 8080;
    pub const ADDRESS: &str = "0.0.0.0";
    pub const POLL_SECS: i64 = 15;
    pub const BACKEND_DIRECTORY: &str = "/opt/tritonserver/backends";
    pub const REPOAGENT_DIRECTORY: &str = "/opt/tritonserver/repoagents";
    pub const CACHE_DIRECTORY: &str = "/opt/tritonserver/caches";
}

/// One flag as given, after resolution.
struct FlagUse {
    canonical: &'static str,
    value: Fact<String>,
    /// The value's text even when part of it is unresolved (`...:key=$(SECRET)`).
    raw_value: Option<String>,
    /// The flag and its value together (what a finding underlines).
    span: Option<Span>,
}

/// Reads tritonserver's argv. `anchor` is where a missing flag should have been written (the
/// args list or the command); `env` is the container environment (AIP_MODE and AIP_HTTP_PORT
/// change Triton's defaults).
pub fn parse_server_args(
    argv: &[ArgWord],
    anchor: Option<Span>,
    env: &BTreeMap<String, String>,
) -> Server {
    let mut uses: Vec<FlagUse> = Vec::new();
    let mut invalid: Vec<Fact<InvalidFlag>> = Vec::new();
    // An argument we cannot read (`$EXTRA_ARGS`) could set anything: settings it might
    // change are unknown rather than defaulted.
    let mut opaque: Option<Option<Span>> = None;
    let mut i = 0;
    let mut options_ended = false;
    while i < argv.len() {
        let word = &argv[i];
        i += 1;
        if word.unresolved && word.text.trim().is_empty() {
            opaque = opaque.or(Some(word.span));
            continue;
        }
        if options_ended || !word.text.starts_with('-') || word.text == "-" {
            if word.unresolved && !word.text.contains("--") {
                opaque = opaque.or(Some(word.span));
                continue;
            }
            invalid.push(invalid_flag(
                word,
                "unexpected-argument",
                unexpected_argument_message(word),
                None,
                visible_span(word),
            ));
            continue;
        }
        if word.text == "--" {
            options_ended = true;
            continue;
        }
        let Some(body) = word.text.strip_prefix("--") else {
            let letter = word.text.chars().nth(1).unwrap_or('-');
            invalid.push(invalid_flag(
                word,
                "unknown",
                format!("invalid option -- '{letter}' (tritonserver has only long --flags)"),
                None,
                word.span,
            ));
            continue;
        };
        let (name, inline_value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let name_span = word.subspan(0, 2 + name.len());
        if word.unresolved && word.text.find('$').is_some_and(|d| d < 2 + name.len()) {
            opaque = opaque.or(Some(word.span));
            continue;
        }
        let spec = match flags::resolve(name) {
            Resolution::Exact(spec) | Resolution::Prefix(spec) => spec,
            Resolution::Ambiguous(candidates) => {
                invalid.push(invalid_flag(
                    word,
                    "ambiguous",
                    format!(
                        "option '--{name}' is ambiguous; possibilities: {}",
                        candidates
                            .iter()
                            .map(|c| format!("'--{c}'"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    None,
                    name_span,
                ));
                continue;
            }
            Resolution::Unknown { suggestion } => {
                invalid.push(invalid_flag(
                    word,
                    "unknown",
                    format!("unrecognized option '--{name}'"),
                    suggestion.map(|s| format!("--{s}")),
                    name_span,
                ));
                continue;
            }
        };
        let raw_value = match inline_value {
            Some(v) => Some(v.to_string()),
            None if spec.arg != ArgKind::None => argv.get(i).map(|n| n.text.clone()),
            None => None,
        };
        let (value, span) = if spec.arg == ArgKind::None {
            if inline_value.is_some() {
                invalid.push(invalid_flag(
                    word,
                    "unexpected-value",
                    format!("option '--{}' doesn't allow an argument", spec.name),
                    None,
                    word.span,
                ));
                continue;
            }
            (Fact::known("true".to_string(), word.span), word.span)
        } else if let Some(v) = inline_value {
            let value_span = word.subspan(word.text.len() - v.len(), word.text.len());
            let value = if word.unresolved {
                Fact::unknown(value_span)
            } else {
                Fact::known(v.to_string(), value_span)
            };
            (value, word.span)
        } else if let Some(next) = argv.get(i) {
            i += 1;
            let value = if next.unresolved {
                Fact::unknown(next.span)
            } else {
                Fact::known(next.text.clone(), next.span)
            };
            let span = match (word.span, next.span) {
                (Some(a), Some(b)) if a.file == b.file && b.start >= a.start => Some(a.join(b)),
                (a, _) => a,
            };
            (value, span)
        } else {
            invalid.push(invalid_flag(
                word,
                "missing-value",
                format!("option '--{}' requires an argument", spec.name),
                None,
                word.span,
            ));
            continue;
        };
        if let Some(text) = value.get()
            && let Err(message) = flags::check_value(spec, text)
        {
            invalid.push(Fact::known(
                InvalidFlag {
                    arg: word.text.clone(),
                    reason: "invalid-value".to_string(),
                    message: format!("Bad option: \"--{}\". {message}", spec.name),
                    suggestion: None,
                },
                value.span.or(span),
            ));
            continue;
        }
        uses.push(FlagUse {
            canonical: spec.canonical,
            value,
            raw_value,
            span,
        });
    }
    // Checked after parsing: two ways to configure the response cache cannot be combined.
    let cache_size = uses
        .iter()
        .find(|u| u.canonical == "response-cache-byte-size");
    if let (Some(size), Some(_)) = (
        cache_size,
        uses.iter().find(|u| u.canonical == "cache-config"),
    ) {
        invalid.push(Fact::known(
            InvalidFlag {
                arg: "--response-cache-byte-size".to_string(),
                reason: "conflict".to_string(),
                message:
                    "Incompatible flags --response-cache-byte-size and --cache-config both provided"
                        .to_string(),
                suggestion: None,
            },
            size.span,
        ));
    }
    build_server(argv, anchor, env, uses, invalid, opaque)
}

/// tritonserver's `Unexpected argument: <arg>`, with the argument quoted when blanks at its
/// ends (or nothing at all) would not show, and the reason it has that text when known.
fn unexpected_argument_message(word: &ArgWord) -> String {
    let text = &word.text;
    let shown = if text.is_empty() || text.trim() != text {
        format!("{text:?}")
    } else {
        text.clone()
    };
    let why = match (&word.note, text.is_empty()) {
        (Some(note), _) => format!(" ({note})"),
        (None, true) => " (an empty argument)".to_string(),
        (None, false) => String::new(),
    };
    format!("Unexpected argument: {shown}{why}")
}

/// The span of a word's visible text (without blanks at its ends), so that a finding about
/// an argument that starts with a folded line break sits on the argument's own line.
fn visible_span(word: &ArgWord) -> Option<Span> {
    let trimmed = word.text.trim_start();
    let start = word.text.len() - trimmed.len();
    let end = start + trimmed.trim_end().len();
    if start == end {
        return word.span;
    }
    word.subspan(start, end).or(word.span)
}

fn invalid_flag(
    word: &ArgWord,
    reason: &str,
    message: String,
    suggestion: Option<String>,
    span: Option<Span>,
) -> Fact<InvalidFlag> {
    Fact::known(
        InvalidFlag {
            arg: word.text.clone(),
            reason: reason.to_string(),
            message,
            suggestion,
        },
        span.or(word.span),
    )
}

/// Settings derived from the flag uses; the last use of a flag wins, as in the server.
struct Settings<'a> {
    uses: &'a [FlagUse],
    anchor: Option<Span>,
    /// Set when an unreadable argument may change any setting; holds its span.
    opaque: Option<Option<Span>>,
}

impl Settings<'_> {
    fn last(&self, canonical: &str) -> Option<&FlagUse> {
        self.uses.iter().rev().find(|u| u.canonical == canonical)
    }

    fn all(&self, canonical: &str) -> Vec<&FlagUse> {
        self.uses
            .iter()
            .filter(|u| u.canonical == canonical)
            .collect()
    }

    /// A default, unless an unreadable argument might have changed it.
    fn default<T>(&self, value: T) -> Fact<T> {
        match self.opaque {
            Some(span) => Fact::unknown(span.or(self.anchor)),
            None => Fact::known(value, self.anchor),
        }
    }

    fn string(&self, canonical: &str, default: Option<&str>) -> Fact<String> {
        match self.last(canonical) {
            Some(u) => Fact {
                value: u.value.value.clone(),
                span: u.span,
            },
            None => match default {
                Some(d) => self.default(d.to_string()),
                None => Fact::unknown(self.opaque.flatten().or(self.anchor)),
            },
        }
    }

    fn boolean(&self, canonical: &str, default: bool) -> Fact<bool> {
        match self.last(canonical) {
            Some(u) => Fact {
                value: u.value.get().and_then(|v| flags::parse_bool(v)),
                span: u.span,
            },
            None => self.default(default),
        }
    }

    fn int(&self, canonical: &str, default: i64) -> Fact<i64> {
        match self.last(canonical) {
            Some(u) => Fact {
                value: u.value.get().and_then(|v| flags::parse_stoi(v)),
                span: u.span,
            },
            None => self.default(default),
        }
    }

    fn list(&self, canonical: &str) -> Vec<Fact<String>> {
        self.all(canonical)
            .into_iter()
            .map(|u| Fact {
                value: u.value.value.clone(),
                span: u.span,
            })
            .collect()
    }
}

fn build_server(
    argv: &[ArgWord],
    anchor: Option<Span>,
    env: &BTreeMap<String, String>,
    uses: Vec<FlagUse>,
    invalid: Vec<Fact<InvalidFlag>>,
    opaque: Option<Option<Span>>,
) -> Server {
    let s = Settings {
        uses: &uses,
        anchor,
        opaque,
    };
    // Vertex AI's environment switches Triton's defaults (command_line_parser.cc).
    let vertex_env = env.get("AIP_MODE").map(String::as_str) == Some("PREDICTION");
    let vertex_port = env
        .get("AIP_HTTP_PORT")
        .and_then(|p| flags::parse_stoi(p))
        .unwrap_or(defaults::VERTEX_AI_PORT);

    let mode = match s.last("model-control-mode") {
        Some(u) => Fact {
            value: u.value.get().map(|v| v.to_ascii_lowercase()),
            span: u.span,
        },
        None => s.default("none".to_string()),
    };
    let strict_model_config = match s.last("strict-model-config") {
        Some(u) => Fact {
            value: u.value.get().and_then(|v| flags::parse_bool(v)),
            span: u.span,
        },
        None => Fact::unknown(opaque.flatten().or(anchor)),
    };
    let disable_auto_complete = match s.last("disable-auto-complete-config") {
        Some(u) => Fact::known(true, u.span),
        None => s.default(false),
    };
    let auto_complete_config = match (&disable_auto_complete.value, &strict_model_config.value) {
        (Some(true), _) => Fact::known(false, disable_auto_complete.span),
        (_, Some(true)) => Fact::known(false, strict_model_config.span),
        (Some(false), Some(false)) => Fact::known(true, strict_model_config.span),
        (Some(false), None) if opaque.is_none() => Fact::known(true, anchor),
        _ => Fact::unknown(opaque.flatten().or(anchor)),
    };

    let http = Endpoint {
        enabled: s.boolean("allow-http", !vertex_env),
        address: s.string("http-address", Some(defaults::ADDRESS)),
        port: s.int("http-port", defaults::HTTP_PORT),
        restricted_apis: restricted(&s, "http-restricted-api"),
        header_forward_pattern: s.string("http-header-forward-pattern", None),
        ssl: Fact::known(false, None),
        ssl_mutual: Fact::known(false, None),
    };
    let grpc_mutual = s.boolean("grpc-use-ssl-mutual", false);
    let grpc_ssl = match (&grpc_mutual.value, s.last("grpc-use-ssl")) {
        // --grpc-use-ssl-mutual turns TLS on whatever --grpc-use-ssl says.
        (Some(true), _) => grpc_mutual.clone(),
        _ => s.boolean("grpc-use-ssl", false),
    };
    let grpc = Endpoint {
        enabled: s.boolean("allow-grpc", !vertex_env),
        address: s.string("grpc-address", Some(defaults::ADDRESS)),
        port: s.int("grpc-port", defaults::GRPC_PORT),
        restricted_apis: restricted(&s, "grpc-restricted-protocol"),
        header_forward_pattern: s.string("grpc-header-forward-pattern", None),
        ssl: grpc_ssl,
        ssl_mutual: grpc_mutual,
    };
    // The metrics listener binds where HTTP binds unless told otherwise (verified on 2.51).
    let metrics_address = match s.last("metrics-address") {
        Some(_) => s.string("metrics-address", None),
        None => match s.last("http-address") {
            Some(_) => http.address.clone(),
            None => s.default(defaults::ADDRESS.to_string()),
        },
    };
    let metrics = Endpoint {
        enabled: s.boolean("allow-metrics", true),
        address: metrics_address,
        port: s.int("metrics-port", defaults::METRICS_PORT),
        ..endpoint_without_api()
    };
    let sagemaker = Endpoint {
        enabled: s.boolean("allow-sagemaker", false),
        address: s.default(defaults::ADDRESS.to_string()),
        port: s.int("sagemaker-port", defaults::SAGEMAKER_PORT),
        ..endpoint_without_api()
    };
    let vertex_ai = Endpoint {
        enabled: s.boolean("allow-vertex-ai", vertex_env),
        address: s.default(defaults::ADDRESS.to_string()),
        port: s.int("vertex-ai-port", vertex_port),
        ..endpoint_without_api()
    };

    // tritonserver has no OpenAI endpoint: the OpenAI frontend is a program of its own.
    let openai = Endpoint {
        enabled: Fact::known(false, anchor),
        ..endpoint_without_api()
    };
    let trace_level = trace_level(&s);
    let mut flags_map: BTreeMap<String, Vec<Fact<String>>> = BTreeMap::new();
    for u in &uses {
        flags_map
            .entry(u.canonical.to_string())
            .or_default()
            .push(Fact {
                value: u.value.value.clone(),
                span: u.span,
            });
    }
    let argv_facts = argv
        .iter()
        .map(|w| Fact {
            value: if w.unresolved {
                None
            } else {
                Some(w.text.clone())
            },
            span: w.span,
        })
        .collect();
    let log_verbose = match s.last("log-verbose") {
        Some(u) => Fact {
            value: u
                .value
                .get()
                .and_then(|v| match v.to_ascii_lowercase().as_str() {
                    "true" => Some(1),
                    "false" => Some(0),
                    _ => flags::parse_stoi(v),
                }),
            span: u.span,
        },
        None => s.default(0),
    };

    Server {
        invoked: true,
        argv: At {
            value: argv_facts,
            span: anchor,
        },
        flags: flags_map,
        invalid_flags: invalid,
        model_repositories: s.list("model-repository"),
        repository_poll_secs: s.int("repository-poll-secs", defaults::POLL_SECS),
        load_models: s.list("load-model"),
        model_control_mode: mode,
        strict_model_config,
        disable_auto_complete_config: disable_auto_complete,
        auto_complete_config,
        exit_on_error: s.boolean("exit-on-error", true),
        strict_readiness: s.boolean("strict-readiness", true),
        http,
        grpc,
        metrics,
        sagemaker,
        vertex_ai,
        openai,
        log: Logging {
            file: s.string("log-file", None),
            verbose: log_verbose,
            format: s.string("log-format", Some("default")),
        },
        rate_limit: match s.last("rate-limit") {
            Some(u) => Fact {
                value: u.value.get().map(|v| v.to_ascii_lowercase()),
                span: u.span,
            },
            None => s.default("off".to_string()),
        },
        trace_level,
        backend_directory: s.string("backend-directory", Some(defaults::BACKEND_DIRECTORY)),
        repoagent_directory: s.string("repoagent-directory", Some(defaults::REPOAGENT_DIRECTORY)),
        cache_directory: s.string("cache-directory", Some(defaults::CACHE_DIRECTORY)),
        model_namespacing: s.boolean("model-namespacing", false),
    }
}

fn endpoint_without_api() -> Endpoint {
    Endpoint {
        ssl: Fact::known(false, None),
        ssl_mutual: Fact::known(false, None),
        ..Endpoint::default()
    }
}

/// The API groups restricted by every use of a restricted-API flag.
fn restricted(s: &Settings<'_>, canonical: &str) -> Vec<Fact<String>> {
    let mut apis = Vec::new();
    for u in s.all(canonical) {
        // The API list is usually literal even when the secret comes from elsewhere.
        let text = u.value.get().cloned().or_else(|| {
            u.raw_value.clone().filter(|raw| {
                raw.split(':')
                    .next()
                    .is_some_and(|apis| !apis.contains('$'))
            })
        });
        match text.map(|v| flags::parse_restricted(&v)) {
            Some(Ok(group)) => {
                for api in group.apis {
                    apis.push(Fact::known(api, u.span));
                }
            }
            // An unreadable value may restrict anything; an invalid one stops the server.
            _ => apis.push(Fact::unknown(u.span)),
        }
    }
    apis
}

/// The effective trace level: `--trace-config level=...` overrides the deprecated
/// `--trace-level`, and any "off" disables tracing.
fn trace_level(s: &Settings<'_>) -> Fact<String> {
    let mut level: Option<Fact<String>> = None;
    let normalize = |v: &str| -> String {
        match v.to_ascii_lowercase().as_str() {
            "false" | "off" => "OFF".to_string(),
            "true" | "on" | "min" | "max" | "timestamps" => "TIMESTAMPS".to_string(),
            "tensors" => "TENSORS".to_string(),
            other => other.to_uppercase(),
        }
    };
    for u in s.all("trace-level") {
        if let Some(v) = u.value.get() {
            level = Some(Fact::known(normalize(v), u.span));
        }
    }
    for u in s.all("trace-config") {
        if let Some(v) = u.value.get()
            && let Some(l) = v.strip_prefix("level=")
        {
            level = Some(Fact::known(normalize(l), u.span));
        }
    }
    level.unwrap_or_else(|| s.default("OFF".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// Words laid out in one line of text, with exact spans.
    fn words(line: &str) -> Vec<ArgWord> {
        let mut out = Vec::new();
        let mut offset = 0;
        for part in line.split(' ') {
            if !part.is_empty() {
                out.push(ArgWord::literal(
                    part,
                    Span::new(FileId(0), offset, offset + part.len()),
                ));
            }
            offset += part.len() + 1;
        }
        out
    }

    fn server(line: &str) -> Server {
        parse_server_args(
            &words(line),
            Some(Span::new(FileId(0), 0, 0)),
            &BTreeMap::new(),
        )
    }

    fn text(line: &str, span: Option<Span>) -> String {
        span.map(|s| line[s.start..s.end].to_string())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_are_filled_in_and_point_at_the_anchor() {
        let s = server("--model-repository=/models");
        assert_eq!(s.model_control_mode.value.as_deref(), Some("none"));
        assert_eq!(s.model_control_mode.span, Some(Span::new(FileId(0), 0, 0)));
        assert_eq!(s.http.port.value, Some(8000));
        assert_eq!(s.metrics.port.value, Some(8002));
        assert_eq!(s.metrics.enabled.value, Some(true));
        assert_eq!(s.auto_complete_config.value, Some(true));
        assert_eq!(s.model_repositories[0].value.as_deref(), Some("/models"));
    }

    #[test]
    fn prefixes_resolve_and_the_last_flag_wins() {
        let line = "--model-control-mode=poll --model-control-mod=EXPLICIT --allow-metric false";
        let s = server(line);
        assert_eq!(s.model_control_mode.value.as_deref(), Some("explicit"));
        assert_eq!(
            text(line, s.model_control_mode.span),
            "--model-control-mod=EXPLICIT"
        );
        assert_eq!(s.metrics.enabled.value, Some(false));
        assert_eq!(text(line, s.metrics.enabled.span), "--allow-metric false");
        assert!(s.invalid_flags.is_empty());
    }

    #[test]
    fn invalid_flags_are_reported_with_suggestions() {
        let line = "--model-contrl-mode=explicit --model=x --allow-metrics=maybe stray --disable-auto-complete-config=1 --http-port";
        let s = server(line);
        let reasons: Vec<_> = s
            .invalid_flags
            .iter()
            .filter_map(|f| f.value.as_ref())
            .map(|f| f.reason.as_str())
            .collect();
        assert_eq!(
            reasons,
            [
                "unknown",
                "ambiguous",
                "invalid-value",
                "unexpected-argument",
                "unexpected-value",
                "missing-value"
            ]
        );
        let unknown = s.invalid_flags[0].value.clone().unwrap_or_default();
        assert_eq!(unknown.suggestion.as_deref(), Some("--model-control-mode"));
        assert_eq!(text(line, s.invalid_flags[0].span), "--model-contrl-mode");
        assert_eq!(text(line, s.invalid_flags[2].span), "maybe");
    }

    #[test]
    fn metrics_bind_where_http_binds_unless_told_otherwise() {
        let s = server("--http-address=127.0.0.1");
        assert_eq!(s.metrics.address.value.as_deref(), Some("127.0.0.1"));
        assert_eq!(s.grpc.address.value.as_deref(), Some("0.0.0.0"));
        let s = server("--http-address=127.0.0.1 --metrics-address=0.0.0.0");
        assert_eq!(s.metrics.address.value.as_deref(), Some("0.0.0.0"));
    }

    #[test]
    fn strict_model_config_and_disable_auto_complete_combine() {
        assert_eq!(
            server("--strict-model-config=true")
                .auto_complete_config
                .value,
            Some(false)
        );
        assert_eq!(
            server("--strict-model-config=false")
                .auto_complete_config
                .value,
            Some(true)
        );
        assert_eq!(
            server("--strict-model-config=false --disable-auto-complete-config")
                .auto_complete_config
                .value,
            Some(false)
        );
    }

    #[test]
    fn restricted_apis_are_collected_from_every_group() {
        let s = server(
            "--http-restricted-api=model-repository,logging:admin-key=x --http-restricted-api=trace:k=v",
        );
        let apis: Vec<_> = s
            .http
            .restricted_apis
            .iter()
            .filter_map(|f| f.value.clone())
            .collect();
        assert_eq!(apis, ["model-repository", "logging", "trace"]);
    }

    #[test]
    fn an_unreadable_argument_makes_defaults_unknown() {
        let mut argv = words("--model-repository=/m");
        argv.push(ArgWord {
            text: String::new(),
            span: None,
            unresolved: true,
            pieces: Vec::new(),
            origin: None,
            note: None,
        });
        let s = parse_server_args(&argv, None, &BTreeMap::new());
        assert_eq!(s.model_control_mode.value, None);
        assert_eq!(s.model_repositories.len(), 1);
    }

    #[test]
    fn vertex_ai_environment_changes_the_defaults() {
        let env = BTreeMap::from([
            ("AIP_MODE".to_string(), "PREDICTION".to_string()),
            ("AIP_HTTP_PORT".to_string(), "9090".to_string()),
        ]);
        let s = parse_server_args(&words("--model-repository=/m"), None, &env);
        assert_eq!(s.http.enabled.value, Some(false));
        assert_eq!(s.vertex_ai.enabled.value, Some(true));
        assert_eq!(s.vertex_ai.port.value, Some(9090));
    }
}
