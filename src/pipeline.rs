//! The one pipeline every command runs: load → extract → correlate → evaluate → filter, then
//! a [`crate::report::Report`] for the sinks. Commands differ only in what they load (paths
//! and stdin for `check` and `inspect`, in-memory texts for `test`, a model repository for
//! `repo audit`) and which rules they enable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::correlate::{self, Correlated};
use crate::evaluate::cel::EvalError;
use crate::evaluate::policy::spec::Subject;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::{self, Evaluated};
use crate::extract::{self, Extracted};
use crate::filter::suppress::{AnnotationIgnore, FileComments, annotation_ignore};
use crate::filter::{self, FilterInput, FilterOptions};
use crate::finding::Finding;
use crate::load::discover::DiscoveryNote;
use crate::load::{self, Loaded, LoadedFile};
use crate::report::{Stage, Stats};
use crate::source::{FileId, SourceStore};

/// A pipeline over one catalogue with the rules `enabled` selects.
pub struct Pipeline<'a> {
    pub catalogue: &'a Catalogue,
    pub enabled: &'a (dyn Fn(&Policy) -> bool + Sync),
    /// Keep the correlated subjects in the outcome (`inspect` prints them).
    pub keep_subjects: bool,
    /// Custom resource kinds that hold pods (`workloads:` of `.tritonguard.yaml`).
    pub workloads: Vec<crate::extract::workload_kinds::WorkloadKind>,
}

/// What a run produced, up to and including the filter stage.
pub struct Outcome {
    pub store: SourceStore,
    pub files: Vec<LoadedFile>,
    /// The correlated subjects, when the pipeline keeps them.
    pub correlated: Option<Correlated>,
    /// The comments of the checked files, for inline ignores.
    pub comments: BTreeMap<FileId, FileComments>,
    /// `tritonguard.dev/ignore` annotations of Kubernetes objects.
    pub annotations: Vec<AnnotationIgnore>,
    pub findings: Vec<Finding>,
    /// Evaluation errors not reported as findings (`policy-evaluation-error` is not
    /// enabled): the reports print them as warnings.
    pub eval_errors: Vec<EvalError>,
    /// Every evaluation error of the run, reported as a finding or not.
    pub policy_errors: Vec<EvalError>,
    pub notes: Vec<DiscoveryNote>,
    pub stats: Stats,
}

impl Outcome {
    /// Files read for context only.
    pub fn context_files(&self) -> BTreeSet<FileId> {
        self.files
            .iter()
            .filter(|f| f.context)
            .map(|f| f.id)
            .collect()
    }

    /// Each file's canonical path (indexed by `FileId`), for reports that name files by
    /// absolute URI.
    pub fn real_paths(&self) -> Vec<Option<std::path::PathBuf>> {
        self.store
            .files()
            .map(|(_, f)| f.path.as_ref().and_then(|p| std::fs::canonicalize(p).ok()))
            .collect()
    }

    /// An outcome with nothing in it, for pipelines that add their own findings.
    pub fn empty() -> Outcome {
        Outcome {
            store: SourceStore::new(),
            files: Vec::new(),
            correlated: None,
            comments: BTreeMap::new(),
            annotations: Vec::new(),
            findings: Vec::new(),
            eval_errors: Vec::new(),
            policy_errors: Vec::new(),
            notes: Vec::new(),
            stats: Stats::default(),
        }
    }
}

impl<'a> Pipeline<'a> {
    pub fn new(
        catalogue: &'a Catalogue,
        enabled: &'a (dyn Fn(&Policy) -> bool + Sync),
    ) -> Pipeline<'a> {
        Pipeline {
            catalogue,
            enabled,
            keep_subjects: false,
            workloads: Vec::new(),
        }
    }

    /// Loads what `request` names and runs the stages up to evaluation.
    pub fn scan(&self, request: &load::Request) -> Outcome {
        let started = Instant::now();
        let loaded = load::load(request);
        self.run(loaded, started)
    }

    /// Runs the stages on in-memory `(display name, text)` pairs.
    pub fn scan_texts(&self, texts: &[(String, String)]) -> Outcome {
        let started = Instant::now();
        self.run(load::load_texts(texts), started)
    }

    fn run(&self, loaded: Loaded, started: Instant) -> Outcome {
        let mut stages = Vec::new();
        let mut lap = Lap::new(started);
        lap.record(&mut stages, "load");
        let mut extracted = extract::extract(&loaded, &self.workloads);
        lap.record(&mut stages, "extract");
        let enabled = || self.catalogue.policies.iter().filter(|p| (self.enabled)(p));
        let options = correlate::Options {
            bind_objects: enabled().any(|p| p.uses_objects),
            object_subjects: self.keep_subjects
                || enabled().any(|p| p.spec.subject == Subject::K8s),
            launch_roots: self.keep_subjects,
        };
        let correlated = correlate::correlate(&loaded, &mut extracted, options);
        lap.record(&mut stages, "correlate");
        let Evaluated {
            mut findings,
            errors,
        } = evaluate::evaluate(
            self.catalogue,
            &loaded.store,
            &extracted,
            &correlated,
            self.enabled,
        );
        let stats = stats(&loaded, &extracted, &correlated);
        let comments = comments_of(&loaded, &extracted);
        let annotations = extracted
            .iter()
            .flat_map(|e| e.objects.iter())
            .filter_map(annotation_ignore)
            .collect();
        let mut store = loaded.store;
        let policy_errors = errors.clone();
        let (error_findings, errors) =
            evaluate::eval_errors::findings(self.catalogue, &mut store, errors, self.enabled);
        findings.extend(error_findings);
        lap.record(&mut stages, "evaluate");
        let correlated = if self.keep_subjects {
            Some(correlated)
        } else {
            drop_aside((extracted, correlated));
            None
        };
        Outcome {
            files: loaded.files,
            notes: loaded.notes,
            store,
            correlated,
            comments,
            annotations,
            findings,
            eval_errors: errors,
            policy_errors,
            stats: Stats {
                duration: started.elapsed(),
                stages,
                ..stats
            },
        }
    }

    /// The filter stage.
    pub fn filter(&self, outcome: &mut Outcome, options: &FilterOptions<'_>) {
        let context = outcome.context_files();
        let input = FilterInput {
            catalogue: self.catalogue,
            store: &outcome.store,
            comments: &outcome.comments,
            annotations: &outcome.annotations,
            context_files: &context,
            enabled: self.enabled,
        };
        let started = Instant::now();
        filter::filter(&mut outcome.findings, &input, options);
        outcome.stats.stages.push(Stage {
            name: "filter",
            time: started.elapsed(),
            peak_rss: peak_rss(),
        });
    }
}

/// Frees `value` on another thread: the trees of a large scan are millions of small
/// allocations (half a second for 10,000 files), and the reports need none of them.
fn drop_aside<T: Send + 'static>(value: T) {
    // Detached: the process may end before it finishes. Without a thread to spare, `value`
    // is freed here with the closure, as it would have been.
    let _detached = std::thread::Builder::new()
        .name("drop".to_string())
        .spawn(move || drop(value));
}

/// Measures consecutive stages: each record is the time since the previous one.
struct Lap(Instant);

impl Lap {
    fn new(started: Instant) -> Lap {
        Lap(started)
    }

    fn record(&mut self, stages: &mut Vec<Stage>, name: &'static str) {
        let now = Instant::now();
        stages.push(Stage {
            name,
            time: now - self.0,
            peak_rss: peak_rss(),
        });
        self.0 = now;
    }
}

/// The process's peak resident set so far (`VmHWM`), on Linux.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn stats(loaded: &Loaded, extracted: &[Extracted], correlated: &Correlated) -> Stats {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in extracted {
        if loaded.file(e.file).is_some_and(|f| !f.context) {
            *kinds.entry(e.label.to_string()).or_default() += 1;
        }
    }
    let (objects, launches) = correlated.counts(loaded, extracted);
    let model_configs = extracted
        .iter()
        .filter(|e| e.model_config.is_some() && loaded.file(e.file).is_some_and(|f| !f.context))
        .count();
    Stats {
        files: loaded.files.iter().filter(|f| !f.context).count(),
        files_by_kind: kinds.into_iter().collect(),
        skipped: loaded.skipped,
        objects,
        launches,
        model_configs,
        ..Stats::default()
    }
}

/// The comments of the checked files (a context file's ignores do not apply to it: its
/// findings are not reported).
fn comments_of(loaded: &Loaded, extracted: &[Extracted]) -> BTreeMap<FileId, FileComments> {
    extracted
        .iter()
        .filter(|e| loaded.file(e.file).is_some_and(|f| !f.context))
        .filter(|e| !e.comments.is_empty())
        .map(|e| {
            (
                e.file,
                FileComments {
                    comments: e.comments.clone(),
                    documents: e.documents.clone(),
                },
            )
        })
        .collect()
}

/// Loads and runs the stages up to evaluation, with the rules `enabled` selects.
pub fn scan(
    catalogue: &Catalogue,
    request: &load::Request,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Outcome {
    Pipeline::new(catalogue, enabled).scan(request)
}

/// Runs the stages up to evaluation on in-memory `(display name, text)` pairs.
pub fn scan_texts(
    catalogue: &Catalogue,
    texts: &[(String, String)],
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Outcome {
    Pipeline::new(catalogue, enabled).scan_texts(texts)
}
