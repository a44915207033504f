//! Where the external test tools are: the `TG_*` environment contract.
//!
//! `scripts/tools.sh` installs the tools into a cache folder and exports these variables;
//! `scripts/test.sh` sources it before running cargo. A test asks for a tool with
//! [`require_tool`]:
//!
//! ```ignore
//! let Some(server) = require_tool(TRITONSERVER) else { return };
//! ```
//!
//! When the variable is missing, a CI run (`CI=true`) panics so that a broken setup
//! cannot pass as green, while a developer's plain `cargo test` skips the test with a
//! `skipped: ...` line on stderr.

use std::io::Write;
use std::path::PathBuf;

/// The `tritonserver` binary (2.51.0 from the `nvidia-pytriton` wheel).
pub const TRITONSERVER: &str = "TG_TRITONSERVER";
/// The backend directory to pass as `--backend-directory` (holds `python/`).
pub const TRITON_BACKENDS: &str = "TG_TRITON_BACKENDS";
/// The triton venv's `bin`; it must come first on `PATH` for the python stub to import numpy.
pub const TRITON_VENV_BIN: &str = "TG_TRITON_VENV_BIN";
/// A python interpreter that can `import helm_python` (and `yaml`).
pub const HELM_PYTHON: &str = "TG_HELM_PYTHON";
/// A `helm` command (`helm template`, `helm version`) on the Helm v4 SDK: scripts/helm_shim.py.
pub const HELM: &str = "TG_HELM";
/// A python interpreter that can `import jsonschema`.
pub const JSONSCHEMA_PYTHON: &str = "TG_JSONSCHEMA_PYTHON";
/// The `pre-commit` executable.
pub const PRE_COMMIT: &str = "TG_PRE_COMMIT";
/// The `sarif-multitool` executable (the native binary, not the npm shell wrapper).
pub const SARIF_MULTITOOL: &str = "TG_SARIF_MULTITOOL";
/// `mermaid-parse`: Mermaid's own parser in node (scripts/mermaid_parse.mjs); a diagram on
/// standard input, or `--markdown` for every mermaid block of a markdown text.
pub const MERMAID_PARSE: &str = "TG_MERMAID_PARSE";
/// The `maturin` executable, which builds the tritonguard wheel.
pub const MATURIN: &str = "TG_MATURIN";
/// A folder of wheels pip may install from without an index (setuptools, for the
/// pre-commit shim's build).
pub const PYPI_WHEELHOUSE: &str = "TG_PYPI_WHEELHOUSE";

/// Every variable of the contract, for diagnostics.
pub const ALL: [&str; 11] = [
    TRITONSERVER,
    TRITON_BACKENDS,
    TRITON_VENV_BIN,
    HELM_PYTHON,
    HELM,
    JSONSCHEMA_PYTHON,
    PRE_COMMIT,
    SARIF_MULTITOOL,
    MERMAID_PARSE,
    MATURIN,
    PYPI_WHEELHOUSE,
];

/// True when running in CI, where a missing tool must fail rather than skip.
pub fn in_ci() -> bool {
    ci_value_means_ci(std::env::var("CI").ok().as_deref())
}

/// `CI` set to anything but empty, `0`, `false` or `no` means CI.
pub fn ci_value_means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        )
    })
}

/// What to do about one tool variable.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(PathBuf),
    /// Unset outside CI: skip the test, with this reason.
    Skip(String),
    /// Unset in CI, or set to a path that does not exist: fail, with this message.
    Fail(String),
}

/// The decision [`require_tool`] acts on, from the variable's value and CI-ness.
pub fn lookup(var: &str, value: Option<&std::ffi::OsStr>, ci: bool) -> Lookup {
    match value {
        Some(v) if !v.is_empty() => {
            let path = PathBuf::from(v);
            if path.exists() {
                Lookup::Found(path)
            } else {
                Lookup::Fail(format!(
                    "{var}={} does not exist; rerun scripts/test.sh (or `source scripts/tools.sh`) \
                     to reinstall the test tools",
                    path.display()
                ))
            }
        }
        _ => {
            let msg = format!(
                "{var} is not set; run the suite with `bash scripts/test.sh`, or \
                 `source scripts/tools.sh` before `cargo test`"
            );
            if ci {
                Lookup::Fail(msg)
            } else {
                Lookup::Skip(msg)
            }
        }
    }
}

/// The path a `TG_*` variable names, or `None` (after a `skipped:` note) when it is unset
/// outside CI.
///
/// Panics in CI when the variable is unset, and everywhere when it is set but names a
/// path that does not exist: that is a broken setup, not a missing tool.
pub fn require_tool(var: &str) -> Option<PathBuf> {
    match lookup(var, std::env::var_os(var).as_deref(), in_ci()) {
        Lookup::Found(path) => Some(path),
        Lookup::Skip(why) => {
            skip(&why);
            None
        }
        Lookup::Fail(msg) => panic!("{msg}"),
    }
}

/// Like [`require_tool`] for several variables at once: all of them, or `None`.
pub fn require_tools<const N: usize>(vars: [&str; N]) -> Option<[PathBuf; N]> {
    let mut out: [PathBuf; N] = std::array::from_fn(|_| PathBuf::new());
    for (slot, var) in out.iter_mut().zip(vars) {
        *slot = require_tool(var)?;
    }
    Some(out)
}

/// Prints `skipped: <test name>: <why>` straight to the process's stderr. Written with
/// `io::stderr()` rather than `eprintln!` so libtest's output capture does not hide it.
pub fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
}
