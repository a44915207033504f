use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tritonguard::cli::run(tritonguard::cli::Cli::parse())
}
