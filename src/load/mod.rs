//! Stage 1, load: what the user named (paths, standard input, texts made in memory such as
//! Helm renders) becomes source texts in one store, each with its kind and whether it was
//! read for context only. Reading is parallel and goes through one reader with size caps;
//! a file that cannot be read is kept (empty) with the reason, for the TG000 finding.

pub mod classify;
pub mod discover;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use classify::FileKind;
use discover::{Candidate, DiscoverOptions, DiscoveryNote, ReadProblem};

use crate::source::{FileId, SourceFile, SourceStore};

/// A text to scan that no file on disk holds: standard input, the output of `helm template`.
#[derive(Clone, Debug)]
pub struct MemorySource {
    /// The name reports show (and fingerprints use), unique in the scan.
    pub display: String,
    pub text: String,
    pub kind: FileKind,
}

/// What to load.
#[derive(Clone, Debug)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    /// Files and directories read for context only: their objects take part in correlation
    /// (a Service in an unchanged file still exposes a changed Deployment), but only findings
    /// that involve a file of `paths` are reported.
    pub context: Vec<PathBuf>,
    /// Standard input, and other texts made in memory (Helm renders).
    pub memory: Vec<MemorySource>,
    /// Directory that displayed paths are relative to.
    pub base: PathBuf,
    pub exclude: globset::GlobSet,
    pub max_file_bytes: u64,
    /// The walk of `paths` with `base` and `exclude`, when it was already done (finding the
    /// Helm charts walks the same tree): walking 10,000 directories takes a quarter second.
    pub discovered: Option<discover::Discovery>,
}

impl Request {
    pub fn new(paths: Vec<PathBuf>) -> Request {
        Request {
            paths,
            context: Vec::new(),
            memory: Vec::new(),
            base: std::env::current_dir().unwrap_or_default(),
            exclude: globset::GlobSet::empty(),
            max_file_bytes: discover::DEFAULT_MAX_FILE_BYTES,
            discovered: None,
        }
    }
}

/// One loaded file; `id` indexes the store.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    pub id: FileId,
    pub kind: FileKind,
    /// Read for context only (see [`Request::context`]).
    pub context: bool,
    /// Why the text could not be read (the store then holds what could be shown).
    pub problem: Option<ReadProblem>,
}

/// The load stage's output.
#[derive(Debug, Default)]
pub struct Loaded {
    pub store: SourceStore,
    pub files: Vec<LoadedFile>,
    pub notes: Vec<DiscoveryNote>,
    /// Files seen but not of a kind tritonguard reads.
    pub skipped: usize,
}

impl Loaded {
    pub fn file(&self, id: FileId) -> Option<&LoadedFile> {
        self.files.get(id.0 as usize)
    }
}

/// Walks the paths, then reads every candidate.
pub fn load(request: &Request) -> Loaded {
    let options = DiscoverOptions {
        base: request.base.clone(),
        exclude: request.exclude.clone(),
    };
    let discovery = match &request.discovered {
        Some(discovery) => discovery.clone(),
        None => discover::discover(&request.paths, &options),
    };
    let mut candidates = discovery.candidates;
    let mut notes = discovery.notes;
    follow_kustomizations(
        &mut candidates,
        &mut notes,
        &options,
        request.max_file_bytes,
    );
    follow_compose_overrides(&mut candidates, &options);
    // Candidate index → text, for the candidates that are not files.
    let mut in_memory: BTreeMap<usize, &str> = BTreeMap::new();
    for source in &request.memory {
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
        for mut c in discover::discover(&request.context, &options).candidates {
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
    let read: Vec<(SourceFile, LoadedFile)> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
            let text = match &c.path {
                Some(path) => discover::read_text(path, request.max_file_bytes),
                None => Ok(in_memory.get(&i).map(|t| t.to_string()).unwrap_or_default()),
            };
            let (text, problem) = match text {
                Ok(text) => (text, None),
                // Keep what can be shown: the valid prefix of a non-UTF-8 file.
                Err(problem) => (shown_despite(&problem, c.path.as_deref()), Some(problem)),
            };
            (
                SourceFile::new(c.display.clone(), c.path.clone(), Arc::from(text)),
                LoadedFile {
                    id,
                    kind: c.kind,
                    context: c.context,
                    problem,
                },
            )
        })
        .collect();
    let mut loaded = Loaded {
        notes,
        skipped: discovery.skipped,
        ..Loaded::default()
    };
    for (source, file) in read {
        loaded.store.add(source);
        loaded.files.push(file);
    }
    loaded
}

/// Adds the file compose reads together with one of the scan: the override file beside a
/// default compose file, and the default file beside an override file, since `docker compose`
/// run in that folder merges the two.
fn follow_compose_overrides(candidates: &mut Vec<Candidate>, options: &DiscoverOptions) {
    use crate::model::compose_merge::{BASE_NAMES, OVERRIDE_NAMES};
    let is_compose = |c: &Candidate| {
        c.path
            .as_deref()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .is_some_and(|n| BASE_NAMES.contains(&n) || OVERRIDE_NAMES.contains(&n))
    };
    // Resolving every path of a large scan costs more than reading it; most scans have no
    // compose file at all.
    if !candidates.iter().any(is_compose) {
        return;
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let mut known: std::collections::BTreeSet<PathBuf> = candidates
        .iter()
        .filter_map(|c| c.path.as_deref().and_then(canonical))
        .collect();
    let mut added = Vec::new();
    for c in candidates.iter() {
        let Some(path) = &c.path else { continue };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let partners = if BASE_NAMES.contains(&name) {
            OVERRIDE_NAMES
        } else if OVERRIDE_NAMES.contains(&name) {
            BASE_NAMES
        } else {
            continue;
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let Some(partner) = partners.iter().map(|n| dir.join(n)).find(|p| p.is_file()) else {
            continue;
        };
        if canonical(&partner).is_some_and(|real| known.insert(real)) {
            added.push(Candidate {
                display: crate::source::display_path(&partner, &options.base),
                path: Some(partner),
                kind: FileKind::Yaml,
                explicit: true,
                context: c.context,
            });
        }
    }
    candidates.extend(added);
}

/// At most this many kustomizations are followed in one scan.
const MAX_KUSTOMIZATIONS: usize = 1_000;

/// Adds the files a kustomization of the scan lists (its resources and patches, through bases
/// and components) when the walk did not find them: an overlay checked alone is checked with
/// the base it builds on.
fn follow_kustomizations(
    candidates: &mut Vec<Candidate>,
    notes: &mut Vec<DiscoveryNote>,
    options: &DiscoverOptions,
    max_bytes: u64,
) {
    use crate::model::kustomization::{
        FILE_NAMES, Kustomization, is_kustomization_name, is_remote,
    };
    let is_kustomization = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_kustomization_name)
    };
    if !candidates
        .iter()
        .filter_map(|c| c.path.as_ref())
        .any(is_kustomization)
    {
        return;
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let mut known: std::collections::BTreeSet<PathBuf> = candidates
        .iter()
        .filter_map(|c| c.path.as_deref().and_then(canonical))
        .collect();
    let mut queue: Vec<PathBuf> = candidates
        .iter()
        .filter_map(|c| c.path.clone())
        .filter(is_kustomization)
        .collect();
    let mut followed = 0;
    while let Some(file) = queue.pop() {
        followed += 1;
        if followed > MAX_KUSTOMIZATIONS {
            notes.push(DiscoveryNote {
                display: crate::source::display_path(&file, &options.base),
                message: format!(
                    "more than {MAX_KUSTOMIZATIONS} kustomizations; the rest are not followed"
                ),
                error: false,
            });
            break;
        }
        let Ok(text) = discover::read_text(&file, max_bytes) else {
            continue;
        };
        let stream = crate::parse::yaml::parse_stream(FileId(0), &text);
        let Some(doc) = stream.documents.first() else {
            continue;
        };
        let Some(dir) = file.parent() else {
            continue;
        };
        for r in Kustomization::read(&doc.root).referenced() {
            if is_remote(&r.path) {
                continue;
            }
            let target = lexically_normal(&dir.join(&r.path));
            let Some(real) = canonical(&target) else {
                continue;
            };
            if target.is_dir() {
                if let Some(k) = FILE_NAMES
                    .iter()
                    .map(|n| target.join(n))
                    .find(|p| p.is_file())
                    && canonical(&k).is_some_and(|c| !known.contains(&c))
                {
                    let found = discover::discover(std::slice::from_ref(&target), options);
                    for c in found.candidates {
                        let Some(path) = c.path.as_deref().and_then(canonical) else {
                            continue;
                        };
                        if known.insert(path)
                            && c.path
                                .as_ref()
                                .and_then(|p| p.file_name())
                                .and_then(|n| n.to_str())
                                .is_some_and(is_kustomization_name)
                            && let Some(p) = &c.path
                        {
                            queue.push(p.clone());
                        }
                        candidates.push(c);
                    }
                }
            } else if known.insert(real) {
                candidates.push(Candidate {
                    display: crate::source::display_path(&target, &options.base),
                    path: Some(target.clone()),
                    kind: FileKind::Yaml,
                    explicit: true,
                    context: false,
                });
            }
        }
    }
    candidates.sort();
    candidates.dedup_by(|a, b| a.path.is_some() && a.path == b.path);
}

/// `a/b/../c` → `a/c`, without touching the file system (for names shown to the user).
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let at_root = matches!(
                    out.components().next_back(),
                    Some(Component::RootDir | Component::Prefix(_))
                );
                let climbs = matches!(
                    out.components().next_back(),
                    None | Some(Component::ParentDir)
                );
                if climbs {
                    out.push("..");
                } else if !at_root {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Loads in-memory texts, `(display name, text)` pairs, classified by name (policy tests,
/// benchmarks, fuzzing).
pub fn load_texts(texts: &[(String, String)]) -> Loaded {
    let mut loaded = Loaded::default();
    for (i, (name, text)) in texts.iter().enumerate() {
        let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
        let kind = classify::classify_name(name.rsplit('/').next().unwrap_or(name))
            .unwrap_or(FileKind::Yaml);
        loaded.store.add(SourceFile::new(
            name.clone(),
            None,
            Arc::from(text.as_str()),
        ));
        loaded.files.push(LoadedFile {
            id,
            kind,
            context: false,
            problem: None,
        });
    }
    loaded
}

fn shown_despite(problem: &ReadProblem, path: Option<&Path>) -> String {
    match (problem, path) {
        (ReadProblem::NotUtf8 { .. }, Some(p)) => std::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The text of the file `name` beside `file` (a compose file's `.env`), with the limits of
/// every scanned file, and only when it lies in `file`'s folder once links are resolved:
/// a `.env` linked to a file elsewhere is not read (its values would show in reports), and
/// a FIFO or device is refused, not waited on.
pub fn read_beside(file: &Path, name: &str) -> Option<String> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    read_in_folder(dir, name)
}

/// The text of `relative` inside `dir` (a compose project's `env_file:`, a script's
/// `--env-file`), with the same limits as [`read_beside`]: a path that leaves `dir` once
/// links are resolved (`../secrets.env`, an absolute path, a link out) is not read.
pub fn read_in_folder(dir: &Path, relative: &str) -> Option<String> {
    let bytes =
        crate::read_guard::read_inside(dir, &dir.join(relative), discover::DEFAULT_MAX_FILE_BYTES)
            .ok()?;
    discover::decode(bytes).ok()
}
