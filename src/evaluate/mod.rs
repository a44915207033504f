//! Stage 4, evaluate: every rule of the registry (CEL policies and native rules) runs on the
//! subjects it applies to and yields findings.

pub mod cel;
pub mod cel_value;
pub mod native;
pub mod policy;
pub mod registry;
