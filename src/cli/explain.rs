//! `tritonguard explain ID`: a rule's documentation, from its policy file. The same text is
//! SARIF's rule help.

use std::process::ExitCode;

use clap::Args;

use crate::cli::{EXIT_CLEAN, EXIT_ERROR, PolicyArgs, load_catalogue};
use crate::report::rule_docs::markdown;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Rule id (TG101) or name (model-control-enabled).
    pub rule: String,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    let catalogue = match load_catalogue(&args.policies, &[], false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match catalogue.get(&args.rule) {
        Some(policy) => {
            print!("{}", markdown(policy));
            ExitCode::from(EXIT_CLEAN)
        }
        None => {
            let suggestion = catalogue
                .sorted()
                .into_iter()
                .min_by_key(|p| {
                    strsim::levenshtein(&p.spec.name, &args.rule)
                        .min(strsim::levenshtein(&p.spec.id, &args.rule))
                })
                .map(|p| format!(" (did you mean {} {}?)", p.spec.id, p.spec.name))
                .unwrap_or_default();
            eprintln!(
                "error: no rule '{}'{suggestion}; `tritonguard rules` lists them",
                args.rule
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}
