//! Compose files as compose reads them together: the default file of a folder with its
//! override file (compose-go's `DefaultFileNames` and `DefaultOverrideFileNames`, the first
//! of each that exists), merged by the compose specification's merge rules
//! (<https://docs.docker.com/reference/compose-file/merge/>):
//!
//! - mappings merge key by key, the later file winning for scalars;
//! - sequences append the later file's items;
//! - `command`, `entrypoint` and `healthcheck.test` are replaced, not appended;
//! - `ports` (unique by host IP, target, published port and protocol), `volumes`, `secrets`
//!   and `configs` (unique by target) replace the earlier item with the same key;
//! - `environment`, `labels`, `sysctls`, `extra_hosts` and `annotations` merge by key whether
//!   written as a mapping or as a `KEY=value` list.
//!
//! Every merged value keeps the span it was read from, so a finding points at the file and
//! line that set it. Tags (`!reset`, `!override`) are not read.

use crate::tree::{Node, Value};

/// The names compose looks for in a folder, in its order of preference.
pub const BASE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file names compose adds to the default file, in its order of preference.
pub const OVERRIDE_NAMES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Merges `over` onto `base` (two compose documents).
pub fn merge_documents(base: &Node, over: &Node) -> Node {
    merge(base, over, &[])
}

fn merge(base: &Node, over: &Node, path: &[&str]) -> Node {
    if over.is_null() {
        return base.clone();
    }
    // `services.<name>.<key>`: the service attributes the exceptions apply to.
    let in_service = path.len() == 3 && path.first() == Some(&"services");
    let key = path.last().copied().unwrap_or("");
    if in_service && matches!(key, "command" | "entrypoint") {
        return over.clone();
    }
    if path.len() == 4 && path.get(2) == Some(&"healthcheck") && key == "test" {
        return over.clone();
    }
    if in_service
        && matches!(
            key,
            "environment" | "labels" | "sysctls" | "extra_hosts" | "annotations"
        )
    {
        return merge_keyed(&as_mapping(base), &as_mapping(over), path);
    }
    match (&base.value, &over.value) {
        (Value::Map(_), Value::Map(_)) => merge_keyed(base, over, path),
        (Value::List(a), Value::List(b)) => {
            let unique: Option<fn(&Node) -> Option<String>> = if in_service {
                match key {
                    "ports" => Some(port_key),
                    "volumes" | "secrets" | "configs" => Some(target_key),
                    _ => None,
                }
            } else {
                None
            };
            let mut items: Vec<Node> = a.clone();
            for item in b {
                let replaced = unique.and_then(|k| {
                    let wanted = k(item)?;
                    items.iter().position(|i| k(i).as_deref() == Some(&wanted))
                });
                match replaced.and_then(|p| items.get_mut(p)) {
                    Some(slot) => *slot = item.clone(),
                    None => items.push(item.clone()),
                }
            }
            Node {
                value: Value::List(items),
                ..base.clone()
            }
        }
        _ => over.clone(),
    }
}

/// Two mappings merged key by key: the base's keys in order, then the override's new ones.
fn merge_keyed(base: &Node, over: &Node, path: &[&str]) -> Node {
    let mut entries: Vec<(String, Node)> = base.as_map().to_vec();
    for (k, v) in over.as_map() {
        let mut deeper = path.to_vec();
        deeper.push(k.as_str());
        match entries.iter_mut().find(|(ek, _)| ek == k) {
            Some((_, existing)) => *existing = merge(existing, v, &deeper),
            None => entries.push((k.clone(), v.clone())),
        }
    }
    Node {
        value: Value::Map(entries),
        ..base.clone()
    }
}

/// `environment`-style values as a mapping: a `KEY=value` list becomes `KEY: value`, each
/// value spanning its list item; `KEY` alone is null (taken from the shell).
fn as_mapping(node: &Node) -> Node {
    match &node.value {
        Value::List(items) => Node {
            value: Value::Map(
                items
                    .iter()
                    .filter_map(|item| {
                        let text = item.as_scalar_text()?;
                        let (k, v) = match text.split_once('=') {
                            Some((k, v)) => (k.to_string(), Value::Str(v.to_string())),
                            None => (text, Value::Null),
                        };
                        Some((
                            k,
                            Node {
                                value: v,
                                span: item.span,
                                key_span: None,
                                plain: false,
                            },
                        ))
                    })
                    .collect(),
            ),
            ..node.clone()
        },
        _ => node.clone(),
    }
}

/// A port's unique key: host IP, published port, target port and protocol.
fn port_key(node: &Node) -> Option<String> {
    if let Value::Map(_) = node.value {
        let text = |k: &str| {
            node.get(k)
                .and_then(Node::as_scalar_text)
                .unwrap_or_default()
        };
        let protocol = node
            .get("protocol")
            .and_then(Node::as_scalar_text)
            .unwrap_or_else(|| "tcp".to_string());
        return Some(format!(
            "{}|{}|{}|{protocol}",
            text("host_ip"),
            text("published"),
            text("target")
        ));
    }
    let text = node.as_scalar_text()?;
    let (spec, protocol) = text.rsplit_once('/').unwrap_or((&text, "tcp"));
    let mut parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    parts.reverse();
    let (ip, published, target) = match parts.as_slice() {
        [ip, published, target] => (*ip, *published, *target),
        [published, target] => ("", *published, *target),
        [target] => ("", "", *target),
        _ => return None,
    };
    Some(format!("{ip}|{published}|{target}|{protocol}"))
}

/// A volume's, secret's or config's unique key: where it appears in the container.
fn target_key(node: &Node) -> Option<String> {
    if let Value::Map(_) = node.value {
        return node
            .get("target")
            .or_else(|| node.get("source"))
            .and_then(Node::as_scalar_text)
            .map(|t| t.trim_end_matches('/').to_string());
    }
    let text = node.as_scalar_text()?;
    let parts: Vec<&str> = text.split(':').collect();
    let target = match parts.as_slice() {
        [only] => *only,
        [_, target, ..] => *target,
        [] => return None,
    };
    Some(target.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_stream;
    use crate::source::FileId;

    fn doc(id: u32, text: &str) -> Node {
        parse_stream(FileId(id), text)
            .documents
            .first()
            .map(|d| d.root.clone())
            .unwrap_or_else(Node::null)
    }

    fn texts(node: Option<&Node>) -> Vec<String> {
        node.map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_scalar_text)
            .collect()
    }

    #[test]
    fn merges_as_the_compose_specification_says() {
        let base = doc(
            0,
            "services:\n  triton:\n    image: tritonserver\n    command: [tritonserver, --model-repository=/models]\n    ports: [\"127.0.0.1:8000:8000\", \"8002:8002\"]\n    volumes: [\"./models:/models:ro\"]\n    cap_drop: [ALL]\n    environment: [A=1, B=2]\n",
        );
        let over = doc(
            1,
            "services:\n  triton:\n    command: [tritonserver, --model-repository=/models, --model-control-mode=explicit]\n    ports: [\"8000:8000\"]\n    volumes: [\"./models:/models\"]\n    cap_add: [SYS_ADMIN]\n    environment: {B: \"3\"}\n",
        );
        let merged = merge_documents(&base, &over);
        let svc = merged.at(&["services", "triton"]).unwrap();
        assert_eq!(
            texts(svc.get("command")),
            [
                "tritonserver",
                "--model-repository=/models",
                "--model-control-mode=explicit"
            ]
        );
        assert_eq!(
            texts(svc.get("ports")),
            ["127.0.0.1:8000:8000", "8002:8002", "8000:8000"]
        );
        let volumes = svc.get("volumes").unwrap().as_list();
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].span.unwrap().file, FileId(1));
        assert_eq!(texts(svc.get("cap_drop")), ["ALL"]);
        assert_eq!(texts(svc.get("cap_add")), ["SYS_ADMIN"]);
        let env = svc.get("environment").unwrap();
        assert_eq!(env.get("A").and_then(Node::as_str), Some("1"));
        assert_eq!(env.get("B").and_then(Node::as_str), Some("3"));
        assert_eq!(env.get("B").unwrap().span.unwrap().file, FileId(1));
        assert_eq!(
            svc.get("image").and_then(Node::as_str),
            Some("tritonserver")
        );
    }

    #[test]
    fn unique_keys() {
        let n = |t: &str| doc(0, &format!("x: {t}\n")).get("x").cloned().unwrap();
        assert_eq!(
            port_key(&n("\"8000:8000\"")),
            port_key(&n("\"8000:8000/tcp\""))
        );
        assert_ne!(
            port_key(&n("\"8000:8000\"")),
            port_key(&n("\"127.0.0.1:8000:8000\""))
        );
        assert_eq!(
            target_key(&n("\"./m:/models:ro\"")),
            Some("/models".to_string())
        );
        assert_eq!(
            target_key(&n("{type: bind, source: ./m, target: /models/}")),
            Some("/models".to_string())
        );
    }
}
