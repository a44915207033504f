//! `fix:` in a policy file: the fix for each input format, so that the help line under a
//! finding says what to write in the file at hand (`cap_drop: [ALL]` in a compose file,
//! `--cap-drop ALL` on a `docker run` line, `capabilities: {drop: ["ALL"]}` in Kubernetes).
//!
//! ```yaml
//! fix:
//!   kubernetes: Add `capabilities: {drop: ["ALL"]}` to the container's `securityContext`.
//!   compose: Add `cap_drop: [ALL]` to the service.
//!   shell: Add `--cap-drop ALL` to the `docker run` line.
//! ```
//!
//! Keys are the values of `file.format`. A `kubernetes` entry also serves Helm output and
//! KServe resources, and a `shell` entry also serves Makefiles, unless they have their own.
//! A format without an entry gets the first paragraph of `remediation`.

use crate::tree::{Node, Value};

use super::spec::SpecError;

/// The formats a `fix:` entry may name, with how documentation names them.
pub const FORMATS: &[(&str, &str)] = &[
    ("kubernetes", "Kubernetes"),
    ("helm", "Helm output"),
    ("kserve", "KServe"),
    ("compose", "docker-compose"),
    ("shell", "`docker run` scripts"),
    ("makefile", "Makefiles"),
    ("dockerfile", "Dockerfile"),
    ("pbtxt", "config.pbtxt"),
];

/// The format whose entry serves `format` when it has none of its own.
fn fallback(format: &str) -> Option<&'static str> {
    match format {
        "helm" | "kserve" => Some("kubernetes"),
        "makefile" => Some("shell"),
        _ => None,
    }
}

/// The per-format fixes of one policy, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixes(pub Vec<(String, String)>);

impl Fixes {
    /// The fix written for `format`, or for the format it falls back to.
    pub fn for_format(&self, format: &str) -> Option<&str> {
        let find = |key: &str| {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        find(format).or_else(|| fallback(format).and_then(find))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A markdown list: `- Kubernetes: <fix>`, one item per format.
    pub fn markdown(&self) -> String {
        self.described()
            .map(|(name, text)| format!("- {name}: {text}\n"))
            .collect()
    }

    /// Each entry with the name documentation uses for its format.
    pub fn described(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(key, text)| {
            let name = FORMATS
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, name)| *name)
                .unwrap_or("other");
            (name, text.as_str())
        })
    }
}

/// Reads `fix:`: a map from format to markdown text (one paragraph, shown as the help line).
pub fn read(node: &Node) -> Result<Fixes, Vec<SpecError>> {
    let mut errors = Vec::new();
    let at = |n: &Node| n.label_span().or(node.span);
    if !matches!(node.value, Value::Map(_)) {
        if let Some(span) = at(node) {
            errors.push(SpecError {
                span,
                message: "'fix' must be a map from input format to its fix (kubernetes: ..., compose: ..., shell: ...)".to_string(),
            });
        }
        return Err(errors);
    }
    let mut fixes = Vec::new();
    for (key, value) in node.as_map() {
        let span = value.key_span.or(value.span).or(node.span);
        if !FORMATS.iter().any(|(k, _)| k == key) {
            let suggestion = FORMATS
                .iter()
                .map(|(k, _)| *k)
                .min_by_key(|k| strsim::levenshtein(k, key))
                .filter(|k| strsim::levenshtein(k, key) <= 3)
                .map(|k| format!(" (did you mean '{k}'?)"))
                .unwrap_or_default();
            let known: Vec<&str> = FORMATS.iter().map(|(k, _)| *k).collect();
            if let Some(span) = span {
                errors.push(SpecError {
                    span,
                    message: format!(
                        "unknown format '{key}' in 'fix'{suggestion}; formats: {}",
                        known.join(", ")
                    ),
                });
            }
            continue;
        }
        match value.as_scalar_text() {
            Some(text) if !value.is_null() && !text.trim().is_empty() => {
                fixes.push((key.clone(), one_line(&text)));
            }
            _ => {
                if let Some(span) = value.label_span() {
                    errors.push(SpecError {
                        span,
                        message: format!("the fix for '{key}' must be text"),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Fixes(fixes))
    } else {
        Err(errors)
    }
}

/// A YAML block scalar as one line, the way the help line shows it.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixes(pairs: &[(&str, &str)]) -> Fixes {
        Fixes(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn helm_and_kserve_use_the_kubernetes_fix_unless_they_have_their_own() {
        let f = fixes(&[("kubernetes", "k8s"), ("kserve", "ks"), ("shell", "sh")]);
        assert_eq!(f.for_format("helm"), Some("k8s"));
        assert_eq!(f.for_format("kserve"), Some("ks"));
        assert_eq!(f.for_format("makefile"), Some("sh"));
        assert_eq!(f.for_format("compose"), None);
    }

    fn load(extra: &str) -> Result<(), Vec<String>> {
        let text = format!(
            "id: ACME9\nname: x\nseverity: low\nsubject: launch\nsummary: s\ndescription: d\n\
             remediation: r\nassert: 'true'\n{extra}"
        );
        let mut catalogue = crate::evaluate::policy::Catalogue::empty();
        catalogue
            .add("p.yaml".into(), None, None, &text, false)
            .map_err(|errors| errors.into_iter().map(|e| e.message).collect())
    }

    #[test]
    fn a_misspelt_format_is_a_policy_error_with_a_suggestion() {
        assert_eq!(load("fix: {compose: Add it.}\n"), Ok(()));
        let errors = load("fix: {compse: Add it.}\n").unwrap_err();
        assert!(
            errors[0].starts_with("unknown format 'compse' in 'fix' (did you mean 'compose'?)"),
            "{errors:?}"
        );
        let errors = load("fix: Add it.\n").unwrap_err();
        assert!(errors[0].starts_with("'fix' must be a map"), "{errors:?}");
        let errors = load("secrets: config.parameters\n").unwrap_err();
        assert!(errors[0].contains("must start with 'launch'"), "{errors:?}");
    }

    #[test]
    fn block_text_becomes_one_line() {
        assert_eq!(
            one_line("Add `--cap-drop ALL`\n  to the line.\n"),
            "Add `--cap-drop ALL` to the line."
        );
    }
}
