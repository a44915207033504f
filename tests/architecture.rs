//! The module tree follows the pipeline (DESIGN.md): load → extract → correlate → evaluate →
//! filter → report, with the foundations below every stage and the commands above. An
//! import may only point backwards along the flow, and the submodules of one module may not
//! import each other in a cycle. This test reads the sources and fails on any import against
//! the flow, naming the file and the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rank of each top-level module. A module may import only modules of a lower rank; the
/// foundations (rank 0) may also import each other.
const RANKS: &[(&str, u8)] = &[
    // Foundations: texts and spans, the value tree, findings, one parser per format, the
    // Launch and its builders, the model repository on disk, safe reading and escaping.
    ("source", 0),
    ("tree", 0),
    ("finding", 0),
    ("parse", 0),
    ("model", 0),
    ("repo", 0),
    ("escape", 0),
    ("read_guard", 0),
    ("node_struct", 0),
    // The stages, in the order data flows.
    ("load", 1),
    ("extract", 2),
    ("correlate", 3),
    ("evaluate", 4),
    ("filter", 5),
    ("report", 6),
    ("pipeline", 7),
    // Commands built on the pipeline, then the command line.
    ("audit", 8),
    ("helm", 8),
    ("probe", 8),
    ("docs", 8),
    ("cli", 9),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/correlate/exposure.rs` → [correlate, exposure].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push((i + 1, code.to_string()));
    }
    out
}

/// `crate::a::b` paths named on a line: (a, b).
fn crate_paths(line: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let mut names = after.split("::").map(|s| {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        });
        if let Some(first) = names.next().filter(|n| !n.is_empty()) {
            let second = names.next().filter(|n| !n.is_empty());
            out.push((first, second));
        }
        rest = after;
    }
    out
}

struct Imports {
    /// (importing module, imported module) → first place seen.
    top: BTreeMap<(String, String), String>,
    /// Within one top-level module: (from submodule, to submodule).
    inner: BTreeMap<String, BTreeSet<(String, String)>>,
}

fn imports() -> Imports {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut imports = Imports {
        top: BTreeMap::new(),
        inner: BTreeMap::new(),
    };
    for file in files {
        let module = module_of(&src, &file);
        let Some(top) = module.first().cloned() else {
            continue;
        };
        if top == "main" || top == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (line_no, line) in code_lines(&text) {
            let mut found = crate_paths(&line);
            // `super::x` from a direct submodule names a sibling.
            if module.len() == 2 {
                let mut rest = line.as_str();
                while let Some(at) = rest.find("super::") {
                    let after = &rest[at + "super::".len()..];
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.push((top.clone(), Some(name)));
                    }
                    rest = after;
                }
            }
            for (to_top, to_sub) in found {
                let place = format!(
                    "{}:{line_no}",
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(&file)
                        .display()
                );
                if to_top != top {
                    imports.top.entry((top.clone(), to_top)).or_insert(place);
                } else if let (Some(from), Some(to)) = (module.get(1), to_sub)
                    && *from != to
                    && src.join(&top).join(format!("{to}.rs")).exists()
                        | src.join(&top).join(&to).join("mod.rs").exists()
                {
                    imports
                        .inner
                        .entry(top.clone())
                        .or_default()
                        .insert((from.clone(), to));
                }
            }
        }
    }
    imports
}

#[test]
fn imports_point_backwards_along_the_pipeline() {
    let imports = imports();
    let mut wrong = Vec::new();
    for ((from, to), place) in &imports.top {
        match (rank(from), rank(to)) {
            (Some(a), Some(b)) if b < a || (a == 0 && b == 0) => {}
            (Some(a), Some(b)) => wrong.push(format!(
                "{place}: {from} (rank {a}) imports {to} (rank {b}), against the flow"
            )),
            (None, _) => wrong.push(format!("{place}: module {from} has no rank in this test")),
            (_, None) => wrong.push(format!("{place}: module {to} has no rank in this test")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn submodules_do_not_import_each_other_in_a_cycle() {
    let imports = imports();
    let mut cycles = Vec::new();
    for (top, edges) in &imports.inner {
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, b) in edges {
            graph.entry(a.as_str()).or_default().push(b.as_str());
        }
        // Depth-first search from every node; a back edge is a cycle.
        fn visit<'a>(
            node: &'a str,
            graph: &BTreeMap<&'a str, Vec<&'a str>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
            found: &mut Vec<String>,
        ) {
            if let Some(at) = path.iter().position(|n| *n == node) {
                let mut cycle: Vec<&str> = path[at..].to_vec();
                cycle.push(node);
                found.push(cycle.join(" -> "));
                return;
            }
            if !done.insert(node) {
                return;
            }
            path.push(node);
            for next in graph.get(node).into_iter().flatten() {
                visit(next, graph, path, done, found);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        let mut found = Vec::new();
        for node in graph.keys() {
            visit(node, &graph, &mut Vec::new(), &mut done, &mut found);
        }
        cycles.extend(found.into_iter().map(|c| format!("{top}: {c}")));
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_check_finds_a_forward_import() {
    // The rank table and the path reader together: a stage naming a later stage is caught.
    assert!(rank("extract") < rank("correlate"));
    assert_eq!(
        crate_paths("use crate::correlate::index::UnitIndex; // crate::x"),
        [
            ("correlate".to_string(), Some("index".to_string())),
            ("x".to_string(), None)
        ]
    );
    assert_eq!(code_lines("a // crate::report\n")[0].1, "a ");
}
