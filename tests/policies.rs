//! Every built-in policy passes its own inline tests, and each rule's rendered diagnostic for
//! every bad case is pinned by a snapshot in snapshots/ (inline repositories of the
//! `repo audit` rules included).

use tritonguard::cli::test::{run_case, test_policy};
use tritonguard::evaluate::policy::Catalogue;
use tritonguard::evaluate::policy::spec::TestInput;
use tritonguard::report::human::{HumanOptions, render_finding};

fn catalogue() -> Catalogue {
    match Catalogue::load(&[], true) {
        Ok(c) => c,
        Err(errors) => panic!(
            "built-in policies must load: {:?}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        ),
    }
}

/// `check` compiles built-in expressions on first use and skips their load-time checks:
/// this is where they are checked, as a team policy is at load.
#[test]
fn every_builtin_policy_compiles_and_passes_the_load_time_checks() {
    let errors: Vec<String> = Catalogue::check_builtin()
        .iter()
        .map(|e| format!("{}: {}", e.source_name, e.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn every_builtin_policy_passes_its_inline_tests() {
    let catalogue = catalogue();
    let mut failures = Vec::new();
    for policy in catalogue.sorted() {
        let outcome = test_policy(&catalogue, policy);
        if !outcome.failures.is_empty() {
            failures.push(format!(
                "{} {}: {}",
                outcome.id,
                outcome.name,
                outcome.failures.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "policy tests failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rule_ids_and_names_are_stable() {
    // Users' suppressions and baselines name these; renaming one is a breaking change.
    let catalogue = catalogue();
    let ids: Vec<String> = catalogue
        .sorted()
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p.spec.id,
                p.spec.name,
                p.spec.severity,
                p.spec.subject.as_str()
            )
        })
        .collect();
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("rule_catalogue", ids.join("\n"));
    });
}

#[test]
fn each_bad_case_renders_at_the_offending_span() {
    // Every bad case of every rule, through the same runner as `tritonguard test`: the first
    // case's snapshot is `rule_TGxxx`, the next ones `rule_TGxxx_2`, `rule_TGxxx_3`, ...
    let catalogue = catalogue();
    let options = HumanOptions::default();
    for policy in catalogue.sorted() {
        let bad: Vec<_> = policy
            .spec
            .tests
            .get()
            .iter()
            .filter(|t| t.expect.iter().any(|e| e.id == policy.spec.id))
            .filter(|t| !matches!(t.input, TestInput::File(_)))
            .collect();
        assert!(!bad.is_empty(), "{} has no bad case", policy.spec.id);
        for (n, test) in bad.iter().enumerate() {
            let result = run_case(&catalogue, policy, test)
                .unwrap_or_else(|e| panic!("{} '{}': {e}", policy.spec.id, test.name));
            let rendered: Vec<String> = result
                .findings
                .iter()
                .filter(|f| f.rule_id == policy.spec.id && f.suppression.is_none())
                .map(|f| render_finding(&result.store, f, &options))
                .collect();
            assert!(
                !rendered.is_empty(),
                "{}: bad case '{}' produced nothing",
                policy.spec.id,
                test.name
            );
            let name = if n == 0 {
                format!("rule_{}", policy.spec.id)
            } else {
                format!("rule_{}_{}", policy.spec.id, n + 1)
            };
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                description => format!("{} {}: {}", policy.spec.id, policy.spec.name, test.name),
                // The probe rules' canned server listens on a free port.
                filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")],
            }, {
                insta::assert_snapshot!(name, rendered.join("\n"));
            });
        }
    }
}
