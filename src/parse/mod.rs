//! Text to trees with spans, one module per input format.

pub mod pbtxt;
pub mod yaml;
