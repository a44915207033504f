//! The Helm stage of `tritonguard check`, in two steps around the scan:
//!
//! - [`prepare`] (before loading): finds the charts among the scanned paths, finds `helm`,
//!   renders every planned render; each render becomes an in-memory source of the scan
//!   ([`HelmStage::sources`], for `ScanRequest::sources`).
//! - [`attach`] (after evaluation, before the filter stage): a TG000 finding for each
//!   render Helm refused, the chart notes of rendered charts dropped, and each finding
//!   inside a render moved to what the user edits (see [`super::locate`]), with the
//!   rendered text and the template as related locations. The values files and templates
//!   it points into join the scan's files, so suppressions read their comments.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::evaluate::policy::{Catalogue, Policy};
use crate::filter::config::HelmConfig;
use crate::filter::suppress::FileComments;
use crate::finding::{Finding, Location};
use crate::load::MemorySource;
use crate::load::classify::FileKind;
use crate::load::discover::{self, Discovery, DiscoveryNote};
use crate::pipeline::{Outcome as ScanResult, Pipeline};
use crate::source::{FileId, SourceFile, SourceStore, Span};

use super::chart::{Charts, charts_in, read_chart_yaml};
use super::command::{DEFAULT_TIMEOUT, Helm, Unusable};
use super::locate::{Checked, FindingSpans, Located, Place, Proof, SourceLocation, locate};
use super::plan::plan;
use super::render::{Render, RenderFailure, Renders, render_all};
use crate::evaluate::registry::Rule;

/// What the Helm stage needs to know.
pub struct HelmRequest<'a> {
    /// The paths being checked (not `--context` ones, not stdin).
    pub paths: &'a [PathBuf],
    pub base: &'a Path,
    pub exclude: &'a globset::GlobSet,
    pub config: &'a HelmConfig,
    /// `--helm PATH`; `None` looks for `helm` on PATH.
    pub helm: Option<&'a Path>,
    /// The most a render may print (the scan's file size limit).
    pub max_output: u64,
    /// The walk of `paths` (discovery's own, so ignore files and excludes apply to charts
    /// as well), shared with the scan.
    pub discovery: &'a Discovery,
}

/// The outcome of [`prepare`].
pub enum Prepared {
    /// No chart in the paths (helm was not looked for).
    NoCharts,
    /// No `helm` on PATH: charts keep the note that says how to check them.
    NoHelm,
    /// A `helm` that cannot be used; the note says why.
    Unusable(DiscoveryNote),
    Rendered(HelmStage),
}

/// The charts of a scan, rendered.
pub struct HelmStage {
    pub helm: Helm,
    pub charts: Charts,
    pub renders: Renders,
}

/// Finds the charts under `paths` and renders them. `Err` is a usage error: `--helm`
/// names a program that is not a usable helm.
pub fn prepare(request: &HelmRequest<'_>) -> Result<Prepared, String> {
    if request.paths.is_empty() {
        return Ok(Prepared::NoCharts);
    }
    let charts = charts_in(&request.discovery.candidates);
    if charts.render.is_empty() {
        return Ok(Prepared::NoCharts);
    }
    let timeout = request
        .config
        .timeout
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let helm = match Helm::locate(request.helm, timeout, request.max_output) {
        Ok(helm) => helm,
        Err(Unusable::NotFound) => return Ok(Prepared::NoHelm),
        Err(Unusable::Broken(why)) if request.helm.is_some() => {
            return Err(format!("--helm: {why}"));
        }
        Err(Unusable::Broken(why)) => {
            return Ok(Prepared::Unusable(DiscoveryNote {
                display: "helm".to_string(),
                message: format!("{why}; Helm charts are not rendered"),
                error: false,
            }));
        }
    };
    let plans = charts
        .render
        .iter()
        .flat_map(|c| plan(c, request.config))
        .collect();
    let renders = render_all(&helm, plans);
    Ok(Prepared::Rendered(HelmStage {
        helm,
        charts,
        renders,
    }))
}

impl HelmStage {
    /// Each successful render as a text to scan.
    pub fn sources(&self) -> Vec<MemorySource> {
        self.renders
            .renders
            .iter()
            .map(|r| MemorySource {
                display: r.display(),
                text: r.text.clone(),
                kind: FileKind::Yaml,
            })
            .collect()
    }
}

/// Re-renders made to locate findings, and their wall time (for benchmarks and the lead's
/// pipeline statistics).
#[derive(Clone, Copy, Debug, Default)]
pub struct AttachStats {
    pub probes: usize,
    pub elapsed: Duration,
}

/// Applies the stage to a finished scan (see the module docs).
pub fn attach(
    stage: &HelmStage,
    result: &mut ScanResult,
    catalogue: &Catalogue,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
    base: &Path,
) -> AttachStats {
    let started = Instant::now();
    let mut files = StoreFiles::new(&result.store, base);
    let quiet: Vec<&str> = stage
        .charts
        .render
        .iter()
        .map(|c| c.display.as_str())
        .chain(stage.charts.skipped.iter().map(String::as_str))
        .collect();
    result
        .notes
        .retain(|n| !(discover::is_helm_chart_note(n) && quiet.contains(&n.display.as_str())));

    if crate::evaluate::native::runs(catalogue, Rule::ParseError, enabled) {
        for failure in &stage.renders.failures {
            if let Some(f) = failure_finding(failure, catalogue, result, &mut files) {
                result.findings.push(f);
            }
        }
    }

    // Which scanned file holds which render.
    let render_ids: Vec<(FileId, &Render)> = stage
        .renders
        .renders
        .iter()
        .filter_map(|r| {
            let display = r.display();
            result
                .store
                .files()
                .find(|(_, f)| f.path.is_none() && f.display == display)
                .map(|(id, _)| (id, r))
        })
        .collect();
    // Comments in rendered text are copies of the templates': they are read there.
    result
        .comments
        .retain(|id, _| !render_ids.iter().any(|(r, _)| r == id));

    // A render checked on its own, as the deployment unit it is, with every rule: which
    // findings an object has must not depend on `--select`.
    let recheck = |display: String| {
        move |text: &str| -> Vec<Checked> {
            Pipeline::new(catalogue, &|_| true)
                .scan_texts(&[(display.clone(), text.to_string())])
                .findings
                .into_iter()
                .filter(|f| f.primary.span.file == FileId(0))
                .map(|f| Checked {
                    rule_id: f.rule_id,
                    primary: f.primary.span.start..f.primary.span.end,
                    subject: f.subject_extent.map(|s| s.start..s.end),
                })
                .collect()
        }
    };
    let work: Vec<(FileId, &Render, Vec<usize>, Vec<FindingSpans>)> = render_ids
        .iter()
        .map(|(id, render)| {
            let indices: Vec<usize> = result
                .findings
                .iter()
                .enumerate()
                .filter(|(_, f)| f.primary.span.file == *id)
                .map(|(i, _)| i)
                .collect();
            let spans = indices
                .iter()
                .map(|i| finding_spans(&result.findings[*i], *id))
                .collect();
            (*id, *render, indices, spans)
        })
        .collect();
    let located: Vec<Located> = work
        .par_iter()
        .map(|(_, render, _, spans)| {
            if spans.is_empty() {
                return Located::default();
            }
            let check = recheck(render.display());
            locate(&stage.helm, render, spans, Some(&check))
        })
        .collect();
    let mut probes = 0;
    for ((_, render, indices, _), located) in work.iter().zip(located) {
        probes += located.probes;
        for (i, location) in indices.iter().zip(located.locations) {
            let finding = &mut result.findings[*i];
            move_finding(
                finding,
                &location,
                render,
                store_access(&mut files, &mut result.store, &mut result.comments),
            );
        }
    }
    result.findings.sort_by_key(Finding::sort_key);
    let elapsed = started.elapsed();
    result.stats.duration += stage.renders.elapsed + elapsed;
    AttachStats { probes, elapsed }
}

/// A finding's spans inside the render `id`.
fn finding_spans(finding: &Finding, id: FileId) -> FindingSpans {
    let range = |s: Span| s.start..s.end;
    let mut message = finding.message.clone();
    message.push(' ');
    message.push_str(&finding.primary.label);
    FindingSpans {
        rule_id: finding.rule_id.clone(),
        primary: range(finding.primary.span),
        related: finding
            .related
            .iter()
            .filter(|r| r.span.file == id)
            .map(|r| range(r.span))
            .collect(),
        message,
    }
}

/// Files added to the scan's store for the places findings move to.
struct StoreFiles {
    /// Canonical path → file id, for files the scan already holds.
    by_path: BTreeMap<PathBuf, FileId>,
    base: PathBuf,
}

impl StoreFiles {
    fn new(store: &SourceStore, base: &Path) -> StoreFiles {
        let by_path = store
            .files()
            .filter_map(|(id, f)| Some((std::fs::canonicalize(f.path.as_ref()?).ok()?, id)))
            .collect();
        StoreFiles {
            by_path,
            base: base.to_path_buf(),
        }
    }

    /// The id of a file on disk, reading it into the store (and the files whose comments
    /// are read) when the scan does not hold it yet.
    fn id(
        &mut self,
        path: &Path,
        store: &mut SourceStore,
        comments: &mut BTreeMap<FileId, FileComments>,
    ) -> Option<FileId> {
        let canonical = std::fs::canonicalize(path).ok()?;
        if let Some(id) = self.by_path.get(&canonical) {
            return Some(*id);
        }
        let text = std::fs::read_to_string(path).ok()?;
        let display = crate::source::display_path(path, &self.base);
        let id = store.add(SourceFile::new(
            display,
            Some(path.to_path_buf()),
            Arc::from(text),
        ));
        comments.insert(id, file_comments(id, path, store));
        self.by_path.insert(canonical, id);
        Some(id)
    }
}

/// The comments of a values file (YAML) or a template (a Go template: read line by line).
fn file_comments(id: FileId, path: &Path, store: &SourceStore) -> FileComments {
    let text = store
        .get(id)
        .map(|f| f.text.clone())
        .unwrap_or_else(|| Arc::from(""));
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    ) && !path.components().any(|c| c.as_os_str() == "templates");
    if yaml {
        let stream = crate::parse::yaml::parse_stream(id, &text);
        FileComments {
            comments: crate::parse::comments::yaml(id, &text, &stream),
            documents: stream.documents.iter().map(|d| d.extent).collect(),
        }
    } else {
        FileComments {
            comments: crate::parse::comments::by_lines(id, &text),
            documents: Vec::new(),
        }
    }
}

/// Borrows the pieces [`StoreFiles::id`] needs, as one value.
struct StoreAccess<'a> {
    files: &'a mut StoreFiles,
    store: &'a mut SourceStore,
    comments: &'a mut BTreeMap<FileId, FileComments>,
}

fn store_access<'a>(
    files: &'a mut StoreFiles,
    store: &'a mut SourceStore,
    comments: &'a mut BTreeMap<FileId, FileComments>,
) -> StoreAccess<'a> {
    StoreAccess {
        files,
        store,
        comments,
    }
}

impl StoreAccess<'_> {
    fn span(&mut self, place: &Place) -> Option<Span> {
        let id = self.files.id(&place.file, self.store, self.comments)?;
        Some(Span::new(id, place.range.start, place.range.end))
    }
}

/// Moves a finding's primary location to its values line or template line, keeping the
/// rendered text and the template as related locations.
fn move_finding(
    finding: &mut Finding,
    location: &SourceLocation,
    render: &Render,
    mut store: StoreAccess<'_>,
) {
    let render_file = finding.primary.span.file;
    let rendered = finding.primary.clone();
    let template = location.template.as_ref().and_then(|t| store.span(t));
    let values = location
        .values
        .as_ref()
        .and_then(|v| Some((v, store.span(&v.place)?)));
    let mut related: Vec<Location> = Vec::new();
    let primary_span = match (&values, template) {
        (Some((origin, span)), _) => {
            if let Some(t) = template {
                related.push(Location {
                    span: t,
                    label: "the template writes the value here".to_string(),
                });
            }
            finding.notes.push(match origin.proof {
                Proof::RenderedText => format!(
                    "set by the Helm values key {}: re-rendering with it changed changes the rendered text",
                    origin.key
                ),
                Proof::Finding => format!(
                    "set by the Helm values key {}: re-rendering with it changed removes the finding",
                    origin.key
                ),
            });
            *span
        }
        (None, Some(t)) => {
            finding.notes.push(if location.also.is_empty() {
                "written in the template: no values key was found to produce this text".to_string()
            } else {
                "written in the template: the values keys rendered into this text do not write \
                 the part the finding is about"
                    .to_string()
            });
            t
        }
        (None, None) => return,
    };
    for also in &location.also {
        if let Some(s) = store.span(&also.place) {
            related.push(Location {
                span: s,
                label: format!("{} is rendered into the same text", also.key),
            });
        }
    }
    finding.primary.span = primary_span;
    related.push(Location {
        span: rendered.span,
        label: if rendered.label.is_empty() {
            "rendered here".to_string()
        } else {
            format!("rendered: {}", rendered.label)
        },
    });
    // Related places in the render move to their template lines where found.
    let mut in_render = location.related.iter();
    for r in std::mem::take(&mut finding.related) {
        if r.span.file != render_file {
            related.push(r);
            continue;
        }
        let moved = in_render
            .next()
            .and_then(|p| p.as_ref())
            .and_then(|p| store.span(p));
        related.push(Location {
            span: moved.unwrap_or(r.span),
            label: r.label,
        });
    }
    finding.related = related;
    finding
        .notes
        .push(format!("Helm render: {}", render.plan.command_shown()));
}

/// TG000 for a render Helm refused: on the dependency entry of Chart.yaml for a missing
/// dependency, else on the values file of the render, else on Chart.yaml's name; with the
/// template position Helm names (`at (chart/templates/x.yaml:6:11)`) as a related place.
fn failure_finding(
    failure: &RenderFailure,
    catalogue: &Catalogue,
    result: &mut ScanResult,
    files: &mut StoreFiles,
) -> Option<Finding> {
    let plan = &failure.plan;
    let chart_yaml = plan.chart.chart_yaml();
    let meta = read_chart_yaml(&std::fs::read_to_string(&chart_yaml).unwrap_or_default());
    let missing_dependency = meta.dependencies.iter().find(|(name, _)| {
        failure.message.contains("missing in charts/") && mentions(&failure.message, name)
    });
    let (file, range): (PathBuf, Range<usize>) = match (missing_dependency, plan.values.last()) {
        (Some((_, at)), _) => (chart_yaml.clone(), at.clone()),
        (None, Some(values)) => (values.clone(), first_key(values)),
        (None, None) => (
            chart_yaml.clone(),
            meta.name.map(|(_, at)| at).unwrap_or(0..0),
        ),
    };
    let mut access = store_access(files, &mut result.store, &mut result.comments);
    let span = access.span(&Place { file, range })?;
    let with = if plan.values.is_empty() {
        "its default values".to_string()
    } else {
        plan.values_label()
    };
    let mut finding = crate::evaluate::native::finding(
        catalogue,
        Rule::ParseError,
        span,
        format!("the chart does not render with {with}: {}", failure.message),
        &format!("helm:{}:{}", plan.chart.display, plan.values_label()),
        access.store,
    )?;
    finding.help = Some(
        "Give the chart what it needs to render: the value in a values file beside it, or \
         `set:` / `values:` for the chart under `helm.charts` in .tritonguard.yaml; vendor a \
         missing dependency with `helm dependency build` (tritonguard never downloads one); or \
         exclude the chart."
            .to_string(),
    );
    if let Some(at) = helm_position(&failure.message, plan).and_then(|p| access.span(&p)) {
        finding.related.push(Location {
            span: at,
            label: "Helm stopped here".to_string(),
        });
    }
    finding
        .notes
        .push(format!("Helm render: {}", plan.command_shown()));
    Some(finding)
}

/// Whether `message` names `word` as a whole word.
fn mentions(message: &str, word: &str) -> bool {
    message
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .any(|w| w == word)
}

/// The first key of a values file (where a finding about the whole file points).
fn first_key(path: &Path) -> Range<usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    crate::parse::yaml::parse_stream(FileId(0), &text)
        .documents
        .first()
        .and_then(|d| d.root.as_map().first().and_then(|(_, v)| v.label_span()))
        .map(|s| s.start..s.end)
        .unwrap_or(0..0)
}

/// The template position in a Helm error (`(chart/templates/x.yaml:6:11)`), as a place in
/// the chart: line and column (1-based, in bytes) of the template file.
fn helm_position(message: &str, plan: &super::plan::RenderPlan) -> Option<Place> {
    let open = message.find("at (")? + 4;
    let close = open + message[open..].find(')')?;
    let mut parts = message[open..close].rsplitn(3, ':');
    let column: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let source = parts.next()?;
    let (_, inside) = source.split_once('/')?;
    let file = plan.chart.dir.join(inside);
    let text = std::fs::read_to_string(&file).ok()?;
    let start = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum::<usize>();
    let line_len = text[start..].find('\n').unwrap_or(text.len() - start);
    let mut at = start + column.saturating_sub(1).min(line_len);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let end = start + line_len;
    Some(Place {
        file,
        range: at..end.max(at),
    })
}
