//! The shipped `.pre-commit-hooks.yaml` run by the real pre-commit, in a scratch git
//! repository whose `.pre-commit-config.yaml` points at a repository holding this
//! checkout's manifest (`repo: <path>`, pinned `rev`), exactly as a user's config points
//! at tritonguard's. The `tritonguard-system` hook runs the freshly built binary, put on
//! PATH; the `tritonguard` (language: rust) hook would `cargo install` a release build per
//! test, so its manifest entry is checked with pre-commit's own loader instead (and it was
//! run once by hand; see docs/integrations.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::common::repo_root;
use super::support::tools::{PRE_COMMIT, require_tool};

const INSECURE: &str = include_str!("../../examples/kubernetes/insecure/triton.yaml");
const HARDENED: &str = include_str!("../../examples/kubernetes/hardened/triton.yaml");

/// A LoadBalancer Service that forwards to the metrics port of the hardened Deployment.
const PUBLIC_SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: triton-public
  namespace: inference
spec:
  type: LoadBalancer
  selector:
    app.kubernetes.io/name: triton
  ports:
    - name: metrics
      port: 9090
      targetPort: metrics
";

/// The Deployment (first document) of the hardened example: clean on its own.
fn hardened_deployment() -> String {
    HARDENED.split("\n---\n").next().unwrap().to_string() + "\n"
}

pub(super) struct Sandbox {
    _dir: tempfile::TempDir,
    pre_commit: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    /// The user's repository, where hooks run.
    project: PathBuf,
    /// Extra environment of `pre-commit run`.
    env: Vec<(String, String)>,
}

/// How a sandbox differs from the default one.
#[derive(Default)]
pub(super) struct Setup {
    /// Files of this checkout (besides `.pre-commit-hooks.yaml`) the hooks repository holds.
    pub files: Vec<&'static str>,
    /// Leave the freshly built tritonguard off PATH (the hook must bring its own).
    pub no_binary_on_path: bool,
    pub env: Vec<(String, String)>,
    pub verbose: bool,
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Sandbox {
    /// A hooks repository holding this checkout's manifest, and a project whose config
    /// uses `hook` from it with `args`. `None` when pre-commit is not available locally.
    fn new(hook: &str, args: &[&str]) -> Option<Sandbox> {
        Sandbox::with_options(hook, args, false)
    }

    /// `verbose`: pre-commit shows the hook's output even when it passes.
    fn with_options(hook: &str, args: &[&str], verbose: bool) -> Option<Sandbox> {
        Sandbox::with_setup(
            hook,
            args,
            Setup {
                verbose,
                ..Setup::default()
            },
        )
    }

    pub(super) fn with_setup(hook: &str, args: &[&str], setup: Setup) -> Option<Sandbox> {
        let verbose = setup.verbose;
        let pre_commit = require_tool(PRE_COMMIT)?;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let bin = dir.path().join("bin");
        let hooks = dir.path().join("hooks");
        let project = dir.path().join("project");
        for d in [&home, &bin, &hooks, &project] {
            std::fs::create_dir_all(d).unwrap();
        }
        if !setup.no_binary_on_path {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tritonguard"), bin.join("tritonguard"))
                .unwrap();
        }
        for file in std::iter::once(".pre-commit-hooks.yaml").chain(setup.files.iter().copied()) {
            std::fs::copy(repo_root().join(file), hooks.join(file)).unwrap();
        }
        git(&hooks, &home, &["init", "-q"]);
        git(&hooks, &home, &["add", "."]);
        git(&hooks, &home, &["commit", "-q", "-m", "hooks"]);
        let rev = git(&hooks, &home, &["rev-parse", "HEAD"]);
        git(&project, &home, &["init", "-q"]);
        let args = if args.is_empty() {
            String::new()
        } else {
            format!(
                "\n        args: [{}]",
                args.iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let verbose = if verbose {
            "\n        verbose: true"
        } else {
            ""
        };
        let config = format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {hook}{args}{verbose}\n",
            hooks.display()
        );
        let sandbox = Sandbox {
            _dir: dir,
            pre_commit,
            home,
            bin,
            project,
            env: setup.env,
        };
        sandbox.write(".pre-commit-config.yaml", &config);
        sandbox.git(&["add", ".pre-commit-config.yaml"]);
        sandbox.git(&["commit", "-q", "-m", "config"]);
        Some(sandbox)
    }

    pub(super) fn git(&self, args: &[&str]) -> String {
        git(&self.project, &self.home, args)
    }

    pub(super) fn write(&self, name: &str, text: &str) {
        let path = self.project.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `pre-commit run` on the staged files: exit code and combined output.
    pub(super) fn run(&self) -> (i32, String) {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(&self.pre_commit)
            .args(["run", "--color", "never"])
            .current_dir(&self.project)
            .env("HOME", &self.home)
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", self.home.join("pre-commit-cache"))
            // One hook process for all files, so one summary line lists them.
            .env("PRE_COMMIT_NO_CONCURRENCY", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("pre-commit runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

#[test]
fn a_staged_bad_manifest_fails_the_hook_until_it_is_fixed() {
    let Some(sb) = Sandbox::new("tritonguard-system", &[]) else {
        return;
    };
    sb.write("deploy/triton.yaml", INSECURE);
    sb.git(&["add", "deploy/triton.yaml"]);
    let (code, out) = sb.run();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("- hook id: tritonguard-system"), "{out}");
    // The diagnostic itself, with its position, reaches the user.
    assert!(
        out.contains("× high TG101 model-control-enabled: explicit mode lets any client"),
        "{out}"
    );
    assert!(out.contains("╭─[deploy/triton.yaml:26:15]"), "{out}");
    assert!(
        out.contains("deploy/triton.yaml: 1 file, 1 Triton launch,"),
        "{out}"
    );

    sb.write("deploy/triton.yaml", HARDENED);
    sb.git(&["add", "deploy/triton.yaml"]);
    let (code, out) = sb.run();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("tritonguard...") && l.ends_with("Passed")),
        "{out}"
    );
}

#[test]
fn a_committed_service_still_exposes_a_staged_deployment() {
    let Some(sb) = Sandbox::new("tritonguard-system", &[]) else {
        return;
    };
    sb.write("deploy/public-service.yaml", PUBLIC_SERVICE);
    sb.git(&["add", "deploy/public-service.yaml"]);
    sb.git(&["commit", "-q", "-m", "a public service"]);

    // Only the Deployment is staged; the Service is in the repository, not in the commit.
    sb.write("deploy/deployment.yaml", &hardened_deployment());
    sb.git(&["add", "deploy/deployment.yaml"]);
    let (code, out) = sb.run();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "⚠ medium TG301 metrics-exposed: metrics port 8002 of Deployment \"triton\" is reachable from the\n    internet through Service \"triton-public\""
        ),
        "{out}"
    );
    assert!(out.contains("╭─[deploy/public-service.yaml:11:7]"), "{out}");
    // The container port the Service reaches, in the staged file.
    assert!(out.contains("╭─[deploy/deployment.yaml:52:15]"), "{out}");
    assert!(
        out.contains("deploy/deployment.yaml: 1 file, 1 Triton launch"),
        "only the staged file counts as checked: {out}"
    );

    // Fixed in the staged file: metrics off.
    sb.write(
        "deploy/deployment.yaml",
        &hardened_deployment().replace(
            "            - --disable-auto-complete-config\n",
            "            - --disable-auto-complete-config\n            - --allow-metrics=false\n",
        ),
    );
    sb.git(&["add", "deploy/deployment.yaml"]);
    let (code, out) = sb.run();
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_hook_checks_every_kind_tritonguard_reads_and_nothing_else() {
    let Some(sb) = Sandbox::with_options("tritonguard-system", &["--quiet"], true) else {
        return;
    };
    let ours = [
        ("deploy/app.yaml", HARDENED),
        ("compose.yml", "services:\n  web:\n    image: nginx:1.27\n"),
        ("Dockerfile", "FROM nginx:1.27\n"),
        ("Dockerfile.gpu", "FROM nginx:1.27\n"),
        ("Dockerfile-cpu", "FROM nginx:1.27\n"),
        ("images/triton.Dockerfile", "FROM nginx:1.27\n"),
        ("Containerfile", "FROM nginx:1.27\n"),
        ("run.sh", "#!/bin/sh\necho run\n"),
        ("start.bash", "echo start\n"),
        ("scripts/serve", "#!/usr/bin/env bash\necho serve\n"),
        ("scripts/serve-plain", "#!/bin/sh\necho plain\n"),
        ("Makefile", "all:\n\techo all\n"),
        ("build.mk", "x:\n\techo x\n"),
        (
            "models/m/config.pbtxt",
            "name: \"m\"\nbackend: \"onnxruntime\"\nmax_batch_size: 8\n",
        ),
    ];
    let others = [
        ("README.md", "# title\n\nkey: value: more\n"),
        ("main.py", "print('x: y')\n"),
        ("LICENSE", "Permission: granted, with: colons\n"),
        ("notes.txt", "a: b: c\n"),
    ];
    for (name, text) in ours.iter().chain(&others) {
        sb.write(name, text);
    }
    // A binary file without an extension: `types: [text]` keeps it from the hook.
    std::fs::write(sb.project.join("blob"), b"\x00\x01binary").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        sb.project.join("scripts/serve"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    sb.git(&["add", "."]);
    let (_, out) = sb.run();
    let summary = out
        .lines()
        .find(|l| l.contains(" files, "))
        .unwrap_or_else(|| panic!("no summary line:\n{out}"));
    let (names, counts) = summary.split_once(": ").unwrap();
    let mut checked: Vec<&str> = names.split(' ').collect();
    checked.sort_unstable();
    let mut expected: Vec<&str> = ours.iter().map(|(n, _)| *n).collect();
    expected.sort_unstable();
    assert_eq!(checked, expected, "{out}");
    assert!(
        counts.starts_with(&format!("{} files,", ours.len())),
        "{summary}"
    );

    // Nothing tritonguard reads in the commit: the hook does not run at all.
    sb.git(&["commit", "-q", "-m", "files", "--no-verify"]);
    sb.write("README.md", "# changed\n");
    sb.write("main.py", "print(2)\n");
    sb.git(&["add", "."]);
    let (code, out) = sb.run();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(no files to check)Skipped"), "{out}");

    // An extension-less text file reaches tritonguard (it might be a script) and is skipped.
    sb.write("LICENSE", "Permission: granted, again\n");
    sb.git(&["add", "LICENSE"]);
    let (code, out) = sb.run();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("no file of a kind tritonguard reads: 0 files"),
        "{out}"
    );
}

#[test]
fn the_manifest_is_valid_and_both_hooks_check_the_same_files() {
    let Some(pre_commit) = require_tool(PRE_COMMIT) else {
        return;
    };
    let manifest = repo_root().join(".pre-commit-hooks.yaml");
    let out = Command::new(&pre_commit)
        .arg("validate-manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // pre-commit's own loader, defaults applied, as JSON.
    let python = pre_commit.parent().unwrap().join("python");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys\nfrom pre_commit.clientlib import load_manifest\nprint(json.dumps(load_manifest(sys.argv[1])))",
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hooks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["tritonguard", "tritonguard-system", "tritonguard-python"]
    );
    let (rust, system, python) = (&hooks[0], &hooks[1], &hooks[2]);
    assert_eq!(python["language"], "python");
    assert_eq!(rust["language"], "rust");
    // pre-commit 4.4 renamed `system` to `unsupported` and reads the old name as the new one.
    assert!(
        system["language"] == "system" || system["language"] == "unsupported",
        "{}",
        system["language"]
    );
    for key in [
        "entry",
        "files",
        "exclude",
        "types",
        "types_or",
        "pass_filenames",
    ] {
        assert_eq!(rust[key], system[key], "{key}");
        assert_eq!(rust[key], python[key], "{key}");
    }
    assert_eq!(
        rust["entry"],
        "tritonguard check --context . --skip-unknown --force-exclude"
    );
    assert_eq!(rust["pass_filenames"], true);
    assert_eq!(rust["types"], serde_json::json!(["text"]));
    // The rust hook builds the crate at the repository root: `cargo install --path .`.
    assert!(repo_root().join("Cargo.toml").is_file());
}
