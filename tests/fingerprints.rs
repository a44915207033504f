//! Fingerprints identify a finding by rule, file and object, not by line: they survive edits
//! elsewhere in the file and documents moving around, so SARIF alerts and baselines persist.

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::pipeline::scan_texts;

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: triton, namespace: ml}\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:24.10-py3\n          args: [tritonserver, --model-repository=/m, --model-control-mode=explicit]\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ml}\nspec:\n  ports: [{port: 80}]\n";

fn fingerprints(text: &str) -> Vec<(String, String)> {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let result = scan_texts(
        &catalogue,
        &[("deploy.yaml".to_string(), text.to_string())],
        &|_| true,
    );
    let mut out: Vec<(String, String)> = result
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.fingerprint.clone()))
        .collect();
    out.sort();
    out
}

#[test]
fn adding_lines_above_keeps_fingerprints() {
    let before = fingerprints(DEPLOYMENT);
    let after = fingerprints(&format!("# a comment\n# another\n\n{DEPLOYMENT}"));
    assert!(!before.is_empty());
    assert_eq!(before, after);
}

#[test]
fn reordering_documents_keeps_fingerprints() {
    let a = fingerprints(&format!("{DEPLOYMENT}---\n{SERVICE}"));
    let b = fingerprints(&format!("{SERVICE}---\n{DEPLOYMENT}"));
    assert_eq!(a, b);
}

#[test]
fn different_objects_get_different_fingerprints() {
    let a = fingerprints(DEPLOYMENT);
    let b = fingerprints(&DEPLOYMENT.replace("name: triton,", "name: triton-b,"));
    let common: Vec<_> = a.iter().filter(|f| b.contains(f)).collect();
    assert!(common.is_empty(), "{common:?}");
}
