//! `tritonguard inspect`: what policies see. Prints every subject of a scan (each Launch,
//! Kubernetes object and model configuration) as JSON, under the CEL variable name a policy
//! uses for it — the quickest way to write a `match`, `assert` or `at` path.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::{EXIT_CLEAN, EXIT_ERROR, PolicyArgs, load_catalogue};
use crate::scan::{ScanRequest, scan};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Files and directories to read.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Only subjects of this kind.
    #[arg(long, value_parser = ["launch", "k8s", "pbtxt"])]
    pub subject: Option<String>,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

pub fn run(args: InspectArgs) -> ExitCode {
    let catalogue = match load_catalogue(&args.policies, &[], false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let request = ScanRequest::new(args.paths.clone());
    let result = scan(&catalogue, &request, &|_| false);
    let (store, subjects) = (&result.store, &result.subjects);
    if let Some(note) = result.notes.iter().find(|n| n.error) {
        eprintln!("error: {}: {}", note.display, note.message);
        return ExitCode::from(EXIT_ERROR);
    }
    let out: Vec<serde_json::Value> = subjects
        .iter()
        .filter(|s| args.subject.as_deref().is_none_or(|k| k == s.kind.as_str()))
        .map(|s| {
            let mut value = json!({
                "subject": s.kind.as_str(),
                "file": store.display(s.file),
                "identity": s.identity,
            });
            value[s.kind.variable()] = s.root.to_json();
            let shared = s.group.and_then(|g| result.subject_groups.get(g));
            for (name, extra) in s.extra.iter().chain(shared.into_iter().flatten()) {
                value[*name] = extra.to_json();
            }
            value
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    ExitCode::from(EXIT_CLEAN)
}
