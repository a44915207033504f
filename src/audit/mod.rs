//! The pipeline of `tritonguard repo audit DIR`: walk, scan and hash the model repository
//! (the data layer, [`crate::repo`]), run the config.pbtxt rules over its configurations (the
//! `check` pipeline, [`crate::scan`]), compare it with a lock file, and turn everything into
//! findings of one report. Reporting and exit codes are the caller's, as for `check`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "input here is hostile: a bad byte is a finding or an error, never a panic (issue 13); tests are exempt (clippy.toml)"
)]

pub mod findings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::evaluate::policy::fixture::RepoFixture;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::finding::Finding;
use crate::load::Request;
use crate::load::discover::DiscoveryNote;
use crate::pipeline::{Outcome as ScanResult, Pipeline};
use crate::read_guard::{Refusal, read_regular};
use crate::repo::lock::{self, DEFAULT_FILE_NAME};
use crate::repo::scan::FileScanOptions;
use crate::repo::walk::{EntryKind, Role, WalkError};
use crate::repo::{AuditOptions, relative_to_root};
use crate::source::{SourceFile, display_path};

/// Largest lock file read: about 170,000 entries. Larger is refused (as a finding), so a
/// hostile lock cannot exhaust memory.
pub const MAX_LOCK_BYTES: u64 = 16 << 20;

/// What to audit.
#[derive(Clone, Debug)]
pub struct AuditRequest {
    /// The repository directory as the user named it: shown paths start from it.
    pub root: PathBuf,
    /// The lock file to compare with; `None` audits without an integrity check.
    pub lock: Option<PathBuf>,
    /// Directory that shown paths are relative to.
    pub base: PathBuf,
    pub scan: FileScanOptions,
}

impl AuditRequest {
    pub fn new(root: PathBuf) -> AuditRequest {
        AuditRequest {
            root,
            lock: None,
            base: std::env::current_dir().unwrap_or_default(),
            scan: FileScanOptions::default(),
        }
    }
}

/// Why an audit could not run at all (anything below the root is a finding instead).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("cannot read lock file {}: {source}", path.display())]
    Lock { path: PathBuf, source: Refusal },
}

/// `DIR/tritonguard.lock`, if it exists: the lock `repo lock DIR` writes by default, and
/// the one `repo audit DIR` compares with unless told otherwise.
pub fn default_lock(root: &Path) -> Option<PathBuf> {
    let path = root.join(DEFAULT_FILE_NAME);
    std::fs::symlink_metadata(&path)
        .is_ok_and(|m| m.is_file())
        .then_some(path)
}

/// Audits the repository. `enabled` decides which rules run, as for `check`. The result has
/// the shape of a `check` scan, so the same reporters and exit codes apply.
pub fn audit_repository(
    catalogue: &Catalogue,
    request: &AuditRequest,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Result<ScanResult, AuditError> {
    let started = Instant::now();
    // A FIFO or a device as the lock is refused at once (it could block or never end); a
    // lock too large to read is a finding, and the audit goes on without the comparison.
    let lock_bytes = match &request.lock {
        Some(path) => match read_regular(path, MAX_LOCK_BYTES) {
            Ok(bytes) => Some(Ok(bytes)),
            Err(Refusal::TooLarge { size, limit }) => Some(Err((size, limit))),
            Err(source) => {
                return Err(AuditError::Lock {
                    path: path.clone(),
                    source,
                });
            }
        },
        None => None,
    };
    let lock_text = match &lock_bytes {
        Some(Ok(bytes)) => Some(lock::decode(bytes)),
        _ => None,
    };
    // A lock file inside the repository is not part of what it locks.
    let lock_rel = request
        .lock
        .as_deref()
        .and_then(|p| relative_to_root(&request.root, p));
    let repo = crate::repo::audit(
        &request.root,
        &AuditOptions {
            hash: lock_text.is_some(),
            exclude: lock_rel.iter().cloned().collect(),
            scan: request.scan.clone(),
        },
    )?;

    // The config.pbtxt rules, through the check pipeline, on exactly the configurations.
    let configs: Vec<PathBuf> = repo
        .walk
        .entries
        .iter()
        .filter(|e| {
            e.kind == EntryKind::File && matches!(e.role, Role::Config | Role::CustomConfig)
        })
        .map(|e| request.root.join(&e.os_path))
        .collect();
    let mut config_request = Request::new(configs);
    config_request.base = request.base.clone();
    let mut result = Pipeline::new(catalogue, enabled).scan(&config_request);

    let root_display = display_path(&request.root, &request.base);
    let mut ctx = findings::Context::new(
        catalogue,
        enabled,
        &mut result.store,
        &request.root,
        &request.base,
    );
    ctx.permissions(&repo.walk);
    ctx.symlinks(&repo.walk);
    ctx.walk_issues(&repo.walk);
    for file in &repo.files {
        ctx.scanned_file(file);
    }
    let mut notes: Vec<DiscoveryNote> = Vec::new();
    match (&request.lock, &lock_text, &lock_bytes) {
        (Some(path), Some((shown, text, encoding_errors)), _) => {
            let display = display_path(path, &request.base);
            let (parsed, errors) = lock::parse(text);
            let lock_file = ctx.add_text(SourceFile::new(
                display.clone(),
                Some(path.clone()),
                Arc::from(shown.as_str()),
            ));
            ctx.lock_errors(lock_file, encoding_errors);
            ctx.lock_errors(lock_file, &errors);
            ctx.drift(lock_file, &display, &repo.compare_lock(&parsed));
            notes.push(DiscoveryNote {
                display,
                message: format!(
                    "{} lock entr{} compared with the repository",
                    parsed.entries.len(),
                    if parsed.entries.len() == 1 { "y" } else { "ies" }
                ),
                error: false,
            });
        }
        (Some(path), None, Some(Err((size, limit)))) => {
            let display = display_path(path, &request.base);
            let lock_file = ctx.add_text(SourceFile::new(
                display.clone(),
                Some(path.clone()),
                Arc::from(""),
            ));
            ctx.lock_unread(lock_file, *size, *limit);
            notes.push(DiscoveryNote {
                display,
                message: "lock file not read (too large): nothing was compared".to_string(),
                error: true,
            });
        }
        _ => notes.push(DiscoveryNote {
            display: root_display.clone(),
            message: format!(
                "no lock file, so file contents were not checked against one (write it with: tritonguard repo lock {root_display})"
            ),
            error: false,
        }),
    }
    let mut findings = ctx.finish();
    findings.append(&mut result.findings);
    sort_findings(&mut findings, &result.store);
    result.findings = findings;
    // The config scan's notes (unreadable configurations) come first.
    result.notes.append(&mut notes);

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for f in &repo.files {
        let kind = serde_json::to_value(f.scan.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *kinds.entry(kind).or_default() += 1;
    }
    result.stats.files = repo.files.len();
    result.stats.files_by_kind = kinds.into_iter().collect();
    result.stats.models = Some(repo.walk.models.len());
    result.stats.duration = started.elapsed();
    Ok(result)
}

/// Audits an inline test repository (a policy test's `input: {repo: ...}`): written into
/// a private temporary directory as `repo/`, with `repo/tritonguard.lock` as its lock file
/// when the fixture has one. Paths are shown from `repo`.
pub fn audit_fixture(
    catalogue: &Catalogue,
    fixture: &RepoFixture,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Result<ScanResult, String> {
    let dir = tempfile::Builder::new()
        .prefix("tritonguard-test-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let root = dir.path().join("repo");
    let outcome = std::fs::create_dir(&root)
        .and_then(|()| fixture.write(&root))
        .map_err(|e| format!("cannot write the test repository: {e}"))
        .and_then(|()| {
            let mut request = AuditRequest::new(root.clone());
            request.base = dir.path().to_path_buf();
            request.lock = default_lock(&root);
            audit_repository(catalogue, &request, enabled).map_err(|e| e.to_string())
        });
    // Read-only directories of the fixture would stop the temporary directory's removal.
    make_removable(&root);
    outcome
}

fn make_removable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            make_removable(&entry.path());
        }
    }
}

/// Report order: by path, then position, then rule; the human report groups by file.
pub fn sort_findings(findings: &mut Vec<Finding>, store: &crate::source::SourceStore) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                store.display(f.primary.span.file).to_string(),
                f.primary.span.start,
                f.primary.span.end,
                f.rule_id.clone(),
                f.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.primary == b.primary);
}
