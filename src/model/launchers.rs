//! Programs that start tritonserver for the user, read as the argv they run:
//!
//! - `mpirun`/`mpiexec` with `:`-separated MPMD segments (`mpirun -n 1 tritonserver A : -n 1
//!   tritonserver B`): each segment is its own tritonserver command line. The first is the
//!   server clients reach (rank 0); the others are read for the flags that stop them, since a
//!   rank that exits at start-up makes mpirun end the whole job.
//! - TensorRT-LLM's `scripts/launch_triton_server.py`, which builds that mpirun command line
//!   from its own options. Followed: the argument parser and `get_cmd` of
//!   `triton_backend/scripts/launch_triton_server.py` in NVIDIA/TensorRT-LLM at commit
//!   0a2e2c1f1268b34586393794045691b666ba28be, where triton-inference-server/tensorrtllm_backend's
//!   `scripts/` now live; the older tensorrtllm_backend script (commit
//!   039e5b4ae8a1decdf6955a23a0f6700ac085b63b: `--world_size`, `--tritonserver`,
//!   `--model_repo` only) generates the same argv for those options.

use std::collections::BTreeMap;

use crate::model::argparse::{self, Opt};
pub use crate::model::invocation::Worker;
use crate::model::invocation::{Invocation, Program};
use crate::model::launch::{Fact, InvalidFlag, Server};
use crate::model::openai_frontend;
use crate::model::server::{ArgWord, parse_server_args};
use crate::source::Span;

/// The Triton settings of an invocation: the server's (or the OpenAI frontend's) argv read
/// with Triton's defaults; the flags that stop another MPI rank or that a launcher rejects
/// count as rejected flags of the launch, since either way nothing serves.
pub fn server_settings(
    invocation: &Invocation,
    anchor: Option<Span>,
    env: &BTreeMap<String, String>,
) -> Server {
    let mut server = match invocation.program {
        Program::Tritonserver => parse_server_args(&invocation.argv, anchor, env),
        Program::OpenAiFrontend => openai_frontend::server_settings(&invocation.argv, anchor),
    };
    let mut rejected = invocation.launcher_errors.clone();
    for worker in &invocation.workers {
        let settings = parse_server_args(&worker.argv, anchor, env);
        rejected.extend(settings.invalid_flags.into_iter().map(|mut flag| {
            if let Some(f) = flag.value.as_mut() {
                f.message = format!("MPI rank {}: {}", worker.rank, f.message);
            }
            flag
        }));
    }
    server.invalid_flags.extend(rejected);
    server
}

/// MPI launchers whose `:` separates the programs of an MPMD job.
pub const MPI_LAUNCHERS: &[&str] = &["mpirun", "mpiexec", "orterun", "prterun", "mpiexec.hydra"];

/// The launch script's file name.
pub const LAUNCH_SCRIPT: &str = "launch_triton_server.py";

/// `mpirun [options] -n N prog args : -n M prog args ...` split at its `:` words, each
/// segment with the rank of its first process (`-n`/`-np` counts; 1 when not given).
pub fn mpi_segments(args: &[ArgWord]) -> Vec<(i64, Vec<ArgWord>)> {
    let mut segments = Vec::new();
    let mut rank = 0;
    for segment in args.split(|w| w.text == ":") {
        let count = segment
            .windows(2)
            .find(|pair| matches!(pair[0].text.as_str(), "-n" | "-np" | "--np" | "--n" | "-c"))
            .and_then(|pair| pair[1].text.parse::<i64>().ok())
            .unwrap_or(1);
        segments.push((rank, segment.to_vec()));
        rank += count.max(1);
    }
    segments
}

const SCRIPT_OPTIONS: &[Opt] = &[
    Opt::value("world_size"),
    Opt::value("tritonserver"),
    Opt::value("grpc_port"),
    Opt::value("http_port"),
    Opt::value("metrics_port"),
    Opt {
        name: "force",
        short: Some("-f"),
        nargs: 0,
    },
    Opt::flag("log"),
    Opt::value("log-file"),
    Opt::flag("no-mpi"),
    Opt::value("model_repo"),
    Opt::value("tensorrt_llm_model_name"),
    Opt::flag("multi-model"),
    Opt::flag("disable-spawn-processes"),
    Opt::value("multimodal_gpu0_cuda_mem_pool_bytes"),
    Opt::flag("oversubscribe"),
    Opt::flag("trtllm_llmapi_launch"),
    Opt::value("exit_timeout"),
    Opt {
        name: "help",
        short: Some("-h"),
        nargs: 0,
    },
];

/// What `launch_triton_server.py ARGS` runs: rank 0's tritonserver argv, the other ranks',
/// and the arguments the script's parser rejects (it exits before starting anything).
pub struct ScriptLaunch {
    pub argv: Vec<ArgWord>,
    pub workers: Vec<Worker>,
    pub errors: Vec<Fact<InvalidFlag>>,
}

/// Reads the script's options as Python's argparse does (`--opt value`, `--opt=value`,
/// unique prefixes) and builds the tritonserver command lines `get_cmd` generates. `script`
/// is the script's path word, where settings left at their defaults point.
pub fn launch_script(script: &ArgWord, args: &[ArgWord]) -> ScriptLaunch {
    let (given, errors) = argparse::parse(SCRIPT_OPTIONS, args, LAUNCH_SCRIPT);
    let last = |name: &str| argparse::last(&given, name);
    let present = |name: &str| last(name).is_some();
    // A flag generated from the option `name` (or from the script, for a default).
    let flag = |name: &str, make: &dyn Fn(&str) -> String, default: &str| -> ArgWord {
        match last(name) {
            Some(g) => {
                let value = g.values.first();
                let mut word = ArgWord::new(
                    make(value.map_or(default, |v| v.text.as_str())),
                    value.and_then(|v| v.span).or(g.span),
                );
                word.unresolved = value.is_some_and(|v| v.unresolved);
                word
            }
            None => ArgWord::new(make(default), script.span),
        }
    };
    let repo_default = default_model_repo(&script.text);
    let model_repo = match (last("model_repo"), &repo_default) {
        (None, None) => {
            let mut word = ArgWord::new("--model-repository=", script.span);
            word.unresolved = true;
            word
        }
        _ => flag(
            "model_repo",
            &|v| format!("--model-repository={v}"),
            repo_default.as_deref().unwrap_or_default(),
        ),
    };
    let ports = || {
        vec![
            flag("grpc_port", &|v| format!("--grpc-port={v}"), "8001"),
            flag("http_port", &|v| format!("--http-port={v}"), "8000"),
            flag("metrics_port", &|v| format!("--metrics-port={v}"), "8002"),
        ]
    };
    let world_size = match last("world_size") {
        Some(g) => g
            .values
            .first()
            .filter(|v| !v.unresolved)
            .and_then(|v| v.text.trim().parse::<i64>().ok()),
        None => Some(1),
    };
    let use_mpi = !present("no-mpi");
    let ranks = if use_mpi { world_size.unwrap_or(1) } else { 1 };
    let names = last("tensorrt_llm_model_name")
        .and_then(|g| g.values.first())
        .map(|v| (v.text.clone(), v.span))
        .unwrap_or_else(|| ("tensorrt_llm".to_string(), script.span));
    let mut argvs = Vec::new();
    for rank in 0..ranks.clamp(1, 1024) {
        let mut argv = vec![model_repo.clone()];
        if let Some(g) = last("exit_timeout")
            && g.values
                .first()
                .is_some_and(|v| v.text.trim().parse::<i64>() != Ok(0))
        {
            argv.push(flag(
                "exit_timeout",
                &|v| format!("--exit-timeout-secs={v}"),
                "",
            ));
        }
        argv.extend(ports());
        if rank == 0
            && let Some(log) = last("log")
        {
            argv.push(ArgWord::new("--log-verbose=3", log.span));
            let mut file = flag("log-file", &|v| format!("--log-file={v}"), "triton_log.txt");
            if !present("log-file") {
                file.span = log.span;
            }
            argv.push(file);
        }
        if rank != 0 {
            argv.push(ArgWord::new("--model-control-mode=explicit", names.1));
            for name in names.0.split(',') {
                argv.push(ArgWord::new(format!("--load-model={name}"), names.1));
            }
        } else if let Some(g) = last("multimodal_gpu0_cuda_mem_pool_bytes")
            && g.values.first().is_some_and(|v| v.text.trim() != "0")
        {
            argv.push(flag(
                "multimodal_gpu0_cuda_mem_pool_bytes",
                &|v| format!("--cuda-memory-pool-byte-size=0:{v}"),
                "0",
            ));
        }
        argv.extend(ports());
        argv.push(ArgWord::new("--disable-auto-complete-config", script.span));
        argv.push(ArgWord::new(
            format!("--backend-config=python,shm-region-prefix-name=prefix{rank}_"),
            script.span,
        ));
        argvs.push(argv);
    }
    let mut argvs = argvs.into_iter();
    let argv = argvs.next().unwrap_or_default();
    ScriptLaunch {
        argv,
        workers: argvs
            .enumerate()
            .map(|(i, argv)| Worker {
                rank: i64::try_from(i).unwrap_or(0) + 1,
                argv,
            })
            .collect(),
        errors,
    }
}

/// The script's default `--model_repo`: `<script dir>/../all_models/gpt`, known when the
/// script is named by an absolute path (`Path(__file__).parent.absolute()`).
fn default_model_repo(script_path: &str) -> Option<String> {
    let dir = script_path
        .strip_prefix('/')?
        .rsplit_once('/')
        .map_or("", |(d, _)| d);
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.pop();
    parts.extend(["all_models", "gpt"]);
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<ArgWord> {
        line.split(' ').map(|w| ArgWord::new(w, None)).collect()
    }

    fn texts(words: &[ArgWord]) -> Vec<&str> {
        words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn mpirun_segments_are_split_at_colons_with_their_ranks() {
        let segments = mpi_segments(&words(
            "--allow-run-as-root -n 2 tritonserver --a : -np 1 tritonserver --b : -n 1 tritonserver",
        ));
        let ranks: Vec<i64> = segments.iter().map(|(r, _)| *r).collect();
        assert_eq!(ranks, [0, 2, 3]);
        assert_eq!(texts(&segments[1].1), ["-np", "1", "tritonserver", "--b"]);
    }

    #[test]
    fn the_launch_script_generates_get_cmd_argv() {
        let script = ArgWord::new(
            "/app/tensorrtllm_backend/scripts/launch_triton_server.py",
            None,
        );
        let launch = launch_script(
            &script,
            &words(
                "--world_size=2 --model_repo /models --http_port 9000 --log --tensorrt_llm_model_name a,b",
            ),
        );
        assert!(launch.errors.is_empty());
        assert_eq!(
            texts(&launch.argv),
            [
                "--model-repository=/models",
                "--grpc-port=8001",
                "--http-port=9000",
                "--metrics-port=8002",
                "--log-verbose=3",
                "--log-file=triton_log.txt",
                "--grpc-port=8001",
                "--http-port=9000",
                "--metrics-port=8002",
                "--disable-auto-complete-config",
                "--backend-config=python,shm-region-prefix-name=prefix0_",
            ]
        );
        assert_eq!(launch.workers.len(), 1);
        assert!(texts(&launch.workers[0].argv).contains(&"--load-model=b"));
        assert!(texts(&launch.workers[0].argv).contains(&"--model-control-mode=explicit"));
    }

    #[test]
    fn script_defaults_and_argparse_errors() {
        let script = ArgWord::new(
            "/opt/tensorrtllm_backend/scripts/launch_triton_server.py",
            None,
        );
        let launch = launch_script(&script, &words("--log_file=/tmp/x --world"));
        // argparse stops at the option without its value; unrecognized ones are only
        // reported when parsing got to the end.
        assert_eq!(
            launch.argv[0].text,
            "--model-repository=/opt/tensorrtllm_backend/all_models/gpt"
        );
        let messages: Vec<String> = launch
            .errors
            .iter()
            .filter_map(|e| e.value.as_ref().map(|f| f.message.clone()))
            .collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("argument --world_size: expected one argument"));
        let launch = launch_script(&script, &words("--log_file=/tmp/x --force"));
        let messages: Vec<String> = launch
            .errors
            .iter()
            .filter_map(|e| e.value.as_ref().map(|f| f.message.clone()))
            .collect();
        assert_eq!(
            messages,
            ["launch_triton_server.py: error: unrecognized arguments: --log_file=/tmp/x"]
        );
        let relative = launch_script(&ArgWord::new("scripts/launch_triton_server.py", None), &[]);
        assert!(
            relative.argv[0].unresolved,
            "the default depends on the working directory"
        );
    }
}
