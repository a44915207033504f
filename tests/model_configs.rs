//! `tritonguard check` on model repositories: the config.pbtxt rules (TG501–TG512) find
//! exactly the mistakes planted in `tests/fixtures/models/risky/`, nothing in
//! `tests/fixtures/models/clean/`, and the policies' own test configs are valid configs.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::evaluate::policy::spec::{Subject, TestInput};
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::{scan, scan_texts};

fn catalogue() -> Catalogue {
    Catalogue::load(&[], true).unwrap_or_else(|e| {
        panic!(
            "built-in policies must load: {:?}",
            e.iter().map(|e| &e.message).collect::<Vec<_>>()
        )
    })
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(rule, path relative to the fixture repository, line)` of every finding, sorted.
fn check_repository(name: &str) -> Vec<(String, String, usize)> {
    let catalogue = catalogue();
    let dir = root().join("tests/fixtures/models").join(name);
    let mut request = ScanRequest::new(vec![dir.clone()]);
    request.base = dir;
    let result = scan(&catalogue, &request, &|_| true);
    assert!(result.eval_errors.is_empty(), "{:?}", result.eval_errors);
    let mut found: Vec<(String, String, usize)> = result
        .findings
        .iter()
        .map(|f| {
            let file = f.primary.span.file;
            let line = result.store.position(file, f.primary.span.start).line;
            (
                f.rule_id.clone(),
                result.store.display(file).to_string(),
                line,
            )
        })
        .collect();
    found.sort();
    found
}

fn expect(list: &[(&str, &str, usize)]) -> Vec<(String, String, usize)> {
    let mut v: Vec<(String, String, usize)> = list
        .iter()
        .map(|(r, p, l)| (r.to_string(), p.to_string(), *l))
        .collect();
    v.sort();
    v
}

#[test]
fn a_clean_repository_has_no_findings() {
    assert_eq!(check_repository("clean"), vec![]);
}

#[test]
fn each_planted_mistake_is_found_at_its_line() {
    assert_eq!(
        check_repository("risky"),
        expect(&[
            // max_batch_size: "8", dynamic_batchin, TYPE_FP33
            ("TG501", "broken/config.pbtxt", 4),
            ("TG501", "broken/config.pbtxt", 5),
            ("TG501", "broken/config.pbtxt", 8),
            // name "classifier" in classifier_v2/, unbounded queue, labels from ../../shared
            ("TG505", "classifier_v2/config.pbtxt", 2),
            ("TG507", "classifier_v2/config.pbtxt", 11),
            ("TG504", "classifier_v2/config.pbtxt", 14),
            // engine via .., batching library, warmup data via .., MD5 checksum agent
            ("TG506", "detector/config.pbtxt", 5),
            ("TG509", "detector/config.pbtxt", 14),
            ("TG508", "detector/config.pbtxt", 24),
            ("TG512", "detector/config.pbtxt", 31),
            // step "embedder" has no model directory
            ("TG511", "pipeline/config.pbtxt", 16),
            // python backend, absolute EXECUTION_ENV_PATH, HF_TOKEN in plain text
            ("TG502", "tokenizer/config.pbtxt", 3),
            ("TG503", "tokenizer/config.pbtxt", 10),
            ("TG510", "tokenizer/config.pbtxt", 14),
        ])
    );
}

/// A rule's test config that Triton would reject proves little: every inline
/// config.pbtxt of a pbtxt policy's tests (and TG501's good cases) must parse cleanly.
#[test]
fn policy_test_configs_are_valid_model_configs() {
    let catalogue = catalogue();
    let mut invalid = Vec::new();
    for policy in catalogue.sorted() {
        let spec = &policy.spec;
        for test in spec.tests.get() {
            let TestInput::Inline(files) = &test.input else {
                continue;
            };
            // TG501's bad cases are invalid on purpose.
            let judged =
                spec.subject == Subject::Pbtxt && (spec.id != "TG501" || test.expect.is_empty());
            if !judged || !files.iter().any(|(p, _)| p.ends_with(".pbtxt")) {
                continue;
            }
            let result = scan_texts(&catalogue, files, &|p| p.spec.id == "TG501");
            for f in &result.findings {
                invalid.push(format!(
                    "{} test '{}': {}: {}",
                    spec.id,
                    test.name,
                    result.store.display(f.primary.span.file),
                    f.message
                ));
            }
        }
    }
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
}

#[test]
fn fixture_repositories_exist() {
    // Guards the paths above: a renamed fixture directory must not turn the clean
    // repository test into a scan of nothing.
    for name in ["clean", "risky"] {
        let dir: &Path = &root().join("tests/fixtures/models").join(name);
        let configs = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().join("config.pbtxt").is_file())
            .count();
        assert!(configs >= 3, "{name}: {configs} model configs");
    }
}
