#![no_main]
//! Shell scripts (docker/podman run lines) and the shell word splitter.

use libfuzzer_sys::fuzz_target;
use tritonguard::parse::shell::parse_script;
use tritonguard::parse::words::{NoVars, split_words};
use tritonguard::source::FileId;
use tritonguard_fuzz::{check_span, text};

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let scan = parse_script(FileId(0), &text);
    for error in &scan.errors {
        check_span(&text, error.span);
    }
    if let Ok(words) = split_words(FileId(0), &text, 0, &NoVars) {
        for word in &words {
            check_span(&text, word.span);
        }
    }
});
