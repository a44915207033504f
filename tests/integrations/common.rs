//! Running tritonguard and finding the examples.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the freshly built tritonguard in `dir`, with `stdin` as its standard input.
pub fn tritonguard_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tritonguard starts");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs tritonguard from the repository root.
pub fn tritonguard(args: &[&str]) -> Run {
    tritonguard_in(&repo_root(), args, None)
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
