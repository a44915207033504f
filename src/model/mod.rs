//! Format-independent facts: the Launch and what builds it.

pub mod argparse;
pub mod argv;
pub mod compose;
pub mod compose_command;
pub mod docker;
pub mod flags;
pub mod image;
pub mod k8s;
pub mod launch;
pub mod launchers;
pub mod openai_frontend;
pub mod quantity;
pub mod run_launch;
pub mod server;
pub mod yaml_words;
