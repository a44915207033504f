//! What `--select`, `--ignore`, `--extend-select` and the config's `select`/`ignore` accept:
//! a rule id or name, an id prefix (`TG2`), or a category (`container`). A selector that
//! names nothing is an error with the closest id or name suggested.

use crate::evaluate::policy::{Catalogue, Policy};
use crate::model::subject::Subject;

/// The categories of built-in rules, by the hundreds of their id (docs/policies.md).
pub const CATEGORIES: &[(&str, &str)] = &[
    ("TG0", "housekeeping"),
    ("TG1", "server"),
    ("TG2", "container"),
    ("TG3", "exposure"),
    ("TG4", "version"),
    ("TG5", "model-config"),
    ("TG6", "repository"),
    ("TG7", "probe"),
    ("TG8", "reliability"),
];

/// The category of a built-in rule; team policies have none.
pub fn category(policy: &Policy) -> Option<&'static str> {
    if !policy.builtin {
        return None;
    }
    CATEGORIES
        .iter()
        .find(|(prefix, _)| policy.spec.id.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// The command a rule runs in, when it is not `check` (`repo audit`, `probe`).
pub fn other_command(policy: &Policy) -> Option<&'static str> {
    match policy.spec.subject {
        Subject::Repo => Some("repo audit"),
        Subject::Probe => Some("probe"),
        _ => None,
    }
}

/// The ids `written` selects, in catalogue order.
pub fn resolve(catalogue: &Catalogue, written: &str) -> Result<Vec<String>, String> {
    let written = written.trim();
    if let Some(policy) = catalogue.get(written) {
        return Ok(vec![policy.spec.id.clone()]);
    }
    let sorted = catalogue.sorted();
    let by_category: Vec<String> = sorted
        .iter()
        .filter(|p| category(p).is_some_and(|c| c.eq_ignore_ascii_case(written)))
        .map(|p| p.spec.id.clone())
        .collect();
    if !by_category.is_empty() {
        return Ok(by_category);
    }
    let upper = written.to_ascii_uppercase();
    let by_prefix: Vec<String> = sorted
        .iter()
        .filter(|p| !upper.is_empty() && p.spec.id.to_ascii_uppercase().starts_with(&upper))
        .map(|p| p.spec.id.clone())
        .collect();
    if !by_prefix.is_empty() {
        return Ok(by_prefix);
    }
    Err(unknown(catalogue, written))
}

/// Every id the selectors name, each once, in the order given.
pub fn resolve_all(catalogue: &Catalogue, written: &[String]) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for w in written {
        for id in resolve(catalogue, w)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

fn unknown(catalogue: &Catalogue, written: &str) -> String {
    let lower = written.to_ascii_lowercase();
    let candidates = catalogue
        .policies
        .iter()
        .flat_map(|p| [p.spec.id.as_str(), p.spec.name.as_str()])
        .chain(CATEGORIES.iter().map(|(_, c)| *c));
    let closest = candidates
        .map(|c| (strsim::levenshtein(&c.to_ascii_lowercase(), &lower), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, c)| (*d, *c));
    let hint = match closest {
        Some((_, c)) => format!("; did you mean {c}?"),
        None => String::new(),
    };
    format!(
        "unknown rule '{written}'{hint} (a selector is a rule id or name, an id prefix like TG2, or a category: {}; see `tritonguard rules`)",
        CATEGORIES
            .iter()
            .map(|(_, c)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    )
}
