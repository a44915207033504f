//! docker compose files: each service that runs tritonserver becomes a Launch, through the
//! same Docker semantics as a `docker run` line.

use std::collections::BTreeMap;

use crate::extract::docker::{Published, RunSpec};
use crate::model::launch::{At, Fact, Mount};
use crate::model::quantity;
use crate::model::server::ArgWord;
use crate::model::yaml_words::arg_word;
use crate::parse::container::{parse_gpus, parse_publish, parse_volume};
use crate::parse::words::Word;
use crate::source::{SourceStore, Span};
use crate::tree::{Node, Value};
use std::path::Path;

/// A compose document: a top-level `services` mapping of mappings, and no Kubernetes kind.
pub fn is_compose_document(root: &Node) -> bool {
    root.get("kind").is_none()
        && root.get("services").is_some_and(|s| {
            matches!(s.value, Value::Map(_))
                && s.as_map()
                    .iter()
                    .all(|(_, v)| matches!(v.value, Value::Map(_) | Value::Null))
        })
}

/// Compose's variable interpolation: `${VAR:-default}`, `${VAR-default}`, `$VAR`, `$$`.
/// Variables come from `env` (the `.env` file); others are unresolved.
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> (String, bool) {
    let mut out = String::new();
    let mut unresolved = false;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_rest) = after.strip_prefix('{') {
            let Some(close) = body_and_rest.find('}') else {
                out.push_str(&rest[at..]);
                return (out, true);
            };
            let body = &body_and_rest[..close];
            let (name, default, only_if_unset) = match body.find([':', '-', '?', '+']) {
                Some(p) if body[p..].starts_with(":-") => (&body[..p], Some(&body[p + 2..]), false),
                Some(p) if body[p..].starts_with('-') => (&body[..p], Some(&body[p + 1..]), true),
                Some(p) => (&body[..p], None, false),
                None => (body, None, false),
            };
            match (env.get(name), default) {
                (Some(v), _) if !v.is_empty() || only_if_unset => out.push_str(v),
                (_, Some(d)) => out.push_str(d),
                _ => {
                    unresolved = true;
                    out.push_str("${");
                    out.push_str(body);
                    out.push('}');
                }
            }
            rest = &body_and_rest[close + 1..];
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                out.push('$');
                rest = after;
            } else {
                match env.get(&name) {
                    Some(v) => out.push_str(v),
                    None => {
                        unresolved = true;
                        out.push('$');
                        out.push_str(&name);
                    }
                }
                rest = &after[name.len()..];
            }
        }
    }
    out.push_str(rest);
    (out, unresolved)
}

/// The text of the file a node was read from: merged compose files mix nodes of several.
fn text_of<'s>(node: &Node, store: &'s SourceStore) -> &'s str {
    node.span
        .and_then(|s| store.get(s.file))
        .map_or("", |f| &f.text)
}

/// A scalar as an argv word after interpolation.
fn word(node: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> ArgWord {
    let mut w = arg_word(node, text_of(node, store));
    let (text, unresolved) = interpolate(&w.text, env);
    if text != w.text {
        w.pieces.clear();
        w.origin = None;
        w.text = text;
    }
    w.unresolved |= unresolved;
    w
}

/// A scalar as a shell-style word for Docker's value syntaxes (`127.0.0.1:8002:8002`,
/// `./models:/models:ro`): exact spans where the text is written out in the source.
fn spec_word(node: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> Option<Word> {
    let text = text(Some(node), env)?;
    let span = node.span?;
    let raw = text_of(node, store).get(span.start..span.end).unwrap_or("");
    Some(if raw == text {
        Word::literal(span.file, text, span.start)
    } else if raw.len() == text.len() + 2 && raw.get(1..raw.len() - 1) == Some(text.as_str()) {
        Word::literal(span.file, text, span.start + 1)
    } else {
        Word::synthetic(text, span)
    })
}

/// `command:`/`entrypoint:` as a list, or a string split the way compose splits it.
fn words(node: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> Vec<ArgWord> {
    match &node.value {
        Value::List(items) => items.iter().map(|i| word(i, store, env)).collect(),
        Value::Null => Vec::new(),
        _ => {
            let line = word(node, store, env);
            // A string compose refuses to split leaves the command unknown.
            crate::model::compose_command::split(&line).unwrap_or_else(|| {
                vec![ArgWord {
                    text: String::new(),
                    unresolved: true,
                    ..line
                }]
            })
        }
    }
}

fn text(node: Option<&Node>, env: &BTreeMap<String, String>) -> Option<String> {
    node.and_then(Node::as_scalar_text)
        .map(|t| interpolate(&t, env).0)
}

fn bool_fact(node: Option<&Node>) -> Option<Fact<bool>> {
    node.map(|n| Fact {
        value: n.as_bool().or_else(|| {
            n.as_str().and_then(|s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })
        }),
        span: n.label_span(),
    })
}

/// The run of each service of a compose document, with the service's `build:` and extent.
/// `dotenv` holds the interpolation variables (the project's `.env` or `--env-file`s);
/// `folder` is the project folder on disk, where `env_file:` paths are read.
pub fn run_specs<'n>(
    root: &'n Node,
    store: &SourceStore,
    display: &str,
    dotenv: &BTreeMap<String, String>,
    folder: Option<&Path>,
) -> Vec<(RunSpec, Option<&'n Node>, Option<Span>)> {
    let mut out = Vec::new();
    for (name, service) in root.get("services").map(Node::as_map).unwrap_or_default() {
        let mut spec = run_spec(name, service, store, display, dotenv);
        // `env_file:` values first; `environment:` wins over them, as in compose.
        let mut env = env_files(service.get("env_file"), folder, dotenv);
        env.append(&mut spec.env);
        spec.env = env;
        let extent = service
            .span
            .map(|s| service.key_span.map_or(s, |k| k.join(s)));
        out.push((spec, service.get("build"), extent));
    }
    out
}

fn run_spec(
    name: &str,
    service: &Node,
    store: &SourceStore,
    display: &str,
    env: &BTreeMap<String, String>,
) -> RunSpec {
    let anchor = service.key_span.or(service.span);
    let get = |k: &str| service.get(k);
    let mut spec = RunSpec {
        id: format!("compose:{display}:{name}"),
        format: "compose".to_string(),
        file: display.to_string(),
        object: Some(format!("service/{name}")),
        name: Some(name.to_string()),
        anchor,
        image: get("image").map(|n| word(n, store, env)),
        entrypoint: get("entrypoint").map(|n| words(n, store, env)),
        command: get("command").map(|n| words(n, store, env)),
        command_anchor: get("command").and_then(Node::label_span),
        user: get("user").map(|n| Fact {
            value: text(Some(n), env),
            span: n.label_span(),
        }),
        privileged: bool_fact(get("privileged")),
        read_only: bool_fact(get("read_only")),
        ..RunSpec::default()
    };
    let list = |k: &str| -> Vec<Fact<String>> {
        get(k)
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .map(|c| Fact {
                value: text(Some(c), env)
                    .map(|t| t.trim_start_matches("CAP_").to_ascii_uppercase()),
                span: c.span,
            })
            .collect()
    };
    spec.cap_add = list("cap_add");
    spec.cap_drop = list("cap_drop");
    for (key, field) in [("network_mode", 0), ("ipc", 1), ("pid", 2)] {
        if let Some(n) = get(key) {
            let fact = Some(Fact::known(
                text(Some(n), env).as_deref() == Some("host"),
                n.label_span(),
            ));
            match field {
                0 => spec.network_host = fact,
                1 => spec.ipc_host = fact,
                _ => spec.pid_host = fact,
            }
        }
    }
    spec.ipc = get("ipc").map(|n| Fact {
        value: text(Some(n), env),
        span: n.label_span(),
    });
    spec.shm_size = get("shm_size").map(|n| Fact {
        value: n
            .as_i64()
            .or_else(|| text(Some(n), env).and_then(|t| quantity::docker_bytes(&t))),
        span: n.label_span(),
    });
    if let Some(opts) = get("security_opt") {
        for o in opts.as_list() {
            let t = text(Some(o), env).unwrap_or_default();
            if t == "no-new-privileges"
                || t == "no-new-privileges:true"
                || t == "no-new-privileges=true"
            {
                spec.no_new_privileges = Some(Fact::known(true, o.span));
            }
        }
    }
    let memory = get("deploy")
        .and_then(|d| d.at(&["resources", "limits", "memory"]))
        .or_else(|| get("mem_limit"));
    spec.memory = memory.map(|n| Fact {
        value: n
            .as_i64()
            .or_else(|| text(Some(n), env).and_then(|t| quantity::docker_bytes(&t))),
        span: n.label_span(),
    });
    spec.gpus = gpus(service, store, env);
    for p in get("ports").map(Node::as_list).unwrap_or_default() {
        if let Some(published) = port(p, store, env) {
            spec.published.push(published);
        }
    }
    for v in get("volumes").map(Node::as_list).unwrap_or_default() {
        if let Some(m) = volume(v, store, env) {
            spec.mounts.push(m);
        }
    }
    for (k, v) in environment(get("environment"), env) {
        spec.env.insert(k, v);
    }
    spec
}

/// GPUs from `deploy.resources.reservations.devices`, `gpus:` or `runtime: nvidia`.
fn gpus(service: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> Option<Fact<i64>> {
    let devices = service.at(&["deploy", "resources", "reservations", "devices"]);
    for d in devices.map(Node::as_list).unwrap_or_default() {
        let is_gpu = d.get("driver").and_then(Node::as_str) == Some("nvidia")
            || d.get("capabilities")
                .is_some_and(|c| c.as_list().iter().any(|x| x.as_str() == Some("gpu")));
        if !is_gpu {
            continue;
        }
        if let Some(ids) = d.get("device_ids") {
            return Some(Fact::known(ids.as_list().len() as i64, ids.label_span()));
        }
        return Some(match d.get("count") {
            Some(c) => Fact {
                value: c.as_i64().or_else(|| {
                    text(Some(c), env)
                        .and_then(|t| (t == "all").then_some(-1).or_else(|| t.parse().ok()))
                }),
                span: c.label_span(),
            },
            // A GPU device reservation without a count reserves all of them.
            None => Fact::known(-1, d.item_span()),
        });
    }
    if let Some(g) = service.get("gpus") {
        return Some(match &g.value {
            Value::List(items) => Fact::known(items.len() as i64, g.label_span()),
            _ => match spec_word(g, store, env).map(|w| parse_gpus(&w)) {
                Some(Ok(request)) => Fact {
                    span: g.label_span(),
                    ..crate::extract::run_spec::gpu_count(&request)
                },
                _ => Fact::unknown(g.label_span()),
            },
        });
    }
    // The NVIDIA runtime without a device request exposes NVIDIA_VISIBLE_DEVICES, which
    // CUDA images set to all.
    service
        .get("runtime")
        .filter(|r| r.as_str() == Some("nvidia"))
        .map(|r| Fact::known(-1, r.label_span()))
}

fn port(node: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> Option<Published> {
    match &node.value {
        Value::Map(_) => {
            let target = node
                .get("target")
                .and_then(|t| t.as_i64().or_else(|| text(Some(t), env)?.parse().ok()))?;
            Some(Published {
                host_ip: text(node.get("host_ip"), env),
                host_port: text(node.get("published"), env),
                container_ports: (target, target),
                protocol: text(node.get("protocol"), env).unwrap_or_else(|| "tcp".to_string()),
                span: node.item_span(),
            })
        }
        _ => parse_publish(&spec_word(node, store, env)?)
            .ok()
            .as_ref()
            .and_then(crate::extract::run_spec::published),
    }
}

fn volume(node: &Node, store: &SourceStore, env: &BTreeMap<String, String>) -> Option<At<Mount>> {
    match &node.value {
        Value::Map(_) => {
            let target = text(node.get("target"), env)?;
            let ro = node.get("read_only");
            Some(At {
                value: Mount {
                    kind: text(node.get("type"), env).unwrap_or_else(|| "volume".to_string()),
                    source: text(node.get("source"), env),
                    target: target.trim_end_matches('/').to_string(),
                    read_only: Fact::known(
                        ro.and_then(Node::as_bool).unwrap_or(false),
                        ro.and_then(Node::label_span).or(node.item_span()),
                    ),
                    model_repository: false,
                    backend_directory: false,
                    repoagent_directory: false,
                },
                span: node.item_span(),
            })
        }
        _ => parse_volume(&spec_word(node, store, env)?)
            .ok()
            .as_ref()
            .and_then(crate::extract::run_spec::mount),
    }
}

fn environment(node: Option<&Node>, env: &BTreeMap<String, String>) -> Vec<(String, Fact<String>)> {
    let Some(node) = node else { return Vec::new() };
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Fact {
                        value: text(Some(v), env),
                        span: v.label_span(),
                    },
                )
            })
            .collect(),
        _ => node
            .as_list()
            .iter()
            .filter_map(|item| {
                let t = text(Some(item), env)?;
                let (k, v) = t
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                    .unwrap_or((t, None));
                Some((
                    k,
                    Fact {
                        value: v,
                        span: item.span,
                    },
                ))
            })
            .collect(),
    }
}

/// The variables of a service's `env_file:` (a path, a list of paths, or of `{path,
/// required}`), later files winning. Each file is read like `.env`: only inside the project
/// folder, through the read guard. A missing file gives nothing (compose fails or, with
/// `required: false`, skips it); a file that exists but is not read (outside the folder, too
/// large) may override any value before it, so those become unknown. Each value points at
/// the `env_file:` entry that brought it in (or, unknown, at the file that was not read).
fn env_files(
    node: Option<&Node>,
    folder: Option<&Path>,
    env: &BTreeMap<String, String>,
) -> BTreeMap<String, Fact<String>> {
    let mut out = BTreeMap::new();
    let (Some(node), Some(folder)) = (node, folder) else {
        return out;
    };
    let items: Vec<&Node> = match &node.value {
        Value::List(items) => items.iter().collect(),
        _ => vec![node],
    };
    for item in items {
        let path = match &item.value {
            Value::Map(_) => text(item.get("path"), env),
            _ => text(Some(item), env),
        };
        let Some(path) = path else {
            continue;
        };
        let Some(text) = crate::load::read_in_folder(folder, &path) else {
            if std::fs::symlink_metadata(folder.join(&path)).is_ok() {
                for value in out.values_mut() {
                    *value = Fact::unknown(item.label_span());
                }
            }
            continue;
        };
        for (k, v) in read_dotenv(&text) {
            out.insert(
                k,
                Fact {
                    value: Some(v),
                    span: item.label_span(),
                },
            );
        }
    }
    out
}

/// Reads a `.env` file: `KEY=value` lines, `#` comments, optional quotes.
pub fn read_dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// The span a compose service's findings fall back to.
pub fn service_anchor(service: &Node) -> Option<Span> {
    service.key_span.or(service.span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_follows_compose() {
        let env = BTreeMap::from([
            ("MODE".to_string(), "poll".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]);
        assert_eq!(
            interpolate("--model-control-mode=${MODE}", &env),
            ("--model-control-mode=poll".to_string(), false)
        );
        assert_eq!(
            interpolate("${UNSET:-none}", &env),
            ("none".to_string(), false)
        );
        assert_eq!(
            interpolate("${EMPTY:-dflt}", &env),
            ("dflt".to_string(), false)
        );
        assert_eq!(interpolate("${EMPTY-dflt}", &env), (String::new(), false));
        assert_eq!(interpolate("$$HOME", &env), ("$HOME".to_string(), false));
        assert!(interpolate("$UNKNOWN", &env).1);
    }

    #[test]
    fn dotenv_lines() {
        let env = read_dotenv("# c\nA=1\nexport B=\"two words\"\nC='x'\n");
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x"));
        assert_eq!(env.len(), 3);
    }
}
