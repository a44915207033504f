#![no_main]
//! The lock file parser and its comparison with a repository.

use libfuzzer_sys::fuzz_target;
use tritonguard::repo::lock::{compare, parse};
use tritonguard_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let (lock, errors) = parse(&text);
    for error in &errors {
        assert!(error.span.0 <= error.span.1 && error.span.1 <= text.len());
    }
    for entry in &lock.entries {
        assert!(entry.span.1 <= text.len());
    }
    let _ = compare(&lock, &[]);
});
