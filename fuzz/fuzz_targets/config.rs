#![no_main]
//! `.tritonguard.yaml`, the project configuration.

use libfuzzer_sys::fuzz_target;
use tritonguard::filter::config::parse;
use tritonguard_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let _ = parse(".tritonguard.yaml", &text);
});
