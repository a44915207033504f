#![no_main]
//! A model file as `repo audit` scans it: format detection, zip members, `.npy` object
//! arrays and pickles, in memory.

use libfuzzer_sys::fuzz_target;
use tritonguard::repo::scan::{FileScanOptions, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let mut options = FileScanOptions::default();
    options.archive.max_inflated = 8 << 20;
    for name in ["model.pt", "model.npy", "data.bin"] {
        let _ = scan_bytes(name, data, &options);
    }
});
