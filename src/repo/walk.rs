//! Walk a Triton model repository without following symbolic links, and record what a
//! security review needs about every entry: kind, permission bits, owner, size, and where a
//! symlink points.
//!
//! Layout (Triton's `model_repository.md`): `<repo>/<model>/config.pbtxt`,
//! `<repo>/<model>/configs/<name>.pbtxt` (picked with `--model-config-name`), and numeric
//! version directories `<repo>/<model>/<version>/<model files>`. A python-backend model runs
//! `<version>/model.py`; a model directory may carry its own `triton_python_backend_stub`.

use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    /// FIFO, socket or device node.
    Special,
}

/// What an entry is to Triton.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The repository directory itself.
    Root,
    ModelDir,
    /// A numeric directory inside a model directory.
    VersionDir,
    /// `<model>/configs/`.
    ConfigsDir,
    /// `<model>/config.pbtxt`.
    Config,
    /// `<model>/configs/*.pbtxt`.
    CustomConfig,
    /// A file inside a version directory (weights, engines, graphs).
    ModelFile,
    /// `<model>/<version>/model.py`, run by the python backend.
    PythonModel,
    /// Any other `.py` file in a model directory: importable by `model.py`.
    PythonCode,
    /// `triton_python_backend_stub`: replaces the stub process that runs `model.py`.
    BackendStub,
    /// A `.so` in a model directory: custom backends and plugins are loaded from there.
    SharedLibrary,
    Other,
}

impl Role {
    /// Roles whose content runs as code in the server.
    pub fn is_code(self) -> bool {
        matches!(
            self,
            Role::PythonModel | Role::PythonCode | Role::BackendStub | Role::SharedLibrary
        )
    }
}

/// Where a symbolic link points. The link is reported, never followed by the walk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SymlinkInfo {
    /// The link text as stored.
    pub target: String,
    /// The fully resolved absolute path, if the target exists.
    pub resolved: Option<String>,
    /// The target does not exist.
    pub dangling: bool,
    /// The target is outside the repository root (resolved, or lexically for a dangling
    /// link): Triton would load whatever lives there.
    pub escapes_root: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Relative to the root, `/`-separated; `.` for the root itself. A name that is not
    /// UTF-8 has its other bytes written `\xNN`.
    pub path: String,
    /// The same path as the file system spells it (the real bytes): what to open.
    #[serde(skip)]
    pub os_path: PathBuf,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    /// Others may write (not meaningful for symlinks, whose own bits are ignored).
    pub world_writable: bool,
    pub group_writable: bool,
    pub symlink: Option<SymlinkInfo>,
    pub role: Role,
    /// The model directory this entry belongs to.
    pub model: Option<String>,
}

impl Entry {
    pub fn is_executable(&self) -> bool {
        self.kind == EntryKind::File && self.mode & 0o111 != 0
    }
}

/// An entry that could not be read; the walk goes on without it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WalkIssue {
    pub path: String,
    pub message: String,
}

/// One model directory, summarised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModelDir {
    pub name: String,
    pub has_config: bool,
    /// `configs/*.pbtxt` names, relative to the root.
    pub custom_configs: Vec<String>,
    /// Version directory names, in walk order (sorted by name).
    pub versions: Vec<String>,
    pub python_model: bool,
    pub custom_stub: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoWalk {
    /// The canonical root path.
    pub root: PathBuf,
    /// Every entry, root first, then sorted by path within each directory (depth-first).
    pub entries: Vec<Entry>,
    pub issues: Vec<WalkIssue>,
    pub models: Vec<ModelDir>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot read repository root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("repository root {0} is not a directory")]
    NotADirectory(PathBuf),
}

/// Walk the repository at `root`. Only a root that cannot be read is an error; anything
/// below it that cannot be read becomes a [`WalkIssue`].
pub fn walk(root: &Path) -> Result<RepoWalk, WalkError> {
    let root_error = |source| WalkError::Root {
        path: root.to_path_buf(),
        source,
    };
    let canonical = fs::canonicalize(root).map_err(root_error)?;
    let meta = fs::symlink_metadata(&canonical).map_err(root_error)?;
    if !meta.is_dir() {
        return Err(WalkError::NotADirectory(root.to_path_buf()));
    }
    let mut w = Walker {
        root: canonical.clone(),
        entries: Vec::new(),
        issues: Vec::new(),
    };
    w.entries.push(w.entry(
        ".".into(),
        PathBuf::from("."),
        &canonical,
        &meta,
        Role::Root,
        None,
    ));
    w.dir(&canonical, Vec::new(), PathBuf::new());
    let models = summarise(&w.entries);
    Ok(RepoWalk {
        root: canonical,
        entries: w.entries,
        issues: w.issues,
        models,
    })
}

struct Walker {
    root: PathBuf,
    entries: Vec<Entry>,
    issues: Vec<WalkIssue>,
}

impl Walker {
    fn issue(&mut self, rel: &str, message: String) {
        self.issues.push(WalkIssue {
            path: rel.to_string(),
            message,
        });
    }

    /// Read one directory; `parts` are the relative path components of `dir`. The walk is
    /// iterative over a directory's children and recursive only in depth, which the file
    /// system bounds (no symlinks are followed, so there are no cycles).
    fn dir(&mut self, dir: &Path, parts: Vec<String>, os_dir: PathBuf) {
        let rel_dir = rel_path(&parts);
        let reader = match fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => return self.issue(&rel_dir, format!("cannot list directory: {e}")),
        };
        let mut children = Vec::new();
        for item in reader {
            match item {
                Ok(d) => children.push(d),
                Err(e) => self.issue(&rel_dir, format!("cannot read directory entry: {e}")),
            }
        }
        children.sort_by_key(|d| d.file_name());
        for child in children {
            let os_name = child.file_name();
            let name = crate::escape::lossless_name(os_name.as_bytes());
            let mut child_parts = parts.clone();
            child_parts.push(name);
            let rel = rel_path(&child_parts);
            let os_rel = os_dir.join(&os_name);
            if os_name.to_str().is_none() {
                self.issue(
                    &rel,
                    "file name is not valid UTF-8 (shown with \\xNN escapes): it is audited by its real name, but the lock file records the escaped one".into(),
                );
            }
            let path = child.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    self.issue(&rel, format!("cannot stat: {e}"));
                    continue;
                }
            };
            let (role, model) = role_of(&child_parts, meta.is_dir());
            let entry = self.entry(rel, os_rel.clone(), &path, &meta, role, model);
            let is_dir = entry.kind == EntryKind::Dir;
            self.entries.push(entry);
            if is_dir {
                self.dir(&path, child_parts, os_rel);
            }
        }
    }

    fn entry(
        &self,
        rel: String,
        os_path: PathBuf,
        path: &Path,
        meta: &Metadata,
        role: Role,
        model: Option<String>,
    ) -> Entry {
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            EntryKind::Special
        };
        let mode = meta.permissions().mode() & 0o7777;
        let link = kind == EntryKind::Symlink;
        Entry {
            path: rel,
            os_path,
            kind,
            mode,
            size: meta.len(),
            uid: meta.uid(),
            gid: meta.gid(),
            world_writable: !link && mode & 0o002 != 0,
            group_writable: !link && mode & 0o020 != 0,
            symlink: link.then(|| self.symlink(path)),
            role,
            model,
        }
    }

    fn symlink(&self, path: &Path) -> SymlinkInfo {
        let target = fs::read_link(path).unwrap_or_default();
        match fs::canonicalize(path) {
            Ok(resolved) => SymlinkInfo {
                target: crate::escape::lossless_name(target.as_os_str().as_bytes()),
                escapes_root: !resolved.starts_with(&self.root),
                resolved: Some(crate::escape::lossless_name(
                    resolved.as_os_str().as_bytes(),
                )),
                dangling: false,
            },
            Err(_) => {
                // Dangling: judge the text. It may still escape, and may come to exist.
                let base = path.parent().unwrap_or(&self.root);
                let lexical = normalise(&base.join(&target));
                SymlinkInfo {
                    target: crate::escape::lossless_name(target.as_os_str().as_bytes()),
                    escapes_root: !lexical.starts_with(&self.root),
                    resolved: None,
                    dangling: true,
                }
            }
        }
    }
}

fn rel_path(parts: &[String]) -> String {
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Resolve `.` and `..` without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn is_version_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// The role of an entry from its relative path components.
fn role_of(parts: &[String], is_dir: bool) -> (Role, Option<String>) {
    let model = parts.first().cloned();
    let name = parts.last().map(String::as_str).unwrap_or_default();
    let role = match (parts.len(), is_dir) {
        (1, true) => Role::ModelDir,
        (1, false) => Role::Other,
        (2, true) if is_version_name(name) => Role::VersionDir,
        (2, true) if name == "configs" => Role::ConfigsDir,
        (2, false) if name == "config.pbtxt" => Role::Config,
        (3, false)
            if parts.get(1).map(String::as_str) == Some("configs") && name.ends_with(".pbtxt") =>
        {
            Role::CustomConfig
        }
        (_, true) => Role::Other,
        (n, false) => {
            let in_version = parts.get(1).is_some_and(|v| is_version_name(v));
            if name == "triton_python_backend_stub" {
                Role::BackendStub
            } else if in_version && n == 3 && name == "model.py" {
                Role::PythonModel
            } else if name.ends_with(".py") {
                Role::PythonCode
            } else if name.ends_with(".so") || name.contains(".so.") {
                Role::SharedLibrary
            } else if in_version {
                Role::ModelFile
            } else {
                Role::Other
            }
        }
    };
    (role, model)
}

fn summarise(entries: &[Entry]) -> Vec<ModelDir> {
    let mut models: Vec<ModelDir> = Vec::new();
    for e in entries {
        if e.role == Role::ModelDir {
            models.push(ModelDir {
                name: e.path.clone(),
                ..ModelDir::default()
            });
            continue;
        }
        let Some(m) = models
            .last_mut()
            .filter(|m| e.model.as_deref() == Some(m.name.as_str()))
        else {
            continue;
        };
        match e.role {
            Role::Config => m.has_config = true,
            Role::CustomConfig => m.custom_configs.push(e.path.clone()),
            Role::VersionDir => m
                .versions
                .push(e.path.rsplit('/').next().unwrap_or_default().to_string()),
            Role::PythonModel => m.python_model = true,
            Role::BackendStub => m.custom_stub = true,
            _ => {}
        }
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        p.split('/').map(String::from).collect()
    }

    #[test]
    fn roles_follow_the_triton_layout() {
        let cases = [
            ("m", true, Role::ModelDir),
            ("m/config.pbtxt", false, Role::Config),
            ("m/configs", true, Role::ConfigsDir),
            ("m/configs/prod.pbtxt", false, Role::CustomConfig),
            ("m/1", true, Role::VersionDir),
            ("m/1/model.onnx", false, Role::ModelFile),
            ("m/1/model.py", false, Role::PythonModel),
            ("m/1/utils/helpers.py", false, Role::PythonCode),
            ("m/triton_python_backend_stub", false, Role::BackendStub),
            ("m/1/libtriton_custom.so", false, Role::SharedLibrary),
            ("m/labels.txt", false, Role::Other),
            ("m/latest", true, Role::Other),
            ("README.md", false, Role::Other),
        ];
        for (p, dir, role) in cases {
            assert_eq!(role_of(&parts(p), dir).0, role, "{p}");
        }
    }

    #[test]
    fn lexical_normalisation() {
        assert_eq!(
            normalise(Path::new("/repo/m/1/../../../etc/passwd")),
            PathBuf::from("/etc/passwd")
        );
    }
}
