//! KServe: InferenceServices and (Cluster)ServingRuntimes that run Triton. A predictor's
//! model container is the serving runtime's container with the predictor's settings merged in
//! (KServe concatenates `args` and lets the predictor override the rest), so findings point at
//! whichever of the two files set the value.

use crate::extract::workload::{LaunchDraft, launches_in_pod_spec};
use crate::model::k8s::{K8sObject, string_map};
use crate::model::launch::{At, Fact, PortExposure, Reach, Route};
use crate::parse::yaml::parse_stream;
use crate::source::{FileId, SourceStore, Span};
use crate::tree::{Node, Value};

const GROUP: &str = "serving.kserve.io/";

/// KServe's own Triton runtime (`kserve-tritonserver` in KServe's runtime chart), used when a
/// predictor asks for the triton model format and the scan holds no runtime for it.
const DEFAULT_RUNTIME: &str = "name: kserve-container
image: nvcr.io/nvidia/tritonserver
args:
  - tritonserver
  - --model-store=/mnt/models
  - --grpc-port=9000
  - --http-port=8080
  - --allow-grpc=true
  - --allow-http=true
securityContext:
  runAsUser: 1000
  capabilities:
    drop: [ALL]
";

fn is_runtime(o: &K8sObject) -> bool {
    o.api_version.starts_with(GROUP)
        && matches!(o.kind.as_str(), "ServingRuntime" | "ClusterServingRuntime")
}

fn is_inference_service(o: &K8sObject) -> bool {
    o.api_version.starts_with(GROUP) && o.kind == "InferenceService"
}

/// An InferenceService ModelMesh serves: its model is loaded into the pods of a multi-model
/// ServingRuntime (through the `modelmesh-serving` Service inside the cluster), not into
/// pods of its own behind KServe's ingress.
fn is_modelmesh(isvc: &K8sObject) -> bool {
    isvc.annotation("serving.kserve.io/deploymentMode")
        .as_deref()
        == Some("ModelMesh")
}

/// A runtime for ModelMesh (`spec.multiModel: true`), which KServe never picks for a
/// predictor of its own.
fn is_multi_model(runtime: &K8sObject) -> bool {
    runtime
        .node
        .at(&["spec", "multiModel"])
        .and_then(Node::as_bool)
        == Some(true)
}

/// A multi-model runtime's pod spec as the ModelMesh controller deploys it: a container
/// without a `securityContext` gets `capabilities: {drop: [ALL]}`
/// (kserve/modelmesh-serving, controllers/modelmesh/runtime.go, `addRuntimeToDeployment`).
/// The defaulted values have no span: findings about them point at the container.
fn modelmesh_defaults(spec: &Node) -> Node {
    let mut spec = spec.clone();
    let Value::Map(entries) = &mut spec.value else {
        return spec;
    };
    let Some((_, containers)) = entries.iter_mut().find(|(k, _)| k == "containers") else {
        return spec;
    };
    if let Value::List(items) = &mut containers.value {
        for container in items {
            if let Value::Map(fields) = &mut container.value
                && !fields.iter().any(|(k, _)| k == "securityContext")
            {
                let drop_all = Node::map(vec![(
                    "capabilities".to_string(),
                    Node::map(vec![(
                        "drop".to_string(),
                        Node::list(vec![Node::str("ALL")]),
                    )]),
                )]);
                fields.push(("securityContext".to_string(), drop_all));
            }
        }
    }
    spec
}

/// The model formats a runtime serves.
fn formats(runtime: &K8sObject) -> Vec<String> {
    runtime
        .node
        .at(&["spec", "supportedModelFormats"])
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| {
            f.get("name")
                .and_then(Node::as_str)
                .map(str::to_ascii_lowercase)
        })
        .collect()
}

/// The runtime a predictor uses: named, or one that serves its model format (a namespaced
/// runtime first, as KServe prefers).
fn runtime_for<'a>(
    isvc: &K8sObject,
    model: &Node,
    runtimes: &[&'a K8sObject],
) -> Option<&'a K8sObject> {
    let ns = isvc.namespace_or_default();
    let visible =
        |r: &&&K8sObject| r.kind == "ClusterServingRuntime" || r.namespace_or_default() == ns;
    if let Some(name) = model.get("runtime").and_then(Node::as_str) {
        return runtimes
            .iter()
            .filter(visible)
            .find(|r| r.name == name)
            .copied();
    }
    let format = model
        .at(&["modelFormat", "name"])
        .and_then(Node::as_str)
        .unwrap_or("triton")
        .to_ascii_lowercase();
    let mut candidates: Vec<&&K8sObject> = runtimes
        .iter()
        .filter(visible)
        .filter(|r| !is_multi_model(r))
        .filter(|r| formats(r).contains(&format))
        .collect();
    candidates.sort_by_key(|r| (r.kind == "ClusterServingRuntime", r.name.clone()));
    candidates.first().map(|r| **r)
}

fn strip_spans(node: &mut Node) {
    node.span = None;
    node.key_span = None;
    match &mut node.value {
        Value::List(items) => items.iter_mut().for_each(strip_spans),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| strip_spans(v)),
        _ => {}
    }
}

fn default_runtime_container(version: Option<&str>) -> Node {
    let mut node = parse_stream(FileId(0), DEFAULT_RUNTIME)
        .documents
        .into_iter()
        .next()
        .map(|d| d.root)
        .unwrap_or_else(|| Node::map(Vec::new()));
    strip_spans(&mut node);
    if let (Some(version), Value::Map(entries)) = (version, &mut node.value)
        && let Some((_, image)) = entries.iter_mut().find(|(k, _)| k == "image")
    {
        image.value = Value::Str(format!("nvcr.io/nvidia/tritonserver:{version}"));
    }
    node
}

fn set(entries: &mut Vec<(String, Node)>, key: &str, value: Node) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => entries.push((key.to_string(), value)),
    }
}

/// Maps merged key by key (the overlay wins); anything else is replaced by the overlay.
fn deep_merge(base: &Node, overlay: &Node) -> Node {
    match (&base.value, &overlay.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            let mut entries = base_entries.clone();
            for (k, v) in over_entries {
                let merged = match entries.iter().find(|(bk, _)| bk == k) {
                    Some((_, b)) => deep_merge(b, v),
                    None => v.clone(),
                };
                set(&mut entries, k, merged);
            }
            Node {
                value: Value::Map(entries),
                ..overlay.clone()
            }
        }
        _ => overlay.clone(),
    }
}

/// The runtime container with the predictor's model spec merged in, as KServe merges them.
fn merge(runtime: &Node, model: &Node, image_from_version: Option<String>) -> Node {
    let mut merged = runtime.clone();
    let Value::Map(entries) = &mut merged.value else {
        return merged;
    };
    if let Some(image) = model.get("image") {
        set(entries, "image", image.clone());
    } else if let Some(image) = image_from_version {
        let mut node = entries
            .iter()
            .find(|(k, _)| k == "image")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(Node::null);
        node.value = Value::Str(image);
        set(entries, "image", node);
    }
    // Args are concatenated: the runtime's, then the predictor's.
    if let Some(extra) = model.get("args") {
        let mut args = entries
            .iter()
            .find(|(k, _)| k == "args")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Node::list(Vec::new()));
        if let (Value::List(items), Value::List(more)) = (&mut args.value, &extra.value) {
            items.extend(more.iter().cloned());
        }
        set(entries, "args", args);
    }
    for key in ["command", "ports"] {
        if let Some(v) = model.get(key) {
            set(entries, key, v.clone());
        }
    }
    // A strategic merge: the predictor's fields override the runtime's one by one.
    for key in ["resources", "securityContext"] {
        if let Some(v) = model.get(key) {
            let merged = match entries.iter().find(|(k, _)| k == key) {
                Some((_, base)) => deep_merge(base, v),
                None => v.clone(),
            };
            set(entries, key, merged);
        }
    }
    for key in ["env", "volumeMounts"] {
        if let Some(more) = model.get(key) {
            let mut list = entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| Node::list(Vec::new()));
            if let (Value::List(items), Value::List(extra)) = (&mut list.value, &more.value) {
                items.extend(extra.iter().cloned());
            }
            set(entries, key, list);
        }
    }
    // KServe's storage initializer fills /mnt/models and mounts it read-only.
    if model.get("storageUri").is_some() {
        let mut mount = Node::map(vec![
            ("name".to_string(), Node::str("kserve-provision-location")),
            (
                "mountPath".to_string(),
                Node::str("/mnt/models")
                    .with_span(model.get("storageUri").and_then(Node::label_span)),
            ),
            (
                "readOnly".to_string(),
                Node::new(Value::Bool(true))
                    .with_span(model.get("storageUri").and_then(Node::label_span)),
            ),
        ]);
        mount.span = model.get("storageUri").and_then(Node::label_span);
        let mut list = entries
            .iter()
            .find(|(k, _)| k == "volumeMounts")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Node::list(Vec::new()));
        if let Value::List(items) = &mut list.value {
            items.push(mount);
        }
        set(entries, "volumeMounts", list);
    }
    merged
}

/// Launches of the KServe objects of a scan, and the runtimes left without an
/// InferenceService of the scan (which get launches of their own).
pub fn launches(
    objects: &[&K8sObject],
    store: &SourceStore,
) -> Vec<(LaunchDraft, Option<KserveRoute>)> {
    let runtimes: Vec<&K8sObject> = objects.iter().copied().filter(|o| is_runtime(o)).collect();
    let mut used_runtimes: Vec<String> = Vec::new();
    let mut drafts = Vec::new();
    for isvc in objects.iter().copied().filter(|o| is_inference_service(o)) {
        // ModelMesh runs the runtime's pods, which become launches of their own below.
        if is_modelmesh(isvc) {
            continue;
        }
        let Some(predictor) = isvc.node.at(&["spec", "predictor"]) else {
            continue;
        };
        let display = store.display(isvc.file).to_string();
        let mut labels = isvc.labels();
        labels.push((
            "serving.kserve.io/inferenceservice".to_string(),
            isvc.name.clone(),
        ));
        labels.push(("component".to_string(), "predictor".to_string()));
        let annotations = string_map(predictor.at(&["metadata", "annotations"]));
        let model = predictor.get("model").or_else(|| predictor.get("triton"));
        let mut spec_entries: Vec<(String, Node)> = Vec::new();
        for key in [
            "securityContext",
            "volumes",
            "hostNetwork",
            "hostIPC",
            "hostPID",
        ] {
            if let Some(v) = predictor.get(key) {
                spec_entries.push((key.to_string(), v.clone()));
            }
        }
        let containers = match model {
            Some(model) => {
                let version = model.get("runtimeVersion").and_then(Node::as_scalar_text);
                let runtime = runtime_for(isvc, model, &runtimes);
                let runtime_container = match runtime {
                    Some(r) => {
                        used_runtimes.push(r.identity());
                        r.node
                            .at(&["spec", "containers"])
                            .and_then(|c| c.index(0))
                            .cloned()
                    }
                    None => {
                        let format = model.at(&["modelFormat", "name"]).and_then(Node::as_str);
                        let triton = predictor.get("triton").is_some()
                            || format.is_some_and(|f| f.eq_ignore_ascii_case("triton"));
                        triton.then(|| default_runtime_container(version.as_deref()))
                    }
                };
                let Some(runtime_container) = runtime_container else {
                    continue;
                };
                let image = version.map(|v| format!("nvcr.io/nvidia/tritonserver:{v}"));
                let mut merged = merge(&runtime_container, model, image);
                // Findings about the container as a whole point at the predictor's model.
                merged.span = model.key_span.or(model.span);
                if let Value::Map(entries) = &mut merged.value
                    && let Some((_, name)) = entries.iter_mut().find(|(k, _)| k == "name")
                {
                    name.span = model.key_span;
                    name.key_span = None;
                }
                Node::list(vec![merged])
            }
            None => match predictor.get("containers") {
                Some(c) => c.clone(),
                None => continue,
            },
        };
        spec_entries.push(("containers".to_string(), containers));
        let spec = Node::map(spec_entries);
        let found =
            launches_in_pod_spec(isvc, &spec, labels, annotations, store, &display, "kserve");
        let cluster_local = isvc.labels().iter().any(|(k, v)| {
            (k == "networking.kserve.io/visibility" || k == "serving.knative.dev/visibility")
                && v == "cluster-local"
        });
        let route = KserveRoute {
            name: isvc.name.clone(),
            span: isvc.anchor(),
            reach: if cluster_local {
                Reach::Cluster
            } else {
                Reach::Internet
            },
            file: display.clone(),
        };
        drafts.extend(found.into_iter().map(|d| (d, Some(route.clone()))));
    }
    for runtime in runtimes {
        if used_runtimes.contains(&runtime.identity()) {
            continue;
        }
        let Some(spec) = runtime.node.get("spec") else {
            continue;
        };
        let defaulted;
        let spec = if is_multi_model(runtime) {
            defaulted = modelmesh_defaults(spec);
            &defaulted
        } else {
            spec
        };
        let display = store.display(runtime.file).to_string();
        drafts.extend(
            launches_in_pod_spec(
                runtime,
                spec,
                Vec::new(),
                Vec::new(),
                store,
                &display,
                "kserve",
            )
            .into_iter()
            .map(|d| (d, None)),
        );
    }
    drafts
}

/// How an InferenceService is reached: through KServe's ingress (Knative or the Istio
/// gateway) unless it is labelled cluster-local.
#[derive(Clone, Debug)]
pub struct KserveRoute {
    pub name: String,
    pub span: Option<Span>,
    pub reach: Reach,
    pub file: String,
}

impl KserveRoute {
    pub fn route(&self) -> At<Route> {
        At {
            value: Route {
                kind: "InferenceService".to_string(),
                name: self.name.clone(),
                reach: self.reach.as_str().to_string(),
                note: if self.reach == Reach::Internet {
                    format!(
                        "InferenceService \"{}\" is served through KServe's ingress (not labelled cluster-local)",
                        self.name
                    )
                } else {
                    format!("InferenceService \"{}\" is cluster-local", self.name)
                },
                file: self.file.clone(),
                auth: Vec::new(),
                authenticated: false,
                via: None,
            },
            span: self.span,
        }
    }
}

/// Adds the InferenceService's own route to the HTTP port's exposure.
pub fn apply_route(
    launch: &mut crate::model::launch::Launch,
    route: &KserveRoute,
    evidence: &[At<crate::model::launch::AuthEvidence>],
) {
    let exposure = &mut launch.exposure.http;
    if exposure.reach.value.as_deref() == Some("disabled") || exposure.reach.value.is_none() {
        return;
    }
    let reach = route.reach.max(Reach::Cluster);
    let mut own = PortExposure {
        routes: vec![route.route()],
        ..PortExposure::default()
    };
    own.attach_port_auth("http", evidence);
    exposure.routes.splice(0..0, own.routes);
    if reach.rank() > exposure.rank {
        exposure.rank = reach.rank();
        exposure.reach = Fact::known(reach.as_str().to_string(), route.span);
    }
    exposure.derive_verdicts();
}
