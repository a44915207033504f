//! Stage 2, extract: one extractor per format turns a source text into subjects (Kubernetes
//! objects, Launch drafts, model configurations), parse diagnostics and comments.

pub mod compose;
pub mod k8s_schema;
pub mod model_configs;
pub mod probes;
pub mod run_spec;
pub mod workload;
pub mod workload_kinds;
