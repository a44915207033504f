//! Kustomizations as deployment units. A directory with a `kustomization.yaml` is built the
//! way `kustomize build` would for what matters to Triton's checks: the resources it lists
//! (files, and directories with their own kustomization: bases, overlays, components, in
//! order), then its strategic-merge and JSON 6902 patches, its `namespace` and its `images`
//! overrides. Every value keeps the span of the file that wrote it, so a finding caused by
//! an overlay's patch points into the overlay.
//!
//! A kustomization that another kustomization of the scan builds on is a base: it is checked
//! through the overlays that use it, not on its own. Files a kustomization lists are not part
//! of any directory unit. Not applied (and said in a note): inline patches, `namePrefix` /
//! `nameSuffix` (names and the references to them change together, so correlation is the
//! same), generators, transformers, Helm charts and remote resources.

use std::collections::{BTreeMap, BTreeSet};

use crate::extract::{Extracted, join_path, parent_dir};
use crate::model::k8s::K8sObject;
use crate::model::kustomization::{Kustomization, PatchKind, PatchRef, Target, is_remote};
use crate::parse::yaml::parse_stream;
use crate::source::{FileId, SourceStore, Span};
use crate::tree::{Node, Value};

/// Deepest chain of kustomizations followed (overlay → base → ...).
const MAX_DEPTH: usize = 32;

/// One built kustomization.
pub struct Built {
    /// The kustomization's directory (display path).
    pub dir: String,
    /// Every file it read: the kustomization files, resources and patches.
    pub files: BTreeSet<FileId>,
    pub objects: Vec<K8sObject>,
    /// What was not applied, with where it is written.
    pub notes: Vec<(String, Option<Span>)>,
}

/// The kustomizations of the scan that no other one builds on, built; and every file any
/// kustomization of the scan reads.
pub fn build_roots(extracted: &[Extracted], store: &SourceStore) -> (Vec<Built>, BTreeSet<FileId>) {
    let mut by_dir: BTreeMap<String, (FileId, &Kustomization)> = BTreeMap::new();
    for e in extracted {
        if let Some(k) = &e.kustomization {
            by_dir.insert(parent_dir(store.display(e.file)), (e.file, k));
        }
    }
    if by_dir.is_empty() {
        return (Vec::new(), BTreeSet::new());
    }
    let by_display: BTreeMap<&str, &Extracted> = extracted
        .iter()
        .map(|e| (store.display(e.file), e))
        .collect();
    let mut bases: BTreeSet<String> = BTreeSet::new();
    for (dir, (_, k)) in &by_dir {
        for r in &k.resources {
            let target = join_path(dir, &r.path);
            if by_dir.contains_key(&target) {
                bases.insert(target);
            }
        }
    }
    let builder = Builder {
        by_dir: &by_dir,
        by_display: &by_display,
        store,
    };
    let mut claimed = BTreeSet::new();
    let mut roots = Vec::new();
    for dir in by_dir.keys() {
        let mut built = Built {
            dir: dir.clone(),
            files: BTreeSet::new(),
            objects: Vec::new(),
            notes: Vec::new(),
        };
        built.objects = builder.build(dir, &mut Vec::new(), &mut built);
        claimed.extend(built.files.iter().copied());
        if !bases.contains(dir) {
            roots.push(built);
        }
    }
    (roots, claimed)
}

struct Builder<'a> {
    by_dir: &'a BTreeMap<String, (FileId, &'a Kustomization)>,
    by_display: &'a BTreeMap<&'a str, &'a Extracted>,
    store: &'a SourceStore,
}

impl Builder<'_> {
    fn build(&self, dir: &str, chain: &mut Vec<String>, out: &mut Built) -> Vec<K8sObject> {
        let Some((file, k)) = self.by_dir.get(dir) else {
            return Vec::new();
        };
        if chain.len() >= MAX_DEPTH || chain.iter().any(|d| d == dir) {
            out.notes.push((
                format!("the kustomization in {dir} builds on itself or is nested too deep"),
                None,
            ));
            return Vec::new();
        }
        chain.push(dir.to_string());
        out.files.insert(*file);
        out.notes.extend(k.unsupported.iter().cloned());
        let mut objects = Vec::new();
        for r in &k.resources {
            if is_remote(&r.path) {
                out.notes.push((
                    format!("the remote resource {} is not fetched", r.path),
                    r.span,
                ));
                continue;
            }
            let target = join_path(dir, &r.path);
            if self.by_dir.contains_key(&target) {
                objects.extend(self.build(&target, chain, out));
            } else if let Some(e) = self.by_display.get(target.as_str()) {
                out.files.insert(e.file);
                objects.extend(e.objects.iter().cloned());
            } else {
                out.notes.push((
                    format!(
                        "{} is not in the scan (or not a file tritonguard reads)",
                        r.path
                    ),
                    r.span,
                ));
            }
        }
        for patch in &k.patches {
            self.apply_patch(dir, patch, &mut objects, out);
        }
        if let Some((namespace, span)) = &k.namespace {
            for o in &mut objects {
                set_namespace(o, namespace, *span);
            }
        }
        for image in &k.images {
            for o in &mut objects {
                override_images(&mut o.node, image);
            }
        }
        chain.pop();
        objects
    }

    fn apply_patch(&self, dir: &str, patch: &PatchRef, objects: &mut [K8sObject], out: &mut Built) {
        let path = join_path(dir, &patch.file.path);
        let Some(e) = self.by_display.get(path.as_str()) else {
            out.notes.push((
                format!("the patch {} is not in the scan", patch.file.path),
                patch.file.span,
            ));
            return;
        };
        out.files.insert(e.file);
        let Some(source) = self.store.get(e.file) else {
            return;
        };
        let stream = parse_stream(e.file, &source.text);
        for doc in &stream.documents {
            let root = &doc.root;
            let json = matches!(root.value, Value::List(_));
            if json || patch.kind == PatchKind::Json6902 {
                for o in objects
                    .iter_mut()
                    .filter(|o| selected(o, patch.target.as_ref(), None))
                {
                    apply_json_patch(&mut o.node, root);
                }
            } else {
                let own = Target {
                    kind: root.get("kind").and_then(Node::as_str).map(str::to_string),
                    name: root
                        .at(&["metadata", "name"])
                        .and_then(Node::as_str)
                        .map(str::to_string),
                    namespace: root
                        .at(&["metadata", "namespace"])
                        .and_then(Node::as_str)
                        .map(str::to_string),
                };
                for o in objects
                    .iter_mut()
                    .filter(|o| selected(o, patch.target.as_ref(), Some(&own)))
                {
                    merge(&mut o.node, root, "");
                }
            }
        }
    }
}

/// Whether a patch applies to `o`: by its `target` when given, else by the patch's own kind
/// and name.
fn selected(o: &K8sObject, target: Option<&Target>, own: Option<&Target>) -> bool {
    let Some(t) = target.or(own) else {
        return false;
    };
    t.kind.as_deref().is_none_or(|k| k == o.kind)
        && t.name.as_deref().is_none_or(|n| n == o.name)
        && t.namespace
            .as_deref()
            .is_none_or(|ns| Some(ns) == o.namespace.as_deref())
}

fn set_namespace(o: &mut K8sObject, namespace: &str, span: Option<Span>) {
    o.namespace = Some(namespace.to_string());
    let value = Node::str(namespace).with_span(span);
    let Value::Map(entries) = &mut o.node.value else {
        return;
    };
    match entries.iter_mut().find(|(k, _)| k == "metadata") {
        Some((_, metadata)) => put(metadata, "namespace", value),
        None => entries.push((
            "metadata".to_string(),
            Node::map(vec![("namespace".to_string(), value)]),
        )),
    }
}

/// Sets `key` in a map node, keeping the key's own span when it was already there.
fn put(map: &mut Node, key: &str, value: Node) {
    let Value::Map(entries) = &mut map.value else {
        return;
    };
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some((_, slot)) => {
            let key_span = slot.key_span;
            *slot = Node {
                key_span: key_span.or(value.key_span),
                ..value
            };
        }
        None => entries.push((key.to_string(), value)),
    }
}

/// The name part of an image reference (`reg:5000/team/triton:24.10` → `reg:5000/team/triton`).
fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

/// Applies an `images:` override to every container of a pod template in `node`.
fn override_images(node: &mut Node, image: &crate::model::kustomization::ImageOverride) {
    match &mut node.value {
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                if key == "image"
                    && let Some(current) = value.as_str()
                    && image_name(current) == image.name
                {
                    let name = image
                        .new_name
                        .as_ref()
                        .map_or(image.name.as_str(), |(n, _)| n.as_str());
                    let text = match (&image.digest, &image.new_tag) {
                        (Some((d, _)), _) => format!("{name}@{d}"),
                        (None, Some((t, _))) => format!("{name}:{t}"),
                        (None, None) => {
                            let rest = &current[image_name(current).len()..];
                            format!("{name}{rest}")
                        }
                    };
                    let span = image
                        .digest
                        .as_ref()
                        .and_then(|(_, s)| *s)
                        .or(image.new_tag.as_ref().and_then(|(_, s)| *s))
                        .or(image.new_name.as_ref().and_then(|(_, s)| *s))
                        .or(image.span);
                    // The override is where the image now comes from.
                    *value = Node::str(text).with_span(span);
                } else {
                    override_images(value, image);
                }
            }
        }
        Value::List(items) => items.iter_mut().for_each(|i| override_images(i, image)),
        _ => {}
    }
}

/// The key that identifies list items in a strategic merge, by the list's field name.
fn merge_key(field: &str, item: &Node) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" if item.get("containerPort").is_some() => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
}

/// A strategic merge of `patch` into `base` (`field` is the name `base` is held under).
fn merge(base: &mut Node, patch: &Node, field: &str) {
    match (&mut base.value, &patch.value) {
        (Value::Map(entries), Value::Map(patch_entries)) => {
            for (key, value) in patch_entries {
                if key.starts_with('$') {
                    continue;
                }
                match entries.iter_mut().find(|(k, _)| k == key) {
                    Some((_, existing)) => merge(existing, value, key),
                    None => entries.push((key.clone(), value.clone())),
                }
            }
        }
        (Value::List(items), Value::List(patch_items))
            if patch_items
                .first()
                .is_some_and(|i| merge_key(field, i).is_some()) =>
        {
            for p in patch_items {
                let Some(key) = merge_key(field, p) else {
                    items.push(p.clone());
                    continue;
                };
                let wanted = p.get(key).and_then(Node::as_scalar_text);
                let delete = p.get("$patch").and_then(Node::as_str) == Some("delete");
                let found = items.iter().position(|i| {
                    wanted.is_some() && i.get(key).and_then(Node::as_scalar_text) == wanted
                });
                match (found, delete) {
                    (Some(i), true) => {
                        items.remove(i);
                    }
                    (Some(i), false) => {
                        if let Some(item) = items.get_mut(i) {
                            merge(item, p, "");
                        }
                    }
                    (None, true) => {}
                    (None, false) => items.push(p.clone()),
                }
            }
        }
        _ => {
            // A scalar, or a list without a merge key: the patch replaces it, and findings
            // about it point into the patch.
            *base = patch.clone();
        }
    }
}

/// Applies RFC 6902 operations (`add`, `replace`, `remove`) to `node`.
fn apply_json_patch(node: &mut Node, ops: &Node) {
    for op in ops.as_list() {
        let Some(path) = op.get("path").and_then(Node::as_str) else {
            continue;
        };
        let segments: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        let Some((last, parents)) = segments.split_last() else {
            continue;
        };
        let Some(parent) = pointer_mut(node, parents) else {
            continue;
        };
        match (op.get("op").and_then(Node::as_str), op.get("value")) {
            (Some("add"), Some(value)) => match &mut parent.value {
                Value::List(items) => {
                    let at = if last == "-" {
                        items.len()
                    } else {
                        last.parse::<usize>()
                            .unwrap_or(items.len())
                            .min(items.len())
                    };
                    items.insert(at, value.clone());
                }
                Value::Map(_) => put(parent, last, value.clone()),
                _ => {}
            },
            (Some("replace"), Some(value)) => match &mut parent.value {
                Value::List(items) => {
                    if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                        *slot = value.clone();
                    }
                }
                Value::Map(_) => put(parent, last, value.clone()),
                _ => {}
            },
            (Some("remove"), _) => match &mut parent.value {
                Value::List(items) => {
                    if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < items.len()) {
                        items.remove(i);
                    }
                }
                Value::Map(entries) => entries.retain(|(k, _)| k != last),
                _ => {}
            },
            _ => {}
        }
    }
}

fn pointer_mut<'n>(node: &'n mut Node, segments: &[String]) -> Option<&'n mut Node> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(node);
    };
    let next = match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|(k, _)| k == first).map(|(_, v)| v),
        Value::List(items) => first.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    }?;
    pointer_mut(next, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Node {
        let stream = parse_stream(FileId(0), text);
        stream
            .documents
            .first()
            .map(|d| d.root.clone())
            .unwrap_or_else(Node::null)
    }

    #[test]
    fn containers_merge_by_name_and_scalars_are_replaced() {
        let mut base = yaml(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: a\n          args: [x]\n        - name: side\n",
        );
        let patch = yaml(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          args: [y, z]\n          securityContext: {runAsNonRoot: true}\n",
        );
        merge(&mut base, &patch, "");
        let c = base
            .at(&["spec", "template", "spec", "containers"])
            .map(Node::as_list)
            .unwrap_or_default();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].get("image").and_then(Node::as_str), Some("a"));
        let args: Vec<String> = c[0]
            .get("args")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_scalar_text)
            .collect();
        assert_eq!(args, ["y", "z"]);
        assert!(c[0].at(&["securityContext", "runAsNonRoot"]).is_some());
    }

    #[test]
    fn json_patches_add_replace_and_remove() {
        let mut base = yaml("spec:\n  type: ClusterIP\n  ports: [{port: 1}]\n  x: 1\n");
        let ops = yaml(
            "- {op: replace, path: /spec/type, value: LoadBalancer}\n- {op: add, path: /spec/ports/-, value: {port: 2}}\n- {op: remove, path: /spec/x}\n",
        );
        apply_json_patch(&mut base, &ops);
        assert_eq!(
            base.at(&["spec", "type"]).and_then(Node::as_str),
            Some("LoadBalancer")
        );
        assert_eq!(
            base.at(&["spec", "ports"]).map(|p| p.as_list().len()),
            Some(2)
        );
        assert!(base.at(&["spec", "x"]).is_none());
    }

    #[test]
    fn image_names_keep_registry_ports() {
        assert_eq!(image_name("reg:5000/t/triton:24.10"), "reg:5000/t/triton");
        assert_eq!(
            image_name("nvcr.io/nvidia/tritonserver@sha256:ab"),
            "nvcr.io/nvidia/tritonserver"
        );
        assert_eq!(image_name("triton"), "triton");
    }
}
