//! Kubernetes objects out of parsed YAML documents: identity, labels, and the Helm template a
//! rendered document came from.

use crate::parse::yaml::YamlDocument;
use crate::source::{FileId, Span};
use crate::tree::Node;

#[derive(Clone, Debug)]
pub struct K8sObject {
    pub file: FileId,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// As written; `None` means the namespace of whoever applies it.
    pub namespace: Option<String>,
    pub node: Node,
    /// The document this object was read from (for whole-object suppressions).
    pub extent: Span,
    /// `# Source: chart/templates/x.yaml` of Helm output.
    pub helm_template: Option<String>,
    /// 0-based document index in the file, and index inside a `kind: List`.
    pub position: (usize, Option<usize>),
}

impl K8sObject {
    /// `Kind/namespace/name`, stable across edits elsewhere in the file.
    pub fn identity(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }

    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }

    pub fn labels(&self) -> Vec<(String, String)> {
        string_map(self.node.at(&["metadata", "labels"]))
    }

    pub fn annotations(&self) -> Vec<(String, String)> {
        string_map(self.node.at(&["metadata", "annotations"]))
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.node
            .at(&["metadata", "annotations", key])
            .and_then(Node::as_scalar_text)
    }

    /// The span to point at for the object as a whole: its `kind:` line.
    pub fn anchor(&self) -> Option<Span> {
        self.node
            .get("kind")
            .and_then(Node::label_span)
            .or(self.node.span)
    }
}

/// A map of scalar values as (key, text) pairs; non-scalars are skipped.
pub fn string_map(node: Option<&Node>) -> Vec<(String, String)> {
    node.map(|n| {
        n.as_map()
            .iter()
            .filter_map(|(k, v)| v.as_scalar_text().map(|t| (k.clone(), t)))
            .collect()
    })
    .unwrap_or_default()
}

/// Is this document a Kubernetes object (it names an apiVersion and a kind)?
pub fn is_k8s_document(root: &Node) -> bool {
    root.get("apiVersion").and_then(Node::as_str).is_some()
        && root.get("kind").and_then(Node::as_str).is_some()
}

/// The objects of one YAML document: itself, or the items of a `kind: List`.
pub fn objects_from_document(file: FileId, doc: &YamlDocument) -> Vec<K8sObject> {
    let helm_template = doc.helm_source.clone();
    let root = &doc.root;
    if !is_k8s_document(root) {
        return Vec::new();
    }
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or_default();
    if kind.ends_with("List") && root.get("items").is_some() {
        return root
            .get("items")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, item)| is_k8s_document(item))
            .map(|(i, item)| object(file, item, doc, helm_template.clone(), (doc.index, Some(i))))
            .collect();
    }
    vec![object(file, root, doc, helm_template, (doc.index, None))]
}

fn object(
    file: FileId,
    node: &Node,
    doc: &YamlDocument,
    helm_template: Option<String>,
    position: (usize, Option<usize>),
) -> K8sObject {
    let text = |keys: &[&str]| node.at(keys).and_then(Node::as_scalar_text);
    K8sObject {
        file,
        api_version: text(&["apiVersion"]).unwrap_or_default(),
        kind: text(&["kind"]).unwrap_or_default(),
        name: text(&["metadata", "name"])
            .or_else(|| text(&["metadata", "generateName"]))
            .unwrap_or_default(),
        namespace: text(&["metadata", "namespace"]),
        node: node.clone(),
        extent: match position.1 {
            Some(_) => node.span.unwrap_or(doc.extent),
            None => doc.extent,
        },
        helm_template,
        position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_stream;

    #[test]
    fn lists_expand_and_helm_sources_are_kept() {
        let text = "---\n# Source: triton/templates/svc.yaml\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a, namespace: ml}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n";
        let stream = parse_stream(FileId(0), text);
        let objects = objects_from_document(FileId(0), &stream.documents[0]);
        let ids: Vec<_> = objects.iter().map(K8sObject::identity).collect();
        assert_eq!(ids, ["Service/ml/a", "ConfigMap//b"]);
        assert_eq!(
            objects[0].helm_template.as_deref(),
            Some("triton/templates/svc.yaml")
        );
        assert_eq!(objects[1].position, (0, Some(1)));
    }

    #[test]
    fn documents_without_api_version_and_kind_are_not_objects() {
        let text = "services:\n  triton:\n    image: x\n";
        let stream = parse_stream(FileId(0), text);
        assert!(objects_from_document(FileId(0), &stream.documents[0]).is_empty());
    }
}
