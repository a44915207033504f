//! Stage 2, extract: one extractor per format turns a source text into what later stages
//! need — Kubernetes objects and the Launch drafts of their pod templates, container runs
//! (docker run, compose services, a Dockerfile's own image), model configurations — plus its
//! parse diagnostics and the comments the parser saw, all as plain data. Files are extracted
//! independently of each other (in parallel); joining them is the correlate stage's job.

pub mod compose;
pub mod docker;
pub mod k8s_schema;
pub mod model_configs;
pub mod probes;
pub mod run_spec;
pub mod shared_memory;
pub mod workload;
pub mod workload_kinds;

use std::collections::BTreeMap;

use crate::extract::docker::{ImageDefaults, RunSpec};
use crate::load::classify::FileKind;
use crate::load::discover::ReadProblem;
use crate::load::{Loaded, LoadedFile};
use crate::model::k8s::{K8sObject, objects_from_document};
use crate::parse::comments::{self, Comment};
use crate::parse::dockerfile::parse_dockerfile;
use crate::parse::pbtxt::parse_model_config;
use crate::parse::shell::{parse_makefile, parse_script};
use crate::parse::yaml::parse_stream;
use crate::source::{FileId, SourceStore, Span};
use crate::tree::Node;
use workload::LaunchDraft;
use workload_kinds::WorkloadKind;

/// Why a diagnostic was raised; native rules decide which rule reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The file could not be read as text.
    Unreadable,
    /// The text is not valid in its format (YAML, Dockerfile, shell, pbtxt syntax).
    Syntax,
    /// A config.pbtxt that parses but is not a valid `ModelConfig` (unknown field, wrong type).
    ModelConfig,
}

/// A problem found while reading or parsing a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
    pub kind: DiagnosticKind,
    /// A second place the message refers to (where a duplicate field was first set).
    pub related: Option<(Span, String)>,
}

/// A container run whose image may be built by a Dockerfile of the scan.
#[derive(Clone, Debug)]
pub struct RunDraft {
    pub spec: RunSpec,
    /// How to find the Dockerfile that builds its image.
    pub image: ImageLink,
    /// The whole run (the command, the compose service) for object-wide suppressions.
    pub extent: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageLink {
    /// By the tag the run names (`docker build -t` elsewhere in the scan).
    Tag(String),
    /// By the Dockerfile a compose `build:` names (display path), else by tag.
    Build { dockerfile: String, tag: String },
}

/// The image a Dockerfile builds, and the launch it is when nothing in the scan runs it.
#[derive(Clone, Debug)]
pub struct DockerfileImage {
    pub defaults: ImageDefaults,
    pub own_run: RunSpec,
    pub extent: Span,
}

/// `docker build -t TAG [-f FILE]` in a script: which Dockerfile builds which tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildLink {
    pub tags: Vec<String>,
    /// Display paths of the Dockerfiles it may read, most likely first.
    pub dockerfiles: Vec<String>,
}

/// A YAML document as rendered by Helm: its extent and the template it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmDocument {
    pub extent: Span,
    pub template: String,
}

/// Everything one file yields.
#[derive(Debug)]
pub struct Extracted {
    pub file: FileId,
    /// What the file turned out to be, for the summary (`kubernetes`, `compose`, ...).
    pub label: &'static str,
    pub objects: Vec<K8sObject>,
    /// Launches of the pod templates of `objects`, before correlation.
    pub workloads: Vec<LaunchDraft>,
    pub runs: Vec<RunDraft>,
    pub dockerfile: Option<DockerfileImage>,
    pub builds: Vec<BuildLink>,
    /// Dockerfiles a compose file builds (display paths).
    pub compose_builds: Vec<String>,
    /// The parsed config.pbtxt.
    pub model_config: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
    pub comments: Vec<Comment>,
    /// YAML document extents, for suppressions written above a document.
    pub documents: Vec<Span>,
    pub helm: Vec<HelmDocument>,
    /// The file is a `kustomization.yaml`.
    pub kustomization: Option<crate::model::kustomization::Kustomization>,
    /// The file's (first) compose document, for merging with the files compose reads with it.
    pub compose: Option<ComposeDocument>,
    /// The compose commands of a script or Makefile that name their files or env files.
    pub compose_chains: Vec<ComposeChain>,
}

/// A `docker compose -f a.yml -f b.yml --env-file x.env up` of a script: the compose files
/// (display paths, in the order compose merges them; empty for the default files of `dir`)
/// and the interpolation variables of its `--env-file`s (`None`: the project's `.env`).
#[derive(Clone, Debug)]
pub struct ComposeChain {
    pub files: Vec<String>,
    /// The folder (display path) the command runs in: the script's.
    pub dir: String,
    pub env: Option<BTreeMap<String, String>>,
    pub span: Span,
}

/// A compose document and the variables its file's `.env` gives for interpolation.
#[derive(Clone, Debug)]
pub struct ComposeDocument {
    pub root: Node,
    pub env: BTreeMap<String, String>,
}

impl Extracted {
    fn new(file: FileId, label: &'static str) -> Extracted {
        Extracted {
            file,
            label,
            objects: Vec::new(),
            workloads: Vec::new(),
            runs: Vec::new(),
            dockerfile: None,
            builds: Vec::new(),
            compose_builds: Vec::new(),
            model_config: None,
            diagnostics: Vec::new(),
            comments: Vec::new(),
            documents: Vec::new(),
            helm: Vec::new(),
            kustomization: None,
            compose: None,
            compose_chains: Vec::new(),
        }
    }

    /// Whether this file is a Helm render (`# Source:` headers).
    pub fn is_helm_render(&self) -> bool {
        !self.helm.is_empty()
    }
}

/// Extracts every loaded file, in parallel; the result is indexed like `loaded.files`.
/// `workloads` are the custom resource kinds a team declared (`workloads:` of
/// `.tritonguard.yaml`) that hold pod templates.
pub fn extract(loaded: &Loaded, workloads: &[WorkloadKind]) -> Vec<Extracted> {
    use rayon::prelude::*;
    loaded
        .files
        .par_iter()
        .map(|file| extract_file(file, &loaded.store, workloads))
        .collect()
}

/// Extracts one file.
pub fn extract_file(
    file: &LoadedFile,
    store: &SourceStore,
    workloads: &[WorkloadKind],
) -> Extracted {
    let id = file.id;
    if let Some(problem) = &file.problem {
        let mut out = Extracted::new(id, "unreadable");
        let at = match problem {
            ReadProblem::NotUtf8 { offset } => *offset,
            _ => 0,
        };
        out.diagnostics.push(Diagnostic {
            span: Span::new(id, at, at),
            message: problem.to_string(),
            kind: DiagnosticKind::Unreadable,
            related: None,
        });
        return out;
    }
    let Some(source) = store.get(id) else {
        return Extracted::new(id, "unreadable");
    };
    let text: &str = &source.text;
    let display = source.display.as_str();
    let dotenv = || {
        source
            .path
            .as_deref()
            .and_then(|path| crate::load::read_beside(path, ".env"))
            .map(|text| compose::read_dotenv(&text))
            .unwrap_or_default()
    };
    match file.kind {
        FileKind::Pbtxt => pbtxt(id, text),
        FileKind::Dockerfile => dockerfile(id, text, display),
        FileKind::Shell | FileKind::Makefile => {
            shell(id, text, display, file.kind, source.path.as_deref())
        }
        FileKind::Yaml => yaml(id, text, display, &dotenv, store, workloads),
    }
}

fn pbtxt(id: FileId, text: &str) -> Extracted {
    let mut out = Extracted::new(id, "pbtxt");
    let doc = parse_model_config(id, text);
    // Syntax and schema errors alike: Triton refuses to load the model for either.
    out.diagnostics
        .extend(doc.errors.iter().map(|e| Diagnostic {
            span: e.span,
            message: e.message.clone(),
            kind: DiagnosticKind::ModelConfig,
            related: e.related.map(|r| (r, "first set here".to_string())),
        }));
    out.comments = comments::pbtxt(id, text);
    out.model_config = Some(doc.root);
    out
}

fn dockerfile(id: FileId, text: &str, display: &str) -> Extracted {
    let mut out = Extracted::new(id, "dockerfile");
    let df = parse_dockerfile(id, text);
    out.diagnostics.extend(df.errors.iter().map(|e| Diagnostic {
        span: e.span,
        message: e.kind.to_string(),
        kind: DiagnosticKind::Syntax,
        related: None,
    }));
    out.comments = comments::from_spans(text, df.comments.iter().copied());
    if let Some(config) = run_spec::dockerfile_config(&df) {
        out.dockerfile = Some(DockerfileImage {
            defaults: run_spec::image_defaults(&config, display),
            own_run: run_spec::dockerfile_run(&df, &config, display),
            extent: Span::new(id, 0, text.len()),
        });
    }
    out
}

fn shell(
    id: FileId,
    text: &str,
    display: &str,
    kind: FileKind,
    path: Option<&std::path::Path>,
) -> Extracted {
    let (scan, label, format) = if kind == FileKind::Makefile {
        (parse_makefile(id, text), "makefile", "makefile")
    } else {
        (parse_script(id, text), "shell", "shell")
    };
    let mut out = Extracted::new(id, label);
    out.diagnostics
        .extend(scan.errors.iter().map(|e| Diagnostic {
            span: e.span,
            message: e.kind.to_string(),
            kind: DiagnosticKind::Syntax,
            related: None,
        }));
    out.comments = comments::from_spans(text, scan.comments.iter().copied());
    let dir = parent_dir(display);
    for build in &scan.builds {
        out.builds.push(BuildLink {
            tags: build
                .tags()
                .into_iter()
                .filter(|t| t.is_resolved())
                .map(|t| t.text.clone())
                .collect(),
            dockerfiles: build
                .dockerfile_candidates()
                .iter()
                .map(|c| join_path(&dir, c))
                .collect(),
        });
    }
    out.compose_chains = compose_chains(&scan.composes, &dir, path);
    // Runs of one name (or image) are numbered for stable identities.
    let mut ordinals: BTreeMap<String, usize> = BTreeMap::new();
    for run in &scan.runs {
        let key = run
            .name()
            .map(|n| n.text.clone())
            .or_else(|| run.image.as_ref().map(|i| i.text.clone()))
            .unwrap_or_default();
        let ordinal = ordinals.entry(key).or_default();
        let spec = run_spec::run_spec(run, display, *ordinal, format);
        *ordinal += 1;
        let tag = spec
            .image
            .as_ref()
            .map(|i| i.text.clone())
            .unwrap_or_default();
        out.runs.push(RunDraft {
            spec,
            image: ImageLink::Tag(tag),
            extent: Some(run.span),
        });
    }
    out
}

fn yaml(
    id: FileId,
    text: &str,
    display: &str,
    dotenv: &dyn Fn() -> BTreeMap<String, String>,
    store: &SourceStore,
    workloads: &[WorkloadKind],
) -> Extracted {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut stream = parse_stream(id, text.get(bom..).unwrap_or(""));
    if bom > 0 {
        shift_stream(&mut stream, bom);
    }
    let mut out = Extracted::new(id, "yaml");
    out.comments = comments::yaml(id, text, &stream);
    out.diagnostics
        .extend(stream.errors.iter().map(|e| Diagnostic {
            span: e.span,
            message: e.message.clone(),
            kind: DiagnosticKind::Syntax,
            related: None,
        }));
    let name = display.rsplit('/').next().unwrap_or(display);
    if crate::model::kustomization::is_kustomization_name(name) {
        out.label = "kustomization";
        out.documents = stream.documents.iter().map(|d| d.extent).collect();
        out.kustomization = stream
            .documents
            .first()
            .map(|d| crate::model::kustomization::Kustomization::read(&d.root));
        return out;
    }
    let mut compose = false;
    let mut env: Option<BTreeMap<String, String>> = None;
    for doc in &stream.documents {
        out.documents.push(doc.extent);
        if let Some(template) = &doc.helm_source {
            out.helm.push(HelmDocument {
                extent: doc.extent,
                template: template.clone(),
            });
        }
        if compose::is_compose_document(&doc.root) {
            compose = true;
            let env = env.get_or_insert_with(dotenv);
            let folder = store
                .get(id)
                .and_then(|s| s.path.as_deref())
                .and_then(std::path::Path::parent);
            let (runs, builds) = compose_runs(&doc.root, store, display, env, folder);
            out.runs.extend(runs);
            out.compose_builds.extend(builds);
            if out.compose.is_none() {
                out.compose = Some(ComposeDocument {
                    root: doc.root.clone(),
                    env: env.clone(),
                });
            }
        } else {
            out.objects.extend(objects_from_document(id, doc));
        }
    }
    if stream.documents.is_empty() {
        out.documents.extend(
            crate::parse::yaml::split_documents(text)
                .into_iter()
                .map(|(s, e)| Span::new(id, s, e)),
        );
    }
    for object in &out.objects {
        let format = if object.helm_template.is_some() {
            "helm"
        } else {
            "kubernetes"
        };
        out.workloads.extend(workload::launches_of_kinds(
            object, workloads, store, display, format,
        ));
    }
    out.label = if compose {
        "compose"
    } else if !out.objects.is_empty() {
        "kubernetes"
    } else {
        "yaml"
    };
    out
}

/// The runs of a compose document (one file's, or several merged) and the Dockerfiles its
/// `build:` sections name; `display` is the file the project is named by (the first).
pub fn compose_runs(
    root: &Node,
    store: &SourceStore,
    display: &str,
    env: &BTreeMap<String, String>,
    folder: Option<&std::path::Path>,
) -> (Vec<RunDraft>, Vec<String>) {
    let dir = parent_dir(display);
    let mut runs = Vec::new();
    let mut builds = Vec::new();
    for (spec, build, extent) in compose::run_specs(root, store, display, env, folder) {
        let tag = spec
            .image
            .as_ref()
            .map(|w| w.text.clone())
            .unwrap_or_default();
        let image = match compose_dockerfile(build, &dir) {
            Some(dockerfile) => {
                builds.push(dockerfile.clone());
                ImageLink::Build { dockerfile, tag }
            }
            None => ImageLink::Tag(tag),
        };
        runs.push(RunDraft {
            spec,
            image,
            extent,
        });
    }
    (runs, builds)
}

/// Shifts every span of a stream parsed after a BOM back to file offsets.
fn shift_stream(stream: &mut crate::parse::yaml::YamlStream, n: usize) {
    for doc in &mut stream.documents {
        shift_node(&mut doc.root, n);
        doc.extent.start += n;
        doc.extent.end += n;
    }
    for e in &mut stream.errors {
        e.span.start += n;
        e.span.end += n;
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
pub fn parent_dir(display: &str) -> String {
    display
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// The compose commands of a script that change what compose reads: `-f` files (all of
/// them known: an unresolved one leaves the project unknown) or `--env-file`s, read like
/// `.env` (only inside the script's folder, through the read guard).
fn compose_chains(
    runs: &[crate::parse::shell::compose::ComposeRun],
    dir: &str,
    path: Option<&std::path::Path>,
) -> Vec<ComposeChain> {
    let mut chains = Vec::new();
    for run in runs {
        if run.files.is_empty() && run.env_files.is_empty() {
            continue;
        }
        let known = |w: &&crate::parse::words::Word| w.is_resolved();
        if !run.files.iter().all(|w| known(&w)) || !run.env_files.iter().all(|w| known(&w)) {
            continue;
        }
        let run_dir = match &run.project_directory {
            Some(p) if p.is_resolved() => join_path(dir, &p.text),
            Some(_) => continue,
            None => dir.to_string(),
        };
        let env = (!run.env_files.is_empty()).then(|| {
            let mut env = BTreeMap::new();
            for file in &run.env_files {
                let text = path.and_then(|p| crate::load::read_beside(p, &file.text));
                env.extend(compose::read_dotenv(&text.unwrap_or_default()));
            }
            env
        });
        chains.push(ComposeChain {
            files: run.files.iter().map(|f| join_path(dir, &f.text)).collect(),
            dir: run_dir,
            env,
            span: run.span,
        });
    }
    chains
}

/// Joins and normalises `/`-separated relative paths (`a/b` + `../c/D` → `a/c/D`).
pub fn join_path(dir: &str, rel: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_normalise() {
        assert_eq!(join_path("a/b", "../c/D"), "a/c/D");
        assert_eq!(join_path("", "./Dockerfile"), "Dockerfile");
        assert_eq!(parent_dir("x/y/z.yaml"), "x/y");
        assert_eq!(parent_dir("z.yaml"), "");
    }
}
