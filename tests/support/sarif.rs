//! Validates SARIF files with Microsoft's SARIF multitool (the validator GitHub's docs
//! point to), so tests of tritonguard's SARIF output check more than "it is JSON".
//!
//! Two passes, because `--rule-kind Gh` replaces the default rule set instead of adding
//! to it (checked on 5.7.0):
//! * the default rules: the SARIF 2.1.0 JSON schema (`JSON*`) and the spec rules
//!   (`SARIF1xxx` errors, `SARIF2xxx` warnings), e.g. SARIF1004 "a relative URI must not
//!   start with '/'";
//! * `--rule-kind Gh`: GitHub code scanning's ingestion rules (`GHxxxx`), e.g. GH2012
//!   "each rule needs shortDescription, fullDescription and help".
//!
//! The multitool exits 0 whether or not it found problems, so the verdict comes from the
//! SARIF log it writes: every result whose effective level is `error` is a failure.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::tools::{SARIF_MULTITOOL, require_tool};

/// Which rule set a validation pass ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSet {
    /// SARIF schema and spec rules.
    Sarif,
    /// GitHub code-scanning ingestion rules (`--rule-kind Gh`).
    GitHub,
}

/// One problem the validator reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SarifIssue {
    pub rule_set: RuleSet,
    /// e.g. `SARIF1004`, `GH2012`, `JSON1008`.
    pub rule_id: String,
    /// `error`, `warning` or `note` (the result's level, else its rule's default, else
    /// SARIF's default `warning`).
    pub level: String,
    /// The message with its arguments filled in.
    pub message: String,
    /// The validated file, as the validator names it (a `file://` URI).
    pub file: String,
    /// 1-based line and column in the validated file, when given.
    pub line: Option<u64>,
    pub column: Option<u64>,
}

impl std::fmt::Display for SarifIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} {}: {}",
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.level,
            self.rule_id,
            self.message
        )
    }
}

/// The SARIF 2.1.0 JSON schema that ships next to the multitool binary.
pub fn sarif_schema_path(multitool: &Path) -> Option<std::path::PathBuf> {
    let p = multitool.parent()?.join("sarif-2.1.0.json");
    p.exists().then_some(p)
}

/// Runs both passes on `path` and returns every reported issue (warnings included).
pub fn sarif_issues(multitool: &Path, path: &Path) -> Result<Vec<SarifIssue>, String> {
    sarif_issues_many(multitool, &[path])
}

/// [`sarif_issues`] for several files, validated by one validator run per pass (the .NET
/// start-up dominates the time of a pass); each issue names its file.
pub fn sarif_issues_many(multitool: &Path, paths: &[&Path]) -> Result<Vec<SarifIssue>, String> {
    // The multitool skips a file that does not exist and reports nothing: that must not
    // read as "valid".
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return Err(format!("{} does not exist", missing.display()));
    }
    let mut all = run_pass(multitool, paths, RuleSet::Sarif)?;
    all.extend(run_pass(multitool, paths, RuleSet::GitHub)?);
    Ok(all)
}

/// `Ok(())` when neither pass reports an error-level result; otherwise `Err` with one
/// issue per line. Also `Err` when the validator cannot run.
///
/// Finds the validator through `TG_SARIF_MULTITOOL`: unset in CI panics; unset locally
/// prints a `skipped:` note and returns `Ok(())`. A test that expects `Err` must first
/// get the tool with `require_tool(SARIF_MULTITOOL)` and call [`validate_sarif_with`].
pub fn validate_sarif(path: &Path) -> Result<(), String> {
    match require_tool(SARIF_MULTITOOL) {
        Some(multitool) => validate_sarif_with(&multitool, path),
        None => Ok(()),
    }
}

/// [`validate_sarif`] with an explicit validator path.
pub fn validate_sarif_with(multitool: &Path, path: &Path) -> Result<(), String> {
    let errors: Vec<String> = sarif_issues(multitool, path)?
        .into_iter()
        .filter(|i| i.level == "error")
        .map(|i| i.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} is not valid SARIF:\n{}",
            path.display(),
            errors.join("\n")
        ))
    }
}

fn run_pass(
    multitool: &Path,
    inputs: &[&Path],
    rule_set: RuleSet,
) -> Result<Vec<SarifIssue>, String> {
    // The output file must not exist yet (the tool refuses to overwrite it).
    let dir = tempfile::Builder::new()
        .prefix("tg-sarif-validate-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let out = dir.path().join("validation.sarif");
    let mut cmd = Command::new(multitool);
    // A .NET app: without ICU it aborts unless told to run culture-invariant, and
    // validating JSON needs no culture data.
    cmd.env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1");
    cmd.env("DOTNET_CLI_TELEMETRY_OPTOUT", "1");
    cmd.arg("validate").args(inputs).arg("--output").arg(&out);
    // One worker thread: with more, 5.7.0 spends seconds waiting between files (4 files:
    // 8 s with 2 threads, 2.2 s with 1, measured on 2 cores).
    cmd.args(["--threads", "1"]);
    if rule_set == RuleSet::GitHub {
        cmd.args(["--rule-kind", "Gh"]);
    }
    let run = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", multitool.display()))?;
    let text = fs::read_to_string(&out).map_err(|e| {
        format!(
            "sarif-multitool wrote no log ({e}); exit {:?}\n{}{}",
            run.status.code(),
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )
    })?;
    let log: Value = serde_json::from_str(&text)
        .map_err(|e| format!("sarif-multitool's own log is not JSON: {e}"))?;
    issues_from_log(&log, rule_set)
}

/// Reads the issues out of the validator's SARIF log.
fn issues_from_log(log: &Value, rule_set: RuleSet) -> Result<Vec<SarifIssue>, String> {
    let mut out = Vec::new();
    let runs = log["runs"]
        .as_array()
        .ok_or("validator log has no runs array")?;
    for run in runs {
        for inv in run["invocations"].as_array().into_iter().flatten() {
            if inv["executionSuccessful"] == Value::Bool(false) {
                return Err(format!("sarif-multitool did not run successfully: {inv}"));
            }
        }
        let rules = run["tool"]["driver"]["rules"].as_array();
        for result in run["results"].as_array().into_iter().flatten() {
            let rule = result["ruleIndex"]
                .as_u64()
                .and_then(|i| rules.and_then(|r| r.get(usize::try_from(i).ok()?)));
            let level = result["level"]
                .as_str()
                .or_else(|| rule.and_then(|r| r["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning")
                .to_string();
            let physical = &result["locations"][0]["physicalLocation"];
            let region = &physical["region"];
            out.push(SarifIssue {
                rule_set,
                file: physical["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                rule_id: result["ruleId"].as_str().unwrap_or("?").to_string(),
                level,
                message: message_text(result, rule),
                line: region["startLine"].as_u64(),
                column: region["startColumn"].as_u64(),
            });
        }
    }
    Ok(out)
}

/// A result's message: its own `text`, or the rule's `messageStrings[id]` template with
/// `{0}`, `{1}`, ... replaced by the arguments.
fn message_text(result: &Value, rule: Option<&Value>) -> String {
    let msg = &result["message"];
    if let Some(text) = msg["text"].as_str() {
        return text.to_string();
    }
    let id = msg["id"].as_str().unwrap_or_default();
    let args: Vec<String> = msg["arguments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string))
        .collect();
    match rule.and_then(|r| r["messageStrings"][id]["text"].as_str()) {
        Some(template) => {
            let mut text = template.to_string();
            for (i, a) in args.iter().enumerate() {
                text = text.replace(&format!("{{{i}}}"), a);
            }
            text
        }
        None => format!("{id} {args:?}"),
    }
}
