//! Deployment units: correlation (a Service exposing a pod, routes, policies) stays inside the
//! files that are deployed together — one environment's directory, one Helm render, one
//! kustomization with its bases and patches — and never joins two of them.

mod support;

use support::cli::tritonguard;

/// `path:line: RULE` of each finding, from the concise format.
fn findings(args: &[&str]) -> Vec<String> {
    let mut all = vec!["check", "--format", "concise"];
    all.extend_from_slice(args);
    let run = tritonguard(&all);
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    run.stdout
        .lines()
        .filter(|l| l.contains(": TG"))
        .map(|l| {
            let mut parts = l.splitn(4, ':');
            let (path, line, _col, rest) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let rule = rest.split_whitespace().next().unwrap_or_default();
            format!("{path}:{line} {rule}")
        })
        .collect()
}

const UNITS: &str = "tests/fixtures/units";

#[test]
fn environments_in_sibling_directories_are_not_joined() {
    // dev exposes metrics through a LoadBalancer, prod only through ClusterIP: the prod
    // Deployment (the same object) is not exposed by the dev Service, and the dev finding
    // is reported once.
    assert_eq!(
        findings(&["--select", "TG301", &format!("{UNITS}/envs")]),
        [format!("{UNITS}/envs/dev/triton.yaml:27 TG301")]
    );
}

#[test]
fn each_helm_render_in_a_folder_is_its_own_unit() {
    // Three charts rendered into one folder define the same objects; only the renders whose
    // own Service is a LoadBalancer expose their own Deployment.
    assert_eq!(
        findings(&["--select", "TG301,TG302", &format!("{UNITS}/renders")]),
        [
            format!("{UNITS}/renders/aws.yaml:31 TG302"),
            format!("{UNITS}/renders/aws.yaml:32 TG301"),
            format!("{UNITS}/renders/oci.yaml:31 TG302"),
            format!("{UNITS}/renders/oci.yaml:32 TG301"),
        ]
    );
}

#[test]
fn a_kustomize_overlay_is_checked_with_its_base_and_patches() {
    // dev patches the base Service to a LoadBalancer; prod adds poll mode with a JSON patch
    // and pins an old image with `images:`. Each finding points where its cause is written.
    assert_eq!(
        findings(&[
            "--select",
            "TG101,TG301,TG401",
            &format!("{UNITS}/kustomize")
        ]),
        [
            format!("{UNITS}/kustomize/base/deployment.yaml:14 TG401"),
            format!("{UNITS}/kustomize/base/service.yaml:8 TG301"),
            format!("{UNITS}/kustomize/overlays/prod/control.yaml:3 TG101"),
            format!("{UNITS}/kustomize/overlays/prod/kustomization.yaml:11 TG401"),
        ]
    );
}

#[test]
fn an_overlay_checked_alone_brings_its_base() {
    assert_eq!(
        findings(&[
            "--select",
            "TG101,TG301",
            &format!("{UNITS}/kustomize/overlays/dev")
        ]),
        [format!("{UNITS}/kustomize/base/service.yaml:8 TG301")]
    );
}

#[test]
fn inspect_names_each_launch_unit() {
    let run = tritonguard(&["inspect", "--subject", "launch", &format!("{UNITS}/envs")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let mut units: Vec<&str> = value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["unit"].as_str())
        .collect();
    units.sort_unstable();
    assert_eq!(
        units,
        [
            format!("directory {UNITS}/envs/dev"),
            format!("directory {UNITS}/envs/prod")
        ]
    );
}
