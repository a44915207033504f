//! The Triton Helm chart fixture (tests/fixtures/helm/triton) renders offline through the
//! Helm SDK into a `helm template`-style stream, and its two values variants produce the
//! deployments they claim to: values-hardened.yaml locked down, values-insecure.yaml wide
//! open. Rendered at test time; no rendered YAML is committed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic with the value is the failure report"
)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::helm::{Render, fixture_chart, split_stream};
use support::tools::{HELM_PYTHON, require_tool};
use tritonguard::source::FileId;
use tritonguard::tree::{self, Node};

fn chart() -> PathBuf {
    fixture_chart("triton")
}

fn values(name: &str) -> PathBuf {
    chart().join(name)
}

fn kinds(docs: &[(String, Value)]) -> Vec<(String, String)> {
    docs.iter()
        .map(|(s, m)| (s.clone(), m["kind"].as_str().unwrap_or("?").to_string()))
        .collect()
}

fn find<'a>(docs: &'a [(String, Value)], kind: &str) -> &'a Value {
    docs.iter()
        .map(|(_, m)| m)
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

fn container(docs: &[(String, Value)]) -> &Value {
    &find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
}

fn args(docs: &[(String, Value)]) -> Vec<String> {
    container(docs)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn render_json(python: &Path, values_file: Option<&str>) -> Vec<(String, Value)> {
    let chart = chart();
    let mut r = Render::new(&chart).release("tg", "inference").lint();
    if let Some(v) = values_file {
        r = r.values(values(v));
    }
    r.run_json_with(python).unwrap_or_else(|e| panic!("{e}"))
}

/// tritonguard's YAML tree as JSON, to compare with PyYAML's reading of the same stream.
fn node_json(node: &Node) -> Value {
    match &node.value {
        tree::Value::Null => Value::Null,
        tree::Value::Bool(b) => json!(b),
        tree::Value::Int(i) => json!(i),
        tree::Value::Float(f) => json!(f),
        tree::Value::Str(s) => json!(s),
        tree::Value::List(items) => Value::Array(items.iter().map(node_json).collect()),
        tree::Value::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), node_json(v)))
                .collect(),
        ),
    }
}

#[test]
fn stream_looks_like_helm_template_output() {
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let chart = chart();
    for variant in [
        None,
        Some("values-hardened.yaml"),
        Some("values-insecure.yaml"),
    ] {
        let mut r = Render::new(&chart).release("tg", "inference");
        if let Some(v) = variant {
            r = r.values(values(v));
        }
        let stream = r.run_with(&python).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            stream.starts_with("---\n# Source: triton/templates/"),
            "{stream}"
        );
        let docs = split_stream(&stream);
        let sources: Vec<&str> = docs.iter().map(|(s, _)| s.as_str()).collect();
        let mut sorted = sources.clone();
        sorted.sort();
        assert_eq!(
            sources, sorted,
            "{variant:?}: documents sorted by template path"
        );
        for (source, doc) in &docs {
            assert!(source.starts_with("triton/templates/") && source.ends_with(".yaml"));
            assert!(doc.starts_with("apiVersion: "), "{source}: {doc}");
            assert!(!doc.contains("{{"), "{source}: unrendered template: {doc}");
        }
        assert!(!stream.contains("NOTES.txt") && !stream.contains("port-forward"));

        // tritonguard's own YAML loader reads the stream exactly as PyYAML does.
        let parsed = tritonguard::parse::yaml::parse_stream(FileId(0), &stream);
        assert_eq!(parsed.errors, vec![], "{variant:?}");
        let ours: Vec<Value> = parsed
            .documents
            .iter()
            .map(|d| node_json(&d.root))
            .collect();
        let mut r = Render::new(&chart).release("tg", "inference");
        if let Some(v) = variant {
            r = r.values(values(v));
        }
        let pyyaml: Vec<Value> = r
            .run_json_with(&python)
            .unwrap()
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert_eq!(ours, pyyaml, "{variant:?}");
    }
}

#[test]
fn default_values_render_the_plain_chart() {
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let docs = render_json(&python, None);
    assert_eq!(
        kinds(&docs),
        [
            (
                "triton/templates/deployment.yaml".into(),
                "Deployment".into()
            ),
            ("triton/templates/service.yaml".into(), "Service".into()),
            (
                "triton/templates/serviceaccount.yaml".into(),
                "ServiceAccount".into()
            ),
        ]
    );
    let dep = find(&docs, "Deployment");
    assert_eq!(dep["metadata"]["name"], "tg-triton");
    assert_eq!(dep["metadata"]["namespace"], "inference");
    assert_eq!(
        dep["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": "tg"})
    );
    assert_eq!(
        container(&docs)["image"],
        "nvcr.io/nvidia/tritonserver:24.10-py3"
    );
    assert_eq!(container(&docs)["command"], json!(["tritonserver"]));
    assert_eq!(
        args(&docs),
        [
            "--model-repository=/models",
            "--model-control-mode=none",
            "--strict-readiness=true",
            "--exit-timeout-secs=30",
            "--http-port=8000",
            "--grpc-port=8001",
            "--allow-metrics=true",
            "--metrics-port=8002",
        ]
    );
    let svc = find(&docs, "Service");
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(
        svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"],
        "the Service selects the Deployment's pods"
    );
}

#[test]
fn hardened_values_lock_the_deployment_down() {
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let docs = render_json(&python, Some("values-hardened.yaml"));
    let kinds: Vec<String> = kinds(&docs).into_iter().map(|(_, k)| k).collect();
    assert_eq!(kinds, ["Deployment", "Service", "ServiceAccount"]);

    let a = args(&docs);
    for want in [
        "--model-control-mode=none",
        "--disable-auto-complete-config",
        "--allow-metrics=false",
        "--http-restricted-api=model-repository,logging,trace,shared-memory,statistics:admin-key=$(TRITON_ADMIN_KEY)",
        "--grpc-restricted-protocol=model-repository,logging,trace,shared-memory,statistics:admin-key=$(TRITON_ADMIN_KEY)",
    ] {
        assert!(a.iter().any(|x| x == want), "missing {want} in {a:?}");
    }
    assert!(!a.iter().any(|x| x.starts_with("--metrics-port")));
    let c = container(&docs);
    assert_eq!(
        c["env"][0]["valueFrom"]["secretKeyRef"],
        json!({"name": "triton-admin", "key": "admin-key"})
    );
    assert_eq!(
        c["securityContext"],
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true
        })
    );
    assert_eq!(c["resources"]["limits"]["memory"], "16Gi");
    assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"], 1);
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(
        mounts.contains(
            &json!({"name": "model-repository", "mountPath": "/models", "readOnly": true})
        )
    );
    assert!(
        mounts.iter().any(|m| m["mountPath"] == "/tmp"),
        "writable /tmp for a read-only root"
    );
    let pod = &find(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 1000);
    assert_eq!(pod["automountServiceAccountToken"], false);
    // Helm merges maps: the default volume source must not survive next to the PVC.
    assert_eq!(
        pod["volumes"][0],
        json!({"name": "model-repository", "persistentVolumeClaim": {"claimName": "triton-models", "readOnly": true}})
    );
    let svc = find(&docs, "Service");
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    let ports: Vec<&str> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(ports, ["http", "grpc"]);
}

#[test]
fn insecure_values_expose_everything() {
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let docs = render_json(&python, Some("values-insecure.yaml"));
    let kinds: Vec<String> = kinds(&docs).into_iter().map(|(_, k)| k).collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "Ingress",
            "Service",
            "ServiceAccount",
            "ServiceMonitor"
        ]
    );
    let a = args(&docs);
    for want in [
        "--model-control-mode=explicit",
        "--load-model=densenet_onnx",
        "--allow-metrics=true",
        "--allow-sagemaker=true",
        "--http-header-forward-pattern=.*",
    ] {
        assert!(a.iter().any(|x| x == want), "missing {want} in {a:?}");
    }
    assert!(!a.iter().any(|x| x.contains("restricted")));
    let c = container(&docs);
    assert_eq!(c["securityContext"]["runAsUser"], 0);
    assert_eq!(c.get("resources"), None, "no limits at all");
    assert_eq!(c["image"], "nvcr.io/nvidia/tritonserver:23.05-py3");
    let pod = &find(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(pod["volumes"][0]["hostPath"]["path"], "/srv/triton/models");
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(
        mounts.contains(
            &json!({"name": "model-repository", "mountPath": "/models", "readOnly": false})
        )
    );

    let svc = find(&docs, "Service");
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    let ports: Vec<(&str, &str)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["targetPort"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [("http", "http"), ("grpc", "grpc"), ("metrics", "metrics")]
    );
    let ing = find(&docs, "Ingress");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"],
        json!({"name": "tg-triton", "port": {"name": "http"}})
    );
    assert_eq!(
        ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"],
        "0"
    );
    assert_eq!(
        find(&docs, "ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "metrics"
    );
}

#[test]
fn missing_required_value_is_a_render_error() {
    let Some(python) = require_tool(HELM_PYTHON) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("restricted-no-secret.yaml");
    std::fs::write(&extra, "server:\n  restrictedApis:\n    enabled: true\n").unwrap();
    let chart = chart();
    let err = Render::new(&chart)
        .values(extra)
        .run_with(&python)
        .unwrap_err();
    assert!(
        err.contains("HelmRenderError")
            && err.contains("server.restrictedApis.secretName is required"),
        "{err}"
    );
}
