//! Kubernetes: objects, workload pod templates, and exposure across the scan.

pub mod auth;
pub mod exposure;
pub mod kserve;
pub mod objects;
pub mod workload;
