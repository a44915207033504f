//! Which renders of a chart to check: the chart's default values, each values file beside
//! it (`values-*.yaml`, and `ci/*-values.yaml` as chart-testing uses them), and the renders
//! `.tritonguard.yaml` lists under `helm.charts`, with that entry's `--set` pairs, release
//! name and namespace applied to every render of the chart.

use std::path::{Path, PathBuf};

use crate::filter::config::{HelmChartConfig, HelmConfig};

use super::chart::ChartDir;

/// Helm's own release name when `helm template` is given none.
pub const DEFAULT_RELEASE: &str = "release-name";

/// One `helm template` of one chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderPlan {
    pub chart: ChartDir,
    /// `-f` files, in order (the chart's own values.yaml is applied by Helm underneath).
    pub values: Vec<PathBuf>,
    /// `--set` expressions, applied over the values files.
    pub set: Vec<String>,
    pub release: String,
    pub namespace: Option<String>,
}

impl RenderPlan {
    /// The values files as the user knows them: relative to the chart when inside it,
    /// else relative to the working directory (the scan base).
    pub fn values_shown(&self) -> Vec<String> {
        self.values.iter().map(|v| self.shown(v).0).collect()
    }

    /// A values file: (relative to the chart or as given, as a path from the scan base).
    fn shown(&self, file: &Path) -> (String, String) {
        let slashed = |p: &Path| p.to_string_lossy().replace('\\', "/");
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let real = canonical(file);
        if let Ok(inside) = real.strip_prefix(canonical(&self.chart.dir)) {
            let inside = slashed(inside);
            return (inside.clone(), self.chart.display_of(&inside));
        }
        let from_base = std::env::current_dir()
            .ok()
            .and_then(|cwd| real.strip_prefix(canonical(&cwd)).ok().map(slashed))
            .unwrap_or_else(|| slashed(file));
        (from_base.clone(), from_base)
    }

    /// `default values`, or the values files joined with `, `.
    pub fn values_label(&self) -> String {
        if self.values.is_empty() {
            "default values".to_string()
        } else {
            self.values_shown().join(", ")
        }
    }

    /// The name of the rendered text in reports, e.g.
    /// `charts/triton (rendered with values-prod.yaml)`. Stable across runs, so findings'
    /// fingerprints (and baselines) are too.
    pub fn display(&self) -> String {
        format!(
            "{} (rendered with {})",
            self.chart.display,
            self.values_label()
        )
    }

    /// The command as a user would type it from the scan base.
    pub fn command_shown(&self) -> String {
        let mut words = vec![
            "helm".to_string(),
            "template".to_string(),
            self.release.clone(),
            self.chart.display.clone(),
        ];
        for v in &self.values {
            words.push("-f".to_string());
            words.push(shell_word(&self.shown(v).1));
        }
        for s in &self.set {
            words.push("--set".to_string());
            words.push(shell_word(s));
        }
        if let Some(ns) = &self.namespace {
            words.push("--namespace".to_string());
            words.push(ns.clone());
        }
        words.join(" ")
    }
}

/// A word quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,=/:@+[]".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The renders of one chart, default values first, then values files in path order, then
/// the config's renders in the order written (duplicates dropped).
pub fn plan(chart: &ChartDir, config: &HelmConfig) -> Vec<RenderPlan> {
    let entry = config_entry(chart, config);
    let base = RenderPlan {
        chart: chart.clone(),
        values: Vec::new(),
        set: entry.map(|e| e.set.clone()).unwrap_or_default(),
        release: entry
            .and_then(|e| e.release.clone())
            .unwrap_or_else(|| DEFAULT_RELEASE.to_string()),
        namespace: entry.and_then(|e| e.namespace.clone()),
    };
    let mut renders: Vec<Vec<PathBuf>> = vec![Vec::new()];
    renders.extend(values_files_beside(&chart.dir).into_iter().map(|f| vec![f]));
    for listed in entry.map(|e| e.values.clone()).unwrap_or_default() {
        let same = |a: &[PathBuf], b: &[PathBuf]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_file(x, y))
        };
        if !renders.iter().any(|r| same(r, &listed)) {
            renders.push(listed);
        }
    }
    renders
        .into_iter()
        .map(|values| RenderPlan {
            values,
            ..base.clone()
        })
        .collect()
}

fn config_entry<'a>(chart: &ChartDir, config: &'a HelmConfig) -> Option<&'a HelmChartConfig> {
    config
        .charts
        .iter()
        .find(|e| same_file(&e.path, &chart.dir))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// `values-*.yaml` beside Chart.yaml and `ci/*-values.yaml`, sorted.
pub fn values_files_beside(dir: &Path) -> Vec<PathBuf> {
    let yaml = |name: &str| name.ends_with(".yaml") || name.ends_with(".yml");
    let stem = |name: &str| {
        name.trim_end_matches(".yaml")
            .trim_end_matches(".yml")
            .to_string()
    };
    let list = |dir: &Path, keep: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter(|e| keep(&e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    let mut files = list(dir, &|n| yaml(n) && stem(n).starts_with("values-"));
    files.extend(list(&dir.join("ci"), &|n| {
        yaml(n) && stem(n).ends_with("-values")
    }));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path) -> ChartDir {
        ChartDir {
            dir: dir.to_path_buf(),
            display: "charts/t".to_string(),
            name: "t".to_string(),
        }
    }

    #[test]
    fn default_values_then_values_files_beside_then_configured_renders() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        for f in [
            "Chart.yaml",
            "values.yaml",
            "values-prod.yaml",
            "values-dev.yml",
            "values.schema.json",
            "other.yaml",
            "ci/gpu-values.yaml",
            "ci/notes.yaml",
            "env/eu.yaml",
        ] {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_default();
            std::fs::write(path, "{}\n").unwrap_or_default();
        }
        let config = HelmConfig {
            timeout: None,
            charts: vec![HelmChartConfig {
                path: dir.to_path_buf(),
                values: vec![
                    vec![dir.join("values-prod.yaml")],
                    vec![dir.join("values-prod.yaml"), dir.join("env/eu.yaml")],
                ],
                values_spans: Vec::new(),
                set: vec!["model.bucket=s3://m".to_string()],
                release: Some("tg".to_string()),
                namespace: Some("inference".to_string()),
                span: crate::source::Span::new(crate::source::FileId(0), 0, 0),
            }],
        };
        let plans = plan(&chart(dir), &config);
        let labels: Vec<String> = plans.iter().map(RenderPlan::values_label).collect();
        assert_eq!(
            labels,
            [
                "default values",
                "values-dev.yml",
                "values-prod.yaml",
                "ci/gpu-values.yaml",
                "values-prod.yaml, env/eu.yaml"
            ]
        );
        assert!(plans.iter().all(|p| p.release == "tg" && p.set.len() == 1));
        assert_eq!(
            plans[4].command_shown(),
            "helm template tg charts/t -f charts/t/values-prod.yaml -f charts/t/env/eu.yaml \
             --set model.bucket=s3://m --namespace inference"
        );
        assert_eq!(
            plans[2].display(),
            "charts/t (rendered with values-prod.yaml)"
        );
        let plain = plan(&chart(dir), &HelmConfig::default());
        assert_eq!(plain.len(), 4);
        assert_eq!(plain[0].release, DEFAULT_RELEASE);
        assert_eq!(shell_word("a b'c"), r"'a b'\''c'");
    }
}
