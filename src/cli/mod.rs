//! The command line: one file per subcommand. `main.rs` only maps the result to an exit code.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the command line is where tritonguard talks to its user"
)]

pub mod check;
pub mod completions;
pub mod explain;
pub mod rules;
pub mod test;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::finding::Severity;
use crate::policy::{Catalogue, PolicyError};
use crate::report::human::{HumanOptions, render_diagnostic};

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
        compose files and config.pbtxt, and checks every Triton launch against CEL policies.\n\n\
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
    let options = HumanOptions {
        color,
        ..HumanOptions::default()
    };
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
    let diagnostic = crate::policy::diagnostic(error);
    render_diagnostic(&diagnostic, options)
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
        Command::Completions(args) => completions::run_completions(args),
        Command::Man(args) => completions::run_man(args),
    }
}
