//! A policy's `variables:`: named sub-expressions, evaluated once per subject after `match`,
//! in the order written, and seen by later variables and the policy's other expressions as
//! `variables.<name>` (the convention of Kubernetes ValidatingAdmissionPolicy). This module
//! checks the names the expressions use and converts values for `each: variables.<name>`.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};

use super::PolicyError;
use super::spec::{ExprText, PathText, PolicySpec, VariableSpec};
use crate::evaluate::cel_value::to_cel;
use crate::source::{SourceStore, Span};
use crate::tree::{Node, PathSegment, Value};

/// For an `each` path that starts with `variables`: the variable it names, or why the path
/// is not one (`variables.routes.note` goes below a variable, which has no fields to visit
/// with positions). `None` for a path into the subject.
pub fn each_variable(each: &PathText) -> Option<Result<&str, String>> {
    match each.segments.as_slice() {
        [PathSegment::Key(root), rest @ ..] if root == "variables" => Some(match rest {
            [PathSegment::Key(name)] => Ok(name.as_str()),
            _ => Err(format!(
                "'each: {}' must name a whole variable (`each: variables.NAME`): compute the list in the variable",
                each.text
            )),
        }),
        _ => None,
    }
}

/// The message for `variables.<name>` that is not defined (or, with `seen`, not yet: a
/// variable sees only the variables above it).
pub fn unknown_message(name: &str, defined: &[VariableSpec], seen: Option<usize>) -> String {
    let visible: Vec<&str> = defined
        .iter()
        .take(seen.unwrap_or(defined.len()))
        .map(|v| v.name.as_str())
        .collect();
    if seen.is_some() && defined.iter().any(|v| v.name == name) {
        return format!(
            "variable '{name}' is defined below this one: a variable sees only the variables above it"
        );
    }
    let hint = super::cel_errors::closest(name, visible.iter().copied())
        .map(|s| format!(", did you mean '{s}'?"))
        .unwrap_or_default();
    let listed = if visible.is_empty() {
        "none".to_string()
    } else {
        visible.join(", ")
    };
    format!("unknown variable 'variables.{name}'{hint} (defined here: {listed})")
}

/// Every `variables.<name>` an expression reads, with the name's byte offset in the text.
/// String literals are skipped.
pub fn references(text: &str) -> Vec<(String, usize)> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        let word_start = i == 0 || !(ident(bytes[i - 1]) || bytes[i - 1] == b'.');
        if word_start && text[i..].starts_with("variables") {
            let mut j = i + "variables".len();
            if j < bytes.len() && ident(bytes[j]) {
                i = j;
                continue;
            }
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'.' {
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let start = j;
                while j < bytes.len() && ident(bytes[j]) {
                    j += 1;
                }
                if j > start {
                    out.push((text[start..j].to_string(), start));
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Checks every `variables.<name>` of the policy's expressions: defined, and for a variable,
/// defined above it.
pub fn check_references(spec: &PolicySpec, sources: &SourceStore) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    let mut check = |expr: &ExprText, seen: Option<usize>| {
        let visible = &spec.variables[..seen.unwrap_or(spec.variables.len())];
        for (name, _) in references(&expr.text) {
            if visible.iter().any(|v| v.name == name) {
                continue;
            }
            errors.push(PolicyError::new(
                name_span(expr, sources, &name).unwrap_or(expr.span),
                unknown_message(&name, &spec.variables, seen),
                "not defined here",
            ));
        }
    };
    for (i, variable) in spec.variables.iter().enumerate() {
        check(&variable.expr, Some(i));
    }
    for expr in [&spec.assert, &spec.message, &spec.label]
        .into_iter()
        .flatten()
        .chain(spec.at.iter().filter_map(|c| c.when.as_ref()))
        .chain(spec.related.iter().filter_map(|r| r.label.as_ref()))
    {
        check(expr, None);
    }
    errors
}

/// The span of `name` after `variables.` in the policy file (the expression may be quoted
/// there, so string literals are not skipped).
fn name_span(expr: &ExprText, sources: &SourceStore, name: &str) -> Option<Span> {
    let raw = sources.slice(expr.span);
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    raw.match_indices(name)
        .find(|(at, _)| {
            let before = raw[..*at].trim_end();
            let after = raw[at + name.len()..].chars().next();
            before
                .strip_suffix('.')
                .is_some_and(|b| b.trim_end().ends_with("variables"))
                && !ident(after)
        })
        .map(|(at, _)| {
            let start = expr.span.start + at;
            Span::new(expr.span.file, start, start + name.len())
        })
}

/// The `variables` map of the values computed so far.
pub fn map_value(values: &[(String, cel::Value)]) -> cel::Value {
    let map: HashMap<Key, cel::Value> = values
        .iter()
        .map(|(k, v)| (Key::String(Arc::new(k.clone())), v.clone()))
        .collect();
    cel::Value::Map(Map { map: Arc::new(map) })
}

/// The elements `each: variables.<name>` visits, with their `key`: a list's elements with
/// their index, a map's values with their key (sorted, for a stable order). `None` when the
/// value is neither (a scalar); null visits nothing.
pub fn elements(value: &cel::Value) -> Option<Vec<(Node, cel::Value)>> {
    match value {
        cel::Value::List(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        Node::new(Value::Int(i64::try_from(i).unwrap_or(i64::MAX))),
                        v.clone(),
                    )
                })
                .collect(),
        ),
        cel::Value::Map(map) => {
            let mut entries: Vec<(Node, cel::Value)> = map
                .map
                .iter()
                .map(|(k, v)| (key_node(k), v.clone()))
                .collect();
            entries.sort_by_key(|(k, _)| k.as_scalar_text());
            Some(entries)
        }
        cel::Value::Null => Some(Vec::new()),
        _ => None,
    }
}

fn key_node(key: &Key) -> Node {
    match key {
        Key::String(s) => Node::str(s.to_string()),
        Key::Int(i) => Node::new(Value::Int(*i)),
        Key::Uint(u) => Node::new(Value::Int(i64::try_from(*u).unwrap_or(i64::MAX))),
        Key::Bool(b) => Node::new(Value::Bool(*b)),
    }
}

/// The first element of a list or map value (for checking `item` paths on the sample).
pub fn first_element(value: &cel::Value) -> Option<cel::Value> {
    elements(value).and_then(|e| e.into_iter().next().map(|(_, v)| v))
}

/// A CEL value as a tree without positions (for an element the subject does not hold as is,
/// such as the result of a `map`).
pub fn value_to_node(value: &cel::Value) -> Node {
    match value {
        cel::Value::Null => Node::new(Value::Null),
        cel::Value::Bool(b) => Node::new(Value::Bool(*b)),
        cel::Value::Int(i) => Node::new(Value::Int(*i)),
        cel::Value::UInt(u) => Node::new(Value::Int(i64::try_from(*u).unwrap_or(i64::MAX))),
        cel::Value::Float(f) => Node::new(Value::Float(*f)),
        cel::Value::String(s) => Node::str(s.to_string()),
        cel::Value::List(items) => {
            Node::new(Value::List(items.iter().map(value_to_node).collect()))
        }
        cel::Value::Map(map) => {
            let mut entries: Vec<(String, Node)> = map
                .map
                .iter()
                .map(|(k, v)| {
                    (
                        key_node(k).as_scalar_text().unwrap_or_default(),
                        value_to_node(v),
                    )
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Node::new(Value::Map(entries))
        }
        other => Node::str(format!("{other:?}")),
    }
}

/// The node of the subject whose value is `value` (the first, depth first): an element of a
/// variable that is a part of the subject (a filtered list of routes) keeps its position, so
/// `at: item...` can point at it.
pub fn find_node<'a>(root: &'a Node, value: &cel::Value) -> Option<&'a Node> {
    let same_shape = matches!(
        (&root.value, value),
        (Value::Map(_), cel::Value::Map(_))
            | (Value::List(_), cel::Value::List(_))
            | (Value::Str(_), cel::Value::String(_))
            | (Value::Int(_), cel::Value::Int(_))
            | (Value::Bool(_), cel::Value::Bool(_))
            | (Value::Float(_), cel::Value::Float(_))
    );
    if same_shape && same_value(root, value) {
        return Some(root);
    }
    match &root.value {
        Value::List(items) => items.iter().find_map(|i| find_node(i, value)),
        Value::Map(entries) => entries.iter().find_map(|(_, v)| find_node(v, value)),
        _ => None,
    }
}

/// `to_cel(node) == *value`, without converting the node: a map or list of another size
/// differs at once (`find_node` compares every part of a launch with each element visited).
fn same_value(node: &Node, value: &cel::Value) -> bool {
    match (&node.value, value) {
        (Value::List(items), cel::Value::List(list)) => {
            items.len() == list.len()
                && items.iter().zip(list.iter()).all(|(n, v)| same_value(n, v))
        }
        (Value::Map(entries), cel::Value::Map(map)) => {
            entries.len() == map.map.len()
                && entries.iter().all(|(k, v)| {
                    map.map
                        .get(&Key::String(Arc::new(k.clone())))
                        .is_some_and(|other| same_value(v, other))
                })
        }
        (Value::List(_) | Value::Map(_), _) | (_, cel::Value::List(_) | cel::Value::Map(_)) => {
            false
        }
        _ => to_cel(node) == *value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_skip_strings_and_other_words() {
        let found: Vec<String> = references(
            "variables.a && 'variables.b' != x.variables.c && variables . d && myvariables.e && variables_f.g",
        )
        .into_iter()
        .map(|(n, _)| n)
        .collect();
        assert_eq!(found, ["a", "d"]);
    }

    #[test]
    fn each_names_a_whole_variable() {
        let path = |text: &str| PathText {
            text: text.to_string(),
            segments: crate::tree::parse_path(text).unwrap(),
            span: Span::new(crate::source::FileId(0), 0, 0),
        };
        assert_eq!(each_variable(&path("variables.routes")), Some(Ok("routes")));
        assert!(matches!(
            each_variable(&path("variables.routes.note")),
            Some(Err(_))
        ));
        assert_eq!(each_variable(&path("launch.mounts")), None);
    }

    #[test]
    fn a_subject_element_is_found_with_its_position() {
        let doc = crate::parse::yaml::parse_stream(
            crate::source::FileId(0),
            "routes:\n  - {kind: Service, name: a}\n  - {kind: Ingress, name: b}\n",
        );
        let root = &doc.documents[0].root;
        let second = &root.get("routes").unwrap().as_list()[1];
        let found = find_node(root, &to_cel(second)).unwrap();
        assert_eq!(found.span, second.span);
        let computed = value_to_node(&cel::Value::String(Arc::new("c".into())));
        assert!(find_node(root, &to_cel(&computed)).is_none());
    }
}
