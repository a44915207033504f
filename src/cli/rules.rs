//! `tritonguard rules`: the catalogue as a table or JSON.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::cli::{EXIT_CLEAN, EXIT_ERROR, PolicyArgs, load_catalogue};
use crate::evaluate::selector::{CATEGORIES, category};
use crate::model::subject::Subject;

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
    /// Only rules of this severity (repeatable).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::cli::parse_severity)]
    pub severity: Vec<crate::finding::Severity>,
    /// Only rules of this category (repeatable): housekeeping, server, container, exposure,
    /// version, model-config, repository, probe, reliability.
    #[arg(long, value_name = "CATEGORY")]
    pub category: Vec<String>,
    /// Only rules about this subject (repeatable): launch, k8s, pbtxt, file, suppression,
    /// policy, repo, probe.
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Vec<String>,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct RuleRow<'a> {
    id: &'a str,
    name: &'a str,
    severity: &'static str,
    category: &'static str,
    subject: &'static str,
    summary: &'a str,
    builtin: bool,
    origin: &'a str,
}

pub fn run(args: RulesArgs) -> ExitCode {
    let catalogue = match load_catalogue(&args.policies, &[], false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(unknown) = args
        .category
        .iter()
        .find(|c| !CATEGORIES.iter().any(|(_, k)| k.eq_ignore_ascii_case(c)))
    {
        let known: Vec<&str> = CATEGORIES.iter().map(|(_, k)| *k).collect();
        eprintln!(
            "error: unknown category '{unknown}' (one of {})",
            known.join(", ")
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let mut subjects = Vec::new();
    for s in &args.subject {
        match Subject::parse(s) {
            Some(subject) => subjects.push(subject),
            None => {
                eprintln!(
                    "error: unknown subject '{s}' (launch, k8s, pbtxt, file, suppression, policy, repo, probe)"
                );
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let rows: Vec<RuleRow> = catalogue
        .sorted()
        .into_iter()
        .filter(|p| args.severity.is_empty() || args.severity.contains(&p.spec.severity))
        .filter(|p| {
            args.category.is_empty()
                || category(p)
                    .is_some_and(|c| args.category.iter().any(|a| a.eq_ignore_ascii_case(c)))
        })
        .filter(|p| subjects.is_empty() || subjects.contains(&p.spec.subject))
        .map(|p| RuleRow {
            id: &p.spec.id,
            name: &p.spec.name,
            severity: p.spec.severity.as_str(),
            category: category(p).unwrap_or("-"),
            subject: p.spec.subject.as_str(),
            summary: &p.spec.summary,
            builtin: p.builtin,
            origin: &p.origin,
        })
        .collect();
    let text = match args.format {
        RulesFormat::Json => {
            let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
            s.push('\n');
            s
        }
        RulesFormat::Text => table(&rows),
    };
    print!("{text}");
    ExitCode::from(EXIT_CLEAN)
}

fn table(rows: &[RuleRow]) -> String {
    let width = |f: &dyn Fn(&RuleRow) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let w_id = width(&|r| r.id.len(), "ID");
    let w_name = width(&|r| r.name.len(), "NAME");
    let w_sev = width(&|r| r.severity.len(), "SEVERITY");
    let w_cat = width(&|r| r.category.len(), "CATEGORY");
    let w_sub = width(&|r| r.subject.len(), "SUBJECT");
    let mut out = format!(
        "{:w_id$}  {:w_name$}  {:w_sev$}  {:w_cat$}  {:w_sub$}  SUMMARY\n",
        "ID", "NAME", "SEVERITY", "CATEGORY", "SUBJECT"
    );
    for r in rows {
        out.push_str(&format!(
            "{:w_id$}  {:w_name$}  {:w_sev$}  {:w_cat$}  {:w_sub$}  {}\n",
            r.id, r.name, r.severity, r.category, r.subject, r.summary
        ));
    }
    out.push_str(&format!(
        "{} rule{}; `tritonguard explain ID` shows one in full\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}
