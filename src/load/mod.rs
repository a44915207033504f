//! Stage 1, load: what the user named (paths, standard input) becomes source texts in one
//! store, read through one reader with size caps.

pub mod classify;
pub mod discover;
