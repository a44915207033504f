//! Who can reach each Triton port of a pod: Services that select it (by label, with
//! targetPort by number or by name), the routes in front of those Services (Ingress, Gateway
//! API, Istio, Traefik), hostPort and hostNetwork, narrowed by NetworkPolicies. Also the
//! authentication and rate limiting found in front of it. All inside one deployment unit.

use crate::correlate::auth::{self, AuthFinder};
use crate::correlate::index::{UnitIndex, is_proxied};
use crate::extract::workload::PodFacts;
use crate::model::k8s::K8sObject;
use crate::model::launch::{At, Endpoint, Fact, Launch, PortExposure, Reach, Route, RouteAuth};
use crate::source::{SourceStore, Span};
use crate::tree::Node;

fn is_loopback(address: &str) -> bool {
    address.starts_with("127.") || address == "localhost" || address == "::1" || address == "[::1]"
}

/// Which of the pod's Triton ports a route or Service port reaches.
struct TritonPort<'p> {
    name: &'static str,
    number: i64,
    endpoint: &'p Endpoint,
    /// The port was given by a flag (not Triton's default).
    explicit: bool,
}

/// Fills `launch.exposure`, `launch.auth` and `launch.rate_limiting`.
pub fn apply(launch: &mut Launch, pod: &PodFacts, index: &UnitIndex<'_>, store: &SourceStore) {
    let container = launch.container.value.name.clone().unwrap_or_default();
    let finder = AuthFinder::new(launch, pod, index, store);
    launch.auth.evidence = finder.pod_wide_evidence();
    let server = launch.server.clone();
    let ports = [
        ("http", &server.http),
        ("grpc", &server.grpc),
        ("metrics", &server.metrics),
        ("sagemaker", &server.sagemaker),
        ("vertex_ai", &server.vertex_ai),
        ("openai", &server.openai),
    ];
    let mut rate_limits = Vec::new();
    for (name, endpoint) in ports {
        let exposure = port_exposure(
            TritonPort {
                name,
                number: endpoint.port.value.unwrap_or(-1),
                endpoint,
                explicit: endpoint.port.span != server.argv.span,
            },
            &container,
            pod,
            index,
            store,
            &finder,
            &mut rate_limits,
        );
        match name {
            "http" => launch.exposure.http = exposure,
            "grpc" => launch.exposure.grpc = exposure,
            "metrics" => launch.exposure.metrics = exposure,
            "sagemaker" => launch.exposure.sagemaker = exposure,
            "openai" => launch.exposure.openai = exposure,
            _ => launch.exposure.vertex_ai = exposure,
        }
    }
    rate_limits.extend(auth::pod_rate_limits(pod, index, store));
    rate_limits.sort_by_key(|a| a.span);
    rate_limits.dedup_by(|a, b| a.span == b.span);
    launch.rate_limiting.evidence = rate_limits;
}

fn port_exposure(
    port: TritonPort<'_>,
    container: &str,
    pod: &PodFacts,
    index: &UnitIndex<'_>,
    store: &SourceStore,
    finder: &AuthFinder<'_>,
    rate_limits: &mut Vec<At<crate::model::launch::RateLimitEvidence>>,
) -> PortExposure {
    let endpoint = port.endpoint;
    let port_fact = endpoint.port.clone();
    let declared = pod
        .ports
        .iter()
        .find(|p| p.container == container && p.number == port.number)
        .map(|p| Fact::known(p.number, p.span))
        .unwrap_or_else(|| {
            if port.explicit {
                port_fact.clone()
            } else {
                Fact::known(port.number, None)
            }
        });
    let mut exposure = PortExposure {
        port: port_fact.clone(),
        declared,
        ..PortExposure::default()
    };
    match endpoint.enabled.value {
        Some(false) => {
            exposure.reach =
                Fact::known(Reach::Disabled.as_str().to_string(), endpoint.enabled.span);
            return exposure;
        }
        None => {
            exposure.reach = Fact::unknown(endpoint.enabled.span);
            return exposure;
        }
        Some(true) => {}
    }
    if port.number < 0 {
        exposure.reach = Fact::unknown(port_fact.span);
        return exposure;
    }
    let mut routes: Vec<(Reach, At<Route>)> = Vec::new();
    let loopback = endpoint.address.value.as_deref().is_some_and(is_loopback);
    // Ports a route may target to reach this Triton port: its own, or an auth proxy
    // sidecar's that forwards to it.
    let mut targets: Vec<(i64, Option<String>)> = Vec::new();
    if !loopback {
        targets.push((port.number, None));
    }
    for proxy in finder.proxies_for(port.number) {
        for p in &proxy.ports {
            targets.push((*p, Some(proxy.name.clone())));
        }
    }
    if !loopback {
        if let Some((true, span)) = pod.host_network {
            routes.push((
                Reach::Node,
                route(
                    "hostNetwork",
                    "",
                    Reach::Node,
                    // The same route for every port of the pod (a policy reports it once).
                    "hostNetwork: the pod's ports listen on every node address".to_string(),
                    span,
                    store,
                ),
            ));
        }
        for p in pod
            .ports
            .iter()
            .filter(|p| p.container == container && p.number == port.number)
        {
            if let Some((host_port, span)) = p.host_port {
                routes.push((
                    Reach::Node,
                    route(
                        "hostPort",
                        "",
                        Reach::Node,
                        format!(
                            "hostPort {host_port} publishes the {} port on the node",
                            port.name
                        ),
                        span.or(p.span),
                        store,
                    ),
                ));
            }
        }
    }
    for service in index.services_selecting(&pod.namespace, &pod.labels) {
        let spec = service.node.get("spec");
        let service_type = spec
            .and_then(|s| s.get("type"))
            .and_then(Node::as_str)
            .unwrap_or("ClusterIP");
        let external_ips = spec
            .and_then(|s| s.get("externalIPs"))
            .is_some_and(|n| !n.as_list().is_empty());
        for sp in spec
            .and_then(|s| s.get("ports"))
            .map(Node::as_list)
            .unwrap_or_default()
        {
            let service_port = sp.get("port").and_then(Node::as_i64);
            let target = match sp.get("targetPort") {
                Some(t) => match t.as_i64() {
                    Some(n) => Some(n),
                    None => t.as_str().and_then(|name| {
                        pod.ports
                            .iter()
                            .find(|p| p.name.as_deref() == Some(name))
                            .map(|p| p.number)
                    }),
                },
                None => service_port,
            };
            let Some(target) = target else { continue };
            let Some((_, via_proxy)) = targets.iter().find(|(n, _)| *n == target) else {
                continue;
            };
            let (reach, how) = service_reach(service, service_type, external_ips);
            let shown_port = service_port.map(|p| p.to_string()).unwrap_or_default();
            let mut note = format!(
                "{how} Service \"{}\" forwards port {shown_port} to the {} port",
                service.name, port.name
            );
            if let Some(proxy) = via_proxy {
                note.push_str(&format!(" through auth proxy \"{proxy}\""));
            }
            let mut r = route("Service", &service.name, reach, note, sp.item_span(), store);
            let proxy_auth = via_proxy.as_ref().map(|proxy| RouteAuth {
                kind: "auth-proxy-sidecar".to_string(),
                name: proxy.clone(),
                scope: "route".to_string(),
            });
            r.value.auth.extend(proxy_auth.clone());
            routes.push((reach, r));
            let port_name = sp.get("name").and_then(Node::as_str);
            for front in index
                .backends_to(service.namespace_or_default(), &service.name)
                .iter()
                .filter(|b| b.reaches(service_port, port_name, target))
            {
                let (front_reach, internal) = match internal_ingress(front.route) {
                    Some(why) => (Reach::Network, format!(" (internal: {why})")),
                    None => (Reach::Internet, String::new()),
                };
                let mut r = route(
                    &front.route.kind,
                    &front.route.name,
                    front_reach,
                    format!(
                        "{} \"{}\" routes {} to Service \"{}\"{internal}",
                        front.route.kind, front.route.name, front.what, service.name
                    ),
                    front.span,
                    store,
                );
                r.value.auth.extend(proxy_auth.clone());
                r.value
                    .auth
                    .extend(auth::route_auth(front.route).map(|(kind, name)| RouteAuth {
                        kind: kind.to_string(),
                        name,
                        scope: "route".to_string(),
                    }));
                r.value.via = Some(service.name.clone());
                routes.push((front_reach, r));
                if port.name == "http" || port.name == "grpc" {
                    rate_limits.extend(auth::route_rate_limits(front.route, index, store));
                }
            }
        }
    }
    let mut reach = if loopback {
        Reach::Local
    } else {
        routes
            .iter()
            .map(|(r, _)| *r)
            .max()
            .unwrap_or(Reach::Cluster)
            .max(Reach::Cluster)
    };
    if loopback && !routes.is_empty() {
        reach = routes.iter().map(|(r, _)| *r).max().unwrap_or(Reach::Local);
    }
    if let Some(policy) = network_policy_cap(port.number, pod, index) {
        // Proxied routes (Ingress, Gateway, ...) arrive from the controller's pods, which a
        // namespaceSelector may admit; direct ones (NodePort, LoadBalancer, hostPort) arrive
        // from outside addresses, which only an ipBlock or an open rule admits.
        let before = routes.len();
        routes.retain(|(r, route)| {
            *r <= policy.direct || (policy.proxied && is_proxied(&route.value.kind))
        });
        let blocked = before - routes.len();
        let widest = routes.iter().map(|(r, _)| *r).max();
        let capped = if loopback {
            Reach::Local
        } else {
            policy.direct.min(Reach::Cluster).max(Reach::Local)
        };
        let new_reach = widest.map_or(capped, |w| w.max(capped)).min(reach);
        if new_reach < reach || blocked > 0 {
            reach = new_reach;
            routes.push((
                Reach::Local,
                route(
                    "NetworkPolicy",
                    &policy.name,
                    Reach::Local,
                    format!(
                        "NetworkPolicy \"{}\" limits who reaches the {} port",
                        policy.name, port.name
                    ),
                    policy.span,
                    store,
                ),
            ));
        }
    }
    routes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.span.cmp(&b.1.span)));
    let widest_span = routes.first().and_then(|(_, r)| r.span);
    exposure.reach = Fact::known(reach.as_str().to_string(), widest_span.or(port_fact.span));
    exposure.rank = reach.rank();
    exposure.routes = routes.into_iter().map(|(_, r)| r).collect();
    exposure.attach_port_auth(port.name, &finder.pod_wide_evidence());
    exposure
}

fn route(
    kind: &str,
    name: &str,
    reach: Reach,
    note: String,
    span: Option<Span>,
    store: &SourceStore,
) -> At<Route> {
    At {
        value: Route {
            kind: kind.to_string(),
            name: name.to_string(),
            reach: reach.as_str().to_string(),
            note,
            file: span
                .map(|s| store.display(s.file).to_string())
                .unwrap_or_default(),
            auth: Vec::new(),
            authenticated: false,
            via: None,
        },
        span,
    }
}

fn service_reach(
    service: &K8sObject,
    service_type: &str,
    external_ips: bool,
) -> (Reach, &'static str) {
    let internal_lb = service.annotations().iter().any(|(k, v)| {
        matches!(
            (k.as_str(), v.as_str()),
            (
                "service.beta.kubernetes.io/aws-load-balancer-internal",
                "true" | "0.0.0.0/0"
            ) | (
                "service.beta.kubernetes.io/aws-load-balancer-scheme",
                "internal"
            ) | ("networking.gke.io/load-balancer-type", "Internal")
                | (
                    "cloud.google.com/load-balancer-type",
                    "Internal" | "internal"
                )
                | (
                    "service.beta.kubernetes.io/azure-load-balancer-internal",
                    "true"
                )
                | (
                    "service.beta.kubernetes.io/oci-load-balancer-internal",
                    "true"
                )
        )
    });
    match service_type {
        "LoadBalancer" if internal_lb => (Reach::Network, "internal LoadBalancer"),
        "LoadBalancer" => (Reach::Internet, "LoadBalancer"),
        _ if external_ips => (Reach::Internet, "externalIPs"),
        "NodePort" => (Reach::Node, "NodePort"),
        "ExternalName" => (Reach::Cluster, "ExternalName"),
        _ => (Reach::Cluster, "ClusterIP"),
    }
}

/// Why an Ingress serves only the private network, when its controller is told so: an AWS
/// load balancer controller `scheme: internal`, GKE's internal Application Load Balancer class
/// `gce-internal`, Azure Application Gateway's private IP. Other controllers name internal
/// classes as their operators choose, so an ingress class is not guessed from its name.
fn internal_ingress(route: &K8sObject) -> Option<String> {
    if route.kind != "Ingress" {
        return None;
    }
    let annotation = |key: &str| route.annotation(key);
    if annotation("alb.ingress.kubernetes.io/scheme").as_deref() == Some("internal") {
        return Some("alb.ingress.kubernetes.io/scheme: internal".to_string());
    }
    if annotation("appgw.ingress.kubernetes.io/use-private-ip").as_deref() == Some("true") {
        return Some("appgw.ingress.kubernetes.io/use-private-ip: \"true\"".to_string());
    }
    let class = annotation("kubernetes.io/ingress.class").or_else(|| {
        route
            .node
            .at(&["spec", "ingressClassName"])
            .and_then(Node::as_scalar_text)
    });
    (class.as_deref() == Some("gce-internal")).then(|| "ingress class gce-internal".to_string())
}

/// What the NetworkPolicies selecting a pod allow to reach one of its ports.
struct PolicyEffect {
    /// The widest reach of traffic that comes straight from its source.
    direct: Reach,
    /// Whether traffic relayed by an ingress controller in another namespace may pass.
    proxied: bool,
    name: String,
    span: Option<Span>,
}

/// The effect of the NetworkPolicies that select the pod on `port`, if any select it.
fn network_policy_cap(port: i64, pod: &PodFacts, index: &UnitIndex<'_>) -> Option<PolicyEffect> {
    let policies: Vec<&K8sObject> = index
        .network_policies_selecting(&pod.namespace, &pod.labels)
        .into_iter()
        .filter(|p| {
            let types: Vec<String> = p
                .node
                .at(&["spec", "policyTypes"])
                .map(Node::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_scalar_text)
                .collect();
            types.is_empty() || types.iter().any(|t| t == "Ingress")
        })
        .collect();
    let first = policies.first()?;
    let mut direct = Reach::Local;
    let mut proxied = false;
    for policy in &policies {
        for rule in policy
            .node
            .at(&["spec", "ingress"])
            .map(Node::as_list)
            .unwrap_or_default()
        {
            let ports = rule.get("ports").map(Node::as_list).unwrap_or_default();
            let port_allowed = ports.is_empty()
                || ports.iter().any(|p| match p.get("port") {
                    None => true,
                    Some(n) => match n.as_i64() {
                        Some(number) => {
                            let end = p.get("endPort").and_then(Node::as_i64).unwrap_or(number);
                            (number..=end).contains(&port)
                        }
                        None => n.as_str().is_some_and(|name| {
                            pod.ports
                                .iter()
                                .any(|pp| pp.name.as_deref() == Some(name) && pp.number == port)
                        }),
                    },
                });
            if !port_allowed {
                continue;
            }
            let from = rule.get("from").map(Node::as_list).unwrap_or_default();
            if from.is_empty() || from.iter().any(|f| f.get("ipBlock").is_some()) {
                direct = Reach::Internet;
                proxied = true;
            } else {
                direct = direct.max(Reach::Cluster);
                if from.iter().any(|f| f.get("namespaceSelector").is_some()) {
                    proxied = true;
                }
            }
        }
    }
    Some(PolicyEffect {
        direct,
        proxied,
        name: first.name.clone(),
        span: first
            .node
            .get("spec")
            .and_then(Node::label_span)
            .or(first.anchor()),
    })
}
