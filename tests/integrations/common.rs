//! Running tritonguard and finding the examples.

use std::path::{Path, PathBuf};

pub use super::support::cli::{tritonguard, tritonguard_in};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example: each directory under `examples/` that holds files of its own, as a path
/// relative to the repository root. Found by walking, so a new example is covered without
/// touching the tests.
pub fn examples() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let mut has_files = false;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                has_files = true;
            }
        }
        if has_files {
            out.push(
                dir.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
    let root = repo_root();
    let mut out = Vec::new();
    walk(&root.join("examples"), &root, &mut out);
    assert!(
        out.len() >= 3,
        "expected the kubernetes and github examples, found {out:?}"
    );
    out
}

/// A file name for an example's report: `examples/kubernetes/insecure` → `kubernetes-insecure`.
pub fn slug(example: &str) -> String {
    example
        .trim_start_matches("examples/")
        .replace(['/', '\\'], "-")
}
