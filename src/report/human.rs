//! The terminal report: miette diagnostics with the offending text underlined, grouped by
//! file, and a summary line that says what was scanned.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan,
};

use crate::finding::{Finding, Location, Severity};
use crate::report::Report;
use crate::source::{FileId, SourceStore, Span};

#[derive(Clone, Debug)]
pub struct HumanOptions {
    pub color: bool,
    pub width: usize,
    /// Only the summary line.
    pub quiet: bool,
    /// Show findings that were suppressed, marked as such.
    pub show_suppressed: bool,
}

impl Default for HumanOptions {
    fn default() -> HumanOptions {
        HumanOptions {
            color: false,
            width: 100,
            quiet: false,
            show_suppressed: false,
        }
    }
}

/// One finding as a miette diagnostic.
pub struct FindingDiagnostic {
    title: String,
    severity: miette::Severity,
    /// `None` for a file with no text to show (see [`textless`]).
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<RelatedDiagnostic>,
}

/// Related locations in another file, shown under the finding.
pub struct RelatedDiagnostic {
    title: String,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Debug for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl fmt::Display for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl std::error::Error for FindingDiagnostic {}

impl Diagnostic for FindingDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
        }
    }
}

impl fmt::Debug for RelatedDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl fmt::Display for RelatedDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl std::error::Error for RelatedDiagnostic {}

impl Diagnostic for RelatedDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Critical | Severity::High => miette::Severity::Error,
        Severity::Medium => miette::Severity::Warning,
        Severity::Low | Severity::Info => miette::Severity::Advice,
    }
}

fn named_source(store: &SourceStore, file: FileId) -> NamedSource<String> {
    let (name, text) = store
        .get(file)
        .map(|f| (f.display.clone(), f.text.to_string()))
        .unwrap_or_default();
    NamedSource::new(name, text)
}

fn labeled(store: &SourceStore, span: Span, label: &str) -> LabeledSpan {
    // miette wants the span inside the text; an empty span still gets a caret.
    let len = store.get(span.file).map(|f| f.text.len()).unwrap_or(0);
    let start = span.start.min(len);
    let end = span.end.min(len).max(start);
    let source_span = SourceSpan::from((start, end - start));
    if label.is_empty() {
        LabeledSpan::underline(source_span)
    } else {
        LabeledSpan::new_with_span(Some(label.to_string()), source_span)
    }
}

/// A file with no text to show: a binary model file or a directory of a model repository.
/// Findings there name the place in words (`at model.pt (archive/data.pkl) offset 0x1f3`)
/// instead of underlining it.
pub fn textless(store: &SourceStore, file: FileId) -> bool {
    store.get(file).is_none_or(|f| f.text.is_empty())
}

/// `at <path> <label>`: a place in a textless file.
fn place(store: &SourceStore, location: &Location) -> String {
    let display = match store
        .get(location.span.file)
        .and_then(|f| f.remote.as_ref())
    {
        Some(remote) => format!("{} {}", remote.url, remote.endpoint),
        None => store.display(location.span.file).to_string(),
    };
    if location.label.is_empty() {
        format!("at {display}")
    } else {
        format!("at {display} {}", location.label)
    }
}

pub fn diagnostic(store: &SourceStore, finding: &Finding) -> FindingDiagnostic {
    let file = finding.primary.span.file;
    let mut title = format!(
        "{} {}: {}",
        finding.rule_id, finding.rule_name, finding.message
    );
    let mut help_lines: Vec<String> = finding.help.iter().cloned().collect();
    let primary_textless = textless(store, file);
    let mut labels = Vec::new();
    if primary_textless {
        title.push('\n');
        title.push_str(&place(store, &finding.primary));
    } else {
        labels.push(labeled(store, finding.primary.span, &finding.primary.label));
    }
    // Related places near the primary span share its snippet; others get their own, so a
    // label forty lines away does not pull those forty lines into the report.
    let line_of = |span: Span| store.position(span.file, span.start).line;
    let primary_line = line_of(finding.primary.span);
    let mut others: Vec<(FileId, Vec<&Location>)> = Vec::new();
    for r in &finding.related {
        if textless(store, r.span.file) {
            help_lines.push(format!("related: {}", place(store, r)));
        } else if !primary_textless
            && r.span.file == file
            && line_of(r.span).abs_diff(primary_line) <= NEARBY_LINES
        {
            labels.push(labeled(store, r.span, &r.label));
        } else {
            match others.iter_mut().find(|(f, _)| *f == r.span.file) {
                Some((_, list)) => list.push(r),
                None => others.push((r.span.file, vec![r])),
            }
        }
    }
    let related = others
        .into_iter()
        .map(|(other, locations)| RelatedDiagnostic {
            title: "related".to_string(),
            source: named_source(store, other),
            labels: locations
                .iter()
                .map(|l| labeled(store, l.span, &l.label))
                .collect(),
        })
        .collect();
    for note in &finding.notes {
        help_lines.push(format!("note: {note}"));
    }
    if let Some(s) = &finding.suppression {
        help_lines.push(format!("suppressed: {}", s.justification));
    }
    FindingDiagnostic {
        title,
        severity: miette_severity(finding.severity),
        source: (!primary_textless).then(|| named_source(store, file)),
        labels,
        help: if help_lines.is_empty() {
            None
        } else {
            Some(help_lines.join("\n"))
        },
        related,
    }
}

/// Related spans within this many lines of the primary one are shown in its snippet.
const NEARBY_LINES: usize = 3;

fn handler(options: &HumanOptions) -> GraphicalReportHandler {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .with_context_lines(1)
        .with_show_related_as_nested(true)
}

/// Renders one diagnostic to text.
pub fn render_diagnostic(diagnostic: &dyn Diagnostic, options: &HumanOptions) -> String {
    let mut out = String::new();
    if handler(options)
        .render_report(&mut out, diagnostic)
        .is_err()
    {
        out = format!("{diagnostic}\n");
    }
    out
}

pub fn render(report: &Report<'_>, options: &HumanOptions) -> String {
    let mut out = String::new();
    if !options.quiet {
        let mut current: Option<FileId> = None;
        for finding in report.findings {
            if finding.suppression.is_some() && !options.show_suppressed {
                continue;
            }
            let file = finding.primary.span.file;
            if current != Some(file) {
                current = Some(file);
                let count = report
                    .findings
                    .iter()
                    .filter(|f| {
                        f.primary.span.file == file
                            && (f.suppression.is_none() || options.show_suppressed)
                    })
                    .count();
                out.push_str(&format!(
                    "── {} ({count} finding{}) ──\n",
                    report.store.display(file),
                    if count == 1 { "" } else { "s" }
                ));
            }
            out.push_str(&render_diagnostic(
                &diagnostic(report.store, finding),
                options,
            ));
            out.push('\n');
        }
        for note in report.notes {
            out.push_str(&format!("note: {}: {}\n", note.display, note.message));
        }
        for error in report.eval_errors {
            out.push_str(&format!(
                "warning: policy {} could not be evaluated on {} ({}): {}\n",
                error.rule_id,
                error.subject,
                report.store.display(error.file),
                error.message
            ));
        }
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// `examples/: 9 files, 3 Triton launches, 21 findings (2 critical, 5 high) in 12 ms`
pub fn summary_line(report: &Report<'_>) -> String {
    let stats = report.stats;
    let total: usize = report.counts().iter().map(|(_, n)| n).sum();
    let counts = report
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let suppressed = report.findings.len() - report.active().count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let subjects = match stats.models {
        Some(models) => plural(models, "model"),
        None => plural(stats.launches, "Triton launch").replace("launchs", "launches"),
    };
    let mut line = match stats.endpoints {
        // A probe: endpoints asked and models seen.
        Some(endpoints) => format!(
            "{}: {}, {}, {}",
            report.scanned,
            plural(endpoints, "endpoint"),
            plural(stats.models.unwrap_or(0), "model"),
            plural(total, "finding"),
        ),
        None => format!(
            "{}: {}, {}, {}",
            report.scanned,
            plural(stats.files, "file"),
            subjects,
            plural(total, "finding"),
        ),
    };
    if !counts.is_empty() {
        line.push_str(&format!(" ({counts})"));
    }
    if suppressed > 0 {
        line.push_str(&format!(", {suppressed} suppressed"));
    }
    line.push_str(&format!(" in {} ms", stats.duration.as_millis()));
    line
}
