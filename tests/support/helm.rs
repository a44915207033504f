//! Renders Helm charts at test time with `scripts/render_helm.py` (Helm v4 SDK through
//! the `helm_python` module), giving the same stream `helm template` prints. Tests render
//! fixtures instead of committing rendered YAML, so the chart stays the source of truth.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::tools::{HELM_PYTHON, require_tool};

/// The repository root (where `scripts/` and `tests/fixtures/` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/helm/<name>`.
pub fn fixture_chart(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/helm").join(name)
}

/// One render request; `values` are `-f` files applied in order.
#[derive(Debug, Clone)]
pub struct Render<'a> {
    pub chart: &'a Path,
    pub values: Vec<PathBuf>,
    pub name: &'a str,
    pub namespace: &'a str,
    /// Run `helm lint --strict` first and fail on warnings or errors.
    pub lint: bool,
}

impl<'a> Render<'a> {
    pub fn new(chart: &'a Path) -> Self {
        Render {
            chart,
            values: Vec::new(),
            name: "release-name",
            namespace: "default",
            lint: false,
        }
    }

    pub fn values(mut self, file: impl Into<PathBuf>) -> Self {
        self.values.push(file.into());
        self
    }

    pub fn release(mut self, name: &'a str, namespace: &'a str) -> Self {
        self.name = name;
        self.namespace = namespace;
        self
    }

    pub fn lint(mut self) -> Self {
        self.lint = true;
        self
    }

    /// Renders with the given python (one that can `import helm_python`) to a
    /// `helm template` stream. `Err` holds the renderer's stderr (e.g. a `required`
    /// value's message).
    pub fn run_with(&self, python: &Path) -> Result<String, String> {
        self.exec(python, "stream")
    }

    /// Renders to `(source, manifest)` pairs, each manifest parsed by PyYAML — an
    /// independent parse to compare tritonguard's own loader against.
    pub fn run_json_with(&self, python: &Path) -> Result<Vec<(String, serde_json::Value)>, String> {
        let text = self.exec(python, "json")?;
        let docs: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| format!("render_helm.py --format json printed bad JSON: {e}"))?;
        Ok(docs
            .into_iter()
            .map(|mut d| {
                let source = d["source"].as_str().unwrap_or_default().to_string();
                (source, d["manifest"].take())
            })
            .collect())
    }

    fn exec(&self, python: &Path, format: &str) -> Result<String, String> {
        let mut cmd = Command::new(python);
        cmd.arg(repo_root().join("scripts/render_helm.py"))
            .arg(self.chart)
            .args(["--name", self.name, "--namespace", self.namespace])
            .args(["--format", format]);
        for v in &self.values {
            cmd.arg("-f").arg(v);
        }
        if self.lint {
            cmd.arg("--lint");
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if out.status.success() {
            String::from_utf8(out.stdout).map_err(|e| format!("rendered output is not UTF-8: {e}"))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Renders with `TG_HELM_PYTHON`; `None` when that is unset outside CI (skipped).
    pub fn run(&self) -> Option<Result<String, String>> {
        let python = require_tool(HELM_PYTHON)?;
        Some(self.run_with(&python))
    }
}

/// Splits a `helm template` stream into `(source, document)` pairs.
pub fn split_stream(stream: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in stream.split("---\n").filter(|c| !c.trim().is_empty()) {
        let (first, rest) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let source = first.strip_prefix("# Source: ").unwrap_or_default();
        out.push((source.to_string(), rest.to_string()));
    }
    out
}
