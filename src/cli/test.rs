//! `tritonguard test [DIR]`: runs every policy's inline tests like a test runner. Each test
//! scans its input with only that policy enabled and compares the findings (rule id, and line
//! when given) with the expectation. A policy needs at least one passing (good) and one
//! failing (bad) case.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::cli::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PolicyArgs, load_catalogue};
use crate::evaluate::policy::spec::{PolicyTest, TestInput};
use crate::evaluate::policy::{Catalogue, Policy};
use crate::filter::FilterOptions;
use crate::filter::config::Config;
use crate::load::Request;
use crate::pipeline::Pipeline;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// A directory of policy files to test instead of the built-in policies.
    pub dir: Option<PathBuf>,
    /// Only test these rules (ids or names).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

/// The outcome of one policy's tests.
pub struct PolicyOutcome {
    pub id: String,
    pub name: String,
    pub passed: usize,
    /// Failed tests, and problems of the policy itself (no good or no bad case).
    pub failures: Vec<String>,
    pub tests_failed: usize,
}

pub fn run(args: TestArgs) -> ExitCode {
    let mut policy_args = args.policies.clone();
    let only_dir = args.dir.is_some();
    if only_dir {
        policy_args.no_builtin_policies = true;
    }
    let dirs: Vec<PathBuf> = args.dir.iter().cloned().collect();
    let catalogue = match load_catalogue(&policy_args, &dirs, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selected: Vec<&Policy> = catalogue
        .sorted()
        .into_iter()
        .filter(|p| {
            args.select.is_empty()
                || args
                    .select
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&p.spec.id) || *s == p.spec.name)
        })
        .collect();
    if selected.is_empty() {
        eprintln!("error: no policies to test");
        return ExitCode::from(EXIT_ERROR);
    }
    let outcomes: Vec<PolicyOutcome> = selected
        .iter()
        .map(|p| test_policy(&catalogue, p))
        .collect();
    let mut failed = 0;
    let mut tests = 0;
    let mut tests_failed = 0;
    for o in &outcomes {
        tests += o.passed + o.tests_failed;
        tests_failed += o.tests_failed;
        if o.failures.is_empty() {
            println!("ok     {} {} ({} tests)", o.id, o.name, o.passed);
        } else {
            failed += 1;
            println!(
                "FAILED {} {} ({} passed, {} failed)",
                o.id,
                o.name,
                o.passed,
                o.failures.len()
            );
            for f in &o.failures {
                for (i, line) in f.lines().enumerate() {
                    println!("{}{line}", if i == 0 { "       - " } else { "         " });
                }
            }
        }
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "\n{}: {} passed, {failed} failed ({}, {tests_failed} failed)",
        plural(outcomes.len(), "policy", "policies"),
        outcomes.len() - failed,
        plural(tests, "test", "tests"),
    );
    ExitCode::from(if failed == 0 {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

/// Runs one policy's tests.
pub fn test_policy(catalogue: &Catalogue, policy: &Policy) -> PolicyOutcome {
    let mut outcome = PolicyOutcome {
        id: policy.spec.id.clone(),
        name: policy.spec.name.clone(),
        passed: 0,
        failures: Vec::new(),
        tests_failed: 0,
    };
    let id = policy.spec.id.clone();
    let good = policy
        .spec
        .tests
        .iter()
        .any(|t| t.expect.iter().all(|e| e.id != id));
    let bad = policy
        .spec
        .tests
        .iter()
        .any(|t| t.expect.iter().any(|e| e.id == id));
    if !good || !bad {
        outcome.failures.push(format!(
            "needs at least one good case (expect: []) and one bad case (expect: [{id}]); has {}",
            match (good, bad) {
                (false, false) => "neither",
                (true, false) => "no bad case",
                _ => "no good case",
            }
        ));
    }
    for test in &policy.spec.tests {
        match run_test(catalogue, policy, test) {
            Ok(()) => outcome.passed += 1,
            Err(message) => {
                outcome.tests_failed += 1;
                outcome.failures.push(format!("{}: {message}", test.name));
            }
        }
    }
    outcome
}

fn run_test(catalogue: &Catalogue, policy: &Policy, test: &PolicyTest) -> Result<(), String> {
    // Every policy runs, as in `check`, and inline suppressions apply; only the tested
    // policy's findings are compared.
    let all = |_: &Policy| true;
    let pipeline = Pipeline::new(catalogue, &all);
    let mut result = match &test.input {
        TestInput::Inline(files) => pipeline.scan_texts(files),
        TestInput::File(path) => {
            let base = policy.dir.clone().unwrap_or_else(|| PathBuf::from("."));
            let full = base.join(path);
            if !full.exists() {
                return Err(format!("input file {} does not exist", full.display()));
            }
            let mut request = Request::new(vec![full]);
            request.base = base_of(&base);
            pipeline.scan(&request)
        }
        TestInput::Repo(fixture) => crate::audit::audit_fixture(catalogue, fixture, &all)?,
        TestInput::Probe(fixture) => crate::probe::fixture::run_fixture(catalogue, fixture, &all)?,
    };
    let config = Config {
        inline_ignores: true,
        ..Config::default()
    };
    pipeline.filter(&mut result, &FilterOptions::defaults(&config));
    let result = result;
    let id = &policy.spec.id;
    let errors: Vec<_> = result
        .eval_errors
        .iter()
        .filter(|e| &e.rule_id == id)
        .collect();
    if let Some(e) = errors.first() {
        return Err(format!("evaluation error on {}: {}", e.subject, e.message));
    }
    let mut got: Vec<(String, usize)> = result
        .findings
        .iter()
        .filter(|f| f.rule_id == policy.spec.id)
        .map(|f| {
            (
                f.rule_id.clone(),
                result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line,
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<(String, Option<usize>)> =
        test.expect.iter().map(|e| (e.id.clone(), e.line)).collect();
    expected.sort();
    let matches = got.len() == expected.len()
        && got
            .iter()
            .zip(&expected)
            .all(|((gid, gline), (eid, eline))| gid == eid && eline.is_none_or(|l| l == *gline));
    if matches {
        Ok(())
    } else {
        let show_got = got
            .iter()
            .map(|(i, l)| format!("{i}@{l}"))
            .collect::<Vec<_>>()
            .join(", ");
        let show_expected = expected
            .iter()
            .map(|(i, l)| l.map(|l| format!("{i}@{l}")).unwrap_or_else(|| i.clone()))
            .collect::<Vec<_>>()
            .join(", ");
        let messages = result
            .findings
            .iter()
            .filter(|f| f.rule_id == policy.spec.id)
            .map(|f| format!("{}: {}", f.rule_id, f.message))
            .collect::<Vec<_>>()
            .join("\n");
        Err(format!(
            "expected [{show_expected}], got [{show_got}]{}",
            if messages.is_empty() {
                String::new()
            } else {
                format!("\n{messages}")
            }
        ))
    }
}

fn base_of(dir: &Path) -> PathBuf {
    dir.to_path_buf()
}
