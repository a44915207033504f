//! The rules reference in `docs/rules/`, generated from the policy files: one page per
//! built-in rule (the text `tritonguard explain` prints, which is also SARIF's rule help)
//! and an index. SARIF's `helpUri` of a built-in rule points at its page, so the pages must
//! exist and match the policies: `tests/docs.rs` regenerates them and fails when the
//! checked-in copy differs.

use crate::evaluate::policy::{Catalogue, Policy};

pub use crate::report::rule_docs::{RULES_DIR, rule_page_path};

/// The command that rewrites the generated documentation.
pub const REGENERATE: &str = "TRITONGUARD_UPDATE_DOCS=1 cargo test --test docs";

fn generated_from(source: &str) -> String {
    format!(
        "<!-- Generated from {source} by `{REGENERATE}`: edit the policy, not this file. -->\n\n"
    )
}

/// The policy file a built-in rule comes from (`policies/TG101-....yaml`).
fn policy_file(policy: &Policy) -> String {
    match policy.origin.strip_prefix("builtin:") {
        Some(name) => format!("policies/{name}"),
        None => policy.origin.clone(),
    }
}

/// One rule's page.
pub fn rule_page(policy: &Policy) -> String {
    let mut out = generated_from(&format!("`{}`", policy_file(policy)));
    out.push_str(&crate::report::rule_docs::markdown(policy));
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The index: every built-in rule with its severity, what it checks and its summary.
pub fn index(catalogue: &Catalogue) -> String {
    let rules: Vec<&Policy> = catalogue
        .sorted()
        .into_iter()
        .filter(|p| p.builtin)
        .collect();
    let mut out = generated_from("`policies/`");
    out.push_str("# Rules\n\n");
    out.push_str(&format!(
        "{} rules, one policy file each in `policies/`. `tritonguard explain ID` prints the \
         same page in the terminal, and `tritonguard rules` lists them.\n\n",
        rules.len()
    ));
    out.push_str("| id | name | severity | checks each | summary |\n");
    out.push_str("|---|---|---|---|---|\n");
    for p in rules {
        out.push_str(&format!(
            "| [{id}]({id}.md) | {} | {} | {} | {} |\n",
            p.spec.name,
            p.spec.severity,
            cell(crate::report::rule_docs::checks(p)),
            cell(&p.spec.summary),
            id = p.spec.id,
        ));
    }
    out
}

/// Every generated file: (path relative to the repository root, contents).
pub fn rules_reference(catalogue: &Catalogue) -> Vec<(String, String)> {
    let mut files = vec![(format!("{RULES_DIR}/README.md"), index(catalogue))];
    files.extend(
        catalogue
            .sorted()
            .into_iter()
            .filter(|p| p.builtin)
            .map(|p| (rule_page_path(&p.spec.id), rule_page(p))),
    );
    files
}
