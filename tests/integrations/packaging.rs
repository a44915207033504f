//! `cargo package`: the crate carries what `cargo install` needs to build a tritonguard
//! with its policies embedded (build.rs reads policies/ and proto/ at build time), and the
//! packaged crate builds on its own (cargo's verify step). Offline and locked: the
//! dependencies are already in the local registry cache after the suite was built.

use std::process::Command;

use super::common::repo_root;

fn cargo(args: &[&str]) -> (bool, String, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(repo_root())
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_package_holds_policies_proto_and_build_script_and_builds() {
    // Verifying the package builds it in the shared target folder, after which cargo sees
    // the workspace's tritonguard as stale: the wheel test's build must come first.
    let _ = super::wheel::built_wheel();
    let (ok, list, err) = cargo(&[
        "package",
        "--list",
        "--allow-dirty",
        "--offline",
        "--locked",
    ]);
    assert!(ok, "{err}");
    let files: Vec<&str> = list.lines().collect();
    for required in [
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "proto/model_config.proto",
        "schema/report.schema.json",
        "src/main.rs",
    ] {
        assert!(files.contains(&required), "{required} missing:\n{list}");
    }
    // Every policy file, so the catalogue built from the package is the one in the repo.
    let mut policies: Vec<String> = std::fs::read_dir(repo_root().join("policies"))
        .unwrap()
        .map(|e| format!("policies/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    policies.sort();
    for policy in &policies {
        assert!(files.contains(&policy.as_str()), "{policy} missing");
    }
    assert!(policies.len() > 10);
    // Only what a build needs: no tests, fixtures or examples.
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("tests/") || f.starts_with("examples/")),
        "{list}"
    );

    // Build the packaged crate by itself (compiles only tritonguard: the dependencies are
    // shared with the suite's build in target/).
    let (ok, _, err) = cargo(&["package", "--allow-dirty", "--offline", "--locked"]);
    assert!(ok, "{err}");
    assert!(err.contains("Verifying tritonguard"), "{err}");
}
