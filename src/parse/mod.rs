//! Text to trees with spans, one module per input format.

pub mod container;
pub mod dockerfile;
pub mod shell;
pub mod words;
pub mod yaml;
