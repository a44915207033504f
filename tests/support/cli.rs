//! Running the freshly built tritonguard as a user does, and what it printed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs tritonguard in `dir` without colour, with `stdin` as its standard input, in a
/// UTF-8 locale with no terminal width set, so output does not depend on the caller's
/// terminal.
pub fn tritonguard_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    tritonguard_env(dir, args, stdin, &[])
}

/// Like [`tritonguard_in`], with extra environment variables.
pub fn tritonguard_env(
    dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("TERM")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tritonguard starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    Run::from(child.wait_with_output().unwrap())
}

/// Runs tritonguard from the repository root.
pub fn tritonguard(args: &[&str]) -> Run {
    tritonguard_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}
