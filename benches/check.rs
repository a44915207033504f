//! How long `tritonguard check` takes: the bundled examples, and a generated deploy
//! repository of many Deployments and Services (exposure correlates every Service with every
//! pod template of the scan), and one model repository of many config.pbtxt files (every
//! config sees the list of the repository's models). `cargo bench --bench check`; under `cargo test` it runs once on
//! small inputs as a smoke test.

#![expect(
    clippy::print_stdout,
    reason = "a bench script reports its measurements"
)]

use std::path::PathBuf;
use std::time::Instant;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::{scan, scan_texts};

fn deployment(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: triton-{i}, namespace: ns-{ns}}}\nspec:\n  template:\n    metadata:\n      labels: {{app: triton-{i}}}\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:24.10-py3\n          args: [tritonserver, --model-repository=/models, --model-control-mode=explicit]\n          ports: [{{containerPort: 8000, name: http}}, {{containerPort: 8002, name: metrics}}]\n          volumeMounts: [{{name: m, mountPath: /models}}]\n      volumes: [{{name: m, persistentVolumeClaim: {{claimName: models}}}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: triton-{i}, namespace: ns-{ns}}}\nspec:\n  type: LoadBalancer\n  selector: {{app: triton-{i}}}\n  ports: [{{name: http, port: 80, targetPort: http}}, {{name: metrics, port: 9090, targetPort: metrics}}]\n",
        ns = i % 10
    )
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rounds = if benching { 20 } else { 1 };
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| Catalogue::empty());
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let start = Instant::now();
    let mut findings = 0;
    for _ in 0..rounds {
        findings = scan(
            &catalogue,
            &ScanRequest::new(vec![examples.clone()]),
            &|_| true,
        )
        .findings
        .len();
    }
    println!(
        "examples/            {:>8.2} ms per check  ({findings} findings)",
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
    );
    for files in if benching {
        vec![10, 100, 500]
    } else {
        vec![10]
    } {
        let texts: Vec<(String, String)> = (0..files)
            .map(|i| (format!("deploy/triton-{i}.yaml"), deployment(i)))
            .collect();
        let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
        let start = Instant::now();
        let mut found = 0;
        for _ in 0..rounds {
            found = scan_texts(&catalogue, &texts, &|_| true).findings.len();
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        println!(
            "{files:>4} deployments  {ms:>8.2} ms per check  ({} KB, {found} findings, {:.1} µs per KB)",
            bytes / 1024,
            ms * 1000.0 / (bytes as f64 / 1024.0)
        );
    }
    for models in if benching {
        vec![100, 1000, 5000]
    } else {
        vec![10]
    } {
        let texts: Vec<(String, String)> = (0..models)
            .map(|i| {
                (
                    format!("models/model_{i:05}/config.pbtxt"),
                    format!(
                        "name: \"model_{i:05}\"\nbackend: \"onnxruntime\"\nmax_batch_size: 8\n"
                    ),
                )
            })
            .collect();
        let start = Instant::now();
        let mut found = 0;
        for _ in 0..rounds {
            found = scan_texts(&catalogue, &texts, &|_| true).findings.len();
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        println!(
            "{models:>4} model configs {ms:>8.2} ms per check  ({found} findings, {:.1} µs per config)",
            ms * 1000.0 / models as f64
        );
    }
}
