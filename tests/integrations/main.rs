//! tritonguard where deploy repositories are checked, exercised with the real tools:
//! pre-commit running the shipped hooks, Microsoft's SARIF validator (spec and GitHub
//! ingestion rules) on the SARIF of every example and a Helm render, GitHub's documented
//! code scanning limits, the JSON report against its schema, GitHub annotations, the
//! action and workflow files against SchemaStore's schemas, `cargo package`, and the shell
//! completions and man page.
//!
//! One test binary (with a module per integration) keeps the link time of the suite down.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic with the value is the failure report"
)]

#[path = "../support/mod.rs"]
mod support;

mod code_scanning;
mod common;
mod completions;
mod json_schema;
mod packaging;
mod pre_commit;
mod wheel;
mod workflow_files;
