//! Text to trees with spans, one module per input format.

pub mod comments;
pub mod container;
pub mod dockerfile;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod pbtxt;
pub mod shell;
pub mod words;
pub mod yaml;
