//! The exposure map as a Graphviz digraph (`dot -Tsvg`). Traffic from the internet that no
//! authentication stops is drawn thick and red.

use std::fmt::Write;

use super::ExposureMap;
use super::graph::{self, EdgeStyle, GraphNode, NodeKind};

/// A DOT quoted string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn node(out: &mut String, indent: &str, n: &GraphNode) {
    let shape = match n.kind {
        NodeKind::Origin(_) => "ellipse",
        NodeKind::Route => "box",
        NodeKind::Port => "component",
        NodeKind::Narrowing => "hexagon",
    };
    let _ = writeln!(
        out,
        "{indent}{} [label={}, shape={shape}];",
        quoted(&n.id),
        quoted(&n.label)
    );
}

pub fn render(map: &ExposureMap) -> String {
    let graph = graph::build(map);
    let mut out = String::from("digraph exposure {\n  rankdir=LR;\n");
    if graph.clusters.is_empty() {
        out.push_str("  \"none\" [label=\"no Triton launch found\", shape=plaintext];\n}\n");
        return out;
    }
    for origin in &graph.origins {
        node(&mut out, "  ", origin);
    }
    for cluster in &graph.clusters {
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            quoted(&format!("cluster_{}", cluster.id))
        );
        let _ = writeln!(out, "    label={};", quoted(&cluster.label));
        for n in &cluster.nodes {
            node(&mut out, "    ", n);
        }
        out.push_str("  }\n");
    }
    for edge in &graph.edges {
        let attributes = match edge.style {
            EdgeStyle::Unauthenticated => " [label=\"no auth\", color=red, penwidth=3]",
            EdgeStyle::Authenticated => " [label=\"auth\"]",
            EdgeStyle::Plain => "",
            EdgeStyle::Narrows => " [label=\"narrows\", style=dashed]",
        };
        let _ = writeln!(
            out,
            "  {} -> {}{attributes};",
            quoted(&edge.from),
            quoted(&edge.to)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn strings_are_quoted_with_escapes() {
        assert_eq!(quoted("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"");
    }
}
