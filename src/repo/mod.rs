//! The model repository on disk: the data layer of `tritonguard repo audit DIR` and
//! `tritonguard repo lock DIR`.
//!
//! It walks the repository ([`walk`]), recognises file formats ([`format`]), scans pickles —
//! plain, inside torch zip archives ([`archive`]) and in numpy object arrays — without
//! executing them ([`pickle`], classified by [`classify`]), hashes files ([`hash`]) and
//! compares them with a lock file ([`lock`]). Everything returns plain data with byte
//! offsets; nothing here prints or decides severity.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "input here is hostile: a bad byte is a finding or an error, never a panic (issue 13); tests are exempt (clippy.toml)"
)]

pub mod archive;
pub mod classify;
pub mod format;
pub mod hash;
mod input;
pub mod lock;
pub mod pickle;
pub mod scan;
pub mod walk;

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use hash::FileHash;
use lock::{CurrentFile, Drift, Lock};
use scan::{FileScan, FileScanOptions};
use walk::{EntryKind, RepoWalk, Role, WalkError, WalkIssue};

#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    /// Hash every regular file (needed to compare with a lock file).
    pub hash: bool,
    /// Repository-relative paths to leave out, such as the lock file itself.
    pub exclude: Vec<String>,
    pub scan: FileScanOptions,
}

/// One regular file of the repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Repository-relative, `/`-separated.
    pub path: String,
    pub role: Role,
    pub model: Option<String>,
    pub size: u64,
    pub scan: FileScan,
    pub hash: Option<FileHash>,
    pub hash_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoAudit {
    pub walk: RepoWalk,
    /// Regular files in walk order, with their scans (and hashes, if asked for).
    pub files: Vec<FileReport>,
}

impl RepoAudit {
    /// The files as the lock comparison sees them (requires `hash: true`).
    pub fn current_files(&self) -> Vec<CurrentFile<'_>> {
        self.files
            .iter()
            .map(|f| CurrentFile {
                path: &f.path,
                hash: f.hash,
            })
            .collect()
    }

    /// Differences from a lock file: TG603 mismatch, TG604 missing, TG605 untracked.
    pub fn compare_lock(&self, lock: &Lock) -> Vec<Drift> {
        lock::compare(lock, &self.current_files())
    }
}

/// Walk, scan and (optionally) hash the repository at `root`. Files are processed in
/// parallel; the result is in walk order.
pub fn audit(root: &Path, options: &AuditOptions) -> Result<RepoAudit, WalkError> {
    let walk = walk::walk(root)?;
    let regular: Vec<&walk::Entry> = walk
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && !options.exclude.contains(&e.path))
        .collect();
    let files = regular
        .par_iter()
        .map(|e| {
            // The real name, which may not be UTF-8: never the shown one.
            let path = walk.root.join(&e.os_path);
            let scan = scan::scan_file(&path, &e.path, &options.scan);
            let (hash, hash_error) = if options.hash {
                match hash::sha256_file(&path) {
                    Ok(h) => (Some(h), None),
                    Err(err) => (None, Some(err.to_string())),
                }
            } else {
                (None, None)
            };
            FileReport {
                path: e.path.clone(),
                role: e.role,
                model: e.model.clone(),
                size: e.size,
                scan,
                hash,
                hash_error,
            }
        })
        .collect();
    Ok(RepoAudit { walk, files })
}

/// What `repo lock` produces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockOutput {
    /// The lock file text (see [`lock`] for the format).
    pub text: String,
    /// How many files it lists.
    pub files: usize,
    /// Entries that could not be read or hashed (they are not in the lock).
    pub issues: Vec<WalkIssue>,
}

/// Hash every regular file under `root` into a lock file. `exclude` lists relative paths to
/// leave out (the lock file itself, when it is written inside the repository).
pub fn lock(root: &Path, exclude: &[String]) -> Result<LockOutput, WalkError> {
    let walk = walk::walk(root)?;
    let files: Vec<&walk::Entry> = walk
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && !exclude.contains(&e.path))
        .collect();
    let paths: Vec<&str> = files.iter().map(|e| e.path.as_str()).collect();
    let full: Vec<std::path::PathBuf> = files.iter().map(|e| walk.root.join(&e.os_path)).collect();
    let hashes = hash::sha256_files(&full);
    let mut issues = walk.issues;
    let mut locked: Vec<(&str, FileHash)> = Vec::with_capacity(paths.len());
    for (path, result) in paths.iter().zip(hashes) {
        match result {
            Ok(h) => locked.push((path, h)),
            Err(e) => issues.push(WalkIssue {
                path: (*path).to_string(),
                message: format!("cannot hash: {e}"),
            }),
        }
    }
    let text = lock::render(locked.iter().map(|(p, h)| (*p, h)));
    Ok(LockOutput {
        text,
        files: locked.len(),
        issues,
    })
}

/// `path` relative to the canonical repository `root`, `/`-separated, if it lies inside it
/// (to exclude a lock file written into the repository from the lock and the audit).
pub fn relative_to_root(root: &Path, path: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).ok()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
    let rel = dir.join(path.file_name()?);
    let rel = rel.strip_prefix(&root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}
