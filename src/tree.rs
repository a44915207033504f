//! A JSON-like value tree in which every node can remember where it came from. Parsers produce
//! it (YAML documents, config.pbtxt), the model builds the Launch as one, and the engine hands
//! its plain values to CEL while keeping the spans to point findings at.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    /// Keys in source order; duplicate keys are rejected by the parsers.
    Map(Vec<(String, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    /// Where the value is written: the scalar, or the whole collection.
    pub span: Option<Span>,
    /// For a mapping value: where its key is written. Findings about a collection underline
    /// the key (`securityContext:`) rather than the whole block.
    pub key_span: Option<Span>,
    /// A YAML scalar written without quotes. Kubernetes reads YAML 1.1, where a plain `yes`
    /// or `off` is a boolean; [`Node::as_k8s_bool`] needs to know.
    pub plain: bool,
}

impl Node {
    pub fn new(value: Value) -> Node {
        Node {
            value,
            span: None,
            key_span: None,
            plain: false,
        }
    }

    pub fn null() -> Node {
        Node::new(Value::Null)
    }

    pub fn spanned(value: Value, span: Option<Span>) -> Node {
        Node {
            span,
            ..Node::new(value)
        }
    }

    pub fn with_span(mut self, span: Option<Span>) -> Node {
        if span.is_some() {
            self.span = span;
        }
        self
    }

    pub fn str(text: impl Into<String>) -> Node {
        Node::new(Value::Str(text.into()))
    }

    pub fn map(entries: Vec<(String, Node)>) -> Node {
        Node::new(Value::Map(entries))
    }

    pub fn list(items: Vec<Node>) -> Node {
        Node::new(Value::List(items))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a chain of mapping keys.
    pub fn at(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn index(&self, i: usize) -> Option<&Node> {
        match &self.value {
            Value::List(items) => items.get(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, the way a string-typed field would read it (`8000` → "8000").
    pub fn as_scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A boolean as the Kubernetes API server reads it: YAML 1.1 also accepts plain
    /// `yes/no/on/off/y/n` in any of their usual capitalisations.
    pub fn as_k8s_bool(&self) -> Option<bool> {
        if let Value::Bool(b) = self.value {
            return Some(b);
        }
        if !self.plain {
            return None;
        }
        match self.as_str()? {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Node] {
        match &self.value {
            Value::List(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The span to underline when this node is the subject of a finding: a scalar with its
    /// key (`readOnly: false`), a collection by its key (`securityContext:`), or a list item
    /// by its first line.
    pub fn label_span(&self) -> Option<Span> {
        match (&self.value, self.key_span, self.span) {
            (Value::Map(_) | Value::List(_), Some(key), _) => Some(key),
            (_, Some(key), Some(value)) => Some(key.join(value)),
            (_, None, Some(value)) => Some(value),
            (_, key, None) => key,
        }
    }

    /// The span that stands for a list item: a block mapping's first `key: value` line, or
    /// the whole item when it is written on one line (`{port: 80, targetPort: http}`).
    pub fn item_span(&self) -> Option<Span> {
        let span = self.span?;
        match self.as_map().first() {
            Some((_, first)) if first.key_span.is_some_and(|k| k.start == span.start) => {
                first.label_span().or(Some(span))
            }
            _ => Some(span),
        }
    }

    /// Looks a node up by a parsed path.
    pub fn lookup(&self, path: &[PathSegment]) -> Option<&Node> {
        path.iter().try_fold(self, |node, seg| match seg {
            PathSegment::Key(k) => node.get(k),
            PathSegment::Index(i) => node.index(*i),
        })
    }

    /// The deepest node along `path` that has a span: a finding about a missing setting
    /// points at the nearest parent that should hold it.
    pub fn nearest_span(&self, path: &[PathSegment]) -> Option<Span> {
        let mut best = self.label_span();
        let mut node = self;
        for seg in path {
            let next = match seg {
                PathSegment::Key(k) => node.get(k),
                PathSegment::Index(i) => node.index(*i),
            };
            match next {
                Some(n) => {
                    if let Some(span) = n.label_span() {
                        best = Some(span);
                    }
                    node = n;
                }
                None => break,
            }
        }
        best
    }

    /// Plain JSON, without spans (for `--format json` dumps and tests).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// Parses `launch.server.flags["model-control-mode"][0]`-style paths: dotted keys, `[n]`
/// indexes and `["quoted key"]` for keys that are not identifiers.
pub fn parse_path(text: &str) -> Result<Vec<PathSegment>, String> {
    let mut segments = Vec::new();
    let bytes = text.trim();
    let mut chars = bytes.char_indices().peekable();
    let mut current = String::new();
    let flush = |current: &mut String, segments: &mut Vec<PathSegment>| {
        if !current.is_empty() {
            segments.push(PathSegment::Key(std::mem::take(current)));
        }
    };
    while let Some((_, c)) = chars.next() {
        match c {
            '.' => {
                if current.is_empty() && !matches!(segments.last(), Some(PathSegment::Index(_))) {
                    return Err(format!("empty segment in path '{text}'"));
                }
                flush(&mut current, &mut segments);
            }
            '[' => {
                flush(&mut current, &mut segments);
                let mut inner = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!("unclosed '[' in path '{text}'"));
                }
                let inner = inner.trim();
                if let Some(key) = inner
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    segments.push(PathSegment::Key(key.to_string()));
                } else {
                    let index = inner
                        .parse::<usize>()
                        .map_err(|_| format!("'[{inner}]' is not an index in path '{text}'"))?;
                    segments.push(PathSegment::Index(index));
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => current.push(c),
            c => return Err(format!("unexpected '{c}' in path '{text}'")),
        }
    }
    flush(&mut current, &mut segments);
    if segments.is_empty() {
        return Err("empty path".to_string());
    }
    Ok(segments)
}

/// Types that the model turns into a [`Node`] for CEL and for span lookups.
pub trait ToNode {
    fn to_node(&self) -> Node;
}

impl ToNode for Node {
    fn to_node(&self) -> Node {
        self.clone()
    }
}

impl ToNode for String {
    fn to_node(&self) -> Node {
        Node::str(self.clone())
    }
}

impl ToNode for &str {
    fn to_node(&self) -> Node {
        Node::str(*self)
    }
}

impl ToNode for bool {
    fn to_node(&self) -> Node {
        Node::new(Value::Bool(*self))
    }
}

impl ToNode for i64 {
    fn to_node(&self) -> Node {
        Node::new(Value::Int(*self))
    }
}

impl ToNode for u16 {
    fn to_node(&self) -> Node {
        Node::new(Value::Int(i64::from(*self)))
    }
}

impl ToNode for u32 {
    fn to_node(&self) -> Node {
        Node::new(Value::Int(i64::from(*self)))
    }
}

impl ToNode for f64 {
    fn to_node(&self) -> Node {
        Node::new(Value::Float(*self))
    }
}

impl<T: ToNode> ToNode for Option<T> {
    fn to_node(&self) -> Node {
        match self {
            Some(v) => v.to_node(),
            None => Node::null(),
        }
    }
}

impl<T: ToNode> ToNode for Vec<T> {
    fn to_node(&self) -> Node {
        Node::list(self.iter().map(ToNode::to_node).collect())
    }
}

impl<T: ToNode> ToNode for std::collections::BTreeMap<String, T> {
    fn to_node(&self) -> Node {
        Node::map(self.iter().map(|(k, v)| (k.clone(), v.to_node())).collect())
    }
}

/// Implements [`ToNode`] for a struct as a map of its fields, in declaration order.
#[macro_export]
macro_rules! node_struct {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::tree::ToNode for $ty {
            fn to_node(&self) -> $crate::tree::Node {
                $crate::tree::Node::map(vec![
                    $((stringify!($field).to_string(), $crate::tree::ToNode::to_node(&self.$field)),)*
                ])
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn sp(a: usize, b: usize) -> Option<Span> {
        Some(Span::new(FileId(0), a, b))
    }

    #[test]
    fn paths_parse_keys_indexes_and_quoted_keys() {
        assert_eq!(
            parse_path("launch.server.flags[\"model-control-mode\"][0]"),
            Ok(vec![
                PathSegment::Key("launch".into()),
                PathSegment::Key("server".into()),
                PathSegment::Key("flags".into()),
                PathSegment::Key("model-control-mode".into()),
                PathSegment::Index(0),
            ])
        );
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").is_err());
        assert!(parse_path("a[0").is_err());
        assert!(parse_path("").is_err());
    }

    #[test]
    fn nearest_span_falls_back_to_the_deepest_spanned_parent() {
        let mut container = Node::map(vec![(
            "name".into(),
            Node::spanned(Value::Str("t".into()), sp(10, 11)),
        )]);
        container.key_span = sp(5, 9);
        let root = Node::map(vec![("container".into(), container)]);
        let path = parse_path("container.resources.limits.memory").unwrap_or_default();
        assert_eq!(root.nearest_span(&path), sp(5, 9));
    }

    #[test]
    fn k8s_booleans_accept_yaml_1_1_spellings_only_when_plain() {
        let mut n = Node::str("yes");
        assert_eq!(n.as_k8s_bool(), None);
        n.plain = true;
        assert_eq!(n.as_k8s_bool(), Some(true));
        n.value = Value::Str("Off".into());
        assert_eq!(n.as_k8s_bool(), Some(false));
    }
}
