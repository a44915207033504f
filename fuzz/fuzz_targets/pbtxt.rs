#![no_main]
//! config.pbtxt, checked against Triton's ModelConfig schema.

use libfuzzer_sys::fuzz_target;
use tritonguard::parse::pbtxt::parse_model_config;
use tritonguard::source::FileId;
use tritonguard_fuzz::{check_span, text};

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let doc = parse_model_config(FileId(0), &text);
    for error in &doc.errors {
        check_span(&text, error.span);
    }
});
