//! The command line: one file per subcommand. `main.rs` only maps the result to an exit code.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the command line is where tritonguard talks to its user"
)]

pub mod check;
pub mod completions;
pub mod explain;
pub mod exposure;
pub mod force_exclude;
pub mod inspect;
pub mod probe;
pub mod repo;
pub mod rules;
pub mod terminal;
pub mod test;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::evaluate::policy::{Catalogue, Policy, PolicyError};
use crate::finding::{FailOn, Severity};
use crate::report::human::{HumanOptions, render_diagnostic};
use crate::report::{Format, Report, render};

/// Writes `text` to standard output. A reader that went away (`inspect | head`) ends the run
/// quietly: what it read was right, and nothing is left to say.
pub fn print_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(EXIT_CLEAN),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write the output: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Exit codes: 0 clean, 1 findings, 2 usage, configuration or policy error.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "tritonguard",
    version = version_string(),
    about = "Checks NVIDIA Triton Inference Server deployments for security misconfiguration",
    long_about = "Checks NVIDIA Triton Inference Server deployments for security misconfiguration.\n\n\
        Reads Kubernetes manifests, Helm output, KServe resources, Dockerfiles, docker run scripts,\n\
        compose files and config.pbtxt, and checks every Triton launch against CEL policies.\n\
        `repo audit` checks a model repository on disk: permissions, pickles, and hashes.\n\n\
        Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 usage or configuration error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const fn version_string() -> &'static str {
    include_str!(concat!(env!("OUT_DIR"), "/version.txt"))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan files and directories (default ".") or standard input ("-") for misconfiguration.
    Check(check::CheckArgs),
    /// List the rule catalogue.
    Rules(rules::RulesArgs),
    /// Print a rule's full documentation.
    Explain(explain::ExplainArgs),
    /// Run the inline tests of policies (the built-ins, or those in a directory).
    Test(test::TestArgs),
    /// Show what each Triton launch exposes: every enabled port, who reaches it, through
    /// which routes, and the authentication in front (table, json, mermaid or dot).
    Exposure(exposure::ExposureArgs),
    /// Print what policies see: every Launch, Kubernetes object and model configuration, as
    /// JSON under its CEL variable name.
    Inspect(inspect::InspectArgs),
    /// Audit a model repository on disk, or write its lock file of hashes.
    Repo(repo::RepoArgs),
    /// Ask a running Triton server what it exposes (without changing it), or watch it.
    Probe(probe::ProbeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one per command with --dir.
    Man(completions::ManArgs),
}

/// Options for loading policies, shared by every subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Load extra policies from this directory (repeatable).
    #[arg(long = "policy-dir", value_name = "DIR")]
    pub policy_dirs: Vec<PathBuf>,
    /// Do not load the built-in policies (only --policy-dir ones).
    #[arg(long)]
    pub no_builtin_policies: bool,
}

/// Loads the catalogue, or prints the policy errors and returns the exit code.
pub fn load_catalogue(
    args: &PolicyArgs,
    extra_dirs: &[PathBuf],
    color: bool,
) -> Result<Catalogue, ExitCode> {
    let mut dirs = extra_dirs.to_vec();
    dirs.extend(args.policy_dirs.iter().cloned());
    let options = terminal::options(terminal::Stream::Stderr, color);
    match Catalogue::load(&dirs, !args.no_builtin_policies) {
        Ok(catalogue) => Ok(catalogue),
        Err(errors) => {
            let mut stderr = std::io::stderr().lock();
            for e in &errors {
                let _ = write!(stderr, "{}", render_policy_error(e, &options));
            }
            let _ = writeln!(
                stderr,
                "error: {} policy error{}; nothing was scanned",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// Renders a policy error with the policy text it points into.
pub fn render_policy_error(error: &PolicyError, options: &HumanOptions) -> String {
    let diagnostic = crate::evaluate::policy::diagnostic(error);
    render_diagnostic(&diagnostic, options)
}

pub fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    FailOn::parse(text).ok_or_else(|| {
        format!("unknown severity '{text}' (critical, high, medium, low, info, or never)")
    })
}

pub fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text)
        .ok_or_else(|| format!("unknown severity '{text}' (critical, high, medium, low, info)"))
}

/// Whether to colour output written to a terminal (NO_COLOR disables it).
pub fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Test(args) => test::run(args),
        Command::Exposure(args) => exposure::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Repo(args) => repo::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Completions(args) => completions::run_completions(args),
        Command::Man(args) => completions::run_man(args),
    }
}

/// `--select` / `--extend-select` / `--ignore`, shared by the commands that report findings.
#[derive(Args, Debug, Clone, Default)]
pub struct RuleSelection {
    /// Only run these rules: ids, names, id prefixes (TG2) or categories (container,
    /// exposure, model-config, ...), comma-separated or repeated. Replaces the config's
    /// `select`.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Run these rules in addition to `--select` or the config's `select`.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Do not run these rules (ids, names, prefixes or categories, comma-separated or
    /// repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
}

/// The rule ids a selection resolved to.
pub struct Selected {
    /// Empty: every rule runs.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl RuleSelection {
    /// Resolves the selection, the command line's `--select` replacing `config_select`
    /// (ruff's semantics) and `--extend-select` adding to either. The error names the
    /// selector that selects nothing.
    pub fn resolve(
        &self,
        catalogue: &Catalogue,
        config_select: (&[String], &str),
        config_ignore: (&[String], &str),
    ) -> Result<Selected, String> {
        let in_origin = |written: &[String], origin: &str| {
            crate::evaluate::selector::resolve_all(catalogue, written)
                .map_err(|e| format!("{origin}: {e}"))
        };
        let mut select = if self.select.is_empty() {
            in_origin(config_select.0, config_select.1)?
        } else {
            in_origin(&self.select, "--select")?
        };
        let extend = in_origin(&self.extend_select, "--extend-select")?;
        // Extending the default (every rule) leaves every rule.
        if !select.is_empty() {
            for id in extend {
                if !select.contains(&id) {
                    select.push(id);
                }
            }
        }
        let mut ignore = in_origin(&self.ignore, "--ignore")?;
        ignore.extend(in_origin(config_ignore.0, config_ignore.1)?);
        Ok(Selected { select, ignore })
    }

    /// Which policies run. An unknown rule is a usage error: it is printed, and the exit
    /// code returned.
    pub fn enabled(
        &self,
        catalogue: &Catalogue,
    ) -> Result<impl Fn(&Policy) -> bool + Sync + use<>, ExitCode> {
        let Selected { select, ignore } = match self.resolve(catalogue, (&[], ""), (&[], "")) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Err(ExitCode::from(EXIT_ERROR));
            }
        };
        Ok(move |p: &Policy| {
            (select.is_empty() || select.contains(&p.spec.id)) && !ignore.contains(&p.spec.id)
        })
    }
}

/// How findings are reported and what exit code they give, shared by `check` and
/// `repo audit`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity; `never` only reports
    /// [default: low, or the config file's fail-on].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
    /// Exit 0 whatever the findings (report-only mode); errors still exit 2.
    #[arg(long)]
    pub exit_zero: bool,
    /// Show suppressed findings in the human report too (SARIF and JSON always carry them).
    #[arg(long)]
    pub show_suppressed: bool,
    /// Print only the summary line (human and concise formats).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print how many findings each rule has, most first, instead of the findings (a table,
    /// or JSON with --format json).
    #[arg(long)]
    pub statistics: bool,
    /// Colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// SARIF `automationDetails.id`: the code scanning category of this run (default
    /// "tritonguard/" for check, "tritonguard/repo/" for repo audit, so that uploading both
    /// keeps both).
    #[arg(long, value_name = "CATEGORY")]
    pub sarif_category: Option<String>,
    /// Markdown links to files start with this URL instead of being relative, e.g.
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/blob/$GITHUB_SHA/` (the action passes it).
    #[arg(long, value_name = "URL")]
    pub link_base: Option<String>,
}

impl ReportArgs {
    /// The severity at which findings fail the run (`None`: they never do): `--exit-zero`,
    /// else `--fail-on`, else the config's `fail-on`, else low.
    pub fn fail_threshold(&self, config: Option<FailOn>) -> Option<Severity> {
        if self.exit_zero {
            return None;
        }
        self.fail_on
            .or(config)
            .unwrap_or(FailOn::At(Severity::Low))
            .threshold()
    }

    pub fn sarif_category(&self, default: &str) -> String {
        self.sarif_category
            .clone()
            .unwrap_or_else(|| default.to_string())
    }

    /// Renders the report, writes it, and returns the exit code: 2 when a policy could not
    /// be evaluated or the report cannot be written, 1 when an unsuppressed finding is at or
    /// above `--fail-on`, 0 otherwise.
    /// Whether the report names files by their canonical path (SARIF artifact URIs, markdown
    /// links): resolving every path of a large scan is a system call per file.
    pub fn needs_real_paths(&self) -> bool {
        !self.statistics && matches!(self.format, Format::Sarif | Format::Markdown)
    }

    pub fn emit(&self, report: &Report<'_>) -> ExitCode {
        let terminal = self.output.is_none() && std::io::stdout().is_terminal();
        let options = HumanOptions {
            color: use_color(self.color, terminal),
            quiet: self.quiet,
            show_suppressed: self.show_suppressed,
            width: if self.output.is_none() {
                terminal::width(terminal::Stream::Stdout)
            } else {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(terminal::DEFAULT_WIDTH)
            },
            ascii: terminal::ascii_only(),
        };
        let text = if self.statistics {
            match self.format {
                Format::Human | Format::Concise => crate::report::statistics::render_text(report),
                Format::Json => crate::report::statistics::render_json(report),
                Format::Sarif | Format::Github | Format::Markdown => {
                    eprintln!(
                        "error: --statistics prints a table (human, concise) or JSON, not {}",
                        match self.format {
                            Format::Sarif => "SARIF",
                            Format::Github => "GitHub annotations",
                            _ => "markdown",
                        }
                    );
                    return ExitCode::from(EXIT_ERROR);
                }
            }
        } else {
            render(self.format, report, &options)
        };
        let written = match &self.output {
            Some(path) => std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = written {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
        if let Some(path) = &self.output {
            // The report went to a file: the log still says what was found.
            eprintln!(
                "{} (report written to {})",
                crate::report::human::summary_line(report),
                path.display()
            );
        }
        // A policy that could not be evaluated checked nothing: that is an error whatever
        // --fail-on says.
        let policy_error = !report.eval_errors.is_empty()
            || report
                .active()
                .any(|f| f.rule_id == crate::evaluate::registry::Rule::PolicyEvaluationError.id());
        let failing = report
            .findings
            .iter()
            .any(|f| f.suppression.is_none() && report.fail_on.is_some_and(|t| f.severity >= t));
        ExitCode::from(if policy_error {
            EXIT_ERROR
        } else if failing {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        })
    }
}

/// Warnings about user policies (a policy without tests still loads).
pub fn print_policy_warnings(catalogue: &Catalogue) {
    for w in &catalogue.warnings {
        if !w.source_name.starts_with("builtin:") {
            eprintln!("warning: {}: {}", w.source_name, w.message);
        }
    }
}

/// `file:///abs/dir/` for SARIF's `%SRCROOT%`.
pub fn base_uri(base: &Path) -> Option<String> {
    let absolute = std::fs::canonicalize(base).ok()?;
    let mut uri = String::from("file://");
    for part in absolute.to_string_lossy().split('/') {
        if part.is_empty() {
            continue;
        }
        uri.push('/');
        uri.push_str(&crate::report::sarif::uri_path(part));
    }
    uri.push('/');
    Some(uri)
}
