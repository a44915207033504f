//! `--force-exclude`: the config's `exclude` and `.tritonguardignore` also apply to files
//! named on the command line (pre-commit names every staged file explicitly).

use std::path::{Path, PathBuf};

use crate::filter::config::{self, Config, ConfigError};

/// Whether `file`, named explicitly, is excluded: by the `exclude` of `fixed` (`--config`,
/// matched from the working directory) or else of its nearest config (matched from that
/// config's folder), or by a `.tritonguardignore` between it and the repository root.
pub fn excluded(
    file: &Path,
    fixed: Option<&Config>,
    base: &Path,
) -> Result<bool, Vec<ConfigError>> {
    let Ok(real) = std::fs::canonicalize(file) else {
        return Ok(false);
    };
    let (patterns, relative) = match fixed {
        Some(c) => (c.exclude.clone(), crate::source::display_path(file, base)),
        None => match config::find(&real) {
            Some(path) => {
                let c = config::load(&path)?;
                let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let relative = real
                    .strip_prefix(&folder)
                    .map(|r| r.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (c.exclude, relative)
            }
            None => (Vec::new(), String::new()),
        },
    };
    let by_config = patterns
        .iter()
        .filter_map(|p| globset::Glob::new(p).ok())
        .any(|g| g.compile_matcher().is_match(&relative));
    Ok(by_config || ignored_by_file(&real))
}

/// A `.tritonguardignore` in the file's folder or a parent, up to the repository root,
/// that matches it (gitignore syntax, as in a directory walk).
fn ignored_by_file(real: &Path) -> bool {
    let mut dir: Option<PathBuf> = real.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let ignore_file = d.join(".tritonguardignore");
        if ignore_file.is_file() {
            let mut builder = ignore::gitignore::GitignoreBuilder::new(&d);
            let _ = builder.add(&ignore_file);
            if let Ok(matcher) = builder.build()
                && matcher.matched_path_or_any_parents(real, false).is_ignore()
            {
                return true;
            }
        }
        if d.join(".git").exists() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    false
}
