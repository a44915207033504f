//! Text to trees with spans, one module per input format.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "input here is hostile: a bad byte is a finding or an error, never a panic (issue 13); tests are exempt (clippy.toml)"
)]

pub mod comments;
pub mod container;
pub mod dockerfile;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod pbtxt;
pub mod shell;
pub mod words;
pub mod yaml;
