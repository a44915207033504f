//! The `helm` command: found on PATH or named with `--helm`, checked to be Helm 3 or 4,
//! and run as `helm template` with a time limit and a cap on what it may print. tritonguard
//! never asks Helm to fetch anything: the chart is always a local directory and no
//! `--dependency-update` is passed, so a missing dependency is Helm's own error.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::plan::RenderPlan;

/// How long one `helm template` may take unless the config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of Helm's error output is kept.
const MAX_STDERR_BYTES: u64 = 64 * 1024;

/// A usable `helm`.
#[derive(Clone, Debug)]
pub struct Helm {
    pub program: PathBuf,
    /// `helm version --short`, e.g. `v3.16.2+g13654a5`.
    pub version: String,
    pub timeout: Duration,
    /// Output beyond this is refused (the same cap as a scanned file).
    pub max_output: u64,
}

/// Why `helm` could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// No `helm` on PATH (and none named): charts keep the `helm template` note.
    NotFound,
    /// A `helm` that does not run or is not Helm 3 or 4: said once, as a note.
    Broken(String),
}

/// A command that failed, timed out or printed too much; `message` is what Helm said
/// (its `Error: ` prefix removed) or what went wrong running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    pub message: String,
}

impl Helm {
    /// `explicit` (from `--helm`), else `helm` on PATH, checked with `helm version --short`.
    pub fn locate(
        explicit: Option<&Path>,
        timeout: Duration,
        max_output: u64,
    ) -> Result<Helm, Unusable> {
        let program = match explicit {
            Some(p) => p.to_path_buf(),
            None => find_on_path("helm").ok_or(Unusable::NotFound)?,
        };
        let probe = Helm {
            program: program.clone(),
            version: String::new(),
            timeout,
            max_output: 64 * 1024,
        };
        let version = probe
            .run(&["version".to_string(), "--short".to_string()])
            .map_err(|e| {
                Unusable::Broken(format!(
                    "{} does not run (`helm version --short`: {})",
                    program.display(),
                    e.message
                ))
            })?;
        let version = version.lines().next().unwrap_or("").trim().to_string();
        if !(version.starts_with("v3.") || version.starts_with("v4.")) {
            return Err(Unusable::Broken(format!(
                "{} is not Helm 3 or 4 (`helm version --short` printed '{version}')",
                program.display()
            )));
        }
        Ok(Helm {
            program,
            version,
            timeout,
            max_output,
        })
    }

    /// The arguments of `helm template` for a plan, with extra `-f` files last.
    pub fn template_args(plan: &RenderPlan, extra_values: &[PathBuf]) -> Vec<String> {
        let mut args = vec![
            "template".to_string(),
            plan.release.clone(),
            plan.chart.dir.to_string_lossy().into_owned(),
        ];
        for v in plan.values.iter().chain(extra_values) {
            args.push("--values".to_string());
            args.push(v.to_string_lossy().into_owned());
        }
        for s in &plan.set {
            args.push("--set".to_string());
            args.push(s.clone());
        }
        if let Some(ns) = &plan.namespace {
            args.push("--namespace".to_string());
            args.push(ns.clone());
        }
        args
    }

    /// Renders a plan: the `helm template` stream, or Helm's message.
    pub fn template(
        &self,
        plan: &RenderPlan,
        extra_values: &[PathBuf],
    ) -> Result<String, RunError> {
        self.run(&Helm::template_args(plan, extra_values))
    }

    /// Runs helm with these arguments, standard input closed, within the time limit.
    pub fn run(&self, args: &[String]) -> Result<String, RunError> {
        let child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RunError {
                message: format!("cannot run {}: {e}", self.program.display()),
            })?;
        let output = wait_bounded(child, self.timeout, self.max_output)?;
        if output.status_ok {
            String::from_utf8(output.stdout).map_err(|e| RunError {
                message: format!("helm printed text that is not UTF-8: {e}"),
            })
        } else {
            Err(RunError {
                message: helm_message(&String::from_utf8_lossy(&output.stderr), output.code),
            })
        }
    }
}

/// Helm's error output as one message: `Error: ` prefixes and blank lines dropped.
fn helm_message(stderr: &str, code: Option<i32>) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("Error: ").unwrap_or(l))
        .collect();
    if lines.is_empty() {
        match code {
            Some(c) => format!("helm exited with status {c} and printed no error"),
            None => "helm was killed by a signal".to_string(),
        }
    } else {
        lines.join("; ")
    }
}

struct Output {
    status_ok: bool,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Waits for a child, reading both pipes with caps; kills it on timeout or when it prints
/// more than `max_stdout` bytes. The readers are detached threads, so a grandchild that
/// keeps a pipe open after the kill cannot hold tritonguard up.
fn wait_bounded(mut child: Child, timeout: Duration, max_stdout: u64) -> Result<Output, RunError> {
    let started = Instant::now();
    let overflow = Arc::new(AtomicBool::new(false));
    let out = reader(child.stdout.take(), max_stdout, Some(overflow.clone()));
    let err = reader(child.stderr.take(), MAX_STDERR_BYTES, None);
    let too_much = || {
        format!(
            "helm printed more than {} MiB; not scanned",
            max_stdout / (1024 * 1024)
        )
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(format!("cannot wait for helm: {e}")),
        }
        if overflow.load(Ordering::Relaxed) {
            break Err(too_much());
        }
        if started.elapsed() > timeout {
            break Err(format!(
                "helm did not finish within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let status = match status {
        Ok(status) => status,
        Err(message) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError { message });
        }
    };
    // The child is gone; its pipes close unless it left a process behind holding them.
    let grace = Duration::from_secs(2);
    let stdout = out.recv_timeout(grace).unwrap_or_default();
    let stderr = err.recv_timeout(grace).unwrap_or_default();
    if overflow.load(Ordering::Relaxed) {
        return Err(RunError {
            message: too_much(),
        });
    }
    Ok(Output {
        status_ok: status.success(),
        code: status.code(),
        stdout,
        stderr,
    })
}

/// Reads a pipe on its own thread up to `cap` bytes and sends what it read. Past the cap it
/// sets `overflow` and stops reading, so a child that keeps printing blocks until killed.
fn reader<R: Read + Send + 'static>(
    pipe: Option<R>,
    cap: u64,
    overflow: Option<Arc<AtomicBool>>,
) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(cap + 1).read_to_end(&mut bytes);
        }
        if bytes.len() as u64 > cap {
            if let Some(flag) = overflow {
                flag.store(true, Ordering::Relaxed);
            }
            bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        }
        let _ = send.send(bytes);
    });
    receive
}

/// The first executable file named `name` in `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("helm");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_default();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        }
        path
    }

    fn helm(program: PathBuf, timeout: Duration, max_output: u64) -> Helm {
        Helm {
            program,
            version: String::new(),
            timeout,
            max_output,
        }
    }

    #[test]
    fn output_errors_timeouts_and_floods_are_bounded() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ok = script(tmp.path(), "echo \"$@\"");
        assert_eq!(
            helm(ok, Duration::from_secs(10), 1024).run(&["template".into(), "x".into()]),
            Ok("template x\n".to_string())
        );
        let fail = script(
            tmp.path(),
            "echo 'Error: execution error at (c/templates/a.yaml:3:9): bucket is required' >&2; exit 1",
        );
        assert_eq!(
            helm(fail, Duration::from_secs(10), 1024).run(&[]),
            Err(RunError {
                message: "execution error at (c/templates/a.yaml:3:9): bucket is required".into()
            })
        );
        let slow = script(tmp.path(), "sleep 30");
        let started = Instant::now();
        let err = helm(slow, Duration::from_millis(300), 1024).run(&[]);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            err.as_ref()
                .is_err_and(|e| e.message.contains("did not finish")),
            "{err:?}"
        );
        let flood = script(tmp.path(), "yes tritonguard");
        let err = helm(flood, Duration::from_secs(20), 1024 * 1024).run(&[]);
        assert!(
            err.as_ref()
                .is_err_and(|e| e.message.contains("more than 1 MiB")),
            "{err:?}"
        );
    }

    #[test]
    fn only_helm_3_or_4_is_used() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let v2 = script(tmp.path(), "echo 'Client: v2.17.0+ga690bad'");
        assert!(matches!(
            Helm::locate(Some(&v2), Duration::from_secs(10), 1024),
            Err(Unusable::Broken(m)) if m.contains("not Helm 3 or 4")
        ));
        let v3 = script(tmp.path(), "echo v3.16.2+g13654a5");
        let found = Helm::locate(Some(&v3), Duration::from_secs(10), 1024);
        assert_eq!(
            found.map(|h| h.version).ok().as_deref(),
            Some("v3.16.2+g13654a5")
        );
        let missing = tmp.path().join("nope");
        assert!(matches!(
            Helm::locate(Some(&missing), Duration::from_secs(10), 1024),
            Err(Unusable::Broken(m)) if m.contains("does not run")
        ));
    }
}
