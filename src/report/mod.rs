//! Reporters: they format findings and never decide anything. One file per format.

pub mod concise;
pub mod excerpt;
pub mod exposure;
pub mod github;
pub mod human;
pub mod json;
pub mod look;
pub mod markdown;
pub mod redact;
pub mod rule_docs;
pub mod sarif;
pub mod statistics;
pub mod timings;
pub mod wrap;

use crate::evaluate::cel::EvalError;
use crate::evaluate::policy::Catalogue;
use crate::finding::{Finding, Severity};
use crate::load::discover::DiscoveryNote;
use crate::source::SourceStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics with the offending text underlined (the default).
    Human,
    /// One line per finding: `path:line:col: TG101 [high] message`, as editors and CI log
    /// matchers read them.
    Concise,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// tritonguard's own JSON (schema/report.schema.json).
    Json,
    /// GitHub Actions workflow commands (annotations without code scanning).
    Github,
    /// A markdown summary for a pull-request comment or the GitHub step summary (counts,
    /// findings by severity with links to their lines, the exposure map as a diagram).
    Markdown,
}

/// What was scanned, for the summary line.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub files: usize,
    pub files_by_kind: Vec<(String, usize)>,
    pub skipped: usize,
    pub objects: usize,
    pub launches: usize,
    /// Model configurations (`config.pbtxt`) among the checked files.
    pub model_configs: usize,
    /// Model directories, for a model repository audit (the summary counts these instead
    /// of launches).
    pub models: Option<usize>,
    /// Endpoints asked, for a `probe` of a running server (the summary counts these instead
    /// of files and launches).
    pub endpoints: Option<usize>,
    pub duration: std::time::Duration,
    /// Wall time of each pipeline stage, in order (`check --timings` prints them).
    pub stages: Vec<Stage>,
}

/// One pipeline stage's wall time, and the process's peak resident memory when it ended
/// (where the system reports it).
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    pub name: &'static str,
    pub time: std::time::Duration,
    pub peak_rss: Option<u64>,
}

/// Everything a reporter may show.
pub struct Report<'a> {
    pub store: &'a SourceStore,
    pub catalogue: &'a Catalogue,
    /// Findings in report order, suppressed ones included (marked).
    pub findings: &'a [Finding],
    pub eval_errors: &'a [EvalError],
    pub notes: &'a [DiscoveryNote],
    pub stats: &'a Stats,
    /// What was scanned, as the user named it (`examples/`, `-`).
    pub scanned: String,
    /// The exit threshold; `None` is `--fail-on never` (findings are only reported).
    pub fail_on: Option<Severity>,
    /// SARIF `automationDetails.id` (a category ending in `/`).
    pub sarif_category: String,
    /// Absolute directory that relative paths start from (SARIF `%SRCROOT%`).
    pub base_uri: Option<String>,
    /// The same directory, canonical, for SARIF URIs with symlinks resolved.
    pub base_dir: Option<std::path::PathBuf>,
    /// Each scanned file's canonical path (indexed by `FileId`), resolved before reporting:
    /// reporters never touch the file system.
    pub real_paths: Vec<Option<std::path::PathBuf>>,
    /// The exposure map of the scan, for reports that draw it (markdown).
    pub exposure: Option<&'a exposure::ExposureMap>,
    /// What markdown links to files start with (a repository's blob URL at a commit, ending
    /// in `/`); `None` links relative to the base directory.
    pub link_base: Option<String>,
}

impl Report<'_> {
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppression.is_none())
    }

    /// How many unsuppressed findings there are, those a capped file's summary finding
    /// stands for included.
    pub fn active_count(&self) -> usize {
        self.active().map(|f| 1 + f.folded).sum()
    }

    /// Counts of unsuppressed findings per severity, most severe first (those a capped
    /// file's summary finding stands for included).
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .map(|s| {
                let n = self
                    .active()
                    .filter(|f| f.severity == *s)
                    .map(|f| 1 + f.folded)
                    .sum();
                (*s, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

pub fn render(format: Format, report: &Report<'_>, options: &human::HumanOptions) -> String {
    match format {
        Format::Human => human::render(report, options),
        Format::Concise => concise::render(report, options),
        Format::Sarif => sarif::render(report),
        Format::Json => json::render(report),
        Format::Github => github::render(report),
        Format::Markdown => markdown::render(report),
    }
}

pub const TOOL_NAME: &str = "tritonguard";
pub const INFORMATION_URI: &str = "https://github.com/tritonguard/tritonguard";

/// Where a rule's documentation lives online: a built-in rule's page in the generated rules
/// reference (`docs/rules/TG101.md`); a team policy's first reference, never a page of this
/// repository (which does not document it).
pub fn help_uri(policy: &crate::evaluate::policy::Policy) -> Option<String> {
    if policy.builtin {
        Some(format!(
            "{INFORMATION_URI}/blob/main/{}",
            rule_docs::rule_page_path(&policy.spec.id)
        ))
    } else {
        policy.spec.references.first().cloned()
    }
}
