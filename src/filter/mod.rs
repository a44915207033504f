//! Stage 5, filter: configuration, suppressions and the baseline decide which findings count.

pub mod baseline;
pub mod config;
pub mod suppress;
