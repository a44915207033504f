#![no_main]
//! The whole `check` on arbitrary bytes: the first byte picks the file name (and so the
//! format), the rest is the file; spans of every finding stay inside the text.

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
        check_span(&text, finding.primary.span);
    }
});
