//! `tritonguard test [DIR]`: runs every policy's inline tests like a test runner. Each case
//! runs its input through the `check` pipeline with every policy loaded and compares the
//! tested rule's findings, and parse errors (TG000) always, with the expectation: rule id,
//! and where the case states them line, message (a substring) and severity. A policy needs
//! at least one passing (good) and one failing (bad) case; a policy that cannot be evaluated
//! on a case makes the run exit 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::cli::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PolicyArgs, load_catalogue};
use crate::evaluate::policy::spec::{Expectation, PolicyTest, TestInput};
use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::registry::Rule;
use crate::filter::FilterOptions;
use crate::filter::config::Config;
use crate::finding::Finding;
use crate::load::Request;
use crate::pipeline::Outcome;
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
    /// Cases where the policy could not be evaluated (`test` then exits 2).
    pub evaluation_errors: usize,
}

pub fn run(args: TestArgs) -> ExitCode {
    // The built-in policies load even when testing a directory: their native rules (parse
    // errors above all) run on every case, as in `check`; only the directory's are tested.
    let policy_args = args.policies.clone();
    let only_dir = args.dir.is_some();
    let dirs: Vec<PathBuf> = args.dir.iter().cloned().collect();
    let catalogue = match load_catalogue(&policy_args, &dirs, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selected: Vec<&Policy> = catalogue
        .sorted()
        .into_iter()
        .filter(|p| !(only_dir && p.builtin))
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
    let evaluation_errors: usize = outcomes.iter().map(|o| o.evaluation_errors).sum();
    ExitCode::from(if evaluation_errors > 0 {
        EXIT_ERROR
    } else if failed == 0 {
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
        evaluation_errors: 0,
    };
    let id = policy.spec.id.clone();
    let good = policy
        .spec
        .tests
        .get()
        .iter()
        .any(|t| t.expect.iter().all(|e| e.id != id));
    let bad = policy
        .spec
        .tests
        .get()
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
    for test in policy.spec.tests.get() {
        match run_test(catalogue, policy, test) {
            Ok(()) => outcome.passed += 1,
            Err(failure) => {
                outcome.tests_failed += 1;
                outcome.evaluation_errors += usize::from(failure.evaluation);
                outcome
                    .failures
                    .push(format!("{}: {}", test.name, failure.message));
            }
        }
    }
    outcome
}

fn run_test(catalogue: &Catalogue, policy: &Policy, test: &PolicyTest) -> Result<(), Failure> {
    let result = run_case(catalogue, policy, test).map_err(Failure::other)?;
    let id = &policy.spec.id;
    if let Some(e) = result.policy_errors.iter().find(|e| &e.rule_id == id) {
        return Err(Failure {
            message: format!("evaluation error on {}: {}", e.subject, e.message),
            evaluation: true,
        });
    }
    // The tested rule's findings, those of any rule the case names, and parse errors always:
    // a case whose input does not parse tests nothing.
    let parse_error = Rule::ParseError.id();
    let compared = |f: &&Finding| {
        &f.rule_id == id
            || f.rule_id == parse_error
            || test.expect.iter().any(|e| e.id == f.rule_id)
    };
    let mut got: Vec<(&Finding, usize)> = result
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .filter(compared)
        .map(|f| {
            let line = result
                .store
                .position(f.primary.span.file, f.primary.span.start)
                .line;
            (f, line)
        })
        .collect();
    got.sort_by(|a, b| (a.1, &a.0.rule_id).cmp(&(b.1, &b.0.rule_id)));
    if matches(&test.expect, &got) {
        return Ok(());
    }
    let show_got = got
        .iter()
        .map(|(f, line)| format!("{}@{line} [{}] {}", f.rule_id, f.severity, f.message))
        .collect::<Vec<_>>();
    let show_expected = test
        .expect
        .iter()
        .map(show_expectation)
        .collect::<Vec<_>>()
        .join(", ");
    Err(Failure::other(format!(
        "expected [{show_expected}], got [{}]{}",
        got.iter()
            .map(|(f, line)| format!("{}@{line}", f.rule_id))
            .collect::<Vec<_>>()
            .join(", "),
        if show_got.is_empty() {
            String::new()
        } else {
            format!("\n{}", show_got.join("\n"))
        }
    )))
}

/// Why a case failed; `evaluation` when the tested policy could not be evaluated.
struct Failure {
    message: String,
    evaluation: bool,
}

impl Failure {
    fn other(message: String) -> Failure {
        Failure {
            message,
            evaluation: false,
        }
    }
}

/// Runs one case's input through the pipeline `check` runs — every loaded policy, inline
/// ignores applied — and returns the filtered outcome. A case with `policies:` runs with
/// those policy files loaded too.
pub fn run_case(
    catalogue: &Catalogue,
    policy: &Policy,
    test: &PolicyTest,
) -> Result<Outcome, String> {
    let extended;
    let catalogue = if test.policies.is_empty() {
        catalogue
    } else {
        extended = with_case_policies(catalogue, policy, test)?;
        &extended
    };
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
    Ok(result)
}

/// The built-in policies (when the tested catalogue has them), the tested policy, and the
/// case's own policy files.
fn with_case_policies(
    catalogue: &Catalogue,
    policy: &Policy,
    test: &PolicyTest,
) -> Result<Catalogue, String> {
    let builtin = catalogue.policies.iter().any(|p| p.builtin);
    let first_error = |name: &str, errors: Vec<crate::evaluate::policy::PolicyError>| {
        format!(
            "policy {name} of the case does not load: {}",
            errors
                .first()
                .map(|e| e.message.as_str())
                .unwrap_or("unknown error")
        )
    };
    let mut extended =
        Catalogue::load(&[], builtin).map_err(|errors| first_error("(built-in)", errors))?;
    if !policy.builtin {
        let text = catalogue
            .sources
            .get(policy.spec.id_span.file)
            .map(|f| f.text.to_string())
            .unwrap_or_default();
        extended
            .add(
                policy.origin.clone(),
                None,
                policy.dir.clone(),
                &text,
                false,
            )
            .map_err(|errors| first_error(&policy.origin, errors))?;
    }
    for (name, text) in &test.policies {
        extended
            .add(name.clone(), None, None, text, false)
            .map_err(|errors| first_error(name, errors))?;
    }
    Ok(extended)
}

/// Whether every expectation matches a finding of its own and no finding is left over.
fn matches(expect: &[Expectation], got: &[(&Finding, usize)]) -> bool {
    if expect.len() != got.len() {
        return false;
    }
    let fits = |e: &Expectation, (f, line): &(&Finding, usize)| {
        e.id == f.rule_id
            && e.line.is_none_or(|l| l == *line)
            && e.severity.is_none_or(|s| s == f.severity)
            && e.message
                .as_ref()
                .is_none_or(|m| f.message.contains(m.as_str()))
    };
    // A matching of expectations to findings (augmenting paths; cases are small).
    let mut owner: Vec<Option<usize>> = vec![None; got.len()];
    fn assign(
        e: usize,
        seen: &mut [bool],
        owner: &mut [Option<usize>],
        fits: &dyn Fn(usize, usize) -> bool,
    ) -> bool {
        for g in 0..owner.len() {
            if !fits(e, g) || seen[g] {
                continue;
            }
            seen[g] = true;
            if owner[g].is_none_or(|other| assign(other, seen, owner, fits)) {
                owner[g] = Some(e);
                return true;
            }
        }
        false
    }
    let fits_at = |e: usize, g: usize| match (expect.get(e), got.get(g)) {
        (Some(e), Some(g)) => fits(e, g),
        _ => false,
    };
    (0..expect.len()).all(|e| {
        let mut seen = vec![false; got.len()];
        assign(e, &mut seen, &mut owner, &fits_at)
    })
}

fn show_expectation(e: &Expectation) -> String {
    let mut out = e.id.clone();
    if let Some(l) = e.line {
        out.push_str(&format!("@{l}"));
    }
    if let Some(s) = e.severity {
        out.push_str(&format!(" [{s}]"));
    }
    if let Some(m) = &e.message {
        out.push_str(&format!(" {m:?}"));
    }
    out
}

fn base_of(dir: &Path) -> PathBuf {
    dir.to_path_buf()
}
