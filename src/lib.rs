//! tritonguard: a static security checker for NVIDIA Triton Inference Server deployments.
//!
//! The pipeline, one module per stage (see DESIGN.md):
//! discover → load → classify → parse → extract → evaluate → filter → report.

pub mod audit;
pub mod cli;
pub mod config;
pub mod discover;
pub mod engine;
pub mod escape;
pub mod finding;
pub mod model;
pub mod parse;
pub mod policy;
pub mod read_guard;
pub mod repo;
pub mod report;
pub mod scan;
pub mod source;
pub mod tree;
