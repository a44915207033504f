//! Shared helpers for the integration tests, used as `mod support;` from a test file.
//!
//! They drive the real external tools that `scripts/test.sh` installs (see
//! `scripts/tools.sh`): a real `tritonserver` 2.51, Helm rendering through the Helm SDK,
//! the SARIF multitool, JSON Schema validation and pre-commit. Each tool is found through
//! a `TG_*` environment variable (see [`tools`]); without it the test is skipped locally
//! and fails in CI.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "each integration test binary uses a different subset of these helpers, and a helper that cannot do its job fails the test"
)]

pub mod cli;
pub mod helm;
pub mod http;
pub mod jsonschema;
pub mod pickles;
pub mod sarif;
pub mod scratch;
pub mod tools;
pub mod triton_help;
pub mod tritonserver;
pub mod unprivileged;

pub use pickles::*;
