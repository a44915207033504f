//! The exposure map: for every Triton launch, each enabled port with who reaches it, the
//! routes that make it reachable, what narrows it and the authentication in front. It only
//! arranges the facts the correlate stage put on each Launch (`launch.exposure`,
//! `launch.auth`, `launch.rate_limiting`), the ones the exposure rules read; nothing here
//! decides reach or authentication. Renderers: [`table`], [`json`], [`mermaid`], [`dot`].

pub mod dot;
pub mod graph;
pub mod json;
pub mod mermaid;
pub mod table;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::correlate::{Correlated, LaunchRecord};
use crate::model::launch::{At, AuthEvidence, Endpoint, Launch, PortExposure, Route};
use crate::source::{FileId, SourceStore, Span};

/// Output formats of `tritonguard exposure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExposureFormat {
    /// One block per launch: each port, its reach, routes and authentication.
    Table,
    /// The map as JSON (docs/exposure.md), for tools.
    Json,
    /// A Mermaid flowchart (renders in GitHub markdown).
    Mermaid,
    /// A Graphviz digraph.
    Dot,
}

/// Renders `map` in `format`.
pub fn render(format: ExposureFormat, map: &ExposureMap) -> String {
    match format {
        ExposureFormat::Table => table::render(map),
        ExposureFormat::Json => json::render(map),
        ExposureFormat::Mermaid => mermaid::render(map),
        ExposureFormat::Dot => dot::render(map),
    }
}

/// Every launch of a scan with its ports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExposureMap {
    /// What was scanned, as the user named it.
    pub scanned: String,
    pub launches: Vec<LaunchExposure>,
}

/// Where something is written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

/// One launch (a container that runs Triton) in one deployment unit.
#[derive(Clone, Debug, Serialize)]
pub struct LaunchExposure {
    /// The deployment unit it was correlated in (`directory deploy/prod`).
    pub unit: String,
    /// The launch's identity (`Deployment/default/triton/triton`, `compose:triton`).
    pub launch: String,
    /// kubernetes | helm | kserve | compose | shell | ...
    pub format: String,
    pub object: Option<String>,
    pub container: Option<String>,
    pub at: Option<Place>,
    /// The enabled ports, in Triton's order (http, grpc, metrics, sagemaker, vertex_ai,
    /// openai).
    pub ports: Vec<PortView>,
    /// Request rate limiting found in front of the launch (ingress annotations, Traefik
    /// middlewares, Istio rate limits).
    pub rate_limiting: Vec<Evidence>,
}

/// One enabled Triton port.
#[derive(Clone, Debug, Serialize)]
pub struct PortView {
    /// http | grpc | metrics | sagemaker | vertex_ai | openai
    pub name: &'static str,
    /// The port Triton listens on; null when the files do not say.
    pub port: Option<i64>,
    /// local | host | cluster | node | internet; null when unknown.
    pub reach: Option<String>,
    /// Reachable from outside the cluster or host (`node` or `internet`).
    pub external: bool,
    /// An authenticating proxy, ingress authentication or Triton's own mechanism covers
    /// every external route (false for a port that is not external).
    pub authenticated: bool,
    /// The address Triton binds the port to, when the files say.
    pub bind: Option<String>,
    /// What makes the port reachable, widest first.
    pub routes: Vec<RouteView>,
    /// What limits who reaches it: NetworkPolicies, and a bind address that is not every
    /// interface.
    pub narrowed_by: Vec<RouteView>,
    /// Authentication in front of this port (pod-wide evidence that protects it).
    pub auth: Vec<Evidence>,
}

/// A route to a port (or a NetworkPolicy narrowing it), as the correlate stage found it.
#[derive(Clone, Debug, Serialize)]
pub struct RouteView {
    /// Service | Ingress | HTTPRoute | GRPCRoute | VirtualService | IngressRoute | hostPort |
    /// hostNetwork | publish | publish-all | network-host | InferenceService | NetworkPolicy |
    /// bind
    pub kind: String,
    pub name: String,
    /// The Service this route forwards to (Ingress and other routes in front of one).
    pub via: Option<String>,
    pub reach: String,
    /// Traffic on this route passes an authenticating proxy or ingress authentication.
    pub authenticated: bool,
    pub note: String,
    pub at: Option<Place>,
}

/// Authentication or rate-limiting evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub kind: String,
    pub name: String,
    pub note: String,
    pub at: Option<Place>,
}

impl PortView {
    /// Whether a request from the internet reaches this port without authentication.
    pub fn open_to_internet(&self) -> bool {
        self.reach.as_deref() == Some("internet") && !self.authenticated
    }
}

fn place(store: &SourceStore, span: Option<Span>) -> Option<Place> {
    let span = span?;
    Some(Place {
        file: store.display(span.file).to_string(),
        line: store.position(span.file, span.start).line,
    })
}

fn route_view(store: &SourceStore, route: &At<Route>) -> RouteView {
    RouteView {
        kind: route.value.kind.clone(),
        name: route.value.name.clone(),
        via: route.value.via.clone(),
        reach: route.value.reach.clone(),
        authenticated: route.value.authenticated,
        note: route.value.note.clone(),
        at: place(store, route.span),
    }
}

fn evidence(
    store: &SourceStore,
    kind: &str,
    name: &str,
    note: &str,
    span: Option<Span>,
) -> Evidence {
    Evidence {
        kind: kind.to_string(),
        name: name.to_string(),
        note: note.to_string(),
        at: place(store, span),
    }
}

/// Addresses that mean every interface.
fn is_wildcard(address: &str) -> bool {
    matches!(address, "" | "0.0.0.0" | "::" | "[::]")
}

fn port_view(
    store: &SourceStore,
    name: &'static str,
    endpoint: &Endpoint,
    exposure: &PortExposure,
    auth: &[At<AuthEvidence>],
) -> Option<PortView> {
    if exposure.reach.value.as_deref() == Some("disabled") || endpoint.enabled.value == Some(false)
    {
        return None;
    }
    let (narrowing, routes): (Vec<&At<Route>>, Vec<&At<Route>>) = exposure
        .routes
        .iter()
        .partition(|r| r.value.kind == "NetworkPolicy");
    let bind = endpoint.address.value.clone();
    let mut narrowed_by: Vec<RouteView> = narrowing.iter().map(|r| route_view(store, r)).collect();
    if let Some(address) = bind.as_deref().filter(|a| !is_wildcard(a)) {
        narrowed_by.push(RouteView {
            kind: "bind".to_string(),
            name: address.to_string(),
            via: None,
            reach: String::new(),
            authenticated: false,
            note: format!("Triton binds the {name} port to {address} only"),
            at: place(store, endpoint.address.span),
        });
    }
    Some(PortView {
        name,
        port: exposure.port.value.or(endpoint.port.value),
        reach: exposure.reach.value.clone(),
        external: exposure.external,
        authenticated: exposure.authenticated,
        bind,
        routes: routes.iter().map(|r| route_view(store, r)).collect(),
        narrowed_by,
        auth: auth
            .iter()
            .filter(|e| e.value.protects.iter().any(|p| p == name || p == "*"))
            .map(|e| evidence(store, &e.value.kind, &e.value.name, &e.value.note, e.span))
            .collect(),
    })
}

fn launch_exposure(record: &LaunchRecord, unit: String, store: &SourceStore) -> LaunchExposure {
    let launch: &Launch = &record.launch;
    let server = &launch.server;
    let exposure = &launch.exposure;
    let auth = &launch.auth.evidence;
    let ports = [
        ("http", &server.http, &exposure.http),
        ("grpc", &server.grpc, &exposure.grpc),
        ("metrics", &server.metrics, &exposure.metrics),
        ("sagemaker", &server.sagemaker, &exposure.sagemaker),
        ("vertex_ai", &server.vertex_ai, &exposure.vertex_ai),
        ("openai", &server.openai, &exposure.openai),
    ]
    .into_iter()
    .filter_map(|(name, endpoint, exposure)| port_view(store, name, endpoint, exposure, auth))
    .collect();
    LaunchExposure {
        unit,
        launch: launch.id.clone(),
        format: launch.source.format.clone(),
        object: launch.source.object.clone(),
        container: launch.container.value.name.clone(),
        at: place(store, record.anchor.or(record.extent)),
        ports,
        rate_limiting: launch
            .rate_limiting
            .evidence
            .iter()
            .map(|e| evidence(store, &e.value.kind, &e.value.name, &e.value.note, e.span))
            .collect(),
    }
}

impl ExposureMap {
    /// The map of every launch that says how its container runs (a Dockerfile alone does
    /// not: its exposure is decided where it is run), leaving out launches of files read
    /// for context only. Sorted by unit, then position, then identity.
    pub fn build(
        correlated: &Correlated,
        store: &SourceStore,
        context: &BTreeSet<FileId>,
        scanned: String,
    ) -> ExposureMap {
        let mut launches: Vec<LaunchExposure> = correlated
            .launches
            .iter()
            .filter(|r| r.launch.source.runtime && !context.contains(&r.file))
            .map(|r| launch_exposure(r, correlated.unit_name(r.unit), store))
            .collect();
        launches.sort_by(|a, b| {
            (&a.unit, &a.at, &a.launch, &a.container).cmp(&(
                &b.unit,
                &b.at,
                &b.launch,
                &b.container,
            ))
        });
        ExposureMap { scanned, launches }
    }

    /// Ports of all launches.
    pub fn ports(&self) -> impl Iterator<Item = &PortView> {
        self.launches.iter().flat_map(|l| l.ports.iter())
    }

    /// `3 Triton launches, 7 enabled ports (2 reachable from the internet, 1 of them without authentication)`.
    pub fn summary(&self) -> String {
        let launches = self.launches.len();
        let ports = self.ports().count();
        let internet = self
            .ports()
            .filter(|p| p.reach.as_deref() == Some("internet"))
            .count();
        let open = self.ports().filter(|p| p.open_to_internet()).count();
        format!(
            "{launches} Triton launch{}, {ports} enabled port{} ({internet} reachable from the internet, {open} of them without authentication)",
            if launches == 1 { "" } else { "es" },
            if ports == 1 { "" } else { "s" },
        )
    }
}

impl LaunchExposure {
    /// `Deployment/default/triton, container "triton"`.
    pub fn title(&self) -> String {
        match (&self.object, &self.container) {
            (Some(object), Some(container)) => format!("{object}, container \"{container}\""),
            (Some(object), None) => object.clone(),
            (None, _) => self.launch.clone(),
        }
    }
}
