//! Which Kubernetes kinds hold pods, and where: the built-in workloads, custom resources
//! that embed a pod template or a PodSpec (Argo Rollouts, Knative, LeaderWorkerSet, KubeRay,
//! OpenKruise, OpenShift, Seldon, Kubeflow MPIJob, JobSet, Volcano), and the kinds a team adds in
//! `.tritonguard.yaml` (`workloads:`). docs/formats.md lists the table.

use crate::model::k8s::K8sObject;
use crate::tree::Node;

/// What a path points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A PodTemplateSpec: `metadata` (labels, annotations) and `spec` (a PodSpec).
    Template,
    /// A PodSpec itself (`containers`, `volumes`, ...).
    PodSpec,
}

/// One step of a path: a mapping key, every item of a list (`[]`), or every value of a
/// mapping (`*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    EachItem,
    EachValue,
}

/// A path inside an object to pod templates or PodSpecs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodPath {
    pub steps: Vec<Step>,
    pub shape: Shape,
}

/// A kind that holds pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadKind {
    /// The API group (`apps.kruise.io`; `""` for the core group); `None` matches any group.
    pub group: Option<String>,
    pub kind: String,
    pub paths: Vec<PodPath>,
}

impl WorkloadKind {
    fn matches(&self, object: &K8sObject) -> bool {
        self.kind == object.kind
            && self
                .group
                .as_deref()
                .is_none_or(|g| g == group_of(&object.api_version))
    }
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(group, _)| group)
        .unwrap_or("")
}

/// Parses a path such as `spec.workerGroupSpecs[].template` or
/// `spec.mpiReplicaSpecs.*.template`.
pub fn parse_path(text: &str, shape: Shape) -> Result<PodPath, String> {
    let mut steps = Vec::new();
    if text.trim().is_empty() {
        return Err("an empty path".to_string());
    }
    for part in text.split('.') {
        let (key, items) = match part.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (part, false),
        };
        if key == "*" && !items {
            steps.push(Step::EachValue);
            continue;
        }
        if key.is_empty() || key.contains(['[', ']', '*', ' ']) {
            return Err(format!(
                "'{part}' in '{text}' is not a key: use keys separated by '.', '[]' after a \
                 list's key for each of its items, and '*' for each value of a mapping"
            ));
        }
        steps.push(Step::Key(key.to_string()));
        if items {
            steps.push(Step::EachItem);
        }
    }
    Ok(PodPath { steps, shape })
}

/// `(group, kind, shape, paths)` of the kinds tritonguard knows. `None` as group: the kind
/// name is enough (the built-in workloads, also served by OpenKruise's Advanced StatefulSet
/// and DaemonSet under their own group with the same layout).
const BUILT_IN: &[(Option<&str>, &str, Shape, &[&str])] = &[
    (None, "Pod", Shape::PodSpec, &["spec"]),
    (None, "Deployment", Shape::Template, &["spec.template"]),
    (None, "StatefulSet", Shape::Template, &["spec.template"]),
    (None, "DaemonSet", Shape::Template, &["spec.template"]),
    (None, "ReplicaSet", Shape::Template, &["spec.template"]),
    (
        None,
        "ReplicationController",
        Shape::Template,
        &["spec.template"],
    ),
    (None, "Job", Shape::Template, &["spec.template"]),
    (
        None,
        "CronJob",
        Shape::Template,
        &["spec.jobTemplate.spec.template"],
    ),
    (None, "PodTemplate", Shape::Template, &["template"]),
    (
        Some("apps.openshift.io"),
        "DeploymentConfig",
        Shape::Template,
        &["spec.template"],
    ),
    (
        Some("argoproj.io"),
        "Rollout",
        Shape::Template,
        &["spec.template"],
    ),
    (
        Some("serving.knative.dev"),
        "Service",
        Shape::Template,
        &["spec.template"],
    ),
    (
        Some("serving.knative.dev"),
        "Configuration",
        Shape::Template,
        &["spec.template"],
    ),
    (
        Some("serving.knative.dev"),
        "Revision",
        Shape::PodSpec,
        &["spec"],
    ),
    (
        Some("leaderworkerset.x-k8s.io"),
        "LeaderWorkerSet",
        Shape::Template,
        &[
            "spec.leaderWorkerTemplate.leaderTemplate",
            "spec.leaderWorkerTemplate.workerTemplate",
        ],
    ),
    (
        Some("ray.io"),
        "RayCluster",
        Shape::Template,
        &[
            "spec.headGroupSpec.template",
            "spec.workerGroupSpecs[].template",
        ],
    ),
    (
        Some("ray.io"),
        "RayService",
        Shape::Template,
        &[
            "spec.rayClusterConfig.headGroupSpec.template",
            "spec.rayClusterConfig.workerGroupSpecs[].template",
        ],
    ),
    (
        Some("ray.io"),
        "RayJob",
        Shape::Template,
        &[
            "spec.rayClusterSpec.headGroupSpec.template",
            "spec.rayClusterSpec.workerGroupSpecs[].template",
            "spec.submitterPodTemplate",
        ],
    ),
    (
        Some("apps.kruise.io"),
        "CloneSet",
        Shape::Template,
        &["spec.template"],
    ),
    (
        Some("mlops.seldon.io"),
        "ServerConfig",
        Shape::PodSpec,
        &["spec.podSpec"],
    ),
    (
        Some("machinelearning.seldon.io"),
        "SeldonDeployment",
        Shape::Template,
        &["spec.predictors[].componentSpecs[]"],
    ),
    (
        Some("kubeflow.org"),
        "MPIJob",
        Shape::Template,
        &["spec.mpiReplicaSpecs.*.template"],
    ),
    (
        Some("jobset.x-k8s.io"),
        "JobSet",
        Shape::Template,
        &["spec.replicatedJobs[].template.spec.template"],
    ),
    (
        Some("batch.volcano.sh"),
        "Job",
        Shape::Template,
        &["spec.tasks[].template"],
    ),
];

/// The kinds tritonguard knows without configuration.
pub fn built_in() -> Vec<WorkloadKind> {
    BUILT_IN
        .iter()
        .map(|(group, kind, shape, paths)| WorkloadKind {
            group: group.map(str::to_string),
            kind: kind.to_string(),
            paths: paths
                .iter()
                .filter_map(|p| parse_path(p, *shape).ok())
                .collect(),
        })
        .collect()
}

/// A pod template or PodSpec found in an object.
pub struct FoundPod<'a> {
    /// The PodSpec.
    pub spec: &'a Node,
    /// The template's metadata (`None` for a bare PodSpec: the object's own labels apply).
    pub metadata: Option<&'a Node>,
    /// Where it is, with list indices and map keys filled in
    /// (`spec.workerGroupSpecs[0].template`).
    pub path: String,
}

/// Every pod of `object`, by the first kind of `kinds` that matches it (team kinds come
/// first, so a team can override a built-in path), else by the built-in table.
pub fn find_pods<'a>(object: &'a K8sObject, extra: &[WorkloadKind]) -> Vec<FoundPod<'a>> {
    let from = |kinds: &[WorkloadKind]| -> Option<Vec<FoundPod<'a>>> {
        let kind = kinds.iter().find(|k| k.matches(object))?;
        let mut found = Vec::new();
        for path in &kind.paths {
            walk(
                &object.node,
                &path.steps,
                String::new(),
                path.shape,
                &mut found,
            );
        }
        Some(found)
    };
    // A kind of a named group first (Knative's `Service`, Volcano's `Job`), then the
    // built-in kinds by name.
    let (grouped, by_name) =
        BUILT_IN_KINDS.get_or_init(|| built_in().into_iter().partition(|k| k.group.is_some()));
    from(extra)
        .or_else(|| from(grouped))
        .or_else(|| from(by_name))
        .unwrap_or_default()
}

/// The built-in table, split into kinds of a named group and kinds matched by name.
type SplitKinds = (Vec<WorkloadKind>, Vec<WorkloadKind>);
static BUILT_IN_KINDS: std::sync::OnceLock<SplitKinds> = std::sync::OnceLock::new();

fn walk<'a>(node: &'a Node, steps: &[Step], at: String, shape: Shape, out: &mut Vec<FoundPod<'a>>) {
    let Some((step, rest)) = steps.split_first() else {
        let found = match shape {
            Shape::Template => node.get("spec").map(|spec| FoundPod {
                spec,
                metadata: node.get("metadata"),
                path: at,
            }),
            Shape::PodSpec => Some(FoundPod {
                spec: node,
                metadata: None,
                path: at,
            }),
        };
        out.extend(found.filter(|f| !f.spec.as_map().is_empty()));
        return;
    };
    match step {
        Step::Key(key) => {
            if let Some(next) = node.get(key) {
                let at = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                walk(next, rest, at, shape, out);
            }
        }
        Step::EachItem => {
            for (i, item) in node.as_list().iter().enumerate() {
                walk(item, rest, format!("{at}[{i}]"), shape, out);
            }
        }
        Step::EachValue => {
            for (key, value) in node.as_map() {
                walk(value, rest, format!("{at}.{key}"), shape, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::k8s::objects_from_document;
    use crate::parse::yaml::parse_stream;
    use crate::source::FileId;

    fn object(text: &str) -> K8sObject {
        let stream = parse_stream(FileId(0), text);
        let doc = stream.documents.first().expect("a document");
        objects_from_document(FileId(0), doc)
            .into_iter()
            .next()
            .expect("an object")
    }

    fn paths(text: &str, extra: &[WorkloadKind]) -> Vec<String> {
        find_pods(&object(text), extra)
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn paths_parse_with_items_and_values() {
        let p = parse_path("spec.groups[].template", Shape::Template).expect("parses");
        assert_eq!(
            p.steps,
            vec![
                Step::Key("spec".into()),
                Step::Key("groups".into()),
                Step::EachItem,
                Step::Key("template".into())
            ]
        );
        let p = parse_path("spec.replicas.*.template", Shape::Template).expect("parses");
        assert_eq!(p.steps[2], Step::EachValue);
        for bad in ["", "spec..template", "spec.a[0]", "spec.a b"] {
            assert!(parse_path(bad, Shape::PodSpec).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_template_of_a_multi_template_kind_is_found() {
        let ray = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: r}\nspec:\n  headGroupSpec:\n    template:\n      spec:\n        containers: [{name: head, image: x}]\n  workerGroupSpecs:\n    - template:\n        spec:\n          containers: [{name: w, image: x}]\n    - template:\n        spec:\n          containers: [{name: w, image: x}]\n";
        assert_eq!(
            paths(ray, &[]),
            vec![
                "spec.headGroupSpec.template",
                "spec.workerGroupSpecs[0].template",
                "spec.workerGroupSpecs[1].template"
            ]
        );
        let mpi = "apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: m}\nspec:\n  mpiReplicaSpecs:\n    Launcher:\n      template:\n        spec:\n          containers: [{name: l, image: x}]\n    Worker:\n      template:\n        spec:\n          containers: [{name: w, image: x}]\n";
        assert_eq!(
            paths(mpi, &[]),
            vec![
                "spec.mpiReplicaSpecs.Launcher.template",
                "spec.mpiReplicaSpecs.Worker.template"
            ]
        );
    }

    #[test]
    fn kinds_are_told_apart_by_group() {
        let knative = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec:\n  template:\n    spec:\n      containers: [{image: x}]\n";
        assert_eq!(paths(knative, &[]), vec!["spec.template"]);
        let core =
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: x}\n";
        assert!(paths(core, &[]).is_empty());
        let volcano = "apiVersion: batch.volcano.sh/v1alpha1\nkind: Job\nmetadata: {name: v}\nspec:\n  tasks:\n    - template:\n        spec:\n          containers: [{image: x}]\n";
        assert_eq!(paths(volcano, &[]), vec!["spec.tasks[0].template"]);
        let kruise = "apiVersion: apps.kruise.io/v1beta1\nkind: StatefulSet\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{image: x}]\n";
        assert_eq!(paths(kruise, &[]), vec!["spec.template"]);
    }

    #[test]
    fn a_team_kind_is_found_and_can_replace_a_built_in_path() {
        let custom = WorkloadKind {
            group: Some("acme.io".into()),
            kind: "TritonServer".into(),
            paths: vec![parse_path("spec.server.pod", Shape::PodSpec).expect("parses")],
        };
        let text = "apiVersion: acme.io/v1\nkind: TritonServer\nmetadata: {name: t}\nspec:\n  server:\n    pod:\n      containers: [{image: x}]\n";
        assert!(paths(text, &[]).is_empty());
        assert_eq!(paths(text, &[custom]), vec!["spec.server.pod"]);
    }
}
