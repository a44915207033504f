//! One deployment, four ways to launch it: a Kubernetes manifest, a `docker run` script, a
//! compose file, and a Dockerfile built and run by a script. Every launch rule must give the
//! same verdict in each (where the format can express the setting), and point at the line in
//! that format that causes it.

use std::collections::BTreeSet;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::evaluate::policy::spec::Subject;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::scan;

const FORMATS: &[&str] = &[
    "kubernetes.yaml",
    "run.sh",
    "compose.yaml",
    "dockerfile-pair",
];

/// Launch rules a format cannot express, with the reason (documented in docs/formats.md).
const NOT_EXPRESSIBLE: &[(&str, &str, &str)] = &[
    (
        "run.sh",
        "TG801",
        "Kubernetes probes: docker has no readiness or liveness probe",
    ),
    (
        "compose.yaml",
        "TG801",
        "Kubernetes probes: compose has no readiness or liveness probe",
    ),
    (
        "dockerfile-pair",
        "TG801",
        "Kubernetes probes: a HEALTHCHECK routes nothing",
    ),
    (
        "run.sh",
        "TG211",
        "the Kubernetes schema: a docker run has no pod spec",
    ),
    (
        "compose.yaml",
        "TG211",
        "the Kubernetes schema: compose keys are compose's own",
    ),
    (
        "dockerfile-pair",
        "TG211",
        "the Kubernetes schema: a Dockerfile has no pod spec",
    ),
];

/// Launch rules about the models a launch serves: each format's file is scanned here alone,
/// without a model repository, so they have nothing to check (tests/reliability_accuracy.rs
/// pins them in each format).
const NEED_SERVED_MODELS: &[&str] = &["TG802", "TG803"];

fn findings(variant: &str, format: &str) -> Vec<(String, String, usize)> {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parity")
        .join(variant);
    let mut request = ScanRequest::new(vec![dir.join(format)]);
    request.base = dir.clone();
    let result = scan(&catalogue, &request, &|_| true);
    let mut out: Vec<(String, String, usize)> = result
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                result.store.display(f.primary.span.file).to_string(),
                result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line,
            )
        })
        .collect();
    out.sort();
    out
}

fn rules(found: &[(String, String, usize)]) -> BTreeSet<String> {
    found.iter().map(|(r, _, _)| r.clone()).collect()
}

#[test]
fn the_insecure_deployment_fails_every_launch_rule_in_every_format() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let launch_rules: BTreeSet<String> = catalogue
        .policies
        .iter()
        .filter(|p| p.spec.subject == Subject::Launch)
        .filter(|p| !NEED_SERVED_MODELS.contains(&p.spec.id.as_str()))
        .map(|p| p.spec.id.clone())
        .collect();
    let mut report = String::new();
    for format in FORMATS {
        let found = findings("insecure", format);
        let expected: BTreeSet<String> = launch_rules
            .iter()
            .filter(|r| {
                !NOT_EXPRESSIBLE
                    .iter()
                    .any(|(f, rule, _)| f == format && rule == r)
            })
            .cloned()
            .collect();
        assert_eq!(
            rules(&found),
            expected,
            "{format}: every launch rule, once expressible"
        );
        report.push_str(&format!("{format}\n"));
        for (rule, file, line) in &found {
            report.push_str(&format!("  {rule} {file}:{line}\n"));
        }
    }
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("parity_insecure_locations", report);
    });
}

#[test]
fn the_hardened_deployment_is_clean_in_every_format() {
    for format in FORMATS {
        let found = findings("hardened", format);
        assert!(found.is_empty(), "{format}: {found:?}");
    }
}
