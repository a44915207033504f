//! tritonguard: a static security checker for NVIDIA Triton Inference Server deployments.
//!
//! The pipeline, one module per stage (see DESIGN.md):
//! discover → load → classify → parse → extract → evaluate → filter → report.

pub mod parse;
pub mod repo;
pub mod source;
pub mod tree;
