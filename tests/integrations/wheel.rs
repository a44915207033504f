//! The PyPI wheel: maturin (`bindings = "bin"`, packaging/pypi/pyproject.toml) packs the
//! tritonguard binary; `pip install` of the wheel into a fresh venv gives a working
//! `tritonguard`; and the `tritonguard-python` pre-commit hook, whose repository-root
//! pyproject.toml pins the wheel, installs it and checks staged files with it, with no
//! tritonguard on PATH and no cargo build.
//!
//! The wheel is built from the binary this test run already built (the same target folder
//! and profile: cargo finds it fresh and compiles nothing), and pip installs only from the
//! built wheel and the pinned wheelhouse of scripts/tools.sh (no index). `cargo package`
//! (packaging.rs) verifies its build in the same target folder, which leaves the
//! workspace's tritonguard stale for cargo; so the wheel is built once, before that test
//! packages (see [`built_wheel`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::common::repo_root;
use super::pre_commit::{Sandbox, Setup};
use super::support::tools::{MATURIN, PRE_COMMIT, PYPI_WHEELHOUSE, require_tool};

const INSECURE: &str = include_str!("../../examples/kubernetes/insecure/triton.yaml");

/// The target folder and cargo profile of the binary under test
/// (`<target>/debug/tritonguard` → (`<target>`, `dev`)).
fn target_and_profile() -> (PathBuf, String) {
    let exe = Path::new(env!("CARGO_BIN_EXE_tritonguard"));
    let profile_dir = exe.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_string_lossy().as_ref() {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    };
    (profile_dir.parent().unwrap().to_path_buf(), profile)
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The wheel, built once per test process into the target folder's tmp directory;
/// `None` when maturin is not available.
pub(super) fn built_wheel() -> Option<&'static Path> {
    static WHEEL: OnceLock<Option<PathBuf>> = OnceLock::new();
    WHEEL
        .get_or_init(|| {
            let maturin = require_tool(MATURIN)?;
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wheel");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            Some(build_wheel(&maturin, &out))
        })
        .as_deref()
}

/// Builds the wheel into `out` and returns its path.
fn build_wheel(maturin: &Path, out: &Path) -> PathBuf {
    let (target, profile) = target_and_profile();
    let mut command = Command::new(maturin);
    // Cargo gives this test process CARGO_MANIFEST_DIR, CARGO_PKG_* and the like; build
    // scripts (ring's) rerun when those differ from the outer build, which would rebuild the
    // tritonguard binary that the other tests are running. The inner cargo gets the
    // environment the outer `cargo test` had.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        // CARGO_PROFILE_* come from the user (a lighter debug profile): the inner build
        // must keep them, or it compiles everything again with other settings.
        let set_by_cargo = (key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && !key.starts_with("CARGO_PROFILE_"))
            || key == "CARGO"
            || key == "OUT_DIR";
        if set_by_cargo {
            command.env_remove(&key);
        }
    }
    let (ok, log) = output(
        command
            .args(["build", "--locked", "--profile", &profile, "--out"])
            .arg(out)
            .current_dir(repo_root().join("packaging/pypi"))
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_TERM_COLOR", "never"),
    );
    assert!(ok, "maturin build failed:\n{log}");
    // Nothing was compiled: the binary of this test run went into the wheel.
    assert!(!log.contains("Compiling tritonguard"), "{log}");
    let wheels: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}\n{log}");
    wheels[0].clone()
}

fn python_of(tool: &Path) -> PathBuf {
    tool.parent().unwrap().join("python")
}

#[test]
fn the_wheel_installs_a_working_tritonguard_and_the_python_hook_uses_it() {
    let Some(wheel) = built_wheel() else {
        return;
    };
    let Some(wheelhouse) = require_tool(PYPI_WHEELHOUSE) else {
        return;
    };
    let Some(pre_commit) = require_tool(PRE_COMMIT) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wheels = wheel.parent().unwrap();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        name.starts_with(&format!("tritonguard-{version}-py3-none-")),
        "{name}"
    );

    // pip install into a fresh venv: the binary lands in its bin/ and runs.
    let venv = dir.path().join("venv");
    let (ok, log) = output(
        Command::new(python_of(&pre_commit))
            .args(["-m", "venv"])
            .arg(&venv),
    );
    assert!(ok, "{log}");
    let (ok, log) = output(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg(wheel),
    );
    assert!(ok, "{log}");
    let installed = venv.join("bin/tritonguard");
    let (ok, log) = output(Command::new(&installed).arg("--version"));
    assert!(
        ok && log.starts_with(&format!("tritonguard {version} ")),
        "{log}"
    );
    let (_, log) = output(
        Command::new(&installed)
            .args([
                "check",
                "--format",
                "concise",
                "examples/kubernetes/insecure",
            ])
            .current_dir(repo_root()),
    );
    assert!(
        log.contains("examples/kubernetes/insecure/triton.yaml:26:15: TG101 [high]"),
        "{log}"
    );

    // The pre-commit shim pins this very version of the wheel.
    let shim = std::fs::read_to_string(repo_root().join("pyproject.toml")).unwrap();
    assert!(
        shim.contains(&format!("version = \"{version}\""))
            && shim.contains(&format!("\"tritonguard=={version}\"")),
        "pyproject.toml must pin tritonguard=={version}:\n{shim}"
    );

    // The hook, as a user's config names it: pre-commit pip-installs the hooks repository
    // (the shim), which pulls the wheel; tritonguard is not on PATH otherwise.
    let find_links = format!("{} {}", wheels.display(), wheelhouse.display());
    let Some(sb) = Sandbox::with_setup(
        "tritonguard-python",
        &[],
        Setup {
            files: vec!["pyproject.toml"],
            no_binary_on_path: true,
            env: vec![
                ("PIP_NO_INDEX".into(), "1".into()),
                ("PIP_FIND_LINKS".into(), find_links),
                ("VIRTUALENV_NO_PERIODIC_UPDATE".into(), "1".into()),
            ],
            verbose: false,
        },
    ) else {
        return;
    };
    sb.write("deploy/triton.yaml", INSECURE);
    sb.git(&["add", "deploy/triton.yaml"]);
    let (code, out) = sb.run();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("- hook id: tritonguard-python"), "{out}");
    assert!(
        out.contains("× high TG101 model-control-enabled: explicit mode lets any client"),
        "{out}"
    );
    assert!(
        out.contains("deploy/triton.yaml: 1 file, 1 Triton launch,"),
        "{out}"
    );
}
