//! The pipeline of `tritonguard check`: discover → load → parse → extract → evaluate.
//! Filtering and reporting happen in the caller; this returns findings and what was scanned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::correlate::exposure::{ScanIndex, apply};
use crate::evaluate::cel::{EvalError, SubjectRecord, Variables, evaluate};
use crate::evaluate::policy::spec::Subject;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::extract::workload::{LaunchDraft, launches_of_kinds};
use crate::finding::{Finding, Location};
use crate::load::classify::FileKind;
use crate::load::discover::{self, Candidate, DiscoverOptions, DiscoveryNote, ReadProblem};
use crate::model::k8s::{K8sObject, objects_from_document};
use crate::model::launch::Launch;
use crate::parse::yaml::{YamlStream, parse_stream};
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
    /// Texts that are not files on disk (Helm renders), scanned after stdin.
    pub sources: Vec<MemorySource>,
    /// Custom resource kinds that hold pods, from `.tritonguard.yaml` (`workloads:`).
    pub workloads: Vec<crate::extract::workload_kinds::WorkloadKind>,
}

/// A text to scan that no file on disk holds, such as the output of `helm template`.
#[derive(Clone, Debug)]
pub struct MemorySource {
    /// The name reports show (and fingerprints use), unique in the scan.
    pub display: String,
    pub text: String,
    pub kind: FileKind,
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
            sources: Vec::new(),
            workloads: Vec::new(),
        }
    }
}

/// A file's parse result.
pub enum Parsed {
    Yaml(YamlStream),
    Dockerfile(crate::parse::dockerfile::Dockerfile),
    /// A shell script or a Makefile: its container runs and image builds.
    Shell(crate::parse::shell::ShellScan),
    Pbtxt(crate::parse::pbtxt::PbtxtDocument),
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
    /// Endpoints asked, for a `probe` of a running server (the summary counts these instead
    /// of files and launches).
    pub endpoints: Option<usize>,
    pub duration: Duration,
}

pub struct ScanResult {
    pub store: SourceStore,
    /// What the policies looked at (for `tritonguard inspect`).
    pub subjects: Vec<SubjectRecord>,
    /// Variables shared by groups of subjects (see [`SubjectRecord::group`]).
    pub subject_groups: Vec<Variables>,
    /// The kind of every scanned file (the filter stage reads comments from them).
    pub kinds: Vec<(FileId, FileKind)>,
    /// `tritonguard.dev/ignore` annotations of Kubernetes objects.
    pub annotations: Vec<crate::filter::suppress::AnnotationIgnore>,
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
    // Candidate index → text, for the candidates that are not files.
    let mut in_memory: BTreeMap<usize, &str> = BTreeMap::new();
    if let Some((name, text)) = &request.stdin {
        in_memory.insert(candidates.len(), text);
        candidates.push(Candidate {
            display: name.clone(),
            path: None,
            kind: crate::load::classify::classify_name(name).unwrap_or(FileKind::Yaml),
            explicit: true,
            context: false,
        });
    }
    for source in &request.sources {
        in_memory.insert(candidates.len(), &source.text);
        candidates.push(Candidate {
            display: source.display.clone(),
            path: None,
            kind: source.kind,
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
                None => Ok(in_memory.get(&i).map(|t| t.to_string()).unwrap_or_default()),
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
    let mut result = extract_and_evaluate(catalogue, store, files, &request.workloads, enabled);
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
        let kind = crate::load::classify::classify_name(name.rsplit('/').next().unwrap_or(name))
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
    let mut result = extract_and_evaluate(catalogue, store, files, &[], enabled);
    result.stats.duration = started.elapsed();
    result
}

fn parse_file(id: FileId, kind: FileKind, text: &str) -> Parsed {
    match kind {
        FileKind::Pbtxt => Parsed::Pbtxt(crate::parse::pbtxt::parse_model_config(id, text)),
        FileKind::Dockerfile => {
            Parsed::Dockerfile(crate::parse::dockerfile::parse_dockerfile(id, text))
        }
        FileKind::Shell => Parsed::Shell(crate::parse::shell::parse_script(id, text)),
        FileKind::Makefile => Parsed::Shell(crate::parse::shell::parse_makefile(id, text)),
        FileKind::Yaml => {
            Parsed::Yaml(parse_stream(id, strip_bom(text).1)).offset_by(bom_len(text))
        }
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

pub use crate::evaluate::cel::builtin_finding;

fn extract_and_evaluate(
    catalogue: &Catalogue,
    store: SourceStore,
    files: Vec<ParsedFile>,
    workloads: &[crate::extract::workload_kinds::WorkloadKind],
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> ScanResult {
    let mut findings: Vec<Finding> = Vec::new();
    let mut objects: Vec<K8sObject> = Vec::new();
    let mut configs: Vec<(FileId, Node)> = Vec::new();
    let mut other_launches: Vec<(Launch, Option<Span>)> = Vec::new();
    let images = ImageIndex::new(&files, &store);
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
            Parsed::Dockerfile(df) => {
                *kinds.entry("dockerfile".to_string()).or_default() += 1;
                if builtin_enabled("TG000") {
                    findings.extend(parse_errors(
                        catalogue,
                        &store,
                        &display,
                        df.errors.iter().map(|e| (e.span, e.kind.to_string())),
                    ));
                }
                if !images.linked_dockerfiles.contains(&file.id)
                    && let Some(config) = crate::extract::run_spec::dockerfile_config(df)
                {
                    let spec = crate::extract::run_spec::dockerfile_run(df, &config, &display);
                    let defaults = crate::extract::run_spec::image_defaults(&config, &display);
                    if let Some(launch) = crate::model::docker::launch(&spec, &defaults, &store) {
                        other_launches.push((
                            launch,
                            store
                                .get(file.id)
                                .map(|f| Span::new(file.id, 0, f.text.len())),
                        ));
                    }
                }
            }
            Parsed::Shell(scan) => {
                *kinds.entry(file.kind.as_str().to_string()).or_default() += 1;
                if builtin_enabled("TG000") {
                    findings.extend(parse_errors(
                        catalogue,
                        &store,
                        &display,
                        scan.errors.iter().map(|e| (e.span, e.kind.to_string())),
                    ));
                }
                let format = if file.kind == FileKind::Makefile {
                    "makefile"
                } else {
                    "shell"
                };
                let mut ordinals: BTreeMap<String, usize> = BTreeMap::new();
                for run in &scan.runs {
                    let key = run
                        .name()
                        .map(|n| n.text.clone())
                        .or_else(|| run.image.as_ref().map(|i| i.text.clone()))
                        .unwrap_or_default();
                    let ordinal = ordinals.entry(key).or_default();
                    let spec = crate::extract::run_spec::run_spec(run, &display, *ordinal, format);
                    *ordinal += 1;
                    let image = spec
                        .image
                        .as_ref()
                        .map(|i| i.text.clone())
                        .unwrap_or_default();
                    let defaults = images.defaults_for_tag(&image);
                    if let Some(launch) = crate::model::docker::launch(&spec, &defaults, &store) {
                        other_launches.push((launch, Some(run.span)));
                    }
                }
            }
            Parsed::Yaml(stream) => {
                let before = objects.len();
                let mut compose = false;
                for doc in &stream.documents {
                    if crate::extract::compose::is_compose_document(&doc.root) {
                        compose = true;
                        let dotenv = store
                            .get(file.id)
                            .and_then(|f| f.path.as_ref())
                            .and_then(|p| p.parent())
                            .and_then(|dir| std::fs::read_to_string(dir.join(".env")).ok())
                            .map(|t| crate::extract::compose::read_dotenv(&t))
                            .unwrap_or_default();
                        let compose_dir = parent_dir(&display);
                        let no_defaults = |image: &str, build: Option<&Node>| {
                            images.defaults_for_compose(image, build, &compose_dir)
                        };
                        other_launches.extend(crate::extract::compose::launches(
                            &doc.root,
                            &text,
                            &display,
                            &dotenv,
                            &no_defaults,
                            &store,
                        ));
                    } else {
                        objects.extend(objects_from_document(file.id, doc));
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
                    findings.extend(parse_errors(
                        catalogue,
                        &store,
                        &display,
                        stream.errors.iter().map(|e| (e.span, e.message.clone())),
                    ));
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
        drafts.extend(launches_of_kinds(
            object,
            workloads,
            &source,
            store.display(object.file),
            format,
        ));
    }
    drafts.extend(crate::correlate::kserve::launches(&objects, &store));
    let index = ScanIndex::new(&objects);
    let mut launch_list: Vec<LaunchRecord> = Vec::new();
    for mut draft in drafts {
        apply(&mut draft.launch, &draft.pod, &index, &store);
        if let Some(route) = &draft.kserve_route {
            let protected = draft
                .launch
                .auth
                .evidence
                .iter()
                .any(|e| e.value.protects.iter().any(|p| p == "http" || p == "*"));
            crate::correlate::kserve::apply_route(&mut draft.launch, route, protected);
        }
        let anchor = draft.launch.container.span;
        launch_list.push(LaunchRecord {
            file: anchor.map(|s| s.file).unwrap_or(draft.extent.file),
            anchor,
            notes: helm_notes(draft.launch.source.helm_template.as_deref()),
            extent: Some(draft.extent),
            launch: draft.launch,
        });
    }
    for (launch, extent) in other_launches {
        let anchor = launch.container.span.or(launch.image.span);
        launch_list.push(LaunchRecord {
            file: anchor.map(|s| s.file).unwrap_or(FileId(0)),
            anchor,
            notes: Vec::new(),
            extent,
            launch,
        });
    }

    let mut subjects: Vec<SubjectRecord> = Vec::new();
    for record in &launch_list {
        subjects.push(SubjectRecord {
            kind: Subject::Launch,
            root: record.launch.to_node(),
            file: record.file,
            identity: record.launch.id.clone(),
            anchor: record.anchor,
            notes: record.notes.clone(),
            file_value: file_value(store.display(record.file), &record.launch.source.format),
            extra: Vec::new(),
            group: None,
            extent: record.extent,
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
            group: None,
            extent: Some(object.extent),
        });
    }
    // Only the .pbtxt files Triton reads as model configurations become subjects.
    let selected =
        crate::extract::model_configs::selected_config_names(launch_list.iter().map(|r| &r.launch));
    configs.retain(|(id, _)| {
        crate::extract::model_configs::is_model_configuration(store.display(*id), selected.as_ref())
    });
    let (config_subjects, repositories) = model_config_subjects(&configs, &store);
    subjects.extend(config_subjects);
    let all_objects = Node::list(objects.iter().map(|o| o.node.clone()).collect());
    let evaluation = evaluate(
        catalogue,
        &subjects,
        &all_objects,
        &repositories,
        &store,
        enabled,
    );
    findings.extend(evaluation.findings);
    name_helm_templates(&mut findings, &files);
    let context_files: std::collections::BTreeSet<FileId> =
        files.iter().filter(|f| f.context).map(|f| f.id).collect();
    if !context_files.is_empty() {
        // Keep what involves a checked file: where it points, what it relates, or the object
        // it is about (a Service in a context file exposing a checked Deployment).
        findings.retain(|f| {
            !context_files.contains(&f.primary.span.file)
                || f.related
                    .iter()
                    .any(|r| !context_files.contains(&r.span.file))
                || f.subject_extent
                    .is_some_and(|e| !context_files.contains(&e.file))
        });
    }
    findings.sort_by_key(Finding::sort_key);
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.primary == b.primary);

    let stats = ScanStats {
        files: files.iter().filter(|f| !f.context).count(),
        files_by_kind: kinds.into_iter().collect(),
        skipped: 0,
        // What the checked files hold; context files only inform correlation.
        objects: objects
            .iter()
            .filter(|o| !context_files.contains(&o.file))
            .count(),
        launches: launch_list
            .iter()
            .filter(|r| !context_files.contains(&r.file))
            .count(),
        models: None,
        endpoints: None,
        duration: Duration::default(),
    };
    let annotations = objects.iter().filter_map(annotation_ignore).collect();
    ScanResult {
        subjects,
        subject_groups: repositories,
        kinds: files
            .iter()
            .filter(|f| !f.context)
            .map(|f| (f.id, f.kind))
            .collect(),
        annotations,
        store,
        findings,
        eval_errors: evaluation.errors,
        launches: launch_list.into_iter().map(|r| r.launch).collect(),
        notes: Vec::new(),
        stats,
    }
}

/// One subject per config.pbtxt, with the `model` variable (the model's directory name and
/// the config's path), and one group per model repository with the `repository` variable
/// (its path and the models the scan found in it), shared by the configs of that repository.
fn model_config_subjects(
    configs: &[(FileId, Node)],
    store: &SourceStore,
) -> (Vec<SubjectRecord>, Vec<Variables>) {
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
    let mut repositories: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, _, model, repo) in &located {
        let models = repositories.entry(repo.as_str()).or_default();
        if !model.is_empty() {
            models.insert(model.as_str());
        }
    }
    let group_of: BTreeMap<&str, usize> = repositories
        .keys()
        .enumerate()
        .map(|(i, repo)| (*repo, i))
        .collect();
    let groups = repositories
        .iter()
        .map(|(repo, models)| {
            let repository = Node::map(vec![
                ("path".to_string(), Node::str(repo.to_string())),
                (
                    "models".to_string(),
                    Node::list(models.iter().map(|m| Node::str(m.to_string())).collect()),
                ),
            ]);
            vec![("repository", repository)]
        })
        .collect();
    let subjects = located
        .iter()
        .map(|(id, root, model, repo)| {
            let display = store.display(*id).to_string();
            let custom = display.contains("/configs/");
            let model_value = Node::map(vec![
                ("name".to_string(), Node::str(model.clone())),
                ("config_path".to_string(), Node::str(display.clone())),
                ("custom_config".to_string(), custom.to_node()),
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
                group: group_of.get(repo.as_str()).copied(),
                extent: store.get(*id).map(|f| Span::new(*id, 0, f.text.len())),
            }
        })
        .collect();
    (subjects, groups)
}

/// The `tritonguard.dev/ignore` annotation of an object or of its pod template.
fn annotation_ignore(object: &K8sObject) -> Option<crate::filter::suppress::AnnotationIgnore> {
    const KEY: &str = "tritonguard.dev/ignore";
    const REASON: &str = "tritonguard.dev/ignore-reason";
    let places = [
        object.node.at(&["metadata", "annotations"]),
        object
            .node
            .at(&["spec", "template", "metadata", "annotations"]),
        object.node.at(&[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "annotations",
        ]),
    ];
    places.into_iter().flatten().find_map(|annotations| {
        let value = annotations.get(KEY)?;
        Some(crate::filter::suppress::AnnotationIgnore {
            extent: object.extent,
            span: value.label_span()?,
            rules: value
                .as_scalar_text()
                .unwrap_or_default()
                .split([',', ' '])
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            reason: annotations.get(REASON).and_then(Node::as_scalar_text),
        })
    })
}

/// Images built by Dockerfiles of the scan: by the tags `docker build -t` gives them in
/// scripts, and by path for compose `build:`.
struct ImageIndex {
    /// Dockerfile display path → (file, defaults).
    by_path: BTreeMap<String, (FileId, crate::model::docker::ImageDefaults)>,
    /// Image tag → Dockerfile display path.
    by_tag: BTreeMap<String, String>,
    /// Dockerfiles whose image is run somewhere in the scan (they get no launch of their own).
    linked_dockerfiles: std::collections::BTreeSet<FileId>,
}

impl ImageIndex {
    fn new(files: &[ParsedFile], store: &SourceStore) -> ImageIndex {
        let mut by_path = BTreeMap::new();
        for file in files {
            if let Parsed::Dockerfile(df) = &file.parsed
                && let Some(config) = crate::extract::run_spec::dockerfile_config(df)
            {
                let display = store.display(file.id).to_string();
                let defaults = crate::extract::run_spec::image_defaults(&config, &display);
                by_path.insert(display, (file.id, defaults));
            }
        }
        let mut by_tag = BTreeMap::new();
        for file in files {
            let Parsed::Shell(scan) = &file.parsed else {
                continue;
            };
            let dir = parent_dir(store.display(file.id));
            for build in &scan.builds {
                let Some(path) = build
                    .dockerfile_candidates()
                    .iter()
                    .map(|c| join_path(&dir, c))
                    .find(|p| by_path.contains_key(p))
                else {
                    continue;
                };
                for tag in build.tags() {
                    if tag.is_resolved() {
                        by_tag.insert(tag.text.clone(), path.clone());
                    }
                }
            }
        }
        let mut index = ImageIndex {
            by_path,
            by_tag,
            linked_dockerfiles: std::collections::BTreeSet::new(),
        };
        // Which Dockerfiles are run: by a script run of a built tag, or a compose build.
        let mut linked = std::collections::BTreeSet::new();
        for file in files {
            match &file.parsed {
                Parsed::Shell(scan) => {
                    for run in &scan.runs {
                        if let Some(path) =
                            run.image.as_ref().and_then(|i| index.by_tag.get(&i.text))
                        {
                            linked.extend(index.by_path.get(path).map(|(id, _)| *id));
                        }
                    }
                }
                Parsed::Yaml(stream) => {
                    let dir = parent_dir(store.display(file.id));
                    for doc in &stream.documents {
                        for (_, service) in doc
                            .root
                            .get("services")
                            .map(Node::as_map)
                            .unwrap_or_default()
                        {
                            if let Some(path) = compose_dockerfile(service.get("build"), &dir) {
                                linked.extend(index.by_path.get(&path).map(|(id, _)| *id));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        index.linked_dockerfiles = linked;
        index
    }

    fn defaults_for_tag(&self, image: &str) -> crate::model::docker::ImageDefaults {
        self.by_tag
            .get(image)
            .and_then(|path| self.by_path.get(path))
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    fn defaults_for_compose(
        &self,
        image: &str,
        build: Option<&Node>,
        dir: &str,
    ) -> crate::model::docker::ImageDefaults {
        compose_dockerfile(build, dir)
            .and_then(|path| self.by_path.get(&path))
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| self.defaults_for_tag(image))
    }
}

/// The Dockerfile a compose `build:` reads: `build: ./dir` or `{context, dockerfile}`.
fn compose_dockerfile(build: Option<&Node>, dir: &str) -> Option<String> {
    let build = build?;
    let (context, dockerfile) = match build.as_str() {
        Some(context) => (context.to_string(), "Dockerfile".to_string()),
        None => (
            build
                .get("context")
                .and_then(Node::as_str)
                .unwrap_or(".")
                .to_string(),
            build
                .get("dockerfile")
                .and_then(Node::as_str)
                .unwrap_or("Dockerfile")
                .to_string(),
        ),
    };
    Some(join_path(&join_path(dir, &context), &dockerfile))
}

/// The directory part of a `/`-separated display path ("" for a bare name).
fn parent_dir(display: &str) -> String {
    display
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// Joins and normalises `/`-separated relative paths (`a/b` + `../c/D` → `a/c/D`).
fn join_path(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// TG000 findings for the parse errors of one file; the message is part of the identity, so
/// fixing one error does not change the others' fingerprints.
fn parse_errors(
    catalogue: &Catalogue,
    store: &SourceStore,
    display: &str,
    errors: impl Iterator<Item = (Span, String)>,
) -> Vec<Finding> {
    let errors: Vec<(Span, String)> = errors.collect();
    let mut findings: Vec<Finding> = errors
        .iter()
        .take(MAX_PARSE_ERRORS_PER_FILE)
        .filter_map(|(span, message)| {
            let identity = format!("{display}:{message}");
            builtin_finding(catalogue, "TG000", *span, message.clone(), &identity, store)
        })
        .collect();
    // A file that is not what its name says (a binary, or source code named like a
    // Dockerfile) would otherwise bury the rest of the report in one error per line.
    if let Some((span, _)) = errors.get(MAX_PARSE_ERRORS_PER_FILE) {
        let more = errors.len() - MAX_PARSE_ERRORS_PER_FILE;
        let message = format!(
            "{more} more parse error{} in this file from here on; fix the ones above first, \
             or exclude the file if it is not a deployment file",
            if more == 1 { "" } else { "s" }
        );
        let identity = format!("{display}:more-parse-errors");
        findings.extend(builtin_finding(
            catalogue, "TG000", *span, message, &identity, store,
        ));
    }
    findings
}

/// The parse errors reported for one file before the rest are summed up in one finding.
const MAX_PARSE_ERRORS_PER_FILE: usize = 20;

/// Names the chart template of the rendered document that holds each finding's location; if
/// the finding is about a workload from another template, names that one too.
fn name_helm_templates(findings: &mut [Finding], files: &[ParsedFile]) {
    let mut templates: Vec<(Span, String)> = Vec::new();
    for file in files {
        if let Parsed::Yaml(stream) = &file.parsed {
            for doc in &stream.documents {
                if let Some(t) = &doc.helm_source {
                    templates.push((doc.extent, t.clone()));
                }
            }
        }
    }
    if templates.is_empty() {
        return;
    }
    let template_of = |span: Span| {
        templates
            .iter()
            .find(|(e, _)| {
                e.file == span.file && span.start >= e.start && span.start < e.end.max(e.start + 1)
            })
            .map(|(_, t)| t.clone())
    };
    for f in findings.iter_mut() {
        let Some(here) = template_of(f.primary.span) else {
            continue;
        };
        let about = f.subject_extent.and_then(template_of);
        f.notes.retain(|n| !n.starts_with("Helm template "));
        f.notes.insert(0, format!("Helm template {here}"));
        if let Some(about) = about.filter(|a| *a != here) {
            f.notes
                .insert(1, format!("about the workload of Helm template {about}"));
        }
    }
}

/// A Launch with where it came from, on its way to becoming a subject.
struct LaunchRecord {
    launch: Launch,
    file: FileId,
    anchor: Option<Span>,
    notes: Vec<String>,
    extent: Option<Span>,
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
