//! Stage 3, correlate: inside each deployment unit, Services, routes, NetworkPolicies, auth
//! and rate-limit evidence and KServe resources are joined to the Launches they concern.

pub mod auth;
pub mod exposure;
pub mod kserve;
