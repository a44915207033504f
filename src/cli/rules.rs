//! `tritonguard rules`: the catalogue as a table or JSON.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::cli::{EXIT_CLEAN, PolicyArgs, load_catalogue};

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
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
    let rows: Vec<RuleRow> = catalogue
        .sorted()
        .into_iter()
        .map(|p| RuleRow {
            id: &p.spec.id,
            name: &p.spec.name,
            severity: p.spec.severity.as_str(),
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
    let w_sub = width(&|r| r.subject.len(), "SUBJECT");
    let mut out = format!(
        "{:w_id$}  {:w_name$}  {:w_sev$}  {:w_sub$}  SUMMARY\n",
        "ID", "NAME", "SEVERITY", "SUBJECT"
    );
    for r in rows {
        out.push_str(&format!(
            "{:w_id$}  {:w_name$}  {:w_sev$}  {:w_sub$}  {}\n",
            r.id, r.name, r.severity, r.subject, r.summary
        ));
    }
    out.push_str(&format!(
        "{} rules; `tritonguard explain ID` shows one in full\n",
        rows.len()
    ));
    out
}
