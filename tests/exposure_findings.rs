//! Issue 10 item 5: every exposure finding (TG301, TG302, TG105) points at what exposes the
//! port — the Service port, the Ingress backend, the `-p` value, the compose `ports:` entry —
//! even when that is in another file than the workload, names the workload and the route in
//! its message, and relates the container port. Checked through the JSON report, SARIF (with
//! the real validator), a baseline, and suppression comments in either file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::cli::tritonguard_in;
use support::scratch::Scratch;

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: triton
          image: nvcr.io/nvidia/tritonserver:24.10-py3
          args: [tritonserver, --model-repository=/models]
          ports:
            - {containerPort: 8000, name: http}
            - {containerPort: 8002, name: metrics}
";

const SVC: &str = "\
apiVersion: v1
kind: Service
metadata: {name: x-public}
spec:
  type: LoadBalancer
  selector: {app: x}
  ports:
    - {name: http, port: 80, targetPort: http}
    - {name: metrics, port: 8002, targetPort: metrics}
";

const INGRESS: &str = "\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: x-web}
spec:
  rules:
    - host: infer.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: x-public, port: {name: http}}
";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The findings of a `check --format json` run in `dir`.
fn findings(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "check",
        ".",
        "--format",
        "json",
        "--select",
        "TG301,TG302,TG105",
    ];
    args.extend_from_slice(extra);
    let run = tritonguard_in(dir, &args, None);
    assert!(run.code <= 1, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    report["findings"].as_array().unwrap().clone()
}

/// `(rule, file, line, message)` of each finding, for assertions and failure messages.
fn summary(findings: &[Value]) -> Vec<(String, String, u64, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["file"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn find<'a>(findings: &'a [Value], rule: &str, file: &str, line: u64) -> &'a Value {
    findings
        .iter()
        .find(|f| {
            f["rule_id"] == rule && f["location"]["file"] == file && f["location"]["line"] == line
        })
        .unwrap_or_else(|| panic!("no {rule} at {file}:{line} in {:#?}", summary(findings)))
}

/// The text of the source a location underlines.
fn underlined(dir: &Path, location: &Value) -> String {
    let text = std::fs::read_to_string(dir.join(location["file"].as_str().unwrap())).unwrap();
    let start = location["byte_offset"].as_u64().unwrap() as usize;
    let len = location["byte_length"].as_u64().unwrap() as usize;
    text[start..start + len].to_string()
}

#[test]
fn a_service_and_an_ingress_in_their_own_files_are_where_the_findings_point() {
    let dir = Scratch::new("exposure-cross-file");
    write(
        &dir,
        &[
            ("deploy.yaml", DEPLOY),
            ("svc.yaml", SVC),
            ("ingress.yaml", INGRESS),
        ],
    );
    let found = findings(&dir, &[]);
    let all = summary(&found);

    // The metrics port: at the Service's port item in svc.yaml.
    let metrics = find(&found, "TG301", "svc.yaml", 9);
    assert_eq!(
        metrics["message"],
        "metrics port 8002 of Deployment \"x\" is reachable from the internet through Service \
         \"x-public\": it lists every model by name"
    );
    assert_eq!(
        underlined(&dir, &metrics["location"]),
        "{name: metrics, port: 8002, targetPort: metrics}"
    );
    // HTTP: once at the Service port, once at the Ingress backend, each naming its route.
    let by_service = find(&found, "TG302", "svc.yaml", 8);
    assert!(
        by_service["message"]
            .as_str()
            .unwrap()
            .starts_with("HTTP port 8000 of Deployment \"x\" is reachable from the internet through Service \"x-public\""),
        "{all:#?}"
    );
    let by_ingress = find(&found, "TG302", "ingress.yaml", 11);
    assert!(
        by_ingress["message"]
            .as_str()
            .unwrap()
            .starts_with("HTTP port 8000 of Deployment \"x\" is reachable from the internet through Ingress \"x-web\""),
        "{all:#?}"
    );
    find(&found, "TG105", "svc.yaml", 8);
    find(&found, "TG105", "ingress.yaml", 11);
    assert_eq!(found.len(), 5, "{all:#?}");

    // Each relates the container port it reaches, in deploy.yaml.
    for (finding, line, label) in [
        (metrics, 14, "container port 8002 (metrics)"),
        (by_service, 13, "container port 8000 (HTTP)"),
        (by_ingress, 13, "container port 8000 (HTTP)"),
    ] {
        let related = finding["related"].as_array().unwrap();
        assert_eq!(related.len(), 1, "{finding:#}");
        assert_eq!(related[0]["file"], "deploy.yaml");
        assert_eq!(related[0]["line"], line);
        assert_eq!(related[0]["label"], label);
    }

    // No two findings with the same rule, place and message; no two with one fingerprint;
    // the same fingerprints on a second run.
    let places: BTreeSet<_> = found
        .iter()
        .map(|f| {
            (
                f["rule_id"].to_string(),
                f["location"]["file"].to_string(),
                f["location"]["byte_offset"].to_string(),
                f["message"].to_string(),
            )
        })
        .collect();
    assert_eq!(places.len(), found.len(), "{all:#?}");
    let fingerprints: BTreeSet<_> = found.iter().map(|f| f["fingerprint"].to_string()).collect();
    assert_eq!(fingerprints.len(), found.len(), "{found:#?}");
    let again: BTreeSet<_> = findings(&dir, &[])
        .iter()
        .map(|f| f["fingerprint"].to_string())
        .collect();
    assert_eq!(fingerprints, again);

    // SARIF: the results are in the files that expose, the related location in deploy.yaml,
    // and the log passes the validator.
    let sarif_path = dir.join("out.sarif");
    let run = tritonguard_in(
        &dir,
        &[
            "check",
            "deploy.yaml",
            "svc.yaml",
            "ingress.yaml",
            "--select",
            "TG301,TG302,TG105",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
        ],
        None,
    );
    assert!(run.code <= 1, "{}{}", run.stdout, run.stderr);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let uris: BTreeSet<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        uris,
        BTreeSet::from(["ingress.yaml", "svc.yaml"]),
        "{sarif:#}"
    );
    assert!(results.iter().all(|r| {
        r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy.yaml"
    }));
    support::sarif::validate_sarif(&sarif_path).unwrap_or_else(|e| panic!("{e}"));

    // A baseline written now holds every finding, and a second check reports none new.
    let run = tritonguard_in(
        &dir,
        &[
            "check",
            ".",
            "--select",
            "TG301,TG302,TG105",
            "--write-baseline",
            "baseline.json",
        ],
        None,
    );
    assert!(run.code <= 1, "{}{}", run.stdout, run.stderr);
    let baselined = findings(&dir, &["--baseline", "baseline.json"]);
    assert!(
        baselined
            .iter()
            .all(|f| f["suppression"]["kind"] == "external"),
        "{baselined:#?}"
    );
    std::fs::remove_file(dir.join("baseline.json")).unwrap();
    std::fs::remove_file(&sarif_path).unwrap();
}

#[test]
fn an_ignore_comment_goes_where_the_finding_points_or_on_the_workload() {
    let dir = Scratch::new("exposure-ignores");
    // A line comment above the Service's metrics port silences TG301 there; one in deploy.yaml
    // on the containerPort (a related location) does not.
    let svc = SVC.replace(
        "    - {name: metrics,",
        "    # tritonguard:ignore[TG301] scraped only through the VPN\n    - {name: metrics,",
    );
    let deploy = DEPLOY.replace(
        "            - {containerPort: 8000, name: http}",
        "            # tritonguard:ignore[TG302] not here\n            - {containerPort: 8000, name: http}",
    );
    write(&dir, &[("deploy.yaml", &deploy), ("svc.yaml", &svc)]);
    let found = findings(&dir, &["--extend-select", "TG002"]);
    let metrics = find(&found, "TG301", "svc.yaml", 10);
    assert_eq!(metrics["suppression"]["kind"], "inSource", "{metrics:#}");
    let http = find(&found, "TG302", "svc.yaml", 8);
    assert!(http["suppression"].is_null(), "{http:#}");
    let unused = find(&found, "TG002", "deploy.yaml", 13);
    assert!(
        unused["message"].as_str().unwrap().contains("TG302"),
        "{unused:#}"
    );

    // An ignore above the Deployment's document covers the findings about it, wherever they
    // point.
    let deploy = format!("# tritonguard:ignore[TG301,TG302] an internal test cluster\n{DEPLOY}");
    write(&dir, &[("deploy.yaml", &deploy), ("svc.yaml", SVC)]);
    let found = findings(&dir, &[]);
    assert!(
        found
            .iter()
            .filter(|f| f["rule_id"] != "TG105")
            .all(|f| f["suppression"]["kind"] == "inSource"),
        "{found:#?}"
    );
}

#[test]
fn a_docker_run_and_a_compose_service_point_at_the_published_port() {
    let dir = Scratch::new("exposure-publish");
    write(
        &dir,
        &[
            (
                "run.sh",
                "#!/bin/sh\ndocker run --name triton -p 127.0.0.1:8000:8000 -p 8002:8002 \\\n  nvcr.io/nvidia/tritonserver:24.10-py3 tritonserver --model-repository=/models\n",
            ),
            (
                "compose.yaml",
                "services:\n  infer:\n    image: nvcr.io/nvidia/tritonserver:24.10-py3\n    command: [tritonserver, --model-repository=/models]\n    ports:\n      - \"127.0.0.1:8000:8000\"\n      - \"8002:8002\"\n",
            ),
        ],
    );
    let found = findings(&dir, &[]);
    let all = summary(&found);
    assert_eq!(found.len(), 2, "{all:#?}");
    let run = find(&found, "TG301", "run.sh", 2);
    assert_eq!(underlined(&dir, &run["location"]), "8002:8002");
    assert_eq!(
        run["message"],
        "metrics port 8002 of docker run container \"triton\" is reachable from other hosts on \
         the network through a published port (-p): it lists every model by name"
    );
    let compose = find(&found, "TG301", "compose.yaml", 7);
    assert_eq!(underlined(&dir, &compose["location"]), "8002:8002");
    assert!(
        compose["message"]
            .as_str()
            .unwrap()
            .starts_with("metrics port 8002 of compose service \"infer\" is reachable"),
        "{all:#?}"
    );
}
