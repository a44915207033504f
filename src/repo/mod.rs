//! The model repository on disk: `tritonguard repo audit DIR` and `tritonguard repo lock DIR`.
//!
//! This is the data layer: it walks the repository, recognises file formats, scans pickles
//! (also inside torch zip archives and numpy files) without executing them, hashes files and
//! compares them with a lock file. It returns plain data with byte offsets and prints nothing;
//! findings and reports are built from it elsewhere.

pub mod classify;
mod input;
pub mod pickle;
