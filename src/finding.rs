//! Findings: what the engine decided, for the reporters to format. Nothing here prints.

use std::fmt;

use serde::Serialize;

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// When findings fail a run: at or above a severity, or never (report only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Never,
    At(Severity),
}

impl FailOn {
    /// `never`, or a severity name.
    pub fn parse(text: &str) -> Option<FailOn> {
        if text.eq_ignore_ascii_case("never") {
            return Some(FailOn::Never);
        }
        Severity::parse(text).map(FailOn::At)
    }

    /// The severity that fails a run, if any.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Never => None,
            FailOn::At(s) => Some(s),
        }
    }
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// GitHub code scanning's `security-severity` (critical > 9.0, high 7.0–8.9, medium
    /// 4.0–6.9, low 0.1–3.9); informational rules carry none.
    pub fn security_severity(self) -> Option<&'static str> {
        match self {
            Severity::Critical => Some("9.5"),
            Severity::High => Some("8.0"),
            Severity::Medium => Some("5.5"),
            Severity::Low => Some("3.0"),
            Severity::Info => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a scanned file, with what it shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub span: Span,
    pub label: String,
}

/// Why a finding is not counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// inSource (a comment or annotation) or external (config file, baseline).
    pub kind: SuppressionKind,
    pub justification: String,
    /// Where the suppression is written, when it is in a scanned file.
    pub span: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuppressionKind {
    InSource,
    External,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub message: String,
    pub primary: Location,
    pub related: Vec<Location>,
    /// Extra lines for the reader (the Helm template a document came from).
    pub notes: Vec<String>,
    /// A short fix, shown as the help line.
    pub help: Option<String>,
    /// Stable under unrelated edits: rule, file, subject identity and what is pointed at.
    pub fingerprint: String,
    pub suppression: Option<Suppression>,
    /// The object (YAML document, compose service, file) the finding is about, which may be
    /// in another file than the primary location; whole-object suppressions match it.
    pub subject_extent: Option<Span>,
    /// Where the subject itself is (a launch's container, an object's `kind:` line): the
    /// related location a finding gets when its primary location is in a file read only
    /// for context (`--context`).
    pub subject_anchor: Option<Span>,
    /// Credentials in the scanned text (a token in a model parameter): every report masks
    /// them, in snippets and in any message or label that quotes them.
    pub secrets: Vec<Span>,
    /// How many findings left out of the report this one stands for besides itself: the
    /// summary of a rule's findings in a file past the cap (see [`crate::filter::cap`]).
    /// Counts include them. 0 for every other finding.
    pub folded: usize,
}

impl Finding {
    /// Deterministic report order: file, position, rule.
    pub fn sort_key(&self) -> (u32, usize, usize, String, String) {
        (
            self.primary.span.file.0,
            self.primary.span.start,
            self.primary.span.end,
            self.rule_id.clone(),
            self.message.clone(),
        )
    }
}

/// A fingerprint from the parts that identify a finding, independent of line numbers.
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}
