//! A rendered `helm template` stream, addressed so that the same place can be found again
//! in another render of the same chart: a document by its `# Source:` template and its
//! ordinal among that template's documents, a place in it by the YAML path of the node.

use std::ops::Range;

use crate::parse::yaml::{YamlStream, parse_stream};
use crate::source::{FileId, Span};
use crate::tree::{Node, PathSegment, Value};

/// Which document of a render: `(# Source: template, ordinal among its documents)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocKey {
    pub source: String,
    pub ordinal: usize,
}

/// A place in a render that survives re-rendering: document and YAML path.
#[derive(Clone, Debug)]
pub struct NodeAt {
    pub doc: DocKey,
    pub path: Vec<PathSegment>,
    /// `path` as text (`spec.ports[0].name`): what places are compared and sorted by.
    pub key: String,
}

impl PartialEq for NodeAt {
    fn eq(&self, other: &NodeAt) -> bool {
        (&self.doc, &self.key) == (&other.doc, &other.key)
    }
}

impl Eq for NodeAt {}

impl PartialOrd for NodeAt {
    fn partial_cmp(&self, other: &NodeAt) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeAt {
    fn cmp(&self, other: &NodeAt) -> std::cmp::Ordering {
        (&self.doc, &self.key).cmp(&(&other.doc, &other.key))
    }
}

#[derive(Debug)]
pub struct Rendered {
    pub text: String,
    stream: YamlStream,
    keys: Vec<DocKey>,
}

impl Rendered {
    pub fn parse(text: String) -> Rendered {
        let stream = parse_stream(FileId(0), &text);
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        let keys = stream
            .documents
            .iter()
            .map(|d| {
                let source = d.helm_source.clone().unwrap_or_default();
                let n = counts.entry(source.clone()).or_default();
                let key = DocKey {
                    source,
                    ordinal: *n,
                };
                *n += 1;
                key
            })
            .collect();
        Rendered { text, stream, keys }
    }

    fn doc_index(&self, offset: usize) -> Option<usize> {
        self.stream
            .documents
            .iter()
            .position(|d| offset >= d.extent.start && offset < d.extent.end.max(d.extent.start + 1))
    }

    /// The document holding `offset`: its key, and its byte range.
    pub fn document_at(&self, offset: usize) -> Option<(&DocKey, Range<usize>)> {
        let i = self.doc_index(offset)?;
        let extent = self.stream.documents[i].extent;
        Some((&self.keys[i], extent.start..extent.end))
    }

    /// The deepest node whose `key: value` region holds the start of `span`.
    pub fn locate(&self, span: &Range<usize>) -> Option<NodeAt> {
        let i = self.doc_index(span.start)?;
        let mut node = &self.stream.documents[i].root;
        let mut path = Vec::new();
        while let Some((seg, child)) = child_holding(node, span.start) {
            path.push(seg);
            node = child;
        }
        Some(NodeAt {
            doc: self.keys[i].clone(),
            key: super::values::key_text(&path),
            path,
        })
    }

    fn node(&self, at: &NodeAt) -> Option<&Node> {
        let i = self.keys.iter().position(|k| *k == at.doc)?;
        self.stream.documents[i].root.lookup(&at.path)
    }

    /// The text of the node at `at` with its key (`readOnly: false`), as written.
    pub fn text_at(&self, at: &NodeAt) -> Option<&str> {
        let node = self.node(at)?;
        let range = region(node)?;
        self.text.get(range)
    }

    /// The scalars beside the node and beside each of its ancestors, as `key: value`: the
    /// settings of the objects that hold it (a Service's `type` for one of its ports).
    pub fn context_texts(&self, at: &NodeAt) -> Vec<String> {
        let Some(i) = self.keys.iter().position(|k| *k == at.doc) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut node = &self.stream.documents[i].root;
        for depth in 0..=at.path.len() {
            if let Value::Map(entries) = &node.value {
                for (k, v) in entries {
                    if let Some(t) = v.as_scalar_text() {
                        out.push(format!("{k}: {t}"));
                    }
                }
            }
            let Some(seg) = at.path.get(depth) else { break };
            let next = match seg {
                PathSegment::Key(k) => node.get(k),
                PathSegment::Index(n) => node.index(*n),
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        out
    }
}

/// A node's `key: value` region (the value alone for list items and the root).
fn region(node: &Node) -> Option<Range<usize>> {
    let span: Span = match (node.key_span, node.span) {
        (Some(k), Some(v)) => k.join(v),
        (None, Some(v)) => v,
        (Some(k), None) => k,
        (None, None) => return None,
    };
    Some(span.start..span.end)
}

fn child_holding(node: &Node, offset: usize) -> Option<(PathSegment, &Node)> {
    let holds =
        |n: &Node| region(n).is_some_and(|r| offset >= r.start && offset < r.end.max(r.start + 1));
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(_, v)| holds(v))
            .map(|(k, v)| (PathSegment::Key(k.clone()), v)),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find(|(_, v)| holds(v))
            .map(|(i, v)| (PathSegment::Index(i), v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nspec:\n  type: LoadBalancer\n  ports:\n    - name: metrics\n      port: 8002\n---\n# Source: c/templates/svc.yaml\nkind: Service\nspec: {type: ClusterIP}\n";

    #[test]
    fn places_are_found_by_template_ordinal_and_path() {
        let rendered = Rendered::parse(STREAM.to_string());
        let start = STREAM.find("name: metrics").unwrap_or(0);
        let at = rendered
            .locate(&(start..start + 13))
            .unwrap_or_else(|| panic!());
        assert_eq!(at.doc.source, "c/templates/svc.yaml");
        assert_eq!(at.doc.ordinal, 0);
        assert_eq!(
            at.path,
            [
                PathSegment::Key("spec".into()),
                PathSegment::Key("ports".into()),
                PathSegment::Index(0),
                PathSegment::Key("name".into())
            ]
        );
        assert_eq!(rendered.text_at(&at), Some("name: metrics"));
        let context = rendered.context_texts(&at);
        assert!(
            context.contains(&"type: LoadBalancer".to_string()),
            "{context:?}"
        );
        assert!(context.contains(&"port: 8002".to_string()), "{context:?}");
        let second = STREAM.rfind("type: ClusterIP").unwrap_or(0);
        let at = rendered
            .locate(&(second..second + 4))
            .unwrap_or_else(|| panic!());
        assert_eq!(at.doc.ordinal, 1);
        assert_eq!(rendered.text_at(&at), Some("type: ClusterIP"));
    }
}
