//! Knative Serving: a Knative `Service` (serving.knative.dev) is reached through Knative's
//! ingress (the external gateway: the internet) unless it is labelled
//! `networking.knative.dev/visibility: cluster-local` (then only from inside the cluster).
//! The ingress forwards to the one port the revision's serving container declares
//! (`containerPort`, 8080 when none is written), so only the Triton port listening there is
//! reached through it.

use std::collections::HashMap;

use crate::extract::workload::LaunchDraft;
use crate::extract::workload_kinds::group_of;
use crate::model::k8s::K8sObject;
use crate::model::launch::{At, AuthEvidence, Fact, Launch, PortExposure, Reach, Route};
use crate::source::{FileId, Span};
use crate::tree::Node;

/// Knative's default port for the serving container.
const DEFAULT_PORT: i64 = 8080;

/// The route a Knative Service gives its serving container.
#[derive(Clone, Debug)]
pub struct KnativeRoute {
    pub name: String,
    pub reach: Reach,
    /// The container port the ingress forwards to.
    pub port: i64,
    pub span: Option<Span>,
    pub file: String,
}

fn is_knative_service(o: &K8sObject) -> bool {
    group_of(&o.api_version) == "serving.knative.dev" && o.kind == "Service"
}

fn contains(outer: Option<Span>, inner: Span) -> bool {
    outer.is_some_and(|o| o.file == inner.file && o.start <= inner.start && inner.end <= o.end)
}

/// The Knative Services of a unit, by file: a launch looks only at those of its own file,
/// so a unit of many workloads is not scanned once per launch.
pub struct KnativeServices<'a> {
    by_file: HashMap<FileId, Vec<&'a K8sObject>>,
}

impl<'a> KnativeServices<'a> {
    pub fn new(objects: &[&'a K8sObject]) -> KnativeServices<'a> {
        let mut by_file: HashMap<FileId, Vec<&'a K8sObject>> = HashMap::new();
        for object in objects.iter().copied().filter(|o| is_knative_service(o)) {
            by_file.entry(object.file).or_default().push(object);
        }
        KnativeServices { by_file }
    }

    /// The Knative route of a launch read from one of these Services, when the launch is
    /// the revision's serving container (the only one, or the one that declares a port).
    pub fn route_for(
        &self,
        draft: &LaunchDraft,
        store: &crate::source::SourceStore,
    ) -> Option<KnativeRoute> {
        let container_span = draft.launch.container.span?;
        let service = self
            .by_file
            .get(&container_span.file)?
            .iter()
            .copied()
            .find(|o| contains(o.node.span, container_span))?;
        route_of(service, draft, store)
    }
}

fn route_of(
    service: &K8sObject,
    draft: &LaunchDraft,
    store: &crate::source::SourceStore,
) -> Option<KnativeRoute> {
    let containers = service
        .node
        .at(&["spec", "template", "spec", "containers"])
        .map(Node::as_list)
        .unwrap_or_default();
    let name = draft.launch.container.value.name.as_deref();
    let container = containers
        .iter()
        .find(|c| c.get("name").and_then(Node::as_str) == name)
        .or_else(|| {
            (containers.len() == 1)
                .then(|| containers.first())
                .flatten()
        })?;
    let declared = container
        .get("ports")
        .map(Node::as_list)
        .unwrap_or_default()
        .first()
        .map(|p| {
            p.get("containerPort")
                .and_then(|n| n.as_i64().or_else(|| n.as_str()?.parse().ok()))
        });
    // With several containers, Knative serves the one that declares a port.
    if containers.len() > 1 && declared.is_none() {
        return None;
    }
    let cluster_local = service.labels().iter().any(|(k, v)| {
        (k == "networking.knative.dev/visibility" || k == "serving.knative.dev/visibility")
            && v == "cluster-local"
    });
    Some(KnativeRoute {
        name: service.name.clone(),
        reach: if cluster_local {
            Reach::Cluster
        } else {
            Reach::Internet
        },
        port: declared.flatten().unwrap_or(DEFAULT_PORT),
        span: service.anchor(),
        file: store.display(service.file).to_string(),
    })
}

impl KnativeRoute {
    fn route(&self) -> At<Route> {
        let note = if self.reach == Reach::Internet {
            format!(
                "Knative Service \"{}\" is served through Knative's ingress to port {} (not labelled cluster-local)",
                self.name, self.port
            )
        } else {
            format!(
                "Knative Service \"{}\" is cluster-local (port {})",
                self.name, self.port
            )
        };
        At {
            value: Route {
                kind: "Service.serving.knative.dev".to_string(),
                name: self.name.clone(),
                reach: self.reach.as_str().to_string(),
                note,
                file: self.file.clone(),
                auth: Vec::new(),
                authenticated: false,
                via: None,
            },
            span: self.span,
        }
    }
}

/// Adds the Knative route to the Triton port that listens on the port Knative forwards to.
pub fn apply_route(launch: &mut Launch, route: &KnativeRoute, evidence: &[At<AuthEvidence>]) {
    let exposure = &mut launch.exposure;
    let ports: [(&str, &mut PortExposure); 6] = [
        ("http", &mut exposure.http),
        ("grpc", &mut exposure.grpc),
        ("metrics", &mut exposure.metrics),
        ("sagemaker", &mut exposure.sagemaker),
        ("vertex_ai", &mut exposure.vertex_ai),
        ("openai", &mut exposure.openai),
    ];
    for (name, port) in ports {
        // The queue-proxy forwards to 127.0.0.1:<port> inside the pod, so a listener bound to
        // loopback is reached as well.
        let open = port
            .reach
            .value
            .as_deref()
            .is_some_and(|r| r != Reach::Disabled.as_str());
        if !open || port.port.value != Some(route.port) {
            continue;
        }
        let mut own = PortExposure {
            routes: vec![route.route()],
            ..PortExposure::default()
        };
        own.attach_port_auth(name, evidence);
        port.routes.splice(0..0, own.routes);
        let reach = route.reach.max(Reach::Cluster);
        if reach.rank() > port.rank {
            port.rank = reach.rank();
            port.reach = Fact::known(reach.as_str().to_string(), route.span);
        }
        port.derive_verdicts();
    }
}
