//! Which Helm charts a scan holds: a directory with a `Chart.yaml` and a `templates/`
//! directory, found among the files discovery chose (so `.gitignore`, `.tritonguardignore`
//! and the config's excludes apply to charts too). Library charts render nothing and are
//! skipped; a chart inside another chart's `charts/` directory is a dependency, rendered as
//! part of its parent.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::load::discover::Candidate;
use crate::parse::yaml::parse_stream;
use crate::source::FileId;
use crate::tree::Node;

/// A chart found in the scan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChartDir {
    /// The chart directory, as reachable from the working directory.
    pub dir: PathBuf,
    /// The directory as reports show it (relative to the scan base, `.` for the base).
    pub display: String,
    /// `name` from Chart.yaml (the first segment of Helm's `# Source:` paths).
    pub name: String,
}

impl ChartDir {
    pub fn chart_yaml(&self) -> PathBuf {
        self.dir.join("Chart.yaml")
    }

    /// A path inside the chart as reports show it.
    pub fn display_of(&self, relative: &str) -> String {
        if self.display == "." {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.display)
        }
    }
}

/// What tritonguard reads from a Chart.yaml: byte ranges into its text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartMeta {
    pub name: Option<(String, Range<usize>)>,
    pub library: bool,
    /// Declared dependencies: name and where the name is written.
    pub dependencies: Vec<(String, Range<usize>)>,
}

/// Reads the parts of a Chart.yaml that rendering and its failures need. A Chart.yaml that
/// does not parse yields what could be read; Helm reports the problem when it renders.
pub fn read_chart_yaml(text: &str) -> ChartMeta {
    let stream = parse_stream(FileId(0), text);
    let Some(root) = stream.documents.first().map(|d| &d.root) else {
        return ChartMeta::default();
    };
    let range = |n: &Node| n.span.map(|s| s.start..s.end);
    ChartMeta {
        name: root
            .get("name")
            .and_then(|n| Some((n.as_scalar_text()?, range(n)?))),
        library: root.get("type").and_then(Node::as_str) == Some("library"),
        dependencies: root
            .get("dependencies")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                let name = d.get("name")?;
                Some((name.as_scalar_text()?, range(name)?))
            })
            .collect(),
    }
}

/// The charts of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Charts {
    /// Charts to render, in path order.
    pub render: Vec<ChartDir>,
    /// Displays of the charts that are not rendered on their own: library charts and
    /// dependencies inside another chart's `charts/`.
    pub skipped: Vec<String>,
}

/// The charts among discovery's candidates (their `Chart.yaml` files).
pub fn charts_in(candidates: &[Candidate]) -> Charts {
    let mut charts = Charts::default();
    for c in candidates.iter().filter(|c| !c.context) {
        let Some(path) = c.path.as_ref() else {
            continue;
        };
        if path.file_name().is_none_or(|n| n != "Chart.yaml") {
            continue;
        }
        let Some(dir) = path.parent().map(Path::to_path_buf) else {
            continue;
        };
        if !dir.join("templates").is_dir() {
            continue;
        }
        let display = match c.display.rsplit_once('/') {
            Some((parent, _)) => parent.to_string(),
            None => ".".to_string(),
        };
        let meta = read_chart_yaml(&std::fs::read_to_string(path).unwrap_or_default());
        if meta.library || is_dependency(&dir) {
            charts.skipped.push(display);
            continue;
        }
        let name = meta.name.map(|(n, _)| n).unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        charts.render.push(ChartDir { dir, display, name });
    }
    charts.render.sort();
    charts.render.dedup_by(|a, b| a.dir == b.dir);
    charts.skipped.sort();
    charts.skipped.dedup();
    charts
}

/// A chart directly inside another chart's `charts/` directory.
fn is_dependency(dir: &Path) -> bool {
    let Some(parent) = dir.parent() else {
        return false;
    };
    parent.file_name().is_some_and(|n| n == "charts")
        && parent
            .parent()
            .is_some_and(|p| p.join("Chart.yaml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_yaml_names_type_and_dependencies_with_positions() {
        let text = "apiVersion: v2\nname: triton\ntype: application\ndependencies:\n  - name: redis\n    version: 1.0.0\n";
        let meta = read_chart_yaml(text);
        let (name, at) = meta.name.clone().unwrap_or_default();
        assert_eq!((name.as_str(), &text[at]), ("triton", "triton"));
        assert!(!meta.library);
        let (dep, at) = meta.dependencies[0].clone();
        assert_eq!((dep.as_str(), &text[at]), ("redis", "redis"));
        assert!(read_chart_yaml("name: lib\ntype: library\n").library);
        assert_eq!(read_chart_yaml(": : :\n"), ChartMeta::default());
    }
}
