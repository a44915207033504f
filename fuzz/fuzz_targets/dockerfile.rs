#![no_main]
//! Dockerfile parser and the image configuration of its last stage.

use libfuzzer_sys::fuzz_target;
use tritonguard::parse::dockerfile::{effective_config, parse_dockerfile};
use tritonguard::source::FileId;
use tritonguard_fuzz::{check_span, text};

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let df = parse_dockerfile(FileId(0), &text);
    for instruction in &df.instructions {
        check_span(&text, instruction.span);
        check_span(&text, instruction.keyword_span);
    }
    for error in &df.errors {
        check_span(&text, error.span);
    }
    let _ = effective_config(&df);
});
