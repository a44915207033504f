//! The pipeline of `tritonguard check`: discover → load → parse → extract → evaluate.
//! Filtering and reporting happen in the caller; this returns findings and what was scanned.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::discover::classify::FileKind;
use crate::discover::{self, Candidate, DiscoverOptions, DiscoveryNote, ReadProblem};
use crate::engine::evaluate::{EvalError, SubjectRecord, evaluate};
use crate::finding::{Finding, Location, fingerprint};
use crate::model::k8s::exposure::{ScanIndex, apply};
use crate::model::k8s::objects::{K8sObject, objects_from_document};
use crate::model::k8s::workload::{LaunchDraft, launches};
use crate::model::launch::Launch;
use crate::parse::yaml::{YamlStream, parse_stream};
use crate::policy::spec::Subject;
use crate::policy::{Catalogue, Policy};
use crate::source::{FileId, SourceFile, SourceStore, Span};
use crate::tree::{Node, ToNode};

/// What to scan.
pub struct ScanRequest {
    pub paths: Vec<PathBuf>,
    /// Files and directories read for context only: their objects take part in
    /// correlation (a Service in an unchanged file still exposes a changed Deployment), but
    /// only findings that involve a file of `paths` are reported.
    pub context: Vec<PathBuf>,
    /// Text read from standard input, with the name to show and classify it by.
    pub stdin: Option<(String, String)>,
    pub base: PathBuf,
    pub exclude: globset::GlobSet,
    pub max_file_bytes: u64,
}

impl ScanRequest {
    pub fn new(paths: Vec<PathBuf>) -> ScanRequest {
        ScanRequest {
            paths,
            context: Vec::new(),
            stdin: None,
            base: std::env::current_dir().unwrap_or_default(),
            exclude: globset::GlobSet::empty(),
            max_file_bytes: discover::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// A file's parse result.
pub enum Parsed {
    Yaml(YamlStream),
    Pbtxt(crate::parse::pbtxt::PbtxtDocument),
    /// Read but not understood (a file kind whose parser is not part of this scan).
    Unsupported,
    /// Could not be read as text.
    Unreadable(ReadProblem),
}

pub struct ParsedFile {
    pub id: FileId,
    pub kind: FileKind,
    pub parsed: Parsed,
    /// Read for context only (see [`ScanRequest::context`]).
    pub context: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ScanStats {
    pub files: usize,
    pub files_by_kind: Vec<(String, usize)>,
    pub skipped: usize,
    pub objects: usize,
    pub launches: usize,
    /// Model directories, for a model repository audit (the summary counts these instead
    /// of launches).
    pub models: Option<usize>,
    pub duration: Duration,
}

pub struct ScanResult {
    pub store: SourceStore,
    pub findings: Vec<Finding>,
    pub eval_errors: Vec<EvalError>,
    pub launches: Vec<Launch>,
    pub notes: Vec<DiscoveryNote>,
    pub stats: ScanStats,
}

/// Runs the scan. `enabled` decides which policies run (selection, configuration).
pub fn scan(
    catalogue: &Catalogue,
    request: &ScanRequest,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> ScanResult {
    let started = Instant::now();
    let discovery = discover::discover(
        &request.paths,
        &DiscoverOptions {
            base: request.base.clone(),
            exclude: request.exclude.clone(),
        },
    );
    let mut candidates = discovery.candidates.clone();
    if let Some((name, _)) = &request.stdin {
        candidates.push(Candidate {
            display: name.clone(),
            path: None,
            kind: discover::classify::classify_name(name).unwrap_or(FileKind::Yaml),
            explicit: true,
            context: false,
        });
    }
    if !request.context.is_empty() {
        let targets: std::collections::BTreeSet<PathBuf> = candidates
            .iter()
            .filter_map(|c| c.path.as_ref())
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let context = discover::discover(
            &request.context,
            &DiscoverOptions {
                base: request.base.clone(),
                exclude: request.exclude.clone(),
            },
        );
        for mut c in context.candidates {
            let known = c
                .path
                .as_ref()
                .and_then(|p| std::fs::canonicalize(p).ok())
                .is_some_and(|p| targets.contains(&p));
            // Only YAML carries cross-file facts (Services, routes, policies).
            if !known && c.kind == FileKind::Yaml {
                c.context = true;
                candidates.push(c);
            }
        }
    }
    let loaded: Vec<(SourceFile, ParsedFile)> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
            let text = match &c.path {
                Some(path) => discover::read_text(path, request.max_file_bytes),
                None => Ok(request
                    .stdin
                    .as_ref()
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default()),
            };
            match text {
                Ok(text) => {
                    let parsed = parse_file(id, c.kind, &text);
                    (
                        SourceFile::new(c.display.clone(), c.path.clone(), Arc::from(text)),
                        ParsedFile {
                            id,
                            kind: c.kind,
                            parsed,
                            context: c.context,
                        },
                    )
                }
                Err(problem) => {
                    // Keep what can be shown: the valid prefix of a non-UTF-8 file.
                    let shown = match (&problem, &c.path) {
                        (ReadProblem::NotUtf8 { .. }, Some(p)) => std::fs::read(p)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    (
                        SourceFile::new(c.display.clone(), c.path.clone(), Arc::from(shown)),
                        ParsedFile {
                            id,
                            kind: c.kind,
                            parsed: Parsed::Unreadable(problem),
                            context: c.context,
                        },
                    )
                }
            }
        })
        .collect();
    let mut store = SourceStore::new();
    let mut files = Vec::with_capacity(loaded.len());
    for (source, parsed) in loaded {
        store.add(source);
        files.push(parsed);
    }
    let mut result = extract_and_evaluate(catalogue, store, files, enabled);
    result.notes = discovery.notes;
    result.stats.skipped = discovery.skipped;
    result.stats.duration = started.elapsed();
    result
}

/// Scans in-memory files (policy tests, benchmarks): `(display name, text)` pairs.
pub fn scan_texts(
    catalogue: &Catalogue,
    texts: &[(String, String)],
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> ScanResult {
    let started = Instant::now();
    let mut store = SourceStore::new();
    let mut files = Vec::new();
    for (i, (name, text)) in texts.iter().enumerate() {
        let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
        let kind = discover::classify::classify_name(name.rsplit('/').next().unwrap_or(name))
            .unwrap_or(FileKind::Yaml);
        let parsed = parse_file(id, kind, text);
        store.add(SourceFile::new(
            name.clone(),
            None,
            Arc::from(text.as_str()),
        ));
        files.push(ParsedFile {
            id,
            kind,
            parsed,
            context: false,
        });
    }
    let mut result = extract_and_evaluate(catalogue, store, files, enabled);
    result.stats.duration = started.elapsed();
    result
}

fn parse_file(id: FileId, kind: FileKind, text: &str) -> Parsed {
    match kind {
        FileKind::Pbtxt => Parsed::Pbtxt(crate::parse::pbtxt::parse_model_config(id, text)),
        FileKind::Yaml => {
            Parsed::Yaml(parse_stream(id, strip_bom(text).1)).offset_by(bom_len(text))
        }
        _ => Parsed::Unsupported,
    }
}

fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') { 3 } else { 0 }
}

fn strip_bom(text: &str) -> (usize, &str) {
    let n = bom_len(text);
    (n, &text[n..])
}

impl Parsed {
    /// Shifts every span of a parse made after skipping a BOM back to file offsets.
    fn offset_by(self, n: usize) -> Parsed {
        if n == 0 {
            return self;
        }
        match self {
            Parsed::Yaml(mut stream) => {
                for doc in &mut stream.documents {
                    shift_node(&mut doc.root, n);
                    doc.extent.start += n;
                    doc.extent.end += n;
                }
                for e in &mut stream.errors {
                    e.span.start += n;
                    e.span.end += n;
                }
                Parsed::Yaml(stream)
            }
            other => other,
        }
    }
}

fn shift_node(node: &mut Node, n: usize) {
    for span in [&mut node.span, &mut node.key_span].into_iter().flatten() {
        span.start += n;
        span.end += n;
    }
    match &mut node.value {
        crate::tree::Value::List(items) => items.iter_mut().for_each(|i| shift_node(i, n)),
        crate::tree::Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| shift_node(v, n)),
        _ => {}
    }
}

/// A finding of a built-in rule (parse errors and the like).
pub fn builtin_finding(
    catalogue: &Catalogue,
    rule_id: &str,
    span: Span,
    message: String,
    identity: &str,
    store: &SourceStore,
) -> Option<Finding> {
    let policy = catalogue.get(rule_id)?;
    Some(Finding {
        rule_id: policy.spec.id.clone(),
        rule_name: policy.spec.name.clone(),
        severity: policy.spec.severity,
        message,
        primary: Location {
            span,
            label: String::new(),
        },
        related: Vec::new(),
        notes: Vec::new(),
        help: crate::engine::evaluate::first_paragraph(&policy.spec.remediation),
        fingerprint: fingerprint(&[&policy.spec.id, store.display(span.file), identity]),
        suppression: None,
    })
}

fn extract_and_evaluate(
    catalogue: &Catalogue,
    store: SourceStore,
    files: Vec<ParsedFile>,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> ScanResult {
    let mut findings: Vec<Finding> = Vec::new();
    let mut objects: Vec<K8sObject> = Vec::new();
    let mut configs: Vec<(FileId, Node)> = Vec::new();
    let mut other_launches: Vec<Launch> = Vec::new();
    let mut kinds: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let builtin_enabled = |id: &str| catalogue.get(id).is_some_and(enabled);

    for file in &files {
        let text = store
            .get(file.id)
            .map(|f| f.text.clone())
            .unwrap_or_else(|| Arc::from(""));
        let display = store.display(file.id).to_string();
        match &file.parsed {
            Parsed::Unreadable(problem) => {
                *kinds.entry("unreadable".to_string()).or_default() += 1;
                if builtin_enabled("TG000") {
                    let at = match problem {
                        ReadProblem::NotUtf8 { offset } => *offset,
                        _ => 0,
                    };
                    let span = Span::new(file.id, at, at);
                    findings.extend(builtin_finding(
                        catalogue,
                        "TG000",
                        span,
                        problem.to_string(),
                        &display,
                        &store,
                    ));
                }
            }
            Parsed::Pbtxt(doc) => {
                *kinds.entry("pbtxt".to_string()).or_default() += 1;
                if builtin_enabled("TG501") {
                    for error in &doc.errors {
                        let mut finding = builtin_finding(
                            catalogue,
                            "TG501",
                            error.span,
                            error.message.clone(),
                            &format!("{display}:{}", error.message),
                            &store,
                        );
                        if let (Some(f), Some(related)) = (finding.as_mut(), error.related) {
                            f.related.push(Location {
                                span: related,
                                label: "first set here".to_string(),
                            });
                        }
                        findings.extend(finding);
                    }
                }
                configs.push((file.id, doc.root.clone()));
            }
            Parsed::Unsupported => {
                *kinds.entry(file.kind.as_str().to_string()).or_default() += 1;
            }
            Parsed::Yaml(stream) => {
                let before = objects.len();
                let mut compose = false;
                for doc in &stream.documents {
                    if crate::model::compose::is_compose_document(&doc.root) {
                        compose = true;
                        let dotenv = store
                            .get(file.id)
                            .and_then(|f| f.path.as_ref())
                            .and_then(|p| p.parent())
                            .and_then(|dir| std::fs::read_to_string(dir.join(".env")).ok())
                            .map(|t| crate::model::compose::read_dotenv(&t))
                            .unwrap_or_default();
                        let no_defaults = |_: &str, _: Option<&Node>| {
                            crate::model::docker::ImageDefaults::default()
                        };
                        other_launches.extend(crate::model::compose::launches(
                            &doc.root,
                            &text,
                            &display,
                            &dotenv,
                            &no_defaults,
                            &store,
                        ));
                    } else {
                        objects.extend(objects_from_document(file.id, &text, doc));
                    }
                }
                let label = if compose {
                    "compose"
                } else if objects.len() > before {
                    "kubernetes"
                } else {
                    "yaml"
                };
                *kinds.entry(label.to_string()).or_default() += 1;
                if builtin_enabled("TG000") {
                    for error in &stream.errors {
                        findings.extend(builtin_finding(
                            catalogue,
                            "TG000",
                            error.span,
                            error.message.clone(),
                            &format!("{display}:{}", error.message),
                            &store,
                        ));
                    }
                }
            }
        }
    }

    let mut drafts: Vec<LaunchDraft> = Vec::new();
    for object in &objects {
        let source = store
            .get(object.file)
            .map(|f| f.text.clone())
            .unwrap_or_else(|| Arc::from(""));
        let format = if object.helm_template.is_some() {
            "helm"
        } else {
            "kubernetes"
        };
        drafts.extend(launches(
            object,
            &source,
            store.display(object.file),
            format,
        ));
    }
    let index = ScanIndex::new(&objects);
    let mut launch_list: Vec<(Launch, FileId, Option<Span>, Vec<String>)> = Vec::new();
    for mut draft in drafts {
        apply(&mut draft.launch, &draft.pod, &index, &store);
        let file = draft
            .launch
            .container
            .span
            .map(|s| s.file)
            .unwrap_or(FileId(0));
        let notes = helm_notes(draft.launch.source.helm_template.as_deref());
        launch_list.push((
            draft.launch.clone(),
            file,
            draft.launch.container.span,
            notes,
        ));
    }
    for launch in other_launches {
        let anchor = launch.container.span.or(launch.image.span);
        let file = anchor.map(|s| s.file).unwrap_or(FileId(0));
        launch_list.push((launch, file, anchor, Vec::new()));
    }

    let mut subjects: Vec<SubjectRecord> = Vec::new();
    for (launch, file, anchor, notes) in &launch_list {
        subjects.push(SubjectRecord {
            kind: Subject::Launch,
            root: launch.to_node(),
            file: *file,
            identity: launch.id.clone(),
            anchor: *anchor,
            notes: notes.clone(),
            file_value: file_value(store.display(*file), &launch.source.format),
            extra: Vec::new(),
        });
    }
    for object in &objects {
        let format = if object.helm_template.is_some() {
            "helm"
        } else {
            "kubernetes"
        };
        subjects.push(SubjectRecord {
            kind: Subject::K8s,
            root: object.node.clone(),
            file: object.file,
            identity: object.identity(),
            anchor: object.anchor(),
            notes: helm_notes(object.helm_template.as_deref()),
            file_value: file_value(store.display(object.file), format),
            extra: Vec::new(),
        });
    }
    subjects.extend(model_config_subjects(&configs, &store));
    let all_objects = Node::list(objects.iter().map(|o| o.node.clone()).collect());
    let evaluation = evaluate(catalogue, &subjects, &all_objects, &store, enabled);
    findings.extend(evaluation.findings);
    let context_files: std::collections::BTreeSet<FileId> =
        files.iter().filter(|f| f.context).map(|f| f.id).collect();
    if !context_files.is_empty() {
        findings.retain(|f| {
            !context_files.contains(&f.primary.span.file)
                || f.related
                    .iter()
                    .any(|r| !context_files.contains(&r.span.file))
        });
    }
    findings.sort_by_key(Finding::sort_key);
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.primary == b.primary);

    let stats = ScanStats {
        files: files.iter().filter(|f| !f.context).count(),
        files_by_kind: kinds.into_iter().collect(),
        skipped: 0,
        objects: objects.len(),
        launches: launch_list.len(),
        models: None,
        duration: Duration::default(),
    };
    ScanResult {
        store,
        findings,
        eval_errors: evaluation.errors,
        launches: launch_list.into_iter().map(|(l, ..)| l).collect(),
        notes: Vec::new(),
        stats,
    }
}

/// One subject per config.pbtxt, with the `model` variable: the model's directory name, the
/// config's path, and the other models of the same repository found in the scan.
fn model_config_subjects(configs: &[(FileId, Node)], store: &SourceStore) -> Vec<SubjectRecord> {
    // `<repo>/<model>/config.pbtxt`, or `<repo>/<model>/configs/<name>.pbtxt`.
    let model_dir = |display: &str| -> (String, String) {
        let parts: Vec<&str> = display.split('/').collect();
        let n = parts.len();
        let (model, repo_end) = if n >= 3 && parts[n - 2] == "configs" {
            (parts[n - 3], n - 3)
        } else if n >= 2 {
            (parts[n - 2], n - 2)
        } else {
            ("", 0)
        };
        (model.to_string(), parts[..repo_end].join("/"))
    };
    let located: Vec<(FileId, &Node, String, String)> = configs
        .iter()
        .map(|(id, root)| {
            let (model, repo) = model_dir(store.display(*id));
            (*id, root, model, repo)
        })
        .collect();
    located
        .iter()
        .map(|(id, root, model, repo)| {
            let mut siblings: Vec<String> = located
                .iter()
                .filter(|(_, _, m, r)| r == repo && !m.is_empty())
                .map(|(_, _, m, _)| m.clone())
                .collect();
            siblings.sort();
            siblings.dedup();
            let display = store.display(*id).to_string();
            let custom = display.contains("/configs/");
            let model_value = Node::map(vec![
                ("name".to_string(), Node::str(model.clone())),
                ("config_path".to_string(), Node::str(display.clone())),
                ("custom_config".to_string(), custom.to_node()),
                (
                    "repository_models".to_string(),
                    Node::list(siblings.into_iter().map(Node::str).collect()),
                ),
            ]);
            SubjectRecord {
                kind: Subject::Pbtxt,
                root: (*root).clone(),
                file: *id,
                identity: display.clone(),
                anchor: root
                    .get("name")
                    .and_then(Node::label_span)
                    .or_else(|| root.as_map().first().and_then(|(_, v)| v.label_span()))
                    .or(Some(Span::new(*id, 0, 0))),
                notes: Vec::new(),
                file_value: file_value(&display, "pbtxt"),
                extra: vec![("model", model_value)],
            }
        })
        .collect()
}

fn helm_notes(template: Option<&str>) -> Vec<String> {
    template
        .map(|t| vec![format!("Helm template {t}")])
        .unwrap_or_default()
}

fn file_value(path: &str, format: &str) -> Node {
    Node::map(vec![
        ("path".to_string(), Node::str(path)),
        ("format".to_string(), Node::str(format)),
    ])
}
