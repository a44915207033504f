//! `tritonguard repo audit DIR` and `tritonguard repo lock DIR`: the model repository on
//! disk. `audit` reports like `check` (same formats, `--fail-on`, exit codes 0/1/2); `lock`
//! writes the SHA-256 of every file for later audits to compare with.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::audit::{AuditRequest, audit_repository, default_lock};
use crate::cli::check::{is_meta_rule, read_config_from, resolve_rules};
use crate::cli::{
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PolicyArgs, ReportArgs, RuleSelection, base_uri,
    load_catalogue, print_policy_warnings, use_color,
};
use crate::evaluate::policy::Policy;
use crate::filter::FilterOptions;
use crate::model::subject::Subject;
use crate::pipeline::Pipeline;
use crate::repo::lock::DEFAULT_FILE_NAME;
use crate::repo::relative_to_root;
use crate::report::Report;
use crate::source::display_path;

#[derive(Args, Debug)]
pub struct RepoArgs {
    #[command(subcommand)]
    pub command: RepoCommand,
}

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Audit a model repository: permissions, symbolic links, pickles inside model files,
    /// the config.pbtxt rules, and (with a lock file) changed, missing and added files.
    Audit(Box<AuditArgs>),
    /// Write a lock file: the SHA-256 and size of every regular file in the repository.
    Lock(LockArgs),
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The model repository (the directory given to tritonserver --model-repository).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Compare the repository with this lock file (default: DIR/tritonguard.lock, when it
    /// exists).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Do not compare with a lock file, even DIR/tritonguard.lock.
    #[arg(long, conflicts_with = "lock")]
    pub no_lock: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Read this configuration file instead of the nearest `.tritonguard.yaml` above DIR.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read any configuration file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Ignore inline `tritonguard:ignore` comments (trust only the config).
    #[arg(long)]
    pub no_inline_ignores: bool,
}

#[derive(Args, Debug)]
pub struct LockArgs {
    /// The model repository.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to write the lock file ("-" for standard output; default DIR/tritonguard.lock).
    /// A lock file inside the repository leaves itself out.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The SARIF category of `repo audit` runs, unless `--sarif-category` says otherwise: not
/// `check`'s, so that GitHub keeps the alerts of both when both are uploaded.
pub const SARIF_CATEGORY: &str = "tritonguard/repo/";

pub fn run(args: RepoArgs) -> ExitCode {
    match args.command {
        RepoCommand::Audit(args) => audit(*args),
        RepoCommand::Lock(args) => lock(args),
    }
}

fn audit(args: AuditArgs) -> ExitCode {
    let color = use_color(args.report.color, std::io::stderr().is_terminal());
    // `.tritonguard.yaml` applies as in `check`: rule selection, severities, fail-on, and
    // the suppressions of the filter stage.
    let config = match read_config_from(&args.dir, args.config.as_deref(), args.no_config, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut catalogue = match load_catalogue(&args.policies, &config.policy_dirs, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let config_name = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".tritonguard.yaml".to_string());
    let crate::cli::Selected { select, ignore } =
        match resolve_rules(&mut catalogue, &args.rules, &config, &config_name, false) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
    // Only the rules an audit can report run: a shared config's ignore of a launch rule is
    // not reported unused here.
    let enabled = move |p: &Policy| {
        audits(p.spec.subject)
            && (select.is_empty() || select.contains(&p.spec.id) || is_meta_rule(&p.spec.id))
            && !ignore.contains(&p.spec.id)
    };
    let mut request = AuditRequest::new(args.dir.clone());
    request.lock = if args.no_lock {
        None
    } else {
        args.lock.clone().or_else(|| default_lock(&args.dir))
    };
    let mut result = match audit_repository(&catalogue, &request, &enabled) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    Pipeline::new(&catalogue, &enabled).filter(
        &mut result,
        &FilterOptions {
            config: &config,
            config_name,
            inline: config.inline_ignores && !args.no_inline_ignores,
            baseline: None,
            per_file: None,
            cap: Some(crate::filter::cap::MAX_PER_RULE_AND_FILE),
        },
    );
    // The filter sorts in `check`'s order; the audit's is by path.
    crate::audit::sort_findings(&mut result.findings, &result.store);
    print_policy_warnings(&catalogue);
    let report = Report {
        store: &result.store,
        catalogue: &catalogue,
        findings: &result.findings,
        eval_errors: &result.eval_errors,
        notes: &result.notes,
        stats: &result.stats,
        scanned: display_path(&args.dir, &request.base),
        fail_on: args.report.fail_threshold(config.fail_on),
        sarif_category: args.report.sarif_category(SARIF_CATEGORY),
        base_uri: base_uri(&request.base),
        base_dir: std::fs::canonicalize(&request.base).ok(),
        real_paths: if args.report.needs_real_paths() {
            result.real_paths()
        } else {
            Vec::new()
        },
        exposure: None,
        link_base: args.report.link_base.clone(),
    };
    args.report.emit(&report)
}

/// The subjects of the rules a model repository audit evaluates.
fn audits(subject: Subject) -> bool {
    matches!(
        subject,
        Subject::Pbtxt | Subject::Repo | Subject::File | Subject::Suppression | Subject::Policy
    )
}

fn lock(args: LockArgs) -> ExitCode {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.dir.join(DEFAULT_FILE_NAME));
    let to_stdout = output.as_os_str() == "-";
    let exclude: Vec<String> = if to_stdout {
        Vec::new()
    } else {
        relative_to_root(&args.dir, &output).into_iter().collect()
    };
    let locked = match crate::repo::lock(&args.dir, &exclude) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let written = if to_stdout {
        std::io::stdout()
            .lock()
            .write_all(locked.text.as_bytes())
            .map_err(|e| e.to_string())
    } else {
        std::fs::write(&output, &locked.text)
            .map_err(|e| format!("cannot write {}: {e}", output.display()))
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let base = std::env::current_dir().unwrap_or_default();
    for issue in &locked.issues {
        eprintln!(
            "warning: {}: {}; not in the lock",
            display_path(&args.dir.join(&issue.path), &base),
            issue.message
        );
    }
    if !to_stdout {
        eprintln!(
            "wrote {}: {} file{}{}",
            display_path(&output, &base),
            locked.files,
            if locked.files == 1 { "" } else { "s" },
            if locked.issues.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} left out (see the warnings above)",
                    locked.issues.len()
                )
            }
        );
    }
    // A lock that leaves files out must not pass for a complete one in CI.
    ExitCode::from(if locked.issues.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
