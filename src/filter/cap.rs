//! At most [`MAX_PER_RULE_AND_FILE`] findings of one rule in one file: a generated manifest
//! with 20,000 Deployments gives the first hundred of each rule and one finding that stands
//! for the rest, not a 20,000-item report. The report's counts still say the true total (a
//! summary finding counts for every finding it stands for, see [`Finding::folded`]).

use std::collections::HashMap;

use crate::finding::{Finding, fingerprint};
use crate::source::{FileId, SourceStore};

/// Enough to see every distinct problem of a rule in a file (a file's findings of one rule
/// are mostly the same problem on many objects), few enough that a report of a generated
/// file stays readable and fast to render.
pub const MAX_PER_RULE_AND_FILE: usize = 100;

/// Keeps the first `limit` unsuppressed findings of each rule in each file, in report order
/// (`findings` is sorted), and replaces the others by one finding of the rule at the first
/// one left out. Suppressed findings are not counted and all kept.
pub fn cap(findings: &mut Vec<Finding>, limit: usize, store: &SourceStore) {
    let mut seen: HashMap<(&str, FileId), usize> = HashMap::new();
    let mut over: Vec<usize> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.suppression.is_some() {
            continue;
        }
        let n = seen
            .entry((f.rule_id.as_str(), f.primary.span.file))
            .or_default();
        *n += 1 + f.folded;
        if *n > limit {
            over.push(i);
        }
    }
    if over.is_empty() {
        return;
    }
    // (rule, file) → the summary finding, built from the first finding left out.
    let mut summaries: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, FileId), usize> = HashMap::new();
    for &i in &over {
        let Some(f) = findings.get(i) else {
            continue;
        };
        let key = (f.rule_id.clone(), f.primary.span.file);
        match index.get(&key) {
            Some(&s) => {
                if let Some(summary) = summaries.get_mut(s) {
                    summary.folded += 1 + f.folded;
                }
            }
            None => {
                index.insert(key, summaries.len());
                let mut summary = f.clone();
                summary.folded = f.folded;
                summaries.push(summary);
            }
        }
    }
    let dropped: std::collections::HashSet<usize> = over.into_iter().collect();
    let mut i = 0;
    findings.retain(|_| {
        let keep = !dropped.contains(&i);
        i += 1;
        keep
    });
    for mut summary in summaries {
        let count = summary.folded + 1;
        let file = store.display(summary.primary.span.file).to_string();
        summary.message = format!(
            "{count} more finding{} of {} in this file {} not shown: a report keeps the first {limit} of a rule in a file",
            if count == 1 { "" } else { "s" },
            summary.rule_id,
            if count == 1 { "is" } else { "are" },
        );
        summary.primary.label = format!("the first of {count} not shown");
        summary.related.clear();
        summary.notes.clear();
        summary.help = Some(
            "fix the findings shown and run again: the next ones are reported as these go away"
                .to_string(),
        );
        summary.fingerprint = fingerprint(&[&summary.rule_id, &file, "more findings not shown"]);
        findings.push(summary);
    }
    findings.sort_by_key(Finding::sort_key);
}
