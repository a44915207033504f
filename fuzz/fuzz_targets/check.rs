#![no_main]
//! The whole `check` on arbitrary bytes: the first byte picks the file name (and so the
//! format), the rest is the file; spans of every finding stay inside the text of the file
//! they point into, and no built-in policy fails to evaluate (TG004).

use libfuzzer_sys::fuzz_target;
use tritonguard_fuzz::{check, check_span, text};

const NAMES: &[&str] = &[
    "deploy.yaml",
    "Dockerfile",
    "run.sh",
    "Makefile",
    "models/m/config.pbtxt",
    "compose.yaml",
    "helm-output.yaml",
    "Containerfile",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let text = text(rest);
    let result = check(&[(name.to_string(), text.clone())]);
    for finding in &result.findings {
        // A policy error points into the policy's file, which the store holds too.
        let file = result
            .store
            .get(finding.primary.span.file)
            .map(|f| f.text.as_ref())
            .unwrap_or("");
        check_span(file, finding.primary.span);
        assert!(
            finding.rule_id != "TG004",
            "a built-in policy failed: {}",
            finding.message
        );
    }
});
