//! `tritonguard exposure`: what each Triton launch exposes. Runs the same pipeline as
//! `check` (charts rendered with Helm, the configuration's workload kinds and excludes), keeps
//! the correlated launches, and prints their exposure map as a table, JSON, Mermaid or DOT.
//! No rule runs but TG000: a file that cannot be read or parsed is an error, since the map
//! would silently lack what it defines.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::check::{exclude_set, load_config, render_charts};
use crate::cli::{EXIT_ERROR, PolicyArgs, load_catalogue, use_color};
use crate::evaluate::policy::Policy;
use crate::evaluate::registry::Rule;
use crate::load::classify::{FileKind, classify_name};
use crate::load::{MemorySource, Request};
use crate::pipeline::Pipeline;
use crate::report::exposure::{ExposureFormat, ExposureMap, render};

#[derive(Args, Debug)]
pub struct ExposureArgs {
    /// Files and directories to read; "-" reads standard input (e.g. `helm template`).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ExposureFormat::Table)]
    pub format: ExposureFormat,
    /// The name to show and classify standard input by (default: Kubernetes YAML).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_filename: String,
    /// Read this configuration file instead of the nearest `.tritonguard.yaml`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read any configuration file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// The `helm` to render Helm charts with (default: `helm` on PATH).
    #[arg(long, value_name = "PATH", conflicts_with = "no_helm")]
    pub helm: Option<PathBuf>,
    /// Do not render Helm charts.
    #[arg(long)]
    pub no_helm: bool,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

pub fn run(args: ExposureArgs) -> ExitCode {
    let color = use_color(
        crate::cli::ColorChoice::Auto,
        std::io::stderr().is_terminal(),
    );
    let config = match load_config(args.no_config, args.config.as_deref(), &args.paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalogue = match load_catalogue(&args.policies, &[], color) {
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
    request.exclude = exclude_set(&config);
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
        request.memory.push(MemorySource {
            kind: classify_name(&args.stdin_filename).unwrap_or(FileKind::Yaml),
            display: args.stdin_filename.clone(),
            text,
        });
    }
    let helm = match render_charts(args.no_helm, args.helm.as_deref(), &config, &mut request) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let parse_errors_only = |p: &Policy| p.spec.id == Rule::ParseError.id();
    let mut pipeline = Pipeline::new(&catalogue, &parse_errors_only);
    pipeline.keep_subjects = true;
    pipeline.workloads = config.workloads.clone();
    let mut result = pipeline.scan(&request);
    if let Some(crate::helm::Prepared::Rendered(stage)) = &helm {
        crate::helm::attach(
            stage,
            &mut result,
            &catalogue,
            &parse_errors_only,
            &request.base,
        );
    }
    if let Some(note) = result.notes.iter().find(|n| n.error) {
        eprintln!("error: {}: {}", note.display, note.message);
        return ExitCode::from(EXIT_ERROR);
    }
    let Some(correlated) = &result.correlated else {
        eprintln!("error: the scan kept no launches");
        return ExitCode::from(EXIT_ERROR);
    };
    let scanned = args
        .paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                args.stdin_filename.clone()
            } else {
                crate::source::display_path(p, &request.base)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let map = ExposureMap::build(correlated, &result.store, &result.context_files(), scanned);
    let code = crate::cli::print_out(&render(args.format, &map));
    // A file that could not be read leaves the map without what it defines: say which, and
    // fail, after printing what could be read.
    let unreadable: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.rule_id == Rule::ParseError.id())
        .collect();
    for finding in &unreadable {
        let position = result
            .store
            .position(finding.primary.span.file, finding.primary.span.start);
        eprintln!(
            "error: {}:{}:{}: {}",
            result.store.display(finding.primary.span.file),
            position.line,
            position.column,
            finding.message
        );
    }
    if !unreadable.is_empty() {
        eprintln!(
            "error: {} file{} could not be read or rendered; the map lacks what {} define",
            unreadable.len(),
            if unreadable.len() == 1 { "" } else { "s" },
            if unreadable.len() == 1 {
                "it would"
            } else {
                "they would"
            },
        );
        return ExitCode::from(EXIT_ERROR);
    }
    code
}
