//! Evidence that something authenticates or rate-limits requests before they reach Triton:
//! Istio policies selecting the pod, auth-proxy sidecars, ingress annotations, Triton's own
//! restricted-API header and gRPC mutual TLS.

use crate::correlate::index::UnitIndex;
use crate::extract::workload::{PodFacts, Sidecar};
use crate::model::k8s::K8sObject;
use crate::model::launch::{At, AuthEvidence, Launch, RateLimitEvidence};
use crate::source::{SourceStore, Span};
use crate::tree::Node;

/// Images of proxies that authenticate users before forwarding to an upstream.
const AUTH_PROXY_IMAGES: &[&str] = &[
    "oauth2-proxy",
    "oauth2_proxy",
    "louketo-proxy",
    "keycloak-gatekeeper",
    "gatekeeper",
    "pomerium",
    "vouch-proxy",
    "ory/oathkeeper",
    "kube-rbac-proxy",
    "authelia",
];

pub struct AuthFinder<'a> {
    pod: &'a PodFacts,
    evidence: Vec<At<AuthEvidence>>,
    proxies: Vec<(&'a Sidecar, Vec<i64>)>,
}

impl<'a> AuthFinder<'a> {
    pub fn new(
        launch: &Launch,
        pod: &'a PodFacts,
        index: &UnitIndex<'_>,
        _store: &SourceStore,
    ) -> AuthFinder<'a> {
        let server = &launch.server;
        let mut evidence = crate::extract::docker::server_auth_evidence(server);
        let injection_disabled = pod
            .annotations
            .iter()
            .chain(pod.labels.iter())
            .any(|(k, v)| k == "sidecar.istio.io/inject" && v == "false");
        if !injection_disabled {
            evidence.extend(istio_evidence(pod, index));
        }
        let mut proxies = Vec::new();
        for sidecar in &pod.sidecars {
            if !AUTH_PROXY_IMAGES.iter().any(|p| sidecar.image.contains(p)) {
                continue;
            }
            let upstream_ports = upstream_ports(&sidecar.command_line);
            let names: Vec<String> = [
                ("http", server.http.port.value),
                ("grpc", server.grpc.port.value),
                ("metrics", server.metrics.port.value),
            ]
            .iter()
            .filter(|(_, port)| port.is_some_and(|p| upstream_ports.contains(&p)))
            .map(|(n, _)| n.to_string())
            .collect();
            if names.is_empty() {
                continue;
            }
            evidence.push(At {
                value: AuthEvidence {
                    kind: "auth-proxy-sidecar".to_string(),
                    name: sidecar.name.clone(),
                    protects: Vec::new(),
                    note: format!(
                        "sidecar \"{}\" ({}) authenticates requests before forwarding to the {} port",
                        sidecar.name,
                        sidecar.image,
                        names.join(" and ")
                    ),
                },
                span: sidecar.span,
            });
            proxies.push((sidecar, upstream_ports));
        }
        AuthFinder {
            pod,
            evidence,
            proxies,
        }
    }

    /// Evidence that applies to the pod as a whole.
    pub fn pod_wide_evidence(&self) -> Vec<At<AuthEvidence>> {
        self.evidence.clone()
    }

    /// Auth proxy sidecars that forward to `port` on localhost.
    pub fn proxies_for(&self, port: i64) -> Vec<&'a Sidecar> {
        self.proxies
            .iter()
            .filter(|(_, upstream)| upstream.contains(&port))
            .map(|(s, _)| *s)
            .collect()
    }

    /// Some pod-wide mechanism authenticates every request to this port.
    pub fn protects(&self, port_name: &str) -> bool {
        let _ = self.pod;
        self.evidence
            .iter()
            .any(|e| e.value.protects.iter().any(|p| p == port_name || p == "*"))
    }
}

/// Ports named in `http://127.0.0.1:8000`-style upstream URLs on a proxy's command line.
fn upstream_ports(command_line: &str) -> Vec<i64> {
    let mut ports = Vec::new();
    for host in ["127.0.0.1:", "localhost:", "[::1]:"] {
        let mut rest = command_line;
        while let Some(at) = rest.find(host) {
            let digits: String = rest[at + host.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(p) = digits.parse() {
                ports.push(p);
            }
            rest = &rest[at + host.len()..];
        }
    }
    ports
}

/// Istio AuthorizationPolicies that require an authenticated identity (or delegate to an
/// external authorizer) for workloads selecting the pod. A RequestAuthentication alone only
/// validates tokens that are present; it does not reject requests without one.
fn istio_evidence(pod: &PodFacts, index: &UnitIndex<'_>) -> Vec<At<AuthEvidence>> {
    let mut out = Vec::new();
    for o in index.istio_policies(&pod.namespace, &pod.labels) {
        let spec = o.node.get("spec");
        match o.kind.as_str() {
            "AuthorizationPolicy" => {
                let action = spec.and_then(|s| s.get("action")).and_then(Node::as_str).unwrap_or("ALLOW");
                let rules = spec.and_then(|s| s.get("rules")).map(Node::as_list).unwrap_or_default();
                let requires_identity = rules.iter().all(|r| {
                    r.get("from").map(Node::as_list).unwrap_or_default().iter().any(|f| {
                        let src = f.get("source");
                        // `requestPrincipals: ["*"]` still requires a valid token.
                        ["requestPrincipals", "principals"].iter().any(|k| {
                            src.and_then(|s| s.get(k)).is_some_and(|l| !l.as_list().is_empty())
                        })
                    }) || r.get("when").map(Node::as_list).unwrap_or_default().iter().any(|w| {
                        w.get("key")
                            .and_then(Node::as_str)
                            .is_some_and(|k| k.starts_with("request.auth."))
                    })
                }) && !rules.is_empty();
                let protective = action == "CUSTOM" || (action == "ALLOW" && requires_identity);
                if protective {
                    out.push(At {
                        value: AuthEvidence {
                            kind: "istio-authorization-policy".to_string(),
                            name: o.name.clone(),
                            protects: vec!["*".to_string()],
                            note: if action == "CUSTOM" {
                                format!("AuthorizationPolicy \"{}\" sends requests to an external authorizer", o.name)
                            } else {
                                format!("AuthorizationPolicy \"{}\" admits only authenticated principals", o.name)
                            },
                        },
                        span: o.anchor(),
                    });
                }
            }
            "RequestAuthentication" => out.push(At {
                value: AuthEvidence {
                    kind: "istio-request-authentication".to_string(),
                    name: o.name.clone(),
                    protects: Vec::new(),
                    note: format!(
                        "RequestAuthentication \"{}\" validates tokens, but without an AuthorizationPolicy requests without a token still pass",
                        o.name
                    ),
                },
                span: o.anchor(),
            }),
            _ => {}
        }
    }
    out
}

/// What authenticates a route at the ingress controller: `(kind, name)` of its first auth
/// annotation or Traefik auth middleware.
pub fn route_auth(route: &K8sObject) -> Option<(&'static str, String)> {
    let annotations = route.annotations();
    let annotation = annotations.iter().find(|(k, v)| {
        let v = v.to_ascii_lowercase();
        match k.as_str() {
            "nginx.ingress.kubernetes.io/auth-url"
            | "nginx.ingress.kubernetes.io/auth-type"
            | "nginx.ingress.kubernetes.io/auth-signin"
            | "ingress.kubernetes.io/auth-url"
            | "ingress.kubernetes.io/auth-type" => !v.is_empty(),
            "nginx.ingress.kubernetes.io/auth-tls-verify-client" => v == "on",
            "alb.ingress.kubernetes.io/auth-type" => v == "cognito" || v == "oidc",
            "konghq.com/plugins" => ["auth", "jwt", "oidc", "acl"].iter().any(|p| v.contains(p)),
            "traefik.ingress.kubernetes.io/router.middlewares" => v.contains("auth"),
            "appgw.ingress.kubernetes.io/auth-type" => !v.is_empty(),
            _ => false,
        }
    });
    if let Some((key, _)) = annotation {
        return Some(("ingress-auth-annotation", key.clone()));
    }
    if route.kind != "IngressRoute" {
        return None;
    }
    route
        .node
        .at(&["spec", "routes"])
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.get("middlewares").map(Node::as_list).unwrap_or_default())
        .find_map(|m| {
            m.get("name")
                .and_then(Node::as_str)
                .filter(|n| n.contains("auth"))
                .map(|n| ("ingress-auth-middleware", n.to_string()))
        })
}

fn rate_evidence(
    kind: &str,
    name: &str,
    note: String,
    span: Option<Span>,
) -> At<RateLimitEvidence> {
    At {
        value: RateLimitEvidence {
            kind: kind.to_string(),
            name: name.to_string(),
            note,
        },
        span,
    }
}

/// Rate limits configured on a route in front of the Service.
pub fn route_rate_limits(
    route: &K8sObject,
    index: &UnitIndex<'_>,
    _store: &SourceStore,
) -> Vec<At<RateLimitEvidence>> {
    let mut out = Vec::new();
    for (k, _) in route.annotations() {
        if matches!(
            k.as_str(),
            "nginx.ingress.kubernetes.io/limit-rps"
                | "nginx.ingress.kubernetes.io/limit-rpm"
                | "nginx.ingress.kubernetes.io/limit-connections"
                | "nginx.ingress.kubernetes.io/global-rate-limit"
        ) {
            let span = route
                .node
                .at(&["metadata", "annotations", k.as_str()])
                .and_then(Node::label_span);
            out.push(rate_evidence(
                "ingress-annotation",
                &route.name,
                format!("{} on {} \"{}\"", k, route.kind, route.name),
                span,
            ));
        }
    }
    // Traefik middlewares with a rateLimit, referenced by the route.
    let mut referenced: Vec<String> = Vec::new();
    if let Some((_, v)) = route
        .annotations()
        .into_iter()
        .find(|(k, _)| k == "traefik.ingress.kubernetes.io/router.middlewares")
    {
        referenced.extend(v.split(',').map(|s| s.trim().to_string()));
    }
    for r in route
        .node
        .at(&["spec", "routes"])
        .map(Node::as_list)
        .unwrap_or_default()
    {
        for m in r.get("middlewares").map(Node::as_list).unwrap_or_default() {
            if let Some(n) = m.get("name").and_then(Node::as_str) {
                referenced.push(n.to_string());
            }
        }
    }
    // `name`, or `namespace-name@provider` in the annotation form.
    let mut candidates: Vec<&K8sObject> = Vec::new();
    for r in &referenced {
        candidates.extend(index.middlewares(r));
        if let Some((qualified, _)) = r.split_once('@') {
            candidates.extend(index.middlewares_qualified(qualified).iter().copied());
        }
    }
    candidates.sort_by_key(|m| m.extent);
    candidates.dedup_by_key(|m| m.extent);
    for m in candidates {
        if m.node.at(&["spec", "rateLimit"]).is_some() {
            out.push(rate_evidence(
                "traefik-middleware",
                &m.name,
                format!("Traefik Middleware \"{}\" limits the request rate", m.name),
                m.node.at(&["spec", "rateLimit"]).and_then(Node::label_span),
            ));
        }
    }
    out
}

/// Rate limits that apply to the pod's workload (Istio/Envoy local rate limit filters).
pub fn pod_rate_limits(
    pod: &PodFacts,
    index: &UnitIndex<'_>,
    _store: &SourceStore,
) -> Vec<At<RateLimitEvidence>> {
    let mut out = Vec::new();
    for o in index.envoy_filters(&pod.namespace, &pod.labels) {
        let text = o.node.to_json().to_string();
        if text.contains("local_ratelimit") || text.contains("ratelimit") {
            out.push(rate_evidence(
                "envoy-filter",
                &o.name,
                format!("EnvoyFilter \"{}\" adds an Envoy rate limit filter", o.name),
                o.anchor(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_ports_are_read_from_proxy_flags() {
        assert_eq!(
            upstream_ports("--upstream=http://127.0.0.1:8000/ --http-address=0.0.0.0:4180"),
            vec![8000]
        );
        assert_eq!(
            upstream_ports("--upstream=http://localhost:8001"),
            vec![8001]
        );
    }
}
