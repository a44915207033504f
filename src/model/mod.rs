//! Format-independent facts: the Launch, its values, and the pure builders that fill it
//! (tritonserver argv resolution, images, quantities, Kubernetes objects).

pub mod argparse;
pub mod argv;
pub mod code_dirs;
pub mod compose_command;
pub mod compose_merge;
pub mod flags;
pub mod image;
pub mod invocation;
pub mod k8s;
pub mod kustomization;
pub mod launch;
pub mod launchers;
pub mod openai_frontend;
pub mod quantity;
pub mod server;
pub mod subject;
pub mod user;
pub mod yaml_words;
