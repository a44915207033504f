//! Which files to scan: walk the given paths (honouring .gitignore, skipping build output and
//! symlinks that leave the root), classify each file by name, and read it with limits.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::load::classify::{FileKind, classify_path, classify_shebang};
use crate::read_guard::{self, Refusal};

/// Files larger than this are reported rather than read.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A file chosen for scanning.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub display: String,
    pub path: Option<PathBuf>,
    pub kind: FileKind,
    /// Named on the command line (not found by walking): never skipped silently.
    pub explicit: bool,
    /// Read only for what it tells about other files (Services selecting a Deployment);
    /// its own findings are not reported.
    pub context: bool,
}

/// Something about a path that the user should hear about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscoveryNote {
    pub display: String,
    pub message: String,
    /// Fatal for the run (a path that does not exist).
    pub error: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub candidates: Vec<Candidate>,
    pub notes: Vec<DiscoveryNote>,
    /// Files seen but not of a kind tritonguard reads.
    pub skipped: usize,
}

pub struct DiscoverOptions {
    /// Directory that displayed paths are relative to.
    pub base: PathBuf,
    /// Extra glob patterns to exclude (from the config file).
    pub exclude: globset::GlobSet,
}

/// Walks `paths` (files or directories) in a deterministic order.
pub fn discover(paths: &[PathBuf], options: &DiscoverOptions) -> Discovery {
    let mut discovery = Discovery::default();
    for root in paths {
        let display_root = crate::source::display_path(root, &options.base);
        let metadata = match std::fs::symlink_metadata(root) {
            Ok(m) => m,
            Err(e) => {
                discovery.notes.push(DiscoveryNote {
                    display: display_root,
                    message: format!("cannot read: {e}"),
                    error: true,
                });
                continue;
            }
        };
        if !metadata.is_dir() && !std::fs::metadata(root).is_ok_and(|m| m.is_dir()) {
            // A file named explicitly is scanned whatever its name, as YAML if nothing else fits.
            let kind = classify_path(root)
                .or_else(|| sniff(root))
                .unwrap_or(FileKind::Yaml);
            discovery.candidates.push(Candidate {
                display: display_root,
                path: Some(root.clone()),
                kind,
                explicit: true,
                context: false,
            });
            continue;
        }
        walk_directory(root, options, &mut discovery);
    }
    discovery.candidates.sort();
    discovery.candidates.dedup_by(|a, b| a.path == b.path);
    discovery.notes.sort();
    discovery
}

fn walk_directory(root: &Path, options: &DiscoverOptions, discovery: &mut Discovery) {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .add_custom_ignore_filename(".tritonguardignore")
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && matches!(
                    name.as_ref(),
                    ".git" | "target" | "node_modules" | ".venv" | "__pycache__"
                ))
        })
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    let mut chart_templates: Vec<PathBuf> = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                discovery.notes.push(DiscoveryNote {
                    display: crate::source::display_path(root, &options.base),
                    message: format!("walk error: {e}"),
                    error: false,
                });
                continue;
            }
        };
        let path = entry.path();
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if path.join("Chart.yaml").is_file() {
                chart_templates.push(path.join("templates"));
                discovery.notes.push(helm_chart_note(path, &options.base));
            }
            continue;
        }
        // Chart templates are Go templates, not YAML; what Kubernetes receives is only
        // known after rendering, so they are checked through `helm template`.
        if chart_templates.iter().any(|t| path.starts_with(t)) {
            discovery.skipped += 1;
            continue;
        }
        let display = crate::source::display_path(path, &options.base);
        if options.exclude.is_match(&display) || options.exclude.is_match(path) {
            continue;
        }
        if file_type.is_symlink() {
            let inside = std::fs::canonicalize(path)
                .is_ok_and(|target| target.starts_with(&canonical_root) && target.is_file());
            if !inside {
                discovery.notes.push(DiscoveryNote {
                    display,
                    message: "symlink leaves the scanned directory (or is broken); not followed"
                        .to_string(),
                    error: false,
                });
                continue;
            }
        }
        match classify_path(path).or_else(|| sniff(path)) {
            Some(kind) => discovery.candidates.push(Candidate {
                display,
                path: Some(path.to_path_buf()),
                kind,
                explicit: false,
                context: false,
            }),
            None => discovery.skipped += 1,
        }
    }
}

/// The start of the note a directory walk gives each Helm chart (see [`is_helm_chart_note`]).
const HELM_CHART_NOTE: &str = "Helm chart: its templates are not scanned";

/// Whether a note is the one a walk gives a Helm chart, which the Helm stage drops for the
/// charts it renders.
pub fn is_helm_chart_note(note: &DiscoveryNote) -> bool {
    note.message.starts_with(HELM_CHART_NOTE)
}

fn helm_chart_note(chart: &Path, base: &Path) -> DiscoveryNote {
    let display = crate::source::display_path(chart, base);
    let shown = if display.is_empty() {
        "."
    } else {
        display.as_str()
    };
    DiscoveryNote {
        message: format!(
            "{HELM_CHART_NOTE} as they are written; check what it renders with \
             `helm template {shown} | tritonguard check -`"
        ),
        display: shown.to_string(),
        error: false,
    }
}

/// The kind of a file on disk by its name, or for an extension-less file by its shebang;
/// `None` when it is not a kind tritonguard reads.
pub fn classify_file(path: &Path) -> Option<FileKind> {
    classify_path(path).or_else(|| sniff(path))
}

/// Classifies an extension-less file by its shebang (reads at most 128 bytes).
fn sniff(path: &Path) -> Option<FileKind> {
    if path.extension().is_some() {
        return None;
    }
    let mut head = [0u8; 128];
    // Opened without blocking and refused unless regular: a FIFO must not hang the walk.
    let mut file = read_guard::open_regular(path, true, u64::MAX).ok()?;
    let n = file.read(&mut head).ok()?;
    classify_shebang(&head[..n])
}

/// Why a file could not be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadProblem {
    TooLarge(u64),
    Binary,
    NotUtf8 { offset: usize },
    Io(String),
}

impl std::fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadProblem::TooLarge(n) => write!(
                f,
                "file is too large to scan ({:.1} MiB; the limit is {} MiB)",
                *n as f64 / (1024.0 * 1024.0),
                DEFAULT_MAX_FILE_BYTES / (1024 * 1024)
            ),
            ReadProblem::Binary => write!(f, "binary file (contains NUL bytes); not scanned"),
            ReadProblem::NotUtf8 { offset } => {
                write!(f, "not valid UTF-8 (first invalid byte at offset {offset})")
            }
            ReadProblem::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

/// Reads a file as UTF-8 text. A leading BOM is kept so that offsets match the file on disk;
/// the parsers skip it.
/// Through [`read_guard`]: a FIFO, socket or device named like a scanned file is refused at
/// once (a FIFO would block forever, `/dev/zero` never end), and no more than `max_bytes`
/// is read even from a file that grows.
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, ReadProblem> {
    let bytes = read_guard::read_regular(path, max_bytes).map_err(|refusal| match refusal {
        Refusal::TooLarge { size, .. } => ReadProblem::TooLarge(size),
        Refusal::Missing => {
            ReadProblem::Io(std::io::Error::from_raw_os_error(libc::ENOENT).to_string())
        }
        Refusal::Io(e) => ReadProblem::Io(e.to_string()),
        other => ReadProblem::Io(other.to_string()),
    })?;
    decode(bytes)
}

/// Bytes to text, refusing binary data.
pub fn decode(bytes: Vec<u8>) -> Result<String, ReadProblem> {
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(ReadProblem::Binary);
    }
    String::from_utf8(bytes).map_err(|e| ReadProblem::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}
