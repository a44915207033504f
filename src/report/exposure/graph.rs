//! The exposure map as a graph, shared by the Mermaid and Graphviz renderers: where traffic
//! comes from (internet, node, cluster, host) → the route (Ingress, Service, hostPort, `-p`)
//! → the Service it forwards to → the launch's port. NetworkPolicies and bind addresses hang
//! off the port they narrow. Node ids are generated from positions in the (sorted) map, so
//! the same map always gives the same graph.

use std::collections::BTreeMap;

use super::{ExposureMap, PortView, RouteView};

/// Where traffic comes from, by reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Internet,
    Network,
    Node,
    Cluster,
    Host,
}

impl Origin {
    fn of(reach: &str) -> Option<Origin> {
        match reach {
            "internet" => Some(Origin::Internet),
            "network" => Some(Origin::Network),
            "node" => Some(Origin::Node),
            "cluster" => Some(Origin::Cluster),
            "host" => Some(Origin::Host),
            _ => None,
        }
    }

    /// A node id (`node`, `end` and the like are keywords of the graph languages).
    pub fn id(self) -> &'static str {
        match self {
            Origin::Internet => "from_internet",
            Origin::Network => "from_network",
            Origin::Node => "from_node",
            Origin::Cluster => "from_cluster",
            Origin::Host => "from_host",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Origin::Internet => "internet",
            Origin::Network => "private network",
            Origin::Node => "any node address",
            Origin::Cluster => "cluster",
            Origin::Host => "host containers",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Origin(Origin),
    Route,
    Port,
    /// A NetworkPolicy or bind address that narrows a port.
    Narrowing,
}

#[derive(Clone, Debug)]
pub struct GraphNode {
    pub id: String,
    pub label: String,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeStyle {
    /// Traffic from the internet that no authentication stops.
    Unauthenticated,
    /// Traffic that passes authentication first.
    Authenticated,
    Plain,
    /// A NetworkPolicy or bind address narrowing a port.
    Narrows,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub style: EdgeStyle,
}

/// One launch's box.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub id: String,
    pub label: String,
    pub nodes: Vec<GraphNode>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Only the origins some edge starts from, widest first.
    pub origins: Vec<GraphNode>,
    pub clusters: Vec<Cluster>,
    /// In drawing order, each once.
    pub edges: Vec<Edge>,
}

fn route_label(route: &RouteView) -> String {
    match (route.kind.as_str(), route.name.is_empty()) {
        ("bind", _) => format!("bind {}", route.name),
        // Unnamed routes (a `-p` publish, hostPort) are told apart by what they publish.
        (_, true) if !route.note.is_empty() => route.note.clone(),
        (_, true) => route.kind.clone(),
        (kind, false) => format!("{kind} \"{}\"", route.name),
    }
}

fn port_label(port: &PortView) -> String {
    let number = port.port.map_or_else(|| "?".to_string(), |n| n.to_string());
    let reach = port.reach.as_deref().unwrap_or("unknown");
    format!("{} :{number} ({reach})", port.name)
}

fn push(edges: &mut Vec<Edge>, edge: Edge) {
    if !edges.contains(&edge) {
        edges.push(edge);
    }
}

/// The node of a route of a launch, made on first use. Routes are keyed by (kind, name): a
/// Service forwarding to two ports is one node with two edges; unnamed routes (hostPort,
/// `-p`) belong to one port.
fn route_node(
    ids: &mut BTreeMap<(String, String), String>,
    nodes: &mut Vec<GraphNode>,
    cluster_id: &str,
    port: &str,
    route: &RouteView,
    kind: NodeKind,
) -> String {
    let name = if route.name.is_empty() {
        format!("#{port}")
    } else {
        route.name.clone()
    };
    let key = (route.kind.clone(), name);
    if let Some(id) = ids.get(&key) {
        return id.clone();
    }
    let id = format!("{cluster_id}_r{}", ids.len());
    ids.insert(key, id.clone());
    nodes.push(GraphNode {
        id: id.clone(),
        label: route_label(route),
        kind,
    });
    id
}

/// Builds the graph of `map`.
pub fn build(map: &ExposureMap) -> Graph {
    let mut graph = Graph::default();
    let mut origins: BTreeMap<Origin, ()> = BTreeMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    for (l, launch) in map.launches.iter().enumerate() {
        let cluster_id = format!("l{l}");
        let mut nodes: Vec<GraphNode> = Vec::new();
        let mut route_ids: BTreeMap<(String, String), String> = BTreeMap::new();
        for port in &launch.ports {
            let port_id = format!("{cluster_id}_{}", port.name);
            nodes.push(GraphNode {
                id: port_id.clone(),
                label: port_label(port),
                kind: NodeKind::Port,
            });
            // Routes to the pod first, so that a Service node exists before the routes in
            // front of it look it up.
            let mut ordered: Vec<&RouteView> =
                port.routes.iter().filter(|r| r.via.is_none()).collect();
            ordered.extend(port.routes.iter().filter(|r| r.via.is_some()));
            for route in ordered {
                let id = route_node(
                    &mut route_ids,
                    &mut nodes,
                    &cluster_id,
                    port.name,
                    route,
                    NodeKind::Route,
                );
                let target = match &route.via {
                    Some(service) => {
                        let key = ("Service".to_string(), service.clone());
                        route_ids
                            .get(&key)
                            .cloned()
                            .unwrap_or_else(|| port_id.clone())
                    }
                    None => port_id.clone(),
                };
                let internal_style = if route.authenticated {
                    EdgeStyle::Authenticated
                } else {
                    EdgeStyle::Plain
                };
                push(
                    &mut edges,
                    Edge {
                        from: id.clone(),
                        to: target,
                        style: internal_style,
                    },
                );
                if let Some(origin) = Origin::of(&route.reach) {
                    origins.insert(origin, ());
                    let style = if route.authenticated || !port.auth.is_empty() {
                        EdgeStyle::Authenticated
                    } else if origin == Origin::Internet {
                        EdgeStyle::Unauthenticated
                    } else {
                        EdgeStyle::Plain
                    };
                    push(
                        &mut edges,
                        Edge {
                            from: origin.id().to_string(),
                            to: id,
                            style,
                        },
                    );
                }
            }
            // A port no route names is reached on the pod or container address, as wide as
            // its reach says.
            if port.routes.is_empty()
                && let Some(origin) = port.reach.as_deref().and_then(Origin::of)
            {
                origins.insert(origin, ());
                push(
                    &mut edges,
                    Edge {
                        from: origin.id().to_string(),
                        to: port_id.clone(),
                        style: EdgeStyle::Plain,
                    },
                );
            }
            for narrowing in &port.narrowed_by {
                let id = route_node(
                    &mut route_ids,
                    &mut nodes,
                    &cluster_id,
                    port.name,
                    narrowing,
                    NodeKind::Narrowing,
                );
                push(
                    &mut edges,
                    Edge {
                        from: id,
                        to: port_id.clone(),
                        style: EdgeStyle::Narrows,
                    },
                );
            }
        }
        graph.clusters.push(Cluster {
            id: cluster_id,
            label: launch.title(),
            nodes,
        });
    }
    graph.origins = origins
        .into_keys()
        .map(|o| GraphNode {
            id: o.id().to_string(),
            label: o.label().to_string(),
            kind: NodeKind::Origin(o),
        })
        .collect();
    graph.edges = edges;
    graph
}
