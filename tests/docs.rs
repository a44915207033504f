//! The documentation tells the truth about the current binary:
//! * `docs/rules/` is generated from the policy files (one page per built-in rule and an
//!   index) and matches them;
//! * every SARIF `helpUri` of a built-in rule is one of those pages, and a team policy's
//!   `helpUri` is its own first reference;
//! * output shown in README.md and docs/*.md after an `<!-- output: tritonguard ARGS -->`
//!   marker is what `tritonguard ARGS` prints now;
//! * the README's rule table names exactly the built-in rules.
//!
//! `TRITONGUARD_UPDATE_DOCS=1 cargo test --test docs` rewrites what is generated.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot read its inputs fails"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tritonguard::docs::{REGENERATE, RULES_DIR, rules_reference};
use tritonguard::evaluate::policy::Catalogue;
use tritonguard::report::INFORMATION_URI;

mod support;

use support::cli::tritonguard_env;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var("TRITONGUARD_UPDATE_DOCS").is_ok_and(|v| v == "1")
}

fn catalogue() -> Catalogue {
    Catalogue::load(&[], true).unwrap_or_else(|_| panic!("built-in policies load"))
}

#[test]
fn the_rules_reference_matches_the_policies() {
    let generated = rules_reference(&catalogue());
    let dir = root().join(RULES_DIR);
    let mut problems = Vec::new();
    for (path, text) in &generated {
        let on_disk = std::fs::read_to_string(root().join(path)).unwrap_or_default();
        if on_disk != *text {
            problems.push(format!("{path} is stale"));
            if updating() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(root().join(path), text).unwrap();
            }
        }
    }
    let expected: BTreeSet<&str> = generated.iter().map(|(p, _)| p.as_str()).collect();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = format!("{RULES_DIR}/{}", entry.file_name().to_string_lossy());
        if !expected.contains(path.as_str()) {
            problems.push(format!("{path} documents no rule"));
            if updating() {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
    }
    assert!(
        problems.is_empty() || updating(),
        "{}\nregenerate with: {REGENERATE}",
        problems.join("\n")
    );
}

/// `helpUri` of every rule in the SARIF of a check with `args`.
fn help_uris(args: &[&str]) -> Vec<(String, Option<String>)> {
    let mut all = vec!["check", "examples/kubernetes", "--format", "sarif"];
    all.extend_from_slice(args);
    let run = tritonguard_env(&root(), &all, None, &[]);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["helpUri"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn every_builtin_help_uri_is_a_page_of_the_reference() {
    let catalogue = catalogue();
    let rules = help_uris(&[]);
    assert_eq!(rules.len(), catalogue.policies.len());
    let prefix = format!("{INFORMATION_URI}/blob/main/");
    for (id, uri) in rules {
        let uri = uri.unwrap_or_else(|| panic!("{id} has no helpUri"));
        let path = uri
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{id}: {uri} is not a file of this repository"));
        let page = std::fs::read_to_string(root().join(path))
            .unwrap_or_else(|e| panic!("{id}: {uri} does not resolve: {e}"));
        let name = &catalogue.get(&id).unwrap().spec.name;
        assert!(
            page.lines().any(|l| l == format!("# {id} {name}")),
            "{path} is not the page of {id}"
        );
    }
}

#[test]
fn a_team_policy_links_to_its_own_references() {
    let rules = help_uris(&["--policy-dir", "tests/fixtures/policies/team"]);
    let acme = rules.iter().find(|(id, _)| id == "ACME001").unwrap();
    assert_eq!(
        acme.1.as_deref(),
        Some("https://kubernetes.io/docs/concepts/containers/images/#image-names")
    );
    // Without references: no helpUri rather than a link to a page that does not exist.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        root().join("tests/fixtures/policies/team/ACME001-image-digest.yaml"),
    )
    .unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("references:") && !l.starts_with("  - https://"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("ACME001.yaml"), without).unwrap();
    let dir_text = dir.path().display().to_string();
    let rules = help_uris(&["--policy-dir", &dir_text]);
    let acme = rules.iter().find(|(id, _)| id == "ACME001").unwrap();
    assert_eq!(acme.1, None);
}

const MARKER: &str = "<!-- output: tritonguard ";

/// Durations differ from run to run.
fn normalized(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match line.rfind(" in ").filter(|_| line.ends_with(" ms")) {
            Some(at) => {
                out.push_str(&line[..at]);
                out.push_str(" in N ms");
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Checks (or rewrites) the output blocks of one markdown file; returns how many it has.
fn check_outputs(path: &Path, problems: &mut Vec<String>) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rewritten = String::new();
    let mut rest = text.as_str();
    let mut count = 0;
    while let Some(at) = rest.find(MARKER) {
        let (before, from_marker) = rest.split_at(at);
        rewritten.push_str(before);
        let marker_end = from_marker.find("-->").unwrap() + 3;
        let args_text = from_marker[MARKER.len()..marker_end - 3].trim();
        let after_marker = &from_marker[marker_end..];
        let open = after_marker
            .find("```text\n")
            .unwrap_or_else(|| panic!("{}: no ```text block after {args_text}", path.display()));
        let body_start = open + "```text\n".len();
        let body_end = body_start + after_marker[body_start..].find("```").unwrap();
        let shown = &after_marker[body_start..body_end];
        let args: Vec<&str> = args_text.split_whitespace().collect();
        let run = tritonguard_env(&root(), &args, None, &[("COLUMNS", "100")]);
        assert!(
            run.code == 0 || run.code == 1,
            "tritonguard {args_text}: {}",
            run.stderr
        );
        if normalized(shown) != normalized(&run.stdout) {
            problems.push(format!(
                "{}: the output of `tritonguard {args_text}` changed",
                path.display()
            ));
        }
        rewritten.push_str(&from_marker[..marker_end]);
        rewritten.push_str(&after_marker[..body_start]);
        rewritten.push_str(&run.stdout);
        rest = &after_marker[body_end..];
        count += 1;
    }
    rewritten.push_str(rest);
    if updating() && rewritten != text {
        std::fs::write(path, rewritten).unwrap();
    }
    count
}

#[test]
fn output_shown_in_the_docs_is_what_the_binary_prints() {
    let mut problems = Vec::new();
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "md") {
            files.push(entry.path());
        }
    }
    let readme_blocks = check_outputs(&files[0], &mut problems);
    assert!(
        readme_blocks >= 2,
        "the README shows the human and concise output"
    );
    for file in &files[1..] {
        check_outputs(file, &mut problems);
    }
    assert!(
        problems.is_empty() || updating(),
        "{}\nregenerate with: {REGENERATE}",
        problems.join("\n")
    );
}

/// Rule ids a text names, ranges (`TG201–TG209`) expanded.
fn mentioned_ids(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let number_at = |i: usize| -> Option<u32> {
        (text.get(i..i + 2) == Some("TG")
            && bytes.get(i + 2..i + 5)?.iter().all(u8::is_ascii_digit))
        .then(|| text[i + 2..i + 5].parse().ok())?
    };
    let mut ids = BTreeSet::new();
    let mut i = 0;
    while i < text.len() {
        if let Some(first) = number_at(i) {
            let after = i + 5;
            let dash = ["–", "-"]
                .iter()
                .find(|d| text[after..].starts_with(**d))
                .map(|d| d.len());
            match dash.and_then(|d| number_at(after + d).map(|last| (d, last))) {
                Some((d, last)) => {
                    for n in first..=last {
                        ids.insert(format!("TG{n:03}"));
                    }
                    i = after + d + 5;
                }
                None => {
                    ids.insert(format!("TG{first:03}"));
                    i = after;
                }
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    ids
}

#[test]
fn the_readme_names_every_rule_and_no_other() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    // The rule table and the repository audit section, not the example output.
    let prose: String = readme
        .split("```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join("\n");
    let mentioned = mentioned_ids(&prose);
    let catalogue = catalogue();
    let builtin: BTreeSet<String> = catalogue
        .policies
        .iter()
        .filter(|p| p.builtin)
        .map(|p| p.spec.id.clone())
        .collect();
    let missing: Vec<_> = builtin.difference(&mentioned).collect();
    let unknown: Vec<_> = mentioned.difference(&builtin).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "README misses {missing:?}, names unknown {unknown:?}"
    );
}
