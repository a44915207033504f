//! Every built-in policy passes its own inline tests, and each rule's rendered diagnostic for
//! its first bad case is pinned by a snapshot in snapshots/ (inline repositories of the
//! `repo audit` rules included).

use tritonguard::audit::audit_fixture;
use tritonguard::cli::test::test_policy;
use tritonguard::evaluate::policy::Catalogue;
use tritonguard::evaluate::policy::spec::TestInput;
use tritonguard::pipeline::scan_texts;
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
fn each_rule_renders_its_bad_example_at_the_offending_span() {
    let catalogue = catalogue();
    let options = HumanOptions::default();
    for policy in catalogue.sorted() {
        let Some(test) = policy
            .spec
            .tests
            .iter()
            .find(|t| t.expect.iter().any(|e| e.id == policy.spec.id))
        else {
            panic!("{} has no bad case", policy.spec.id);
        };
        let all = |_: &tritonguard::evaluate::policy::Policy| true;
        let mut result = match &test.input {
            TestInput::Inline(files) => scan_texts(&catalogue, files, &all),
            TestInput::Repo(fixture) => audit_fixture(&catalogue, fixture, &all)
                .unwrap_or_else(|e| panic!("{}: {e}", policy.spec.id)),
            TestInput::Probe(fixture) => {
                tritonguard::probe::fixture::run_fixture(&catalogue, fixture, &all)
                    .unwrap_or_else(|e| panic!("{}: {e}", policy.spec.id))
            }
            TestInput::File(_) => continue,
        };
        let config = tritonguard::filter::config::Config {
            inline_ignores: true,
            ..Default::default()
        };
        tritonguard::pipeline::Pipeline::new(&catalogue, &all).filter(
            &mut result,
            &tritonguard::filter::FilterOptions::defaults(&config),
        );
        let rendered: Vec<String> = result
            .findings
            .iter()
            .filter(|f| f.rule_id == policy.spec.id)
            .map(|f| render_finding(&result.store, f, &options))
            .collect();
        assert!(
            !rendered.is_empty(),
            "{}: bad case '{}' produced nothing",
            policy.spec.id,
            test.name
        );
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => format!("{} {}: {}", policy.spec.id, policy.spec.name, test.name),
            // The probe rules' canned server listens on a free port.
            filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")],
        }, {
            insta::assert_snapshot!(format!("rule_{}", policy.spec.id), rendered.join("\n"));
        });
    }
}
