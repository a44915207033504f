//! Evaluating policies on subjects, and what happens to findings afterwards.

pub mod baseline;
pub mod cel_value;
pub mod evaluate;
pub mod suppress;
