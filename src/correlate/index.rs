//! The objects of one deployment unit, indexed once so that correlating a pod with the
//! Services, routes, NetworkPolicies and auth evidence that concern it costs time in
//! proportion to what matches, not to the size of the unit.
//!
//! - Services by (namespace, one label pair of their selector): a Service selects a pod only
//!   if the pod carries every pair of the selector, so looking up each of the pod's labels
//!   finds every candidate; each is then checked in full.
//! - NetworkPolicies and Istio policies the same way by their `matchLabels`, plus a list per
//!   namespace of those that select without labels (an empty selector, or only
//!   `matchExpressions`).
//! - Route backends (Ingress, Gateway API, Istio, Traefik) by the (namespace, name) of the
//!   Service they send to, each route parsed once.

use std::collections::HashMap;

use crate::model::k8s::{K8sObject, string_map};
use crate::source::Span;
use crate::tree::Node;

/// `selector` (a plain label map) selects a pod with `labels`.
pub fn selects(selector: &[(String, String)], labels: &[(String, String)]) -> bool {
    selector
        .iter()
        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
}

/// A `LabelSelector` (matchLabels + matchExpressions) against pod labels; no selector
/// selects every pod.
pub fn label_selector_matches(selector: Option<&Node>, labels: &[(String, String)]) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    if !selects(&string_map(selector.get("matchLabels")), labels) {
        return false;
    }
    selector
        .get("matchExpressions")
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .all(|expr| {
            let key = expr.get("key").and_then(Node::as_str).unwrap_or_default();
            let values: Vec<String> = expr
                .get("values")
                .map(Node::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_scalar_text)
                .collect();
            let value = labels.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            match expr
                .get("operator")
                .and_then(Node::as_str)
                .unwrap_or_default()
            {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// A route rule that sends traffic to a Service port.
#[derive(Clone, Debug)]
pub struct Backend<'a> {
    pub route: &'a K8sObject,
    /// The Service port it names: by number, by name, or neither (the Service's only port).
    pub port_number: Option<i64>,
    pub port_name: Option<String>,
    pub span: Option<Span>,
    /// What is routed, for messages (`example.com/v2`, `http traffic from gateway x`).
    pub what: String,
    /// `port_number` names the pods' port (the Service port's target), not the Service port:
    /// an OpenShift Route's `spec.port.targetPort`.
    pub by_target: bool,
}

impl Backend<'_> {
    /// Whether it reaches the Service port `number` (named `name`, forwarding to the pods'
    /// port `target`).
    pub fn reaches(&self, number: Option<i64>, name: Option<&str>, target: i64) -> bool {
        match (self.port_number, self.port_name.as_deref()) {
            (Some(n), _) if self.by_target => n == target,
            (Some(n), _) => Some(n) == number,
            (None, Some(n)) => Some(n) == name,
            (None, None) => true,
        }
    }
}

/// Objects selected by labels: by (namespace, key, value) of one of their selector's pairs,
/// and per namespace those whose selector has no plain pair.
struct BySelector<'a> {
    by_pair: HashMap<(String, String, String), Vec<usize>>,
    without_pairs: HashMap<String, Vec<usize>>,
    objects: Vec<&'a K8sObject>,
}

impl<'a> BySelector<'a> {
    fn new() -> BySelector<'a> {
        BySelector {
            by_pair: HashMap::new(),
            without_pairs: HashMap::new(),
            objects: Vec::new(),
        }
    }

    /// Adds an object under namespace `ns` with the plain pairs its selector requires.
    fn add(&mut self, ns: &str, pairs: &[(String, String)], object: &'a K8sObject) {
        let i = self.objects.len();
        self.objects.push(object);
        match pairs.first() {
            Some((k, v)) => self
                .by_pair
                .entry((ns.to_string(), k.clone(), v.clone()))
                .or_default()
                .push(i),
            None => self
                .without_pairs
                .entry(ns.to_string())
                .or_default()
                .push(i),
        }
    }

    /// Candidates for a pod with `labels` in `ns`, each once, in insertion order.
    fn candidates(&self, ns: &str, labels: &[(String, String)]) -> Vec<&'a K8sObject> {
        let mut found: Vec<usize> = Vec::new();
        for (k, v) in labels {
            if let Some(list) = self.by_pair.get(&(ns.to_string(), k.clone(), v.clone())) {
                found.extend(list);
            }
        }
        if let Some(list) = self.without_pairs.get(ns) {
            found.extend(list);
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .filter_map(|i| self.objects.get(i).copied())
            .collect()
    }
}

/// The index of one unit.
pub struct UnitIndex<'a> {
    services: BySelector<'a>,
    network_policies: BySelector<'a>,
    /// Istio AuthorizationPolicy / RequestAuthentication by their workload selector.
    istio: BySelector<'a>,
    envoy_filters: BySelector<'a>,
    backends: HashMap<(String, String), Vec<Backend<'a>>>,
    /// Traefik Middlewares by name, and by `namespace-name` (how annotations name them).
    middlewares: HashMap<String, Vec<&'a K8sObject>>,
    middlewares_qualified: HashMap<String, Vec<&'a K8sObject>>,
}

const ROUTE_KINDS: &[&str] = &[
    "Ingress",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "VirtualService",
    "IngressRoute",
    "IngressRouteTCP",
    "Route",
];

/// Whether a kind routes traffic into the cluster through a controller (its traffic comes
/// from the controller's pods, which a NetworkPolicy's namespaceSelector may admit).
pub fn is_proxied(kind: &str) -> bool {
    ROUTE_KINDS.contains(&kind)
}

impl<'a> UnitIndex<'a> {
    pub fn new(objects: &[&'a K8sObject]) -> UnitIndex<'a> {
        let mut index = UnitIndex {
            services: BySelector::new(),
            network_policies: BySelector::new(),
            istio: BySelector::new(),
            envoy_filters: BySelector::new(),
            backends: HashMap::new(),
            middlewares: HashMap::new(),
            middlewares_qualified: HashMap::new(),
        };
        for &o in objects {
            let ns = o.namespace_or_default();
            match o.kind.as_str() {
                "Service" => {
                    let selector = string_map(o.node.at(&["spec", "selector"]));
                    // A Service without a selector has manual Endpoints: it selects no pod.
                    if !selector.is_empty() {
                        index.services.add(ns, &selector, o);
                    }
                }
                "NetworkPolicy" => {
                    let pairs = string_map(o.node.at(&["spec", "podSelector", "matchLabels"]));
                    index.network_policies.add(ns, &pairs, o);
                }
                "AuthorizationPolicy" | "RequestAuthentication"
                    if o.api_version.starts_with("security.istio.io/") =>
                {
                    let pairs = string_map(o.node.at(&["spec", "selector", "matchLabels"]));
                    index.istio.add(ns, &pairs, o);
                }
                "EnvoyFilter" => {
                    let pairs = string_map(o.node.at(&["spec", "workloadSelector", "labels"]));
                    index.envoy_filters.add(ns, &pairs, o);
                }
                "Middleware" => {
                    index.middlewares.entry(o.name.clone()).or_default().push(o);
                    index
                        .middlewares_qualified
                        .entry(format!("{ns}-{}", o.name))
                        .or_default()
                        .push(o);
                }
                kind if ROUTE_KINDS.contains(&kind) => {
                    for (key, backend) in backends_of(o) {
                        index.backends.entry(key).or_default().push(backend);
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// Services in `ns` whose selector selects a pod with `labels`.
    pub fn services_selecting(&self, ns: &str, labels: &[(String, String)]) -> Vec<&'a K8sObject> {
        self.services
            .candidates(ns, labels)
            .into_iter()
            .filter(|s| selects(&string_map(s.node.at(&["spec", "selector"])), labels))
            .collect()
    }

    /// NetworkPolicies in `ns` whose podSelector selects a pod with `labels`.
    pub fn network_policies_selecting(
        &self,
        ns: &str,
        labels: &[(String, String)],
    ) -> Vec<&'a K8sObject> {
        self.network_policies
            .candidates(ns, labels)
            .into_iter()
            .filter(|p| label_selector_matches(p.node.at(&["spec", "podSelector"]), labels))
            .collect()
    }

    /// Istio security policies that apply to a pod in `ns` (its namespace's and the mesh-wide
    /// ones in istio-system).
    pub fn istio_policies(&self, ns: &str, labels: &[(String, String)]) -> Vec<&'a K8sObject> {
        let mut out = self.istio.candidates(ns, labels);
        if ns != "istio-system" {
            out.extend(self.istio.candidates("istio-system", labels));
        }
        out.retain(|o| label_selector_matches(o.node.at(&["spec", "selector"]), labels));
        out
    }

    /// EnvoyFilters that apply to a pod in `ns`.
    pub fn envoy_filters(&self, ns: &str, labels: &[(String, String)]) -> Vec<&'a K8sObject> {
        let mut out = self.envoy_filters.candidates(ns, labels);
        if ns != "istio-system" {
            out.extend(self.envoy_filters.candidates("istio-system", labels));
        }
        out.retain(|o| {
            selects(
                &string_map(o.node.at(&["spec", "workloadSelector", "labels"])),
                labels,
            )
        });
        out
    }

    /// Route backends that send to the Service `name` in `ns`.
    pub fn backends_to(&self, ns: &str, name: &str) -> &[Backend<'a>] {
        self.backends
            .get(&(ns.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Traefik Middlewares named `namespace-name`.
    pub fn middlewares_qualified(&self, qualified: &str) -> &[&'a K8sObject] {
        self.middlewares_qualified
            .get(qualified)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Traefik Middlewares called `name`.
    pub fn middlewares(&self, name: &str) -> &[&'a K8sObject] {
        self.middlewares
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The backends of one route object, keyed by the (namespace, name) of the Service each
/// sends to.
fn backends_of<'a>(route: &'a K8sObject) -> Vec<((String, String), Backend<'a>)> {
    let mut out: Vec<((String, String), Backend<'a>)> = Vec::new();
    let ns = route.namespace_or_default().to_string();
    let mut push = |service_ns: String, service: &str, backend: Backend<'a>| {
        out.push(((service_ns, service.to_string()), backend));
    };
    match route.kind.as_str() {
        "Ingress" => {
            let spec = route.node.get("spec");
            let mut backends: Vec<(&Node, String)> = Vec::new();
            if let Some(b) = spec.and_then(|s| s.get("defaultBackend")) {
                backends.push((b, "the default backend".to_string()));
            }
            for rule in spec
                .and_then(|s| s.get("rules"))
                .map(Node::as_list)
                .unwrap_or_default()
            {
                let host = rule.get("host").and_then(Node::as_str).unwrap_or("*");
                for p in rule
                    .at(&["http", "paths"])
                    .map(Node::as_list)
                    .unwrap_or_default()
                {
                    if let Some(b) = p.get("backend") {
                        let path = p.get("path").and_then(Node::as_str).unwrap_or("/");
                        backends.push((b, format!("{host}{path}")));
                    }
                }
            }
            for (backend, what) in backends {
                let svc = backend.get("service");
                let Some(name) = svc
                    .and_then(|s| s.get("name"))
                    .or_else(|| backend.get("serviceName"))
                    .and_then(Node::as_str)
                else {
                    continue;
                };
                let number = svc
                    .and_then(|s| s.at(&["port", "number"]))
                    .or_else(|| backend.get("servicePort"))
                    .and_then(Node::as_i64);
                let port_name = svc
                    .and_then(|s| s.at(&["port", "name"]))
                    .or_else(|| backend.get("servicePort"))
                    .and_then(Node::as_str)
                    .map(str::to_string);
                push(
                    ns.clone(),
                    name,
                    Backend {
                        route,
                        port_number: number,
                        port_name,
                        span: backend.label_span().or(backend.span),
                        what,
                        by_target: false,
                    },
                );
            }
        }
        "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" => {
            for rule in route
                .node
                .at(&["spec", "rules"])
                .map(Node::as_list)
                .unwrap_or_default()
            {
                for backend in rule
                    .get("backendRefs")
                    .map(Node::as_list)
                    .unwrap_or_default()
                {
                    let kind = backend
                        .get("kind")
                        .and_then(Node::as_str)
                        .unwrap_or("Service");
                    let Some(name) = backend.get("name").and_then(Node::as_str) else {
                        continue;
                    };
                    if kind != "Service" {
                        continue;
                    }
                    let service_ns = backend
                        .get("namespace")
                        .and_then(Node::as_str)
                        .unwrap_or(&ns)
                        .to_string();
                    push(
                        service_ns,
                        name,
                        Backend {
                            route,
                            port_number: backend.get("port").and_then(Node::as_i64),
                            port_name: None,
                            span: backend.item_span(),
                            what: "traffic".to_string(),
                            by_target: false,
                        },
                    );
                }
            }
        }
        "VirtualService" => {
            let gateways: Vec<String> = route
                .node
                .at(&["spec", "gateways"])
                .map(Node::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_scalar_text)
                .collect();
            // Bound only to the mesh: not an entry from outside.
            if gateways.is_empty() || gateways.iter().all(|g| g == "mesh") {
                return out;
            }
            for section in ["http", "grpc", "tcp", "tls"] {
                for r in route
                    .node
                    .at(&["spec", section])
                    .map(Node::as_list)
                    .unwrap_or_default()
                {
                    for dest in r.get("route").map(Node::as_list).unwrap_or_default() {
                        let host = dest
                            .at(&["destination", "host"])
                            .and_then(Node::as_str)
                            .unwrap_or_default();
                        // `svc`, `svc.ns`, `svc.ns.svc.cluster.local`.
                        let mut parts = host.split('.');
                        let (Some(name), service_ns) = (parts.next(), parts.next()) else {
                            continue;
                        };
                        if name.is_empty() {
                            continue;
                        }
                        push(
                            service_ns.unwrap_or(&ns).to_string(),
                            name,
                            Backend {
                                route,
                                port_number: dest
                                    .at(&["destination", "port", "number"])
                                    .and_then(Node::as_i64),
                                port_name: None,
                                span: dest
                                    .get("destination")
                                    .and_then(Node::label_span)
                                    .or(dest.span),
                                what: format!(
                                    "{section} traffic from gateway {}",
                                    gateways.join(", ")
                                ),
                                by_target: false,
                            },
                        );
                    }
                }
            }
        }
        "IngressRoute" | "IngressRouteTCP" => {
            for r in route
                .node
                .at(&["spec", "routes"])
                .map(Node::as_list)
                .unwrap_or_default()
            {
                for svc in r.get("services").map(Node::as_list).unwrap_or_default() {
                    let Some(name) = svc.get("name").and_then(Node::as_str) else {
                        continue;
                    };
                    let what = r
                        .get("match")
                        .and_then(Node::as_str)
                        .unwrap_or("traffic")
                        .to_string();
                    push(
                        ns.clone(),
                        name,
                        Backend {
                            route,
                            port_number: svc.get("port").and_then(Node::as_i64),
                            port_name: svc.get("port").and_then(Node::as_str).map(str::to_string),
                            span: svc.item_span(),
                            what,
                            by_target: false,
                        },
                    );
                }
            }
        }
        "Route" if route.api_version.starts_with("route.openshift.io/") => {
            openshift_route(route, &mut push);
        }
        _ => {}
    }
    out
}

/// An OpenShift Route: the router sends `host` + `path` to `spec.to` and each of
/// `spec.alternateBackends` (Services), on `spec.port.targetPort` (the pods' port, by name or
/// number) or every port when none is given; `spec.tls.termination` says where TLS ends.
fn openshift_route<'a>(route: &'a K8sObject, push: &mut dyn FnMut(String, &str, Backend<'a>)) {
    let ns = route.namespace_or_default().to_string();
    let Some(spec) = route.node.get("spec") else {
        return;
    };
    let host = spec
        .get("host")
        .and_then(Node::as_str)
        .unwrap_or("the router's default host");
    let path = spec.get("path").and_then(Node::as_str).unwrap_or("/");
    let tls = match spec.at(&["tls", "termination"]).and_then(Node::as_str) {
        Some(t @ ("edge" | "reencrypt")) => {
            let insecure = spec
                .at(&["tls", "insecureEdgeTerminationPolicy"])
                .and_then(Node::as_str);
            let plain = if insecure == Some("Allow") {
                ", plain HTTP allowed too"
            } else {
                ""
            };
            format!(" (TLS {t}-terminated at the router{plain})")
        }
        Some("passthrough") => " (TLS passed through to the pod)".to_string(),
        _ => " (no TLS)".to_string(),
    };
    let what = format!("{host}{path}{tls}");
    let target = spec.at(&["port", "targetPort"]);
    let targets = std::iter::once(spec.get("to")).chain(
        spec.get("alternateBackends")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .map(Some),
    );
    for to in targets.flatten() {
        let kind = to.get("kind").and_then(Node::as_str).unwrap_or("Service");
        let Some(name) = to.get("name").and_then(Node::as_str) else {
            continue;
        };
        if kind != "Service" {
            continue;
        }
        push(
            ns.clone(),
            name,
            Backend {
                route,
                port_number: target.and_then(Node::as_i64),
                port_name: target.and_then(Node::as_str).map(str::to_string),
                span: target
                    .and_then(Node::label_span)
                    .or(to.label_span())
                    .or(to.span),
                what: what.clone(),
                by_target: true,
            },
        );
    }
}
