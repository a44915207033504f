//! `tritonguard check`: scan, filter, report, and exit 0, 1 or 2.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::{
    ColorChoice, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PolicyArgs, load_catalogue, parse_severity,
    use_color,
};
use crate::finding::Severity;
use crate::report::human::HumanOptions;
use crate::report::{Format, Report, render};
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
    /// Skip files named in PATH that are not a kind tritonguard reads (judged by name, or by
    /// shebang for files without an extension) instead of reading them as YAML. For callers
    /// that pass every changed file, such as the pre-commit hook.
    #[arg(long)]
    pub skip_unknown: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Only run these rules (ids or names, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Do not run these rules (ids or names, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Print only the summary line (human format).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The name to show and classify standard input by (default: Kubernetes YAML).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_filename: String,
    /// SARIF `automationDetails.id`: the code scanning category of this run.
    #[arg(long, value_name = "CATEGORY", default_value = "tritonguard/")]
    pub sarif_category: String,
}

pub fn run(args: CheckArgs) -> ExitCode {
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = use_color(args.color, terminal);
    let catalogue = match load_catalogue(
        &args.policies,
        &[],
        use_color(args.color, std::io::stderr().is_terminal()),
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(unknown) = args
        .select
        .iter()
        .chain(&args.ignore)
        .find(|r| catalogue.get(r).is_none())
    {
        eprintln!("error: unknown rule '{unknown}' in --select/--ignore (see `tritonguard rules`)");
        return ExitCode::from(EXIT_ERROR);
    }
    let select: Vec<String> = args
        .select
        .iter()
        .filter_map(|r| catalogue.get(r))
        .map(|p| p.spec.id.clone())
        .collect();
    let ignore: Vec<String> = args
        .ignore
        .iter()
        .filter_map(|r| catalogue.get(r))
        .map(|p| p.spec.id.clone())
        .collect();
    let enabled = move |p: &crate::policy::Policy| {
        (select.is_empty() || select.contains(&p.spec.id)) && !ignore.contains(&p.spec.id)
    };

    let mut paths: Vec<PathBuf> = Vec::new();
    let mut stdin = None;
    let mut skipped: Vec<&PathBuf> = Vec::new();
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
            stdin = Some((args.stdin_filename.clone(), text));
        } else if args.skip_unknown && p.is_file() && crate::discover::classify_file(p).is_none() {
            skipped.push(p);
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
    let mut scanned = args
        .paths
        .iter()
        .filter(|p| !skipped.contains(p))
        .map(|p| {
            if p.as_os_str() == "-" {
                args.stdin_filename.clone()
            } else {
                crate::source::display_path(p, &request.base)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if scanned.is_empty() {
        // Every named file was skipped by --skip-unknown: say so rather than print ": 0 files".
        scanned = "no file of a kind tritonguard reads".to_string();
    }
    for w in &catalogue.warnings {
        if !w.source_name.starts_with("builtin:") {
            eprintln!("warning: {}: {}", w.source_name, w.message);
        }
    }
    let report = Report {
        store: &result.store,
        catalogue: &catalogue,
        findings: &result.findings,
        eval_errors: &result.eval_errors,
        notes: &result.notes,
        stats: &result.stats,
        scanned,
        fail_on: args.fail_on,
        sarif_category: args.sarif_category.clone(),
        base_uri: base_uri(&request.base),
        base_dir: std::fs::canonicalize(&request.base).ok(),
    };
    let text = render(
        args.format,
        &report,
        &HumanOptions {
            color,
            quiet: args.quiet,
            ..HumanOptions::default()
        },
    );
    let written = match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let failing = result
        .findings
        .iter()
        .any(|f| f.suppression.is_none() && f.severity >= args.fail_on);
    ExitCode::from(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// `file:///abs/dir/` for SARIF's `%SRCROOT%`.
fn base_uri(base: &std::path::Path) -> Option<String> {
    let absolute = std::fs::canonicalize(base).ok()?;
    let mut uri = crate::report::sarif::file_uri(&absolute);
    uri.push('/');
    Some(uri)
}
