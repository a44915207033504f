//! The README's examples work as written: the team policy passes `tritonguard test`, and the
//! first two commands are the ones CI and a new user run.

use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap_or_default()
}

#[test]
fn the_readme_policy_example_passes_its_tests() {
    let text = readme();
    let marker = "# policies-acme/ACME001-image-digest.yaml\n";
    let start = text
        .find(marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no policy example in the README"));
    let end = text[start..]
        .find("```")
        .map(|i| start + i)
        .unwrap_or(text.len());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("ACME001.yaml"), &text[start..end]).unwrap_or_default();
    let out = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(["test", &dir.path().display().to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok     ACME001 triton-image-not-pinned (2 tests)"),
        "{stdout}"
    );
}

#[test]
fn the_readme_opens_with_the_two_commands_and_ci_runs_the_second() {
    let text = readme();
    let first_block = text
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_default();
    assert!(
        first_block.contains("cargo run --release -- check examples/"),
        "{first_block}"
    );
    assert!(
        first_block.contains("bash scripts/test.sh"),
        "{first_block}"
    );
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run"))
        .unwrap_or_default();
    assert!(
        ci.lines().any(|l| l.trim() == "bash scripts/test.sh"),
        "{ci}"
    );
}
