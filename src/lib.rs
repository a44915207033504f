//! tritonguard: a static security checker for NVIDIA Triton Inference Server deployments.
//!
//! One pipeline, one module per stage (see DESIGN.md); data flows one way and imports only
//! point backwards along it (`tests/architecture.rs` enforces it):
//!
//! load → extract → correlate → evaluate → filter → report
//!
//! Below the stages sit the foundations every stage may use: [`source`] (texts and spans),
//! [`tree`] (the span-keeping value tree), [`finding`], [`parse`] (one parser per format),
//! [`model`] (the Launch and its builders) and [`repo`] (the model repository on disk).
//! [`pipeline`] wires the stages together for every command; [`cli`] is the command line.

pub mod audit;
pub mod cli;
pub mod correlate;
pub mod docs;
pub mod escape;
pub mod evaluate;
pub mod extract;
pub mod filter;
pub mod finding;
pub mod helm;
pub mod load;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod probe;
pub mod read_guard;
pub mod repo;
pub mod report;
pub mod source;
pub mod tree;
