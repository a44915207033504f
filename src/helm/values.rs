//! The values a render used, each leaf with the file and span that set it: the chart's
//! `values.yaml` underneath, each `-f` file merged over it as Helm merges (mappings key by
//! key, anything else replaced). Keys set with `--set` are left out: no values file line
//! produced them.
//!
//! For proving which key produced a rendered text, a leaf can be *changed*: strings to a
//! unique marker that can be recognised in the re-render, integers moved by one, booleans
//! flipped.
//! The changes are written as one more values file (JSON, which Helm reads as YAML); a
//! change inside a list carries the whole list, because Helm replaces lists.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::parse::yaml::parse_stream;
use crate::source::FileId;
use crate::tree::{Node, PathSegment, Value};

/// A values file a render read.
#[derive(Clone, Debug)]
pub struct ValuesFile {
    pub path: PathBuf,
    pub text: String,
}

/// One scalar of the merged values.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub path: Vec<PathSegment>,
    pub value: Value,
    /// Index into [`Values::files`].
    pub file: usize,
    /// Where the value is written in that file.
    pub span: Range<usize>,
    /// Where its `key: value` is written (the value alone for list items).
    pub line: Range<usize>,
}

impl Leaf {
    /// `server.modelControlMode`, `extraArgs[1]`.
    pub fn key(&self) -> String {
        key_text(&self.path)
    }

    /// The text the value renders as in the usual case (`{{ .Values.x }}`).
    pub fn text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// `a.b[0].c`, with keys that are not identifiers quoted: `resources.limits["nvidia.com/gpu"]`.
pub fn key_text(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSegment::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Key(k) => out.push_str(&format!("[{k:?}]")),
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[derive(Clone, Debug, Default)]
pub struct Values {
    pub files: Vec<ValuesFile>,
    /// The merged values, spans naming their file by `FileId(index into files)`.
    pub merged: Option<Node>,
    pub leaves: Vec<Leaf>,
}

impl Values {
    /// The values of a render: the chart's values.yaml (when it has one), then `-f` files;
    /// leaves under a `--set` key are dropped. Unreadable or unparsable files are skipped
    /// (Helm has rendered with them, so this does not happen in practice).
    pub fn load(chart_dir: &Path, files: &[PathBuf], set: &[String]) -> Values {
        let mut values = Values::default();
        let defaults = chart_dir.join("values.yaml");
        let mut merged: Option<Node> = None;
        for path in std::iter::once(&defaults).chain(files) {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let index = values.files.len();
            let id = FileId(u32::try_from(index).unwrap_or(u32::MAX));
            let stream = parse_stream(id, &text);
            values.files.push(ValuesFile {
                path: path.clone(),
                text,
            });
            let Some(root) = stream.documents.into_iter().next().map(|d| d.root) else {
                continue;
            };
            if !matches!(root.value, Value::Map(_)) {
                continue;
            }
            merged = Some(match merged {
                Some(base) => merge(base, root),
                None => root,
            });
        }
        let overridden: Vec<Vec<PathSegment>> = set.iter().filter_map(|s| set_path(s)).collect();
        let mut leaves = Vec::new();
        if let Some(root) = &merged {
            collect_leaves(root, &mut Vec::new(), None, &mut leaves);
        }
        leaves.retain(|l| !overridden.iter().any(|p| l.path.starts_with(p)));
        values.leaves = leaves;
        values.merged = merged;
        values
    }

    /// The values file (JSON) that applies these changes over the merged values.
    pub fn overlay(&self, changes: &[(&Leaf, Json)]) -> Json {
        let mut modified = self
            .merged
            .as_ref()
            .map(Node::to_json)
            .unwrap_or(Json::Null);
        for (leaf, new) in changes {
            if let Some(slot) = json_at_mut(&mut modified, &leaf.path) {
                *slot = new.clone();
            }
        }
        let mut overlay = Json::Object(Map::new());
        for (leaf, _) in changes {
            // Up to (not into) the first list: Helm replaces a list as a whole.
            let cut = leaf
                .path
                .iter()
                .position(|s| matches!(s, PathSegment::Index(_)))
                .unwrap_or(leaf.path.len());
            let prefix = &leaf.path[..cut];
            let Some(value) = json_at(&modified, prefix).cloned() else {
                continue;
            };
            insert_at(&mut overlay, prefix, value);
        }
        overlay
    }
}

/// Helm's merge of a values file over another.
fn merge(base: Node, over: Node) -> Node {
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(overrides)) => {
            for (key, value) in overrides {
                match entries.iter().position(|(k, _)| *k == key) {
                    Some(i) => {
                        let old = std::mem::replace(&mut entries[i].1, Node::null());
                        entries[i].1 = merge(old, value);
                    }
                    None => entries.push((key, value)),
                }
            }
            Node {
                value: Value::Map(entries),
                ..over_meta(base.span, base.key_span)
            }
        }
        (_, value) => Node { value, ..over },
    }
}

fn over_meta(span: Option<crate::source::Span>, key_span: Option<crate::source::Span>) -> Node {
    Node {
        span,
        key_span,
        ..Node::null()
    }
}

fn collect_leaves(
    node: &Node,
    path: &mut Vec<PathSegment>,
    key_span: Option<crate::source::Span>,
    out: &mut Vec<Leaf>,
) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                path.push(PathSegment::Key(k.clone()));
                collect_leaves(v, path, v.key_span, out);
                path.pop();
            }
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                collect_leaves(item, path, None, out);
                path.pop();
            }
        }
        Value::Null => {}
        _ => {
            if let Some(span) = node.span {
                let line = key_span.map(|k| k.join(span)).unwrap_or(span);
                out.push(Leaf {
                    path: path.clone(),
                    value: node.value.clone(),
                    file: span.file.0 as usize,
                    span: span.start..span.end,
                    line: line.start..line.end,
                });
            }
        }
    }
}

/// The key path of a `--set` expression's first pair (`a.b[0]=x,c=y` → `a.b[0]`); Helm's
/// escaped dots (`a\.b`) stay in the key.
pub fn set_path(expression: &str) -> Option<Vec<PathSegment>> {
    let key = expression.split_once('=')?.0;
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '.' => {
                if !current.is_empty() {
                    segments.push(PathSegment::Key(std::mem::take(&mut current)));
                }
            }
            '[' => {
                if !current.is_empty() {
                    segments.push(PathSegment::Key(std::mem::take(&mut current)));
                }
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                segments.push(PathSegment::Index(digits.trim().parse().ok()?));
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        segments.push(PathSegment::Key(current));
    }
    (!segments.is_empty()).then_some(segments)
}

fn json_at<'a>(json: &'a Json, path: &[PathSegment]) -> Option<&'a Json> {
    path.iter().try_fold(json, |j, seg| match seg {
        PathSegment::Key(k) => j.get(k),
        PathSegment::Index(i) => j.get(i),
    })
}

fn json_at_mut<'a>(json: &'a mut Json, path: &[PathSegment]) -> Option<&'a mut Json> {
    path.iter().try_fold(json, |j, seg| match seg {
        PathSegment::Key(k) => j.get_mut(k),
        PathSegment::Index(i) => j.get_mut(i),
    })
}

/// Sets `path` (keys only) in a JSON object, creating mappings on the way.
fn insert_at(json: &mut Json, path: &[PathSegment], value: Json) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = json;
    for seg in parents {
        let PathSegment::Key(k) = seg else { return };
        let Json::Object(map) = here else { return };
        here = map
            .entry(k.clone())
            .or_insert_with(|| Json::Object(Map::new()));
        if !here.is_object() {
            *here = Json::Object(Map::new());
        }
    }
    if let (PathSegment::Key(k), Json::Object(map)) = (last, here) {
        map.insert(k.clone(), value);
    }
}

/// A changed value for a leaf, and the marker text that shows it in a render (for strings;
/// `None` for an integer moved by one, a flipped boolean or a changed float). `n` makes markers
/// unique; `avoid` is text the marker must not already occur in (the original render).
pub fn change(leaf: &Leaf, n: usize, avoid: &str) -> Option<(Json, Option<String>)> {
    match &leaf.value {
        Value::Str(s) if !s.is_empty() => {
            let marker = format!("tgprobe{n:04}z");
            let found = !avoid.contains(&marker);
            Some((Json::String(marker.clone()), found.then_some(marker)))
        }
        // A neighbouring number stays valid where the value is a port or a count, so the
        // change does not take the object away; it carries no marker.
        Value::Int(i) => Some((Json::from(i.checked_add(1).unwrap_or(i - 1)), None)),
        Value::Bool(b) => Some((Json::Bool(!b), None)),
        Value::Float(f) => serde_json::Number::from_f64(f + 1.5).map(|n| (Json::Number(n), None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(values: &Values) -> Vec<(String, String, usize)> {
        values
            .leaves
            .iter()
            .map(|l| (l.key(), l.text().unwrap_or_default(), l.file))
            .collect()
    }

    #[test]
    fn files_merge_as_helm_merges_and_set_keys_are_dropped() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        std::fs::write(
            dir.join("values.yaml"),
            "server:\n  mode: poll\n  port: 8000\nargs: [--a, --b]\nimage: {tag: x}\n",
        )
        .unwrap_or_default();
        std::fs::write(
            dir.join("prod.yaml"),
            "server:\n  mode: none\nargs: [--c]\n",
        )
        .unwrap_or_default();
        let values = Values::load(dir, &[dir.join("prod.yaml")], &["image.tag=y".to_string()]);
        assert_eq!(
            keys(&values),
            [
                ("server.mode".into(), "none".into(), 1),
                ("server.port".into(), "8000".into(), 0),
                ("args[0]".into(), "--c".into(), 1),
            ]
        );
        let mode = &values.leaves[0];
        assert_eq!(&values.files[1].text[mode.span.clone()], "none");
        assert_eq!(&values.files[1].text[mode.line.clone()], "mode: none");

        assert_eq!(
            change(&values.leaves[1], 0, ""),
            Some((Json::from(8001), None))
        );
        let (new, marker) = change(&values.leaves[2], 3, "").unwrap_or((Json::Null, None));
        assert_eq!(marker.as_deref(), Some("tgprobe0003z"));
        let overlay =
            values.overlay(&[(&values.leaves[2], new), (&values.leaves[1], Json::from(1))]);
        assert_eq!(
            overlay,
            serde_json::json!({"args": ["tgprobe0003z"], "server": {"port": 1}})
        );
    }

    #[test]
    fn set_paths() {
        assert_eq!(
            set_path(r"a.b\.c[2]=x"),
            Some(vec![
                PathSegment::Key("a".into()),
                PathSegment::Key("b.c".into()),
                PathSegment::Index(2)
            ])
        );
        assert_eq!(set_path("novalue"), None);
        assert_eq!(
            key_text(&[
                PathSegment::Key("limits".into()),
                PathSegment::Key("nvidia.com/gpu".into())
            ]),
            "limits[\"nvidia.com/gpu\"]"
        );
    }
}
