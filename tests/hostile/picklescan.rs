//! picklescan's labelled samples as the yardstick (issue 13 measured 93 of 95): every
//! malicious sample is reported high or critical, every benign checkpoint at most low.
//! `tests/support/picklescan_samples.py` writes equivalents of them with CPython's pickle.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tritonguard::finding::Severity;

use crate::repo::audit_with;

/// Audits a repository holding every sample of `dir` under `m/1/`, and returns the most
/// severe finding per sample file.
fn worst_per_sample(dir: &Path) -> BTreeMap<String, (Severity, String)> {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path().join("repo");
    std::fs::create_dir_all(root.join("m/1")).unwrap();
    std::fs::write(
        root.join("m/config.pbtxt"),
        "name: \"m\"\nbackend: \"python\"\n",
    )
    .unwrap();
    let mut worst = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), root.join("m/1").join(entry.file_name())).unwrap();
        worst.insert(
            entry.file_name().to_string_lossy().into_owned(),
            (Severity::Info, "no finding".to_string()),
        );
    }
    let result = audit_with(&root, None, |_| {}).unwrap();
    for f in &result.findings {
        if !matches!(f.rule_id.as_str(), "TG600" | "TG602") {
            continue;
        }
        let shown = result.store.display(f.primary.span.file);
        let Some(name) = shown.strip_prefix("repo/m/1/") else {
            continue;
        };
        if let Some(slot) = worst.get_mut(name)
            && f.severity > slot.0
        {
            *slot = (f.severity, format!("{} {}", f.rule_id, f.message));
        }
    }
    worst
}

#[test]
fn picklescan_samples_are_judged_like_picklescan_labels_them() {
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/picklescan_samples.py");
    let status = Command::new("python3")
        .arg(script)
        .arg(out.path())
        .status()
        .expect("python3 must be installed to generate the samples");
    assert!(status.success());

    let malicious = worst_per_sample(&out.path().join("malicious"));
    assert!(malicious.len() >= 80, "{} samples", malicious.len());
    let missed: Vec<_> = malicious
        .iter()
        .filter(|(_, (severity, _))| *severity < Severity::High)
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} malicious samples below high: {missed:#?}",
        missed.len(),
        malicious.len()
    );

    let benign = worst_per_sample(&out.path().join("benign"));
    let flagged: Vec<_> = benign
        .iter()
        .filter(|(_, (severity, _))| *severity > Severity::Low)
        .collect();
    assert!(flagged.is_empty(), "benign samples above low: {flagged:#?}");
    // The checkpoints are pickles, so they are reported: at low severity.
    assert_eq!(
        benign["pytorch_model.bin"].0,
        Severity::Low,
        "{:?}",
        benign["pytorch_model.bin"]
    );
}
