//! The terminal report, grouped by file. Each finding opens with its severity as a glyph and
//! a word (`× high TG101 model-control-enabled: ...`), then the source with the offending
//! text underlined (drawn by miette from an [`Excerpt`] of the lines around it), then the
//! fix for the file's format. Findings that underline the same span share one snippet. The
//! last line says what was scanned.

use std::collections::BTreeMap;
use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, ThemeCharacters, ThemeStyles,
};

use crate::finding::{Finding, Location};
use crate::report::Report;
use crate::report::excerpt::{Excerpt, Mark, excerpts};
use crate::report::look::Look;
use crate::report::redact::Redactor;
use crate::report::wrap::{width, wrap};
use crate::source::{FileId, SourceStore, Span};

#[derive(Clone, Debug)]
pub struct HumanOptions {
    pub color: bool,
    /// Terminal columns to fill; prose wraps at spaces, code and source lines never wrap.
    pub width: usize,
    /// Only the summary line.
    pub quiet: bool,
    /// Show findings that were suppressed, marked as such.
    pub show_suppressed: bool,
    /// Plain ASCII glyphs and box drawing (`TERM=dumb`, a non-UTF-8 locale).
    pub ascii: bool,
}

impl Default for HumanOptions {
    fn default() -> HumanOptions {
        HumanOptions {
            color: false,
            width: 100,
            quiet: false,
            show_suppressed: false,
            ascii: false,
        }
    }
}

impl HumanOptions {
    fn look(&self) -> Look {
        Look {
            color: self.color,
            ascii: self.ascii,
        }
    }

    fn theme(&self) -> GraphicalTheme {
        GraphicalTheme {
            characters: if self.ascii {
                ThemeCharacters::ascii()
            } else {
                ThemeCharacters::unicode()
            },
            styles: if self.color {
                ThemeStyles::ansi()
            } else {
                ThemeStyles::none()
            },
        }
    }

    /// Usable columns, never so few that nothing fits.
    fn columns(&self) -> usize {
        self.width.max(40)
    }
}

/// Related spans within this many lines of the primary one are shown in its snippet.
const NEARBY_LINES: usize = 3;

/// A file with no text to show: a binary model file or a directory of a model repository.
/// Findings there name the place in words (`at model.pt (archive/data.pkl) offset 0x1f3`)
/// instead of underlining it.
pub fn textless(store: &SourceStore, file: FileId) -> bool {
    store.get(file).is_none_or(|f| f.text.is_empty())
}

/// `at <path> <label>`: a place in a textless file.
fn place(store: &SourceStore, location: &Location, redactor: &Redactor) -> String {
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
        format!("at {display} {}", redactor.text(&location.label))
    }
}

/// A snippet for miette: the excerpt and its labels, with no title of its own.
struct Snippet<'a>(&'a Excerpt);

impl fmt::Debug for Snippet<'_> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl std::error::Error for Snippet<'_> {}

impl Diagnostic for Snippet<'_> {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.0)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.0.labels.iter().cloned()))
    }
}

fn handler(options: &HumanOptions) -> GraphicalReportHandler {
    GraphicalReportHandler::new_themed(options.theme())
        .with_width(options.columns())
        .with_wrap_lines(false)
        .with_links(false)
        .with_context_lines(1)
}

/// The boxed source lines of one excerpt, each line prefixed with `indent`.
fn draw(excerpt: &Excerpt, options: &HumanOptions, indent: &str, out: &mut String) {
    let mut text = String::new();
    if handler(options)
        .render_report(&mut text, &Snippet(excerpt))
        .is_err()
    {
        return;
    }
    // The snippet has no title: miette writes an empty line for it.
    for line in text.strip_prefix('\n').unwrap_or(&text).lines() {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
}

/// `prefix` then `text` wrapped to the width, later lines indented by `indent` columns.
fn paragraph(out: &mut String, prefix: &str, prefix_width: usize, text: &str, width: usize) {
    let columns = width.saturating_sub(prefix_width).max(20);
    for (i, line) in wrap(text, columns, columns).iter().enumerate() {
        if i == 0 {
            out.push_str(prefix);
        } else {
            out.push_str(&" ".repeat(prefix_width));
        }
        out.push_str(line);
        out.push('\n');
    }
}

/// The headline of a finding: `  × high TG101 model-control-enabled: message`.
fn headline(out: &mut String, finding: &Finding, redactor: &Redactor, options: &HumanOptions) {
    let look = options.look();
    let marker = format!("{} {}", look.glyph(finding.severity), finding.severity);
    let rule = format!("{} {}", finding.rule_id, finding.rule_name);
    let message = redactor.text(&finding.message);
    let plain = format!("{marker} {rule}: {message}");
    let columns = options.columns();
    let lines = wrap(&plain, columns.saturating_sub(2), columns.saturating_sub(4));
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str("  ");
            match line.strip_prefix(&format!("{marker} {rule}")) {
                Some(rest) => {
                    out.push_str(&look.severity(finding.severity));
                    out.push(' ');
                    out.push_str(&look.bold(&rule));
                    out.push_str(rest);
                }
                None => out.push_str(line),
            }
        } else {
            out.push_str("    ");
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Adds a mark; labels of marks on the same span become lines of one label (miette would
/// draw each at its own column otherwise).
fn push_mark(marks: &mut Vec<Mark>, mark: Mark) {
    match marks.iter_mut().find(|m| m.span == mark.span) {
        Some(existing) => {
            existing.primary |= mark.primary;
            if existing.label.is_empty() {
                existing.label = mark.label;
            } else if !mark.label.is_empty() && !existing.label.lines().any(|l| l == mark.label) {
                existing.label.push('\n');
                existing.label.push_str(&mark.label);
            }
        }
        None => marks.push(mark),
    }
}

/// Renders findings that share one primary span: their headlines, one snippet, then each
/// one's help.
fn render_group(
    out: &mut String,
    store: &SourceStore,
    redactor: &Redactor,
    group: &[&Finding],
    options: &HumanOptions,
) {
    let Some(first) = group.first() else {
        return;
    };
    let look = options.look();
    let several = group.len() > 1;
    let tag = |f: &Finding| {
        if several {
            format!("[{}] ", f.rule_id)
        } else {
            String::new()
        }
    };
    for f in group {
        headline(out, f, redactor, options);
    }
    let file = first.primary.span.file;
    let primary_textless = textless(store, file);
    let line_of = |span: Span| store.position(span.file, span.start).line;
    let primary_line = line_of(first.primary.span);
    let mut marks: Vec<Mark> = Vec::new();
    let mut far: Vec<(FileId, Vec<Mark>, Vec<&str>)> = Vec::new();
    let mut textless_related: Vec<String> = Vec::new();
    for f in group {
        if primary_textless {
            let at = format!("{}{}", tag(f), place(store, &f.primary, redactor));
            paragraph(out, "    ", 4, &at, options.columns());
        } else {
            let label = redactor.text(&f.primary.label);
            let label = if several && !label.is_empty() {
                format!("{}: {label}", f.rule_id)
            } else {
                label.into_owned()
            };
            push_mark(
                &mut marks,
                Mark {
                    span: f.primary.span,
                    label,
                    primary: true,
                },
            );
        }
        for r in &f.related {
            let mark = Mark {
                span: r.span,
                label: redactor.text(&r.label).into_owned(),
                primary: false,
            };
            if textless(store, r.span.file) {
                textless_related.push(format!("{}{}", tag(f), place(store, r, redactor)));
            } else if !primary_textless
                && r.span.file == file
                && line_of(r.span).abs_diff(primary_line) <= NEARBY_LINES
            {
                push_mark(&mut marks, mark);
            } else {
                match far.iter_mut().find(|(other, _, _)| *other == r.span.file) {
                    Some((_, list, rules)) => {
                        push_mark(list, mark);
                        if !rules.contains(&f.rule_id.as_str()) {
                            rules.push(&f.rule_id);
                        }
                    }
                    None => far.push((r.span.file, vec![mark], vec![&f.rule_id])),
                }
            }
        }
    }
    let columns = options.columns();
    if let Some(source) = store.get(file).filter(|_| !primary_textless) {
        for excerpt in excerpts(source, &marks, redactor.spans(file), columns) {
            draw(&excerpt, options, "", out);
        }
    }
    for (other, list, rules) in &far {
        let Some(source) = store.get(*other) else {
            continue;
        };
        let heading = if several {
            format!("related to {}", rules.join(", "))
        } else {
            "related".to_string()
        };
        out.push_str(&format!("  {}\n", look.related(&heading)));
        for excerpt in excerpts(source, list, redactor.spans(*other), columns - 4) {
            draw(&excerpt, options, "    ", out);
        }
    }
    for line in &textless_related {
        let prefix = format!("  {} ", look.related("related:"));
        let prefix_width = 2 + width(look.related_glyph()) + " related: ".len();
        paragraph(out, &prefix, prefix_width, line, columns);
    }
    let mut helps: Vec<String> = Vec::new();
    for f in group {
        if let Some(help) = &f.help {
            let text = format!("{}{}", tag(f), redactor.text(help));
            if !helps.contains(&text) {
                helps.push(text);
            }
        }
    }
    let help_prefix = format!("  {} ", look.heading("help:"));
    for help in &helps {
        paragraph(out, &help_prefix, 8, help, columns);
    }
    let mut notes: Vec<String> = Vec::new();
    for f in group {
        for note in &f.notes {
            let text = redactor.text(note).into_owned();
            if !notes.contains(&text) {
                notes.push(text);
            }
        }
    }
    let note_prefix = format!("  {} ", look.heading("note:"));
    for note in &notes {
        paragraph(out, &note_prefix, 8, note, columns);
    }
    for f in group {
        if let Some(s) = &f.suppression {
            let prefix = format!("  {} ", look.heading("suppressed:"));
            let text = format!("{}{}", tag(f), redactor.text(&s.justification));
            paragraph(out, &prefix, 14, &text, columns);
        }
    }
}

/// One finding as the report shows it (rule snapshots, `tritonguard test`).
pub fn render_finding(store: &SourceStore, finding: &Finding, options: &HumanOptions) -> String {
    let mut out = String::new();
    let redactor = Redactor::new(store, [finding]);
    render_group(&mut out, store, &redactor, &[finding], options);
    out
}

pub fn render(report: &Report<'_>, options: &HumanOptions) -> String {
    let mut out = String::new();
    if !options.quiet {
        let redactor = Redactor::new(report.store, report.findings);
        let shown: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.suppression.is_none() || options.show_suppressed)
            .collect();
        let mut per_file: BTreeMap<FileId, usize> = BTreeMap::new();
        for f in &shown {
            *per_file.entry(f.primary.span.file).or_default() += 1;
        }
        let look = options.look();
        let mut current: Option<FileId> = None;
        for group in shown.chunk_by(|a, b| a.primary.span == b.primary.span) {
            let file = group[0].primary.span.file;
            if current != Some(file) {
                current = Some(file);
                let count = per_file.get(&file).copied().unwrap_or(0);
                out.push_str(&format!(
                    "{rule} {} ({count} finding{}) {rule}\n",
                    report.store.display(file),
                    if count == 1 { "" } else { "s" },
                    rule = look.rule(),
                ));
            }
            let mut group = group.to_vec();
            group.sort_by_key(|f| std::cmp::Reverse(f.severity));
            render_group(&mut out, report.store, &redactor, &group, options);
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

/// A diagnostic with its title and help wrapped the way the report wraps prose: at spaces
/// outside code spans only.
struct Wrapped<'a> {
    inner: &'a dyn Diagnostic,
    title: String,
    help: Option<String>,
}

impl fmt::Debug for Wrapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl fmt::Display for Wrapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl std::error::Error for Wrapped<'_> {}

impl Diagnostic for Wrapped<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.inner.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.inner.labels()
    }
}

/// Renders an error diagnostic (a policy or configuration mistake) with the text it points
/// into.
pub fn render_diagnostic(diagnostic: &dyn Diagnostic, options: &HumanOptions) -> String {
    let columns = options.columns();
    let title = wrap(
        &diagnostic.to_string(),
        columns.saturating_sub(4),
        columns.saturating_sub(4),
    )
    .join("\n");
    let help = diagnostic.help().map(|h| {
        wrap(
            &h.to_string(),
            columns.saturating_sub(8),
            columns.saturating_sub(8),
        )
        .join("\n")
    });
    let wrapped = Wrapped {
        inner: diagnostic,
        title,
        help,
    };
    let mut out = String::new();
    if handler(options).render_report(&mut out, &wrapped).is_err() {
        out = format!("{diagnostic}\n");
    }
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
