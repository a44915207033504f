//! `tritonguard inspect`: what policies see. Prints every subject of a scan (each Launch,
//! Kubernetes object and model configuration) as JSON, under the CEL variable name a policy
//! uses for it — the quickest way to write a `match`, `assert` or `at` path — with the
//! deployment unit each Launch and object was correlated in.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::{EXIT_ERROR, PolicyArgs, load_catalogue};
use crate::evaluate::policy::spec::Subject;
use crate::load::classify::{FileKind, classify_name};
use crate::load::{MemorySource, Request};
use crate::pipeline::Pipeline;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Files and directories to read; "-" reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Only subjects of this kind.
    #[arg(long, value_parser = ["launch", "k8s", "pbtxt"])]
    pub subject: Option<String>,
    /// The name to show and classify standard input by (default: Kubernetes YAML).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_filename: String,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

pub fn run(args: InspectArgs) -> ExitCode {
    let catalogue = match load_catalogue(&args.policies, &[], false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut request = Request::new(
        args.paths
            .iter()
            .filter(|p| p.as_os_str() != "-")
            .cloned()
            .collect(),
    );
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
        request.memory.push(MemorySource {
            kind: classify_name(&crate::load::classify::base_name(&args.stdin_filename))
                .unwrap_or(FileKind::Yaml),
            display: args.stdin_filename.clone(),
            text,
        });
    }
    let mut pipeline = Pipeline::new(&catalogue, &|_| false);
    pipeline.keep_subjects = true;
    let result = pipeline.scan(&request);
    if let Some(note) = result.notes.iter().find(|n| n.error) {
        eprintln!("error: {}: {}", note.display, note.message);
        return ExitCode::from(EXIT_ERROR);
    }
    let Some(correlated) = &result.correlated else {
        return ExitCode::from(EXIT_ERROR);
    };
    let store = &result.store;
    let out: Vec<serde_json::Value> = correlated
        .subjects
        .iter()
        .filter(|s| args.subject.as_deref().is_none_or(|k| k == s.kind.as_str()))
        .map(|s| {
            let mut value = json!({
                "subject": s.kind.as_str(),
                "file": store.display(s.file),
                "identity": s.identity,
            });
            if matches!(s.kind, Subject::Launch | Subject::K8s)
                && let Some(unit) = s.group
            {
                value["unit"] = json!(correlated.unit_name(unit));
            }
            value[s.kind.variable()] = s.root.to_json();
            let shared = s.group.and_then(|g| correlated.groups.get(g));
            for (name, extra) in s.extra.iter().chain(shared.into_iter().flatten()) {
                value[*name] = extra.to_json();
            }
            value
        })
        .collect();
    crate::cli::print_out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    ))
}
