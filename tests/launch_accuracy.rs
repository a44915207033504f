//! Launch command lines as the real programs read them (issue 15, items 1, 5, 10, 16, 17):
//! shell continuations inside YAML and compose commands, CVE ranges and server-less images,
//! images chosen in script branches, mpirun segments and TensorRT-LLM's launch script, and
//! Triton's OpenAI frontend. Each fixture under `tests/fixtures/accuracy/` says in its first
//! comment whether it is good or bad; this test pins the findings of the rules involved, each
//! at its line and with the words of its message that say why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::Path;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::scan;

/// The rules these items are about; container hardening rules are checked elsewhere.
const RULES: &[&str] = &["TG101", "TG103", "TG104", "TG302", "TG401"];

struct Case {
    path: &'static str,
    launches: usize,
    /// (rule, line, words of the message)
    expect: &'static [(&'static str, usize, &'static str)],
}

const CASES: &[Case] = &[
    // Item 1: shell continuations inside YAML.
    Case {
        path: "continuations/literal-block.yaml",
        launches: 1,
        expect: &[("TG104", 10, "HTTP port 8000 serves")],
    },
    Case {
        path: "continuations/folded-more-indented.yaml",
        launches: 1,
        expect: &[("TG104", 13, "HTTP port 8000 serves")],
    },
    Case {
        path: "continuations/folded-block.yaml",
        launches: 1,
        expect: &[
            ("TG104", 11, "HTTP port 8000 serves"),
            (
                "TG103",
                14,
                "Unexpected argument: \" --model-repository=/models\" (a folded YAML scalar turned the line end after `\\` into a space",
            ),
            (
                "TG103",
                15,
                "Unexpected argument: \" --disable-auto-complete-config\"",
            ),
        ],
    },
    Case {
        path: "continuations/space-after-backslash.yaml",
        launches: 1,
        expect: &[
            ("TG104", 10, "HTTP port 8000 serves"),
            (
                "TG103",
                12,
                "Unexpected argument: \" \" (the `\\` escapes the space after it, not the line end",
            ),
        ],
    },
    Case {
        path: "continuations/compose-folded-quoted",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "continuations/compose-list-literal",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "continuations/compose-folded-bare",
        launches: 1,
        expect: &[(
            "TG103",
            7,
            "Unexpected argument: \" --model-repository=/models\" (a folded YAML scalar",
        )],
    },
    Case {
        path: "continuations/compose-literal-quoted",
        launches: 1,
        expect: &[(
            "TG103",
            8,
            "the tritonserver command ends at the line end after `tritonserver`: `--model-repository=/models` on the next line runs as a command of its own",
        )],
    },
    // Item 5: CVE ranges and images without a server.
    Case {
        path: "cves/release-2201.yaml",
        launches: 1,
        expect: &[
            (
                "TG401",
                8,
                "22.01 (server 2.18.0) has published vulnerabilities, including CVE-2025-23310",
            ),
            ("TG104", 9, "HTTP port 8000 serves"),
        ],
    },
    Case {
        path: "cves/release-2209.yaml",
        launches: 1,
        expect: &[
            (
                "TG401",
                8,
                "including CVE-2024-0087 (9.0, file write through the logging API, 22.09-24.03)",
            ),
            ("TG104", 9, "HTTP port 8000 serves"),
        ],
    },
    Case {
        path: "cves/Dockerfile.min",
        launches: 0,
        expect: &[],
    },
    Case {
        path: "cves/sdk-compose",
        launches: 0,
        expect: &[],
    },
    Case {
        path: "cves/min-pod.yaml",
        launches: 0,
        expect: &[],
    },
    Case {
        path: "cves/min-run.sh",
        launches: 0,
        expect: &[],
    },
    Case {
        path: "cves/min-compose",
        launches: 0,
        expect: &[],
    },
    Case {
        path: "cves/Dockerfile.2201",
        launches: 1,
        expect: &[(
            "TG401",
            2,
            "22.01 (server 2.18.0) has published vulnerabilities, including CVE-2025-23310",
        )],
    },
    Case {
        path: "cves/min-runs-server.sh",
        launches: 1,
        expect: &[("TG401", 3, "22.01 (server 2.18.0)")],
    },
    // Item 10: images chosen in branches.
    Case {
        path: "branches/if-else.sh",
        launches: 2,
        expect: &[("TG401", 4, "tritonserver 24.03 (server 2.44.0)")],
    },
    Case {
        path: "branches/case.sh",
        launches: 2,
        expect: &[("TG401", 4, "tritonserver 22.01")],
    },
    Case {
        path: "branches/if-current.sh",
        launches: 2,
        expect: &[],
    },
    // Item 16: mpirun segments and launch_triton_server.py.
    Case {
        path: "mpi/two-ranks.sh",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "mpi/bad-rank.sh",
        launches: 1,
        expect: &[(
            "TG103",
            5,
            "MPI rank 1: unrecognized option '--http-prt' (did you mean --http-port?)",
        )],
    },
    Case {
        path: "mpi/launch-script.yaml",
        launches: 1,
        expect: &[("TG104", 14, "HTTP port 8000 serves")],
    },
    Case {
        path: "mpi/launch-script-bad.yaml",
        launches: 1,
        expect: &[
            ("TG104", 14, "HTTP port 8000 serves"),
            (
                "TG103",
                14,
                "launch_triton_server.py: error: unrecognized arguments: --log_file /tmp/triton.log",
            ),
        ],
    },
    Case {
        path: "mpi/compose",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "mpi/Dockerfile",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "mpi/compose-bad",
        launches: 1,
        expect: &[(
            "TG103",
            6,
            "MPI rank 1: unrecognized option '--grpc-prot' (did you mean --grpc-port?)",
        )],
    },
    Case {
        path: "mpi/Dockerfile.bad",
        launches: 1,
        expect: &[(
            "TG103",
            4,
            "launch_triton_server.py: error: unrecognized arguments: --world-size 2",
        )],
    },
    Case {
        path: "mpi/mpirun.yaml",
        launches: 1,
        expect: &[("TG104", 10, "HTTP port 8000 serves")],
    },
    Case {
        path: "mpi/mpirun-bad.yaml",
        launches: 1,
        expect: &[
            ("TG104", 10, "HTTP port 8000 serves"),
            (
                "TG103",
                14,
                "MPI rank 1: unrecognized option '--grpc-prot' (did you mean --grpc-port?)",
            ),
        ],
    },
    // Item 17: Triton's OpenAI-compatible frontend.
    Case {
        path: "openai/host-network.yaml",
        launches: 1,
        expect: &[
            (
                "TG302",
                11,
                "HTTP port 8000, gRPC port 8001 and OpenAI port 9000 of Deployment \"llm\" are reachable from outside the cluster through hostNetwork",
            ),
            (
                "TG104",
                16,
                "OpenAI port 9000 serves model-management, metrics without a restricted-API header",
            ),
            (
                "TG101",
                18,
                "explicit mode lets any client that reaches port 8000 or 8001",
            ),
        ],
    },
    Case {
        path: "openai/restricted.yaml",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "openai/compose-published",
        launches: 1,
        expect: &[
            (
                "TG302",
                6,
                "OpenAI port 9000 of compose service \"llm\" is reachable from other hosts on the network through a published port (ports:)",
            ),
            (
                "TG104",
                7,
                "OpenAI port 9000 serves metrics without a restricted-API header",
            ),
        ],
    },
    Case {
        path: "openai/compose-loopback",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "openai/run.sh",
        launches: 1,
        expect: &[
            (
                "TG302",
                3,
                "OpenAI port 8080 of the docker run of nvcr.io/nvidia/tritonserver:26.07-vllm-python-py3 is reachable from other hosts on the network through a published port (-p)",
            ),
            ("TG104", 4, "OpenAI port 8080 serves metrics"),
        ],
    },
    Case {
        path: "openai/run-restricted.sh",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "openai/Dockerfile",
        launches: 1,
        expect: &[],
    },
    Case {
        path: "openai/Dockerfile.bad",
        launches: 1,
        expect: &[(
            "TG103",
            4,
            "Use of '--load-model' requires setting '--model-control-mode=explicit' as well",
        )],
    },
];

#[test]
fn each_fixture_gives_exactly_its_findings() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accuracy");
    let mut failures = Vec::new();
    for case in CASES {
        let path = root.join(case.path);
        let mut request = ScanRequest::new(vec![path.clone()]);
        request.base = root.clone();
        let result = scan(&catalogue, &request, &|_| true);
        let found: Vec<(String, usize, String)> = result
            .findings
            .iter()
            .filter(|f| RULES.contains(&f.rule_id.as_str()))
            .map(|f| {
                let line = result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line;
                (f.rule_id.clone(), line, f.message.clone())
            })
            .collect();
        let matches = found.len() == case.expect.len()
            && case.expect.iter().all(|(rule, line, words)| {
                found
                    .iter()
                    .any(|(r, l, m)| r == rule && l == line && m.contains(words))
            });
        if !matches || result.stats.launches != case.launches {
            failures.push(format!(
                "{}: {} launches (expected {}), findings:\n{}",
                case.path,
                result.stats.launches,
                case.launches,
                found
                    .iter()
                    .map(|(r, l, m)| format!("  {r} line {l}: {m}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_launch_script_and_the_openai_frontend_give_triton_settings() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accuracy");
    let launch = |path: &str| {
        let mut request = ScanRequest::new(vec![root.join(path)]);
        request.base = root.clone();
        let all = |_: &tritonguard::evaluate::policy::Policy| true;
        let mut pipeline = tritonguard::pipeline::Pipeline::new(&catalogue, &all);
        pipeline.keep_subjects = true;
        let result = pipeline.scan(&request);
        result
            .correlated
            .and_then(|c| c.launches.into_iter().next())
            .map(|r| r.launch)
            .unwrap_or_else(|| panic!("{path}: no launch"))
    };
    let script = launch("mpi/launch-script.yaml");
    let repos: Vec<_> = script
        .server
        .model_repositories
        .iter()
        .filter_map(|r| r.value.clone())
        .collect();
    assert_eq!(repos, ["/models"]);
    assert_eq!(
        script.server.log.file.value.as_deref(),
        Some("/tmp/triton.log")
    );
    assert_eq!(script.server.log.verbose.value, Some(3));
    assert_eq!(script.server.auto_complete_config.value, Some(false));
    let frontend = launch("openai/restricted.yaml");
    assert_eq!(frontend.server.openai.port.value, Some(9000));
    assert_eq!(
        frontend.server.openai.address.value.as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        frontend.exposure.openai.reach.value.as_deref(),
        Some("local")
    );
    assert_eq!(frontend.server.http.enabled.value, Some(false));
}
