//! Compose projects as compose reads them: the files a script's `docker compose -f a -f b`
//! names, merged in that order (compose then reads no default override file), and otherwise
//! the default file of a folder with its override file. A project's launches replace the
//! launches of its files read one by one.

use std::collections::{BTreeMap, BTreeSet};

use crate::extract::Extracted;
use crate::model::compose_merge::{BASE_NAMES, OVERRIDE_NAMES};
use crate::source::{FileId, SourceStore};

/// Compose files merged in order, with the interpolation variables of the command's
/// `--env-file`s (`None`: the first file's `.env`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub files: Vec<FileId>,
    pub env: Option<BTreeMap<String, String>>,
}

fn split(display: &str) -> (&str, &str) {
    display.rsplit_once('/').unwrap_or(("", display))
}

/// The default file of a folder and its override file, each the first of compose's names.
fn default_files(dir: &str, by_display: &BTreeMap<String, FileId>) -> Vec<FileId> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| by_display.get(&crate::extract::join_path(dir, n)).copied())
    };
    match first(BASE_NAMES) {
        Some(base) => std::iter::once(base).chain(first(OVERRIDE_NAMES)).collect(),
        None => Vec::new(),
    }
}

/// The projects of the scan: every compose command of a script whose files are all in the
/// scan, then the default pair of each folder none of those commands names.
pub fn projects(extracted: &[Extracted], store: &SourceStore) -> Vec<Project> {
    // Texts made in memory have no folder compose would look in.
    let by_display: BTreeMap<String, FileId> = extracted
        .iter()
        .filter(|e| e.compose.is_some())
        .filter(|e| store.get(e.file).is_some_and(|s| s.path.is_some()))
        .map(|e| (store.display(e.file).to_string(), e.file))
        .collect();
    let mut out: Vec<Project> = Vec::new();
    let mut chained: BTreeSet<FileId> = BTreeSet::new();
    for chain in extracted.iter().flat_map(|e| e.compose_chains.iter()) {
        let files: Option<Vec<FileId>> = if chain.files.is_empty() {
            Some(default_files(&chain.dir, &by_display))
        } else {
            chain
                .files
                .iter()
                .map(|f| by_display.get(f).copied())
                .collect()
        };
        // A file outside the scan leaves the project unknown.
        let Some(files) = files.filter(|f| !f.is_empty()) else {
            continue;
        };
        chained.extend(files.iter().copied());
        let project = Project {
            files,
            env: chain.env.clone(),
        };
        if !out.contains(&project) {
            out.push(project);
        }
    }
    let folders: BTreeSet<&str> = by_display.keys().map(|d| split(d).0).collect();
    for dir in folders {
        let files = default_files(dir, &by_display);
        if files.len() == 2 && !files.iter().any(|f| chained.contains(f)) {
            out.push(Project { files, env: None });
        }
    }
    out
}
