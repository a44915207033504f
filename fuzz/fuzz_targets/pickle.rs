#![no_main]
//! The pickle machine on a stream of consecutive pickles.

use libfuzzer_sys::fuzz_target;
use tritonguard::repo::pickle::{ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    let result = scan(
        data,
        &ScanOptions {
            len: Some(data.len() as u64),
            multiple: true,
            ..ScanOptions::default()
        },
    );
    for global in &result.globals {
        assert!(global.offset < data.len() as u64);
    }
    if let Some(error) = &result.error {
        assert!(error.offset <= data.len() as u64);
    }
});
