//! Baselines: the fingerprints of the findings a repository already has, so a team can adopt
//! tritonguard on an old repository and fail only on new findings. Fingerprints name rule,
//! file and object, not lines, so edits elsewhere do not break the baseline.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::source::SourceStore;

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    tool: String,
    version: u32,
    /// For people reading the file; only `fingerprint` is used.
    findings: Vec<BaselineEntry>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct BaselineEntry {
    fingerprint: String,
    rule: String,
    file: String,
    message: String,
}

/// The baseline file's text for these findings (sorted, so it diffs well).
pub fn render(findings: &[Finding], store: &SourceStore) -> String {
    let mut entries: Vec<BaselineEntry> = findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .map(|f| BaselineEntry {
            fingerprint: f.fingerprint.clone(),
            rule: f.rule_id.clone(),
            file: store.display(f.primary.span.file).to_string(),
            message: f.message.clone(),
        })
        .collect();
    entries.sort();
    entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    let file = BaselineFile {
        tool: "tritonguard".to_string(),
        version: 1,
        findings: entries,
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// The fingerprints of a baseline file.
pub fn read(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    let file: BaselineFile = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a tritonguard baseline: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if file.tool != "tritonguard" || file.version != 1 {
        return Err(format!(
            "{}: not a tritonguard baseline (version 1)",
            path.display()
        ));
    }
    Ok(file.findings.into_iter().map(|e| e.fingerprint).collect())
}
