//! `tritonguard check`: scan, filter, report, and exit 0, 1 or 2.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::{
    EXIT_ERROR, PolicyArgs, ReportArgs, RuleSelection, base_uri, load_catalogue,
    print_policy_warnings, use_color,
};
use crate::report::Report;
use crate::scan::{ScanRequest, scan};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files and directories to scan; "-" reads standard input (e.g. `helm template`).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also read these files or directories, for context only: a Service or Ingress there
    /// still exposes a Deployment in PATH, but only findings involving PATH are reported
    /// (used by the pre-commit hook, which passes only the staged files).
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// The name to show and classify standard input by (default: Kubernetes YAML).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_filename: String,
}

/// The SARIF category of `check` runs, unless `--sarif-category` says otherwise.
pub const SARIF_CATEGORY: &str = "tritonguard/";

pub fn run(args: CheckArgs) -> ExitCode {
    let catalogue = match load_catalogue(
        &args.policies,
        &[],
        use_color(args.report.color, std::io::stderr().is_terminal()),
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let enabled = match args.rules.enabled(&catalogue) {
        Ok(f) => f,
        Err(code) => return code,
    };

    let mut paths: Vec<PathBuf> = Vec::new();
    let mut stdin = None;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
            stdin = Some((args.stdin_filename.clone(), text));
        } else {
            paths.push(p.clone());
        }
    }
    let mut request = ScanRequest::new(paths);
    request.stdin = stdin;
    request.context = args.context.clone();
    let result = scan(&catalogue, &request, &enabled);
    if result.notes.iter().any(|n| n.error) {
        for n in result.notes.iter().filter(|n| n.error) {
            eprintln!("error: {}: {}", n.display, n.message);
        }
        return ExitCode::from(EXIT_ERROR);
    }
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
    print_policy_warnings(&catalogue);
    let report = Report {
        store: &result.store,
        catalogue: &catalogue,
        findings: &result.findings,
        eval_errors: &result.eval_errors,
        notes: &result.notes,
        stats: &result.stats,
        scanned,
        fail_on: args.report.fail_on,
        sarif_category: args.report.sarif_category(SARIF_CATEGORY),
        base_uri: base_uri(&request.base),
    };
    args.report.emit(&report)
}
