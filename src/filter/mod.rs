//! Stage 5, filter: what the evaluate stage found is narrowed to what counts — findings that
//! only concern context files are dropped, inline comments, annotations, the configuration's
//! ignores and the baseline mark findings suppressed (and the suppressions themselves are
//! checked: TG002, TG003), and a finding reported twice (the same rule, place and message,
//! from a file shared by two deployment units) is kept once, and at most a hundred findings
//! of a rule in a file are kept, the rest summed up in one ([`cap`]).

pub mod baseline;
pub mod cap;
pub mod config;
pub mod date;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet};

use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::registry::Rule;
use crate::finding::Finding;
use crate::source::{FileId, SourceStore};
use config::Config;
use suppress::{AnnotationIgnore, FileComments};

/// What the filter stage reads besides the findings.
pub struct FilterInput<'a> {
    pub catalogue: &'a Catalogue,
    pub store: &'a SourceStore,
    /// Comments of the files whose inline ignores count.
    pub comments: &'a BTreeMap<FileId, FileComments>,
    pub annotations: &'a [AnnotationIgnore],
    /// Files read for context only.
    pub context_files: &'a BTreeSet<FileId>,
    pub enabled: &'a (dyn Fn(&Policy) -> bool + Sync),
}

/// How the user asked to filter.
pub struct FilterOptions<'a> {
    pub config: &'a Config,
    /// The config file's name, for justifications.
    pub config_name: String,
    /// Inline comments and annotations count.
    pub inline: bool,
    pub baseline: Option<(&'a BTreeSet<String>, String)>,
    /// The config of each file, when configs resolve per file (no `--config`).
    pub per_file: Option<&'a config::PerFile>,
    /// The findings of one rule kept in one file (see [`cap`]); `None` keeps all, as a
    /// baseline being written must.
    pub cap: Option<usize>,
}

impl FilterOptions<'_> {
    /// No configuration, inline ignores on: what policy tests use.
    pub fn defaults(config: &Config) -> FilterOptions<'_> {
        FilterOptions {
            config,
            config_name: ".tritonguard.yaml".to_string(),
            inline: true,
            baseline: None,
            per_file: None,
            cap: Some(cap::MAX_PER_RULE_AND_FILE),
        }
    }
}

/// Applies the stage to `findings`, in place, and sorts them in report order.
pub fn filter(findings: &mut Vec<Finding>, input: &FilterInput<'_>, options: &FilterOptions<'_>) {
    if !input.context_files.is_empty() {
        let context = input.context_files;
        // Keep what involves a checked file: where it points, what it relates, or the object
        // it is about (a Service in a context file exposing a checked Deployment).
        findings.retain(|f| {
            !context.contains(&f.primary.span.file)
                || f.related.iter().any(|r| !context.contains(&r.span.file))
                || f.subject_extent.is_some_and(|e| !context.contains(&e.file))
        });
        // A finding kept for a checked file points into it too: a reviewer of the staged
        // Deployment sees where the Service in an unchanged file exposes it from.
        for f in findings.iter_mut() {
            let points_into_checked = !context.contains(&f.primary.span.file)
                || f.related.iter().any(|r| !context.contains(&r.span.file));
            if points_into_checked {
                continue;
            }
            if let Some(anchor) = f.subject_anchor.filter(|a| !context.contains(&a.file)) {
                let what = input
                    .catalogue
                    .get(&f.rule_id)
                    .map_or("subject", |p| p.spec.subject.described());
                f.related.push(crate::finding::Location {
                    span: anchor,
                    label: format!("the {what} this finding is about"),
                });
            }
        }
    }
    if let Some(per_file) = options.per_file {
        // A finding counts under the config of the file it is on.
        findings.retain(|f| {
            let file = f.primary.span.file;
            !per_file.excluded(file) && per_file.rule_on(file, &f.rule_id)
        });
    }
    let scoped_ignores = options.per_file.map(config::PerFile::ignores);
    let catalogue = input.catalogue;
    let enabled = input.enabled;
    let per_file = options.per_file;
    let suppression = suppress::SuppressionInput {
        catalogue,
        store: input.store,
        comments: input.comments,
        annotations: input.annotations,
        config_ignores: scoped_ignores.as_deref().unwrap_or(&options.config.ignores),
        config_name: options.config_name.clone(),
        inline: options.inline,
        require_reason: options.config.require_reason,
        baseline: options
            .baseline
            .as_ref()
            .map(|(set, name)| (*set, name.clone())),
        today: suppress::today(),
        ran: &|id: &str, file: FileId| {
            catalogue.get(id).is_some_and(enabled) && per_file.is_none_or(|p| p.rule_on(file, id))
        },
    };
    let meta = suppress::apply(findings, &suppression);
    findings.extend(
        meta.into_iter()
            .filter(|f| catalogue.get(&f.rule_id).is_some_and(enabled)),
    );
    // A suppression rule's own findings can be suppressed by the config or the baseline.
    let about_suppressions =
        |f: &Finding| Rule::by_id(&f.rule_id).is_some_and(Rule::is_about_suppressions);
    let metas: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| about_suppressions(f) && f.suppression.is_none())
        .map(|(i, _)| i)
        .collect();
    if !metas.is_empty() {
        let mut again: Vec<Finding> = metas
            .iter()
            .filter_map(|i| findings.get(*i).cloned())
            .collect();
        let without_inline = suppress::SuppressionInput {
            inline: false,
            ..suppression
        };
        suppress::apply(&mut again, &without_inline);
        for (i, f) in metas.into_iter().zip(again) {
            if let Some(slot) = findings.get_mut(i) {
                *slot = f;
            }
        }
    }
    findings.sort_by_key(Finding::sort_key);
    // One finding per rule, location and message; the one kept says every context it came
    // from (two Helm renders of one values line each add their render note).
    findings.dedup_by(|later, kept| {
        let same = later.rule_id == kept.rule_id
            && later.primary.span == kept.primary.span
            && later.message == kept.message;
        if same {
            for note in std::mem::take(&mut later.notes) {
                if !kept.notes.contains(&note) {
                    kept.notes.push(note);
                }
            }
        }
        same
    });
    if let Some(limit) = options.cap {
        cap::cap(findings, limit, input.store);
    }
}
