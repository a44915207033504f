//! The health probes of a Kubernetes container, with named ports resolved the way the
//! kubelet resolves them (through the same container's `ports`), for the reliability rule
//! TG801. Knative Serving adds a TCP readiness probe on the container's port when none is
//! written; that probe is marked `defaulted`.

use crate::extract::workload_kinds::group_of;
use crate::model::k8s::K8sObject;
use crate::model::launch::{At, Fact, Probe};
use crate::source::Span;
use crate::tree::Node;

const ROLES: [(&str, &str); 3] = [
    ("readiness", "readinessProbe"),
    ("liveness", "livenessProbe"),
    ("startup", "startupProbe"),
];

/// The readiness, liveness and startup probe of `container`, in that order.
pub fn probes(container: &Node, anchor: Option<Span>, object: &K8sObject) -> Fact<Vec<At<Probe>>> {
    let knative = group_of(&object.api_version) == "serving.knative.dev";
    // Knative allows one port and fills it in where a probe leaves it out (8080 by default).
    let knative_port = knative.then(|| {
        container
            .get("ports")
            .map(Node::as_list)
            .unwrap_or_default()
            .first()
            .and_then(|p| p.get("containerPort"))
            .and_then(port_number)
            .unwrap_or(8080)
    });
    let list = ROLES
        .iter()
        .map(|(role, key)| match container.get(key) {
            Some(node) => probe(role, node, container, knative_port),
            None if *role == "readiness" && knative_port.is_some() => At {
                value: Probe {
                    role: role.to_string(),
                    declared: true,
                    defaulted: true,
                    handler: Some("tcpSocket".to_string()),
                    port: Fact::known(knative_port.unwrap_or(8080), anchor),
                    ..Probe::default()
                },
                span: anchor,
            },
            None => At {
                value: Probe {
                    role: role.to_string(),
                    ..Probe::default()
                },
                span: anchor,
            },
        })
        .collect();
    Fact::known(list, anchor)
}

fn probe(role: &str, node: &Node, container: &Node, default_port: Option<i64>) -> At<Probe> {
    let span = node.label_span().or(node.span);
    let handler = ["httpGet", "grpc", "tcpSocket", "exec"]
        .into_iter()
        .find(|h| node.get(h).is_some());
    let action = handler.and_then(|h| node.get(h));
    let port_node = action.and_then(|a| a.get("port"));
    let (port, port_name) = match port_node {
        Some(p) => match port_number(p) {
            Some(n) => (Fact::known(n, p.label_span()), None),
            None => {
                let name = p.as_scalar_text().unwrap_or_default();
                (
                    Fact {
                        value: named_port(container, &name),
                        span: p.label_span(),
                    },
                    Some(name),
                )
            }
        },
        None => (
            Fact {
                value: default_port.filter(|_| handler != Some("exec")),
                span,
            },
            None,
        ),
    };
    let path = match action.filter(|_| handler == Some("httpGet")) {
        Some(a) => match a.get("path") {
            Some(p) => Fact {
                value: p.as_scalar_text(),
                span: p.label_span(),
            },
            None => Fact::known("/".to_string(), span),
        },
        None => Fact::unknown(None),
    };
    At {
        value: Probe {
            role: role.to_string(),
            declared: true,
            defaulted: false,
            handler: handler.map(str::to_string),
            port,
            port_name,
            path,
            scheme: action.filter(|_| handler == Some("httpGet")).map(|a| {
                a.get("scheme")
                    .and_then(Node::as_scalar_text)
                    .unwrap_or_else(|| "HTTP".to_string())
                    .to_ascii_uppercase()
            }),
        },
        span,
    }
}

/// A port given as a number (or a numeric string).
fn port_number(node: &Node) -> Option<i64> {
    node.as_i64()
        .or_else(|| node.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The `containerPort` of the container's port called `name`.
fn named_port(container: &Node, name: &str) -> Option<i64> {
    container
        .get("ports")
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .find(|p| p.get("name").and_then(Node::as_str) == Some(name))
        .and_then(|p| p.get("containerPort"))
        .and_then(port_number)
}
