//! Issue 15, items 14 and 15: Python-backend models with the default 64 MB /dev/shm (TG802)
//! and instance groups on GPUs the container does not get (TG803). Each fixture folder under
//! `tests/fixtures/accuracy/{python-shm,gpu-accounting}/` holds the launches of one format
//! (Kubernetes, docker run, compose; each file's first comment says good or bad) and the
//! model repository they serve; this test pins every finding at its file and line, with the
//! words of its message that say why, so a good launch that fires or a bad one that does not
//! fails it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::Path;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::scan;

struct Case {
    /// A folder under `tests/fixtures/accuracy/`.
    path: &'static str,
    launches: usize,
    /// (rule, file relative to `path`, line, words of the message)
    expect: &'static [(&'static str, &'static str, usize, &'static str)],
}

const RULES: &[&str] = &["TG802", "TG803"];

const CASES: &[Case] = &[
    Case {
        path: "python-shm/kubernetes",
        launches: 3,
        expect: &[
            (
                "TG802",
                "bad.yaml",
                9,
                "the container keeps the default 64 MB /dev/shm, and it serves Python-backend models (preprocess in models/preprocess/config.pbtxt)",
            ),
            ("TG802", "small.yaml", 13, "/dev/shm is only 64 MiB"),
        ],
    },
    Case {
        path: "python-shm/docker",
        launches: 3,
        expect: &[(
            "TG802",
            "bad.sh",
            3,
            "default 64 MB /dev/shm, and it serves Python-backend models (llm in model_repository/llm/config.pbtxt)",
        )],
    },
    Case {
        path: "python-shm/compose",
        launches: 2,
        expect: &[(
            "TG802",
            "docker-compose.yml",
            3,
            "default 64 MB /dev/shm, and it serves Python-backend models (bls in models/bls/config.pbtxt)",
        )],
    },
    Case {
        path: "gpu-accounting/kubernetes",
        launches: 3,
        expect: &[
            (
                "TG803",
                "bad.yaml",
                15,
                "model \"llm\" (models/llm/config.pbtxt) asks for GPU 1, but the container gets 1 GPU (index 0)",
            ),
            (
                "TG803",
                "nogpu.yaml",
                13,
                "has an instance_group of kind KIND_GPU, but the container gets no GPU (no nvidia.com/gpu limit)",
            ),
        ],
    },
    Case {
        path: "gpu-accounting/docker",
        launches: 3,
        expect: &[
            (
                "TG803",
                "run.sh",
                4,
                "asks for GPU 1, but the container gets 1 GPU (index 0)",
            ),
            (
                "TG803",
                "run.sh",
                7,
                "has an instance_group of kind KIND_GPU, but the container gets no GPU",
            ),
        ],
    },
    Case {
        path: "gpu-accounting/compose",
        launches: 2,
        expect: &[(
            "TG803",
            "docker-compose.yml",
            12,
            "asks for GPU 1, but the container gets 1 GPU (index 0)",
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
        request.base = path.clone();
        let result = scan(&catalogue, &request, &|_| true);
        let found: Vec<(String, String, usize, String)> = result
            .findings
            .iter()
            .filter(|f| RULES.contains(&f.rule_id.as_str()))
            .map(|f| {
                let line = result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line;
                let file = result.store.display(f.primary.span.file).to_string();
                (f.rule_id.clone(), file, line, f.message.clone())
            })
            .collect();
        let matches = found.len() == case.expect.len()
            && case.expect.iter().all(|(rule, file, line, words)| {
                found
                    .iter()
                    .any(|(r, f, l, m)| r == rule && f == file && l == line && m.contains(words))
            });
        if !matches || result.stats.launches != case.launches {
            failures.push(format!(
                "{}: {} launches (expected {}), findings:\n{}",
                case.path,
                result.stats.launches,
                case.launches,
                found
                    .iter()
                    .map(|(r, f, l, m)| format!("  {r} {f}:{l}: {m}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The link from a launch to its models: a bind mount names its folder (and is not second-
/// guessed by name), a PVC falls back to the same-named folder beside the manifest.
#[test]
fn launches_list_the_models_of_the_folder_that_provides_their_repository() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "models/a/config.pbtxt",
        "name: \"a\"\nbackend: \"python\"\n",
    );
    write("other/b/config.pbtxt", "name: \"b\"\nbackend: \"python\"\n");
    // Mounted from ./other: serves b only, though a folder called models is beside it.
    write(
        "run.sh",
        "#!/bin/sh\ndocker run -v ./other:/models nvcr.io/nvidia/tritonserver:24.10-py3 tritonserver --model-repository=/models\n",
    );
    let mut request = ScanRequest::new(vec![dir.path().to_path_buf()]);
    request.base = dir.path().to_path_buf();
    let result = scan(&catalogue, &request, &|_| true);
    let shm: Vec<&str> = result
        .findings
        .iter()
        .filter(|f| f.rule_id == "TG802")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(shm.len(), 1, "{shm:?}");
    assert!(shm[0].contains("(b in other/b/config.pbtxt)"), "{}", shm[0]);
}
