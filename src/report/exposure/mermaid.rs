//! The exposure map as a Mermaid flowchart, which GitHub renders in markdown. Traffic from
//! the internet that no authentication stops is drawn thick and red.

use std::fmt::Write;

use super::ExposureMap;
use super::graph::{self, EdgeStyle, GraphNode, NodeKind};

/// Text in a quoted Mermaid label: quotes and the characters Mermaid or its HTML labels
/// would read as syntax become entity codes.
fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn node(out: &mut String, indent: &str, n: &GraphNode) {
    let text = label(&n.label);
    let _ = match n.kind {
        NodeKind::Origin(_) => writeln!(out, "{indent}{}((\"{text}\"))", n.id),
        NodeKind::Route => writeln!(out, "{indent}{}[\"{text}\"]", n.id),
        NodeKind::Port => writeln!(out, "{indent}{}[[\"{text}\"]]", n.id),
        NodeKind::Narrowing => writeln!(out, "{indent}{}{{{{\"{text}\"}}}}", n.id),
    };
}

/// The flowchart, without a markdown fence.
pub fn render(map: &ExposureMap) -> String {
    let graph = graph::build(map);
    let mut out = String::from("flowchart LR\n");
    if graph.clusters.is_empty() {
        out.push_str("  none[\"no Triton launch found\"]\n");
        return out;
    }
    for origin in &graph.origins {
        node(&mut out, "  ", origin);
    }
    for cluster in &graph.clusters {
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            cluster.id,
            label(&cluster.label)
        );
        for n in &cluster.nodes {
            node(&mut out, "    ", n);
        }
        out.push_str("  end\n");
    }
    let mut emphasised = Vec::new();
    for (i, edge) in graph.edges.iter().enumerate() {
        let arrow = match edge.style {
            EdgeStyle::Unauthenticated => {
                emphasised.push(i.to_string());
                "==>|no auth|"
            }
            EdgeStyle::Authenticated => "-->|auth|",
            EdgeStyle::Plain => "-->",
            EdgeStyle::Narrows => "-.->|narrows|",
        };
        let _ = writeln!(out, "  {} {arrow} {}", edge.from, edge.to);
    }
    if !emphasised.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d1242f,stroke-width:3px",
            emphasised.join(",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_cannot_close_their_quotes_or_a_markdown_fence() {
        assert_eq!(label("Service \"a\""), "Service #quot;a#quot;");
        assert_eq!(label("a#b<c>&d"), "a#35;b#lt;c#gt;#amp;d");
        assert_eq!(label("```\nend"), "#96;#96;#96; end");
    }
}
