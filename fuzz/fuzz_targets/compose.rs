#![no_main]
//! docker compose: the file (before the first NUL) with its `.env` (after it), through the
//! check pipeline, plus interpolation with that environment.

use libfuzzer_sys::fuzz_target;
use tritonguard::extract::compose::{interpolate, read_dotenv};
use tritonguard_fuzz::{check, two_texts};

fuzz_target!(|data: &[u8]| {
    let (compose, dotenv) = two_texts(data);
    let env = read_dotenv(&dotenv);
    let _ = interpolate(&compose, &env);
    let _ = check(&[("compose.yaml".to_string(), compose)]);
});
