//! The subjects policies look at: each Launch, each Kubernetes object, each model
//! configuration, with the variables a policy sees beside it (`file`, `model`, and the
//! shared `objects` / `repository` of its group).

use std::collections::{BTreeMap, BTreeSet};

use crate::correlate::LaunchRecord;
use crate::model::k8s::K8sObject;
use crate::model::subject::Subject;
use crate::source::{FileId, SourceStore, Span};
use crate::tree::{Node, ToNode};

/// Named values bound as CEL variables.
pub type Variables = Vec<(&'static str, Node)>;

/// One thing policies look at: a Launch, a Kubernetes object, a model configuration.
#[derive(Clone)]
pub struct SubjectRecord {
    pub kind: Subject,
    /// The subject as policies see it. For a Launch it is built from
    /// [`SubjectRecord::launch`] by the evaluation that needs it (null until then, unless
    /// the subjects are kept for `inspect`): ten thousand Launch trees held at once were
    /// most of a large scan's memory.
    pub root: Node,
    /// The Launch this subject is, an index into `Correlated::launches`.
    pub launch: Option<usize>,
    pub file: FileId,
    /// Stable identity for fingerprints (`Deployment/ns/name/container`).
    pub identity: String,
    /// Where to point when nothing more precise is known (the object's `kind:` line).
    pub anchor: Option<Span>,
    /// Shown under each finding (the Helm template of a rendered document).
    pub notes: Vec<String>,
    /// The `file` variable: `{path, format}`.
    pub file_value: Node,
    /// Extra variables (`model` for a config.pbtxt: the model directory name).
    pub extra: Variables,
    /// The group of subjects whose shared variables this one sees (an index into the
    /// `groups` given to [`evaluate`]): the model repository of a config.pbtxt.
    pub group: Option<usize>,
    /// The whole object the subject was read from, for object-wide suppressions.
    pub extent: Option<Span>,
}

/// The subject of a correlated Launch (the `index`th), in its unit's group; `with_root`
/// builds its tree now rather than when it is evaluated.
pub fn launch_subject(
    record: &LaunchRecord,
    index: usize,
    with_root: bool,
    store: &SourceStore,
    group: usize,
) -> SubjectRecord {
    SubjectRecord {
        kind: Subject::Launch,
        root: if with_root {
            record.launch.to_node()
        } else {
            Node::null()
        },
        launch: Some(index),
        file: record.file,
        identity: record.launch.id.clone(),
        anchor: record.anchor,
        notes: helm_notes(record.launch.source.helm_template.as_deref()),
        file_value: file_value(store.display(record.file), &record.launch.source.format),
        extra: Vec::new(),
        group: Some(group),
        extent: record.extent,
    }
}

/// The subject of a Kubernetes object, in its unit's group.
pub fn object_subject(object: &K8sObject, store: &SourceStore, group: usize) -> SubjectRecord {
    let format = if object.helm_template.is_some() {
        "helm"
    } else {
        "kubernetes"
    };
    SubjectRecord {
        kind: Subject::K8s,
        root: object.node.clone(),
        launch: None,
        file: object.file,
        identity: object.identity(),
        anchor: object.anchor(),
        notes: helm_notes(object.helm_template.as_deref()),
        file_value: file_value(store.display(object.file), format),
        extra: Vec::new(),
        group: Some(group),
        extent: Some(object.extent),
    }
}

/// One subject per config.pbtxt, with the `model` variable (the model's directory name and
/// the config's path), and one group per model repository with the `repository` variable
/// (its path and the models the scan found in it), shared by the configs of that repository.
pub fn model_config_subjects(
    configs: &[(FileId, &Node)],
    store: &SourceStore,
    first_group: usize,
) -> (Vec<SubjectRecord>, Vec<Variables>) {
    // `<repo>/<model>/config.pbtxt`, or `<repo>/<model>/configs/<name>.pbtxt`.
    let model_dir = |display: &str| -> (String, String) {
        let parts: Vec<&str> = display.split('/').collect();
        let n = parts.len();
        let (model, repo_end) = if n >= 3 && parts[n - 2] == "configs" {
            (parts[n - 3], n - 3)
        } else if n >= 2 {
            (parts[n - 2], n - 2)
        } else {
            ("", 0)
        };
        (model.to_string(), parts[..repo_end].join("/"))
    };
    let located: Vec<(FileId, &Node, String, String)> = configs
        .iter()
        .map(|(id, root)| {
            let (model, repo) = model_dir(store.display(*id));
            (*id, *root, model, repo)
        })
        .collect();
    let mut repositories: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, _, model, repo) in &located {
        let models = repositories.entry(repo.as_str()).or_default();
        if !model.is_empty() {
            models.insert(model.as_str());
        }
    }
    let group_of: BTreeMap<&str, usize> = repositories
        .keys()
        .enumerate()
        .map(|(i, repo)| (*repo, first_group + i))
        .collect();
    let groups = repositories
        .iter()
        .map(|(repo, models)| {
            let repository = Node::map(vec![
                ("path".to_string(), Node::str(repo.to_string())),
                (
                    "models".to_string(),
                    Node::list(models.iter().map(|m| Node::str(m.to_string())).collect()),
                ),
            ]);
            vec![("repository", repository)]
        })
        .collect();
    let subjects = located
        .iter()
        .map(|(id, root, model, repo)| {
            let display = store.display(*id).to_string();
            let custom = display.contains("/configs/");
            let model_value = Node::map(vec![
                ("name".to_string(), Node::str(model.clone())),
                ("config_path".to_string(), Node::str(display.clone())),
                ("custom_config".to_string(), custom.to_node()),
            ]);
            SubjectRecord {
                kind: Subject::Pbtxt,
                root: (*root).clone(),
                launch: None,
                file: *id,
                identity: display.clone(),
                anchor: root
                    .get("name")
                    .and_then(Node::label_span)
                    .or_else(|| root.as_map().first().and_then(|(_, v)| v.label_span()))
                    .or(Some(Span::new(*id, 0, 0))),
                notes: Vec::new(),
                file_value: file_value(&display, "pbtxt"),
                extra: vec![("model", model_value)],
                group: group_of.get(repo.as_str()).copied(),
                extent: store.get(*id).map(|f| Span::new(*id, 0, f.text.len())),
            }
        })
        .collect();
    (subjects, groups)
}

fn helm_notes(template: Option<&str>) -> Vec<String> {
    template
        .map(|t| vec![format!("Helm template {t}")])
        .unwrap_or_default()
}

fn file_value(path: &str, format: &str) -> Node {
    Node::map(vec![
        ("path".to_string(), Node::str(path)),
        ("format".to_string(), Node::str(format)),
    ])
}
