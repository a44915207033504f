#![no_main]
//! Makefiles: recipes and variables to docker run lines.

use libfuzzer_sys::fuzz_target;
use tritonguard::parse::shell::parse_makefile;
use tritonguard::source::FileId;
use tritonguard_fuzz::{check_span, text};

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let scan = parse_makefile(FileId(0), &text);
    for error in &scan.errors {
        check_span(&text, error.span);
    }
});
