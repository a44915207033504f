//! A `kustomization.yaml` as tritonguard reads it: the resources it lists (files, and
//! directories holding their own kustomization), the patches it applies, the image
//! overrides and the namespace it sets. Each value keeps its span, so a finding caused by an
//! overlay points into the overlay.

use crate::source::Span;
use crate::tree::Node;

/// The file names kustomize looks for in a directory, in its order.
pub const FILE_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a file name is a kustomization.
pub fn is_kustomization_name(name: &str) -> bool {
    FILE_NAMES.contains(&name)
}

/// A path written in the kustomization, relative to its directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRef {
    pub path: String,
    pub span: Option<Span>,
}

/// What a patch applies to, when the patch says (`patches[].target`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// A strategic merge patch: a partial object, matched by kind and name.
    StrategicMerge,
    /// An RFC 6902 JSON patch (a list of operations) for `target`.
    Json6902,
    /// Either, decided by the file's content (`patches:`).
    Detect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchRef {
    pub file: PathRef,
    pub kind: PatchKind,
    pub target: Option<Target>,
}

/// `images: [{name, newName, newTag, digest}]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageOverride {
    pub name: String,
    pub new_name: Option<(String, Option<Span>)>,
    pub new_tag: Option<(String, Option<Span>)>,
    pub digest: Option<(String, Option<Span>)>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kustomization {
    /// `resources`, `bases` (the older name) and `components`, in order.
    pub resources: Vec<PathRef>,
    pub patches: Vec<PatchRef>,
    pub images: Vec<ImageOverride>,
    pub namespace: Option<(String, Option<Span>)>,
    /// Entries tritonguard does not apply (inline patches, remote resources, name prefixes):
    /// shown as notes so that a user knows what the check did not see.
    pub unsupported: Vec<(String, Option<Span>)>,
}

fn path_refs(node: Option<&Node>) -> Vec<PathRef> {
    node.map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            n.as_str().map(|p| PathRef {
                path: p.to_string(),
                span: n.span,
            })
        })
        .collect()
}

fn target(node: Option<&Node>) -> Option<Target> {
    let node = node?;
    let text = |k: &str| node.get(k).and_then(Node::as_str).map(str::to_string);
    Some(Target {
        kind: text("kind"),
        name: text("name"),
        namespace: text("namespace"),
    })
}

fn spanned(node: Option<&Node>) -> Option<(String, Option<Span>)> {
    let node = node?;
    Some((node.as_scalar_text()?, node.span))
}

impl Kustomization {
    pub fn read(root: &Node) -> Kustomization {
        let mut k = Kustomization::default();
        for key in ["resources", "bases", "components"] {
            k.resources.extend(path_refs(root.get(key)));
        }
        for f in path_refs(root.get("patchesStrategicMerge")) {
            k.patches.push(PatchRef {
                file: f,
                kind: PatchKind::StrategicMerge,
                target: None,
            });
        }
        for p in root.get("patches").map(Node::as_list).unwrap_or_default() {
            match p.get("path").and_then(|n| n.as_str().map(|s| (s, n.span))) {
                Some((path, span)) => k.patches.push(PatchRef {
                    file: PathRef {
                        path: path.to_string(),
                        span,
                    },
                    kind: PatchKind::Detect,
                    target: target(p.get("target")),
                }),
                None => k.unsupported.push((
                    "an inline patch (`patch:`) is not applied".to_string(),
                    p.span,
                )),
            }
        }
        for p in root
            .get("patchesJson6902")
            .map(Node::as_list)
            .unwrap_or_default()
        {
            if let Some((path, span)) = p.get("path").and_then(|n| n.as_str().map(|s| (s, n.span)))
            {
                k.patches.push(PatchRef {
                    file: PathRef {
                        path: path.to_string(),
                        span,
                    },
                    kind: PatchKind::Json6902,
                    target: target(p.get("target")),
                });
            }
        }
        for i in root.get("images").map(Node::as_list).unwrap_or_default() {
            let Some(name) = i.get("name").and_then(Node::as_str) else {
                continue;
            };
            k.images.push(ImageOverride {
                name: name.to_string(),
                new_name: spanned(i.get("newName")),
                new_tag: spanned(i.get("newTag")),
                digest: spanned(i.get("digest")),
                span: i.span,
            });
        }
        k.namespace = spanned(root.get("namespace"));
        for key in [
            "namePrefix",
            "nameSuffix",
            "helmCharts",
            "generators",
            "transformers",
        ] {
            if let Some(n) = root.get(key) {
                k.unsupported
                    .push((format!("`{key}` is not applied"), n.key_span.or(n.span)));
            }
        }
        k
    }

    /// Every path the kustomization names: resources and patch files.
    pub fn referenced(&self) -> impl Iterator<Item = &PathRef> {
        self.resources
            .iter()
            .chain(self.patches.iter().map(|p| &p.file))
    }
}

/// A resource path that names something remote (a git URL), which tritonguard never fetches.
pub fn is_remote(path: &str) -> bool {
    path.contains("://") || path.starts_with("github.com/") || path.starts_with("git@")
}
