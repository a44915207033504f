//! Probe verdicts as report findings: each endpoint becomes a textless source of the store
//! (its URL is the SARIF artifact, the request its logical location), so `check`'s
//! reporters, `--fail-on` and exit codes apply unchanged.

use std::collections::BTreeMap;
use std::time::Duration;

use super::facts::Facts;
use super::rules::{Place, Verdicts};
use crate::evaluate::native;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::finding::Finding;
use crate::load::discover::DiscoveryNote;
use crate::report::Stats as ScanStats;
use crate::source::{FileId, Remote, SourceFile, SourceStore, Span};

/// What a reporter needs from one probe.
pub struct ProbeReport {
    pub store: SourceStore,
    pub findings: Vec<Finding>,
    pub notes: Vec<DiscoveryNote>,
    pub stats: ScanStats,
}

/// Turns verdicts into findings of the enabled rules, in a deterministic order.
pub fn build(
    facts: &Facts,
    verdicts: &Verdicts,
    catalogue: &Catalogue,
    enabled: &dyn Fn(&Policy) -> bool,
    duration: Duration,
) -> ProbeReport {
    let mut store = SourceStore::new();
    let mut ids: BTreeMap<Place, FileId> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut sorted = verdicts.findings.clone();
    sorted.sort_by(|a, b| (a.rule, &a.place, &a.identity).cmp(&(b.rule, &b.place, &b.identity)));
    for f in &sorted {
        if !native::runs(catalogue, f.rule, enabled) {
            continue;
        }
        let file = *ids.entry(f.place.clone()).or_insert_with(|| {
            store.add(SourceFile::remote(Remote {
                url: f.place.url.clone(),
                endpoint: f.place.endpoint.clone(),
            }))
        });
        let identity = format!("{}\u{0}{}", f.place.endpoint, f.identity);
        if let Some(mut finding) = native::finding(
            catalogue,
            f.rule,
            Span::new(file, 0, 0),
            f.message.clone(),
            &identity,
            &store,
        ) {
            finding.primary.label = f.label.clone();
            finding.notes = f.notes.clone();
            findings.push(finding);
        }
    }
    let mut notes: Vec<DiscoveryNote> = facts
        .notes
        .iter()
        .chain(&verdicts.passed)
        .map(|message| DiscoveryNote {
            display: facts.url.clone(),
            message: message.clone(),
            error: false,
        })
        .collect();
    notes.dedup_by(|a, b| a.message == b.message);
    let stats = ScanStats {
        models: Some(facts.models.len()),
        endpoints: Some(facts.endpoints),
        duration,
        ..ScanStats::default()
    };
    ProbeReport {
        store,
        findings,
        notes,
        stats,
    }
}
