//! Rough parse timing for the config.pbtxt fixtures (not a benchmark harness):
//! `cargo bench --bench pbtxt_timing -- [ROUNDS]`.

#![expect(clippy::print_stdout, reason = "a bench script reports its timings")]

use std::time::Instant;

use tritonguard::parse::pbtxt::parse_model_config;
use tritonguard::source::FileId;

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; under `cargo test` one round is a smoke test.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|a| a == "--bench");
    let rounds: u32 = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 2000 } else { 1 });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pbtxt");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pbtxt") {
            texts.push(std::fs::read_to_string(path)?);
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut errors = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            errors += parse_model_config(FileId(0), text).errors.len();
        }
    }
    let elapsed = start.elapsed();
    let per_file = elapsed.as_secs_f64() * 1e6 / f64::from(rounds) / texts.len() as f64;
    println!(
        "{} files, {bytes} bytes, {rounds} rounds: {per_file:.1} µs per file, {:.0} MB/s ({errors} errors seen)",
        texts.len(),
        (bytes as f64 * f64::from(rounds)) / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}
