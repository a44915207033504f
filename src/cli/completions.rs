//! `tritonguard completions <shell>` and `tritonguard man`: shell completion scripts and
//! roff manual pages, generated from the same clap definition the parser uses, so they
//! cannot drift from the real options.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::{Cli, EXIT_CLEAN, EXIT_ERROR};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write one page per command (tritonguard.1, tritonguard-check.1, ...) into this
    /// directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tritonguard", &mut out);
    out
}

/// The main manual page (`tritonguard.1`) in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

pub fn run_completions(args: CompletionsArgs) -> ExitCode {
    write_stdout(&completion_script(args.shell))
}

pub fn run_man(args: ManArgs) -> ExitCode {
    match args.dir {
        Some(dir) => {
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir));
            match written {
                Ok(()) => ExitCode::from(EXIT_CLEAN),
                Err(e) => {
                    eprintln!("error: cannot write manual pages to {}: {e}", dir.display());
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        None => match man_page() {
            Ok(page) => write_stdout(&page),
            Err(e) => {
                eprintln!("error: cannot render the manual page: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        },
    }
}

fn write_stdout(bytes: &[u8]) -> ExitCode {
    match std::io::stdout().lock().write_all(bytes) {
        Ok(()) => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
