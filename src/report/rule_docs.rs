//! A rule's documentation in markdown sections, from its policy file: what `tritonguard
//! explain` prints, SARIF's rule help, and the pages of the generated rules reference.

use crate::evaluate::policy::Policy;
use crate::evaluate::policy::spec::{Subject, TestInput};

/// The folder of the reference, relative to the repository root.
pub const RULES_DIR: &str = "docs/rules";

/// The page of a built-in rule, relative to the repository root.
pub fn rule_page_path(rule_id: &str) -> String {
    format!("{RULES_DIR}/{rule_id}.md")
}

/// The first inline test input with (bad) or without (good) an expected finding: what to
/// say before it, the example itself, and its code fence language.
fn example(policy: &Policy, bad: bool) -> Option<(String, String, &'static str)> {
    policy.spec.tests.get().iter().find_map(|t| {
        let expects_this = t.expect.iter().any(|e| e.id == policy.spec.id);
        if expects_this != bad {
            return None;
        }
        match &t.input {
            TestInput::Inline(files) => files.first().map(|(path, text)| {
                // A case's own policies (the evaluation-error rule's) come first.
                let policies: String = t
                    .policies
                    .iter()
                    .map(|(name, text)| {
                        format!(
                            "The policy `{name}`:\n\n```yaml\n{}\n```\n\n",
                            text.trim_end()
                        )
                    })
                    .collect();
                let intro = if policies.is_empty() {
                    format!("`{path}`:")
                } else {
                    format!("{policies}checking `{path}`:")
                };
                (intro, text.clone(), fence(path))
            }),
            TestInput::Repo(fixture) => {
                Some(("A model repository:".to_string(), fixture.listing(), "text"))
            }
            TestInput::Probe(fixture) => Some((
                "A server that answers:".to_string(),
                fixture.listing(),
                "text",
            )),
            TestInput::File(_) => None,
        }
    })
}

fn is_repository_rule(policy: &Policy) -> bool {
    policy.spec.subject == Subject::Repo
}

fn is_probe_rule(policy: &Policy) -> bool {
    policy.spec.subject == Subject::Probe
}

fn fence(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        "yaml"
    } else if lower.ends_with(".sh") {
        "sh"
    } else if lower.contains("dockerfile") {
        "dockerfile"
    } else {
        "text"
    }
}

/// What a rule checks, in words: `Triton launch`, `model configuration`, ...
pub fn checks(policy: &Policy) -> &'static str {
    policy.spec.subject.described()
}

/// The rule's documentation in markdown sections.
pub fn markdown(policy: &Policy) -> String {
    let spec = &policy.spec;
    let mut out = format!("# {} {}\n\n", spec.id, spec.name);
    out.push_str(&format!(
        "**{}** · severity {} · checks each {}\n\n",
        spec.summary,
        spec.severity,
        checks(policy)
    ));
    out.push_str("## Why it matters\n\n");
    out.push_str(spec.description.trim());
    out.push_str("\n\n");
    if let Some((intro, text, fence)) = example(policy, true) {
        out.push_str(&format!(
            "## Bad example\n\n{intro}\n\n```{fence}\n{}\n```\n\n",
            text.trim_end()
        ));
    }
    if let Some((intro, text, fence)) = example(policy, false) {
        out.push_str(&format!(
            "## Good example\n\n{intro}\n\n```{fence}\n{}\n```\n\n",
            text.trim_end()
        ));
    }
    out.push_str("## How to fix\n\n");
    out.push_str(spec.remediation.trim());
    if !spec.fix.is_empty() {
        out.push_str("\n\nIn each format:\n\n");
        out.push_str(spec.fix.markdown().trim_end());
    }
    out.push_str("\n\n## How to suppress\n\n");
    if is_probe_rule(policy) {
        out.push_str(&format!(
            "A running server has no place for a comment: skip the rule with `--ignore {id}` \
             (`--select` runs only the rules named).\n",
            id = spec.id
        ));
    } else if is_repository_rule(policy) {
        out.push_str(&format!(
            "Model files have no place for a comment: disable the rule in `.tritonguard.yaml`, \
             or skip it with `--ignore {id}` (`--select` runs only the rules named).\n",
            id = spec.id
        ));
    } else {
        out.push_str(&format!(
            "If this is intended, add `# tritonguard:ignore[{id}] <reason>` on the line above the \
         finding (or the Kubernetes annotation `tritonguard.dev/ignore: \"{id}\"`), or disable \
         the rule in `.tritonguard.yaml`. Run only some rules with `--select`, skip some with \
         `--ignore {id}`.\n",
            id = spec.id
        ));
    }
    if !spec.references.is_empty() {
        out.push_str("\n## References\n\n");
        for r in &spec.references {
            out.push_str(&format!("- {r}\n"));
        }
    }
    out
}
