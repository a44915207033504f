//! A place that starts Triton, as the argv and launcher readers find it.

use crate::model::launch::{Fact, InvalidFlag};
use crate::model::server::ArgWord;

/// What program runs Triton, and how its command line is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// `tritonserver` itself (directly, through mpirun, or built by the TensorRT-LLM launch
    /// script): `argv` is its command line.
    Tritonserver,
    /// Triton's OpenAI-compatible frontend (`openai_frontend/main.py`), which runs the server
    /// in-process: `argv` is the frontend's own options.
    OpenAiFrontend,
}

/// A place that starts Triton: the program and its argv, the argv of further MPI ranks, and
/// arguments a launcher rejects before Triton starts.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub program: Program,
    pub argv: Vec<ArgWord>,
    pub workers: Vec<Worker>,
    pub launcher_errors: Vec<Fact<InvalidFlag>>,
}

impl Invocation {
    pub fn tritonserver(argv: Vec<ArgWord>) -> Invocation {
        Invocation {
            program: Program::Tritonserver,
            argv,
            workers: Vec::new(),
            launcher_errors: Vec::new(),
        }
    }
}

/// A tritonserver command line of one MPI segment after the first, with the rank of its
/// first process.
#[derive(Clone, Debug, PartialEq)]
pub struct Worker {
    pub rank: i64,
    pub argv: Vec<ArgWord>,
}
