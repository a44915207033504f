//! Issue 15, items 2, 3, 4, 6, 7, 8, 9, 11, 12 and 13: which `.pbtxt` files are model configurations,
//! TG209 only for a mounted repository, workloads inside custom resources, mounts over the
//! backend and repo-agent directories, internal load balancers, OpenShift Routes, compose override files and `-f` chains, KServe ModelMesh, Knative's ingress, keys the Kubernetes schema does not know, and health
//! probes. Each fixture under `tests/fixtures/accuracy/` says in its first comment whether it
//! is good or bad; this test pins the findings of the rules involved, each at its line and
//! with the words of its message that say why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::path::Path;

use support::cli::tritonguard_in;
use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::{Pipeline, scan};

struct Case {
    /// A file or a directory under `tests/fixtures/accuracy/`.
    path: &'static str,
    /// The rules looked at; others are checked elsewhere.
    rules: &'static [&'static str],
    launches: usize,
    /// (rule, file (relative to `path`'s directory, "" for `path` itself), line, words of the message)
    expect: &'static [(&'static str, &'static str, usize, &'static str)],
}

const CASES: &[Case] = &[
    // Item 2: only config.pbtxt and a selected configs/<name>.pbtxt are model configurations.
    Case {
        path: "model-configs/sample",
        rules: &["TG501", "TG505"],
        launches: 0,
        expect: &[(
            "TG501",
            "models/resnet/broken_sample.pbtxt",
            3,
            "max_batch_sise",
        )],
    },
    Case {
        path: "model-configs/selected",
        rules: &["TG505"],
        launches: 1,
        expect: &[(
            "TG505",
            "models/resnet/configs/h100.pbtxt",
            2,
            "config name \"resnet_h100\" differs from the model directory \"resnet\"",
        )],
    },
    Case {
        path: "model-configs/selected-run",
        rules: &["TG505"],
        launches: 1,
        expect: &[(
            "TG505",
            "models/resnet/configs/a100.pbtxt",
            2,
            "config name \"resnet_a100\" differs from the model directory \"resnet\"",
        )],
    },
    // Item 4: TG209 only when something is mounted at the repository.
    Case {
        path: "repository-mounts/in-image.yaml",
        rules: &["TG209", "TG205"],
        launches: 1,
        expect: &[("TG205", "", 12, "the root filesystem is writable")],
    },
    Case {
        path: "repository-mounts/in-image.sh",
        rules: &["TG209"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "repository-mounts/docker-compose.yml",
        rules: &["TG209"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "repository-mounts/mounted.sh",
        rules: &["TG209"],
        launches: 1,
        expect: &[("TG209", "", 3, "model repository /models is writable")],
    },
    Case {
        path: "repository-mounts/mounted.yaml",
        rules: &["TG209"],
        launches: 1,
        expect: &[(
            "TG209",
            "",
            15,
            "model repository /models is writable by the server, and poll mode loads whatever is written there",
        )],
    },
    Case {
        path: "repository-mounts/mounted-compose",
        rules: &["TG209"],
        launches: 1,
        expect: &[(
            "TG209",
            "docker-compose.yml",
            7,
            "model repository /models is writable by the server",
        )],
    },
    // Item 7: workloads inside custom resources.
    Case {
        path: "workloads/seldon-serverconfig.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 14, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/leaderworkerset.yaml",
        rules: &["TG205"],
        launches: 2,
        expect: &[
            ("TG205", "", 16, "the root filesystem is writable"),
            ("TG205", "", 22, "the root filesystem is writable"),
        ],
    },
    Case {
        path: "workloads/rollout.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 18, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/hardened-rollout.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "workloads/knative-service.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 14, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/raycluster.yaml",
        rules: &["TG205"],
        launches: 2,
        expect: &[
            ("TG205", "", 13, "the root filesystem is writable"),
            ("TG205", "", 23, "the root filesystem is writable"),
        ],
    },
    Case {
        path: "workloads/rayservice.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 15, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/cloneset.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 15, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/mpijob.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 15, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/deploymentconfig.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 14, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/seldondeployment.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 14, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/jobset.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 16, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/rayjob.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 14, "the root filesystem is writable")],
    },
    Case {
        path: "workloads/volcano-job.yaml",
        rules: &["TG205"],
        launches: 1,
        expect: &[("TG205", "", 15, "the root filesystem is writable")],
    },
    // Item 11: host directories and writable volumes over the backend and repo-agent directories.
    Case {
        path: "backend-mounts/hostpath.yaml",
        rules: &["TG210"],
        launches: 1,
        expect: &[(
            "TG210",
            "",
            15,
            "host directory /var/lib/triton/backends is mounted read-only at the backend directory /opt/tritonserver/backends",
        )],
    },
    Case {
        path: "backend-mounts/custom-dirs.yaml",
        rules: &["TG210"],
        launches: 1,
        expect: &[(
            "TG210",
            "",
            15,
            "mounted read-write at /plugins, above the backend directory /plugins/backends and the repo-agent directory /plugins/agents",
        )],
    },
    Case {
        path: "backend-mounts/image-volume.yaml",
        rules: &["TG210"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "backend-mounts/docker-compose.yml",
        rules: &["TG210"],
        launches: 1,
        expect: &[(
            "TG210",
            "",
            8,
            "inside the backend directory /opt/tritonserver/backends",
        )],
    },
    Case {
        path: "backend-mounts/run.sh",
        rules: &["TG210"],
        launches: 1,
        expect: &[(
            "TG210",
            "",
            4,
            "at the repo-agent directory /opt/tritonserver/repoagents",
        )],
    },
    Case {
        path: "backend-mounts/good-compose",
        rules: &["TG210"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "backend-mounts/good-run.sh",
        rules: &["TG210"],
        launches: 1,
        expect: &[],
    },
    // Item 12: keys the Kubernetes schema does not know.
    Case {
        path: "unknown-keys/typos.yaml",
        rules: &["TG211"],
        launches: 1,
        expect: &[
            (
                "TG211",
                "",
                11,
                "\"runAsNonroot\" in PodSecurityContext (Kubernetes 1.35): the API server rejects or drops it, so the setting is not in effect; did you mean \"runAsNonRoot\"?",
            ),
            ("TG211", "", 17, "did you mean \"readOnlyRootFilesystem\"?"),
        ],
    },
    Case {
        path: "unknown-keys/misplaced.yaml",
        rules: &["TG211"],
        launches: 1,
        expect: &[
            (
                "TG211",
                "",
                11,
                "\"allowPrivilegeEscalation\" is a field of SecurityContext (the container's securityContext)",
            ),
            ("TG211", "", 16, "did you mean \"securityContext\"?"),
        ],
    },
    Case {
        path: "unknown-keys/knative.yaml",
        rules: &["TG211"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "unknown-keys/good.yaml",
        rules: &["TG211"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "unknown-keys/helm-output.yaml",
        rules: &["TG211"],
        launches: 1,
        expect: &[(
            "TG211",
            "",
            20,
            "unknown field \"readOnlyRootFileSystem\" in SecurityContext (Kubernetes 1.35)",
        )],
    },
    // Item 13: health probes.
    Case {
        path: "probes/none.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[
            ("TG801", "", 11, "no readiness probe"),
            ("TG801", "", 11, "no liveness probe"),
        ],
    },
    Case {
        path: "probes/wrong.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[
            (
                "TG801",
                "",
                19,
                "names port \"triton-http\", which the container does not declare",
            ),
            (
                "TG801",
                "",
                21,
                "liveness probe asks /v2/health/ready, which answers 400 while a model loads",
            ),
        ],
    },
    Case {
        path: "probes/grpc-only.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[
            (
                "TG801",
                "",
                18,
                "readiness probe asks HTTP, but the server runs without HTTP (--allow-http=false): use a grpc probe on port 8001",
            ),
            ("TG801", "", 20, "liveness probe asks HTTP"),
        ],
    },
    Case {
        path: "probes/good.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "probes/knative.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[("TG801", "", 9, "no liveness probe")],
    },
    Case {
        path: "probes/kserve.yaml",
        rules: &["TG801"],
        launches: 1,
        expect: &[],
    },
    // Item 6: a LoadBalancer its cloud annotation marks internal reaches the private network.
    Case {
        path: "internal-lb/aws-internal.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[
            (
                "TG301",
                "",
                27,
                "metrics port 8002 of Deployment \"triton\" is reachable from the private network behind an internal load balancer (not the internet) through Service \"triton-internal\"",
            ),
            (
                "TG302",
                "",
                26,
                "HTTP port 8000 of Deployment \"triton\" is reachable from the private network behind an internal load balancer (not the internet) through Service \"triton-internal\" and nothing",
            ),
            (
                "TG105",
                "",
                26,
                "reachable from the private network behind an internal load balancer (not the internet) through Service \"triton-internal\" and no rate limit",
            ),
        ],
    },
    Case {
        path: "internal-lb/gke-internal.yaml",
        rules: &["TG301", "TG302"],
        launches: 1,
        expect: &[(
            "TG302",
            "",
            21,
            "gRPC port 8001 of Pod \"triton\" is reachable from the private network behind an internal load balancer (not the internet) through Service \"triton-ilb\"",
        )],
    },
    Case {
        path: "internal-lb/ingress-internal.yaml",
        rules: &["TG301", "TG302"],
        launches: 1,
        expect: &[(
            "TG302",
            "",
            33,
            "HTTP port 8000 of Pod \"triton\" is reachable from the private network behind an internal load balancer (not the internet) through Ingress \"triton\"",
        )],
    },
    Case {
        path: "internal-lb/azure-internal.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[
            (
                "TG302",
                "",
                21,
                "HTTP port 8000 of Pod \"triton\" is reachable from the private network behind an internal load balancer (not the internet)",
            ),
            (
                "TG105",
                "",
                21,
                "reachable from the private network behind an internal load balancer (not the internet) through Service \"triton-ilb\" and no rate limit",
            ),
        ],
    },
    Case {
        path: "internal-lb/ingress-gce-internal.yaml",
        rules: &["TG301", "TG302"],
        launches: 1,
        expect: &[(
            "TG302",
            "",
            33,
            "HTTP port 8000 of Pod \"triton\" is reachable from the private network behind an internal load balancer (not the internet)",
        )],
    },
    Case {
        path: "internal-lb/public.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[
            (
                "TG302",
                "",
                22,
                "HTTP port 8000 of Pod \"triton\" is reachable from the internet through Service \"triton-public\" and nothing",
            ),
            (
                "TG105",
                "",
                22,
                "HTTP port 8000 of Pod \"triton\" is reachable from the internet through Service \"triton-public\" and no rate limit",
            ),
        ],
    },
    // Item 9: compose merges docker-compose.override.yml onto docker-compose.yml; findings
    // point at the file that set the value.
    Case {
        path: "compose-override/bad",
        rules: &["TG101", "TG301", "TG209"],
        launches: 1,
        expect: &[
            ("TG101", "docker-compose.override.yml", 5, "poll mode"),
            (
                "TG301",
                "docker-compose.override.yml",
                7,
                "metrics port 8002 of compose service \"triton\" is reachable from other hosts on the network through a published port (ports:)",
            ),
        ],
    },
    Case {
        path: "compose-override/bad/docker-compose.yml",
        rules: &["TG101", "TG301", "TG209"],
        launches: 1,
        expect: &[
            ("TG101", "docker-compose.override.yml", 5, "poll mode"),
            (
                "TG301",
                "docker-compose.override.yml",
                7,
                "metrics port 8002 of compose service \"triton\" is reachable from other hosts on the network through a published port (ports:)",
            ),
        ],
    },
    Case {
        path: "compose-override/good",
        rules: &["TG101", "TG209", "TG301", "TG302"],
        launches: 1,
        expect: &[],
    },
    // Item 9: a script's `docker compose -f a -f b --env-file e up` merges in that order,
    // interpolates from the env file instead of `.env`, and reads `env_file:` inside the
    // project folder only.
    Case {
        path: "compose-chain/bad",
        rules: &["TG101", "TG301", "TG302"],
        launches: 1,
        expect: &[
            ("TG101", "compose.yaml", 5, "poll mode"),
            (
                "TG302",
                "compose.yaml",
                7,
                "HTTP port 8000 of compose service \"triton\" is reachable from other hosts on the network through a published port (ports:)",
            ),
        ],
    },
    Case {
        path: "compose-chain/good",
        rules: &["TG101", "TG301", "TG302"],
        launches: 1,
        expect: &[],
    },
    // Item 9: the same chain in a Makefile target (`$(COMPOSE) up -d`).
    Case {
        path: "compose-chain/make-bad",
        rules: &["TG101", "TG301", "TG302"],
        launches: 1,
        expect: &[(
            "TG302",
            "compose.public.yaml",
            5,
            "HTTP port 8000 of compose service \"triton\" is reachable from other hosts",
        )],
    },
    // Item 3: a ModelMesh InferenceService is served from its multi-model runtime's pods
    // inside the cluster, which the ModelMesh controller gives `drop: [ALL]` when the
    // runtime container sets no securityContext.
    Case {
        path: "modelmesh/good.yaml",
        rules: &["TG202", "TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "modelmesh/bad.yaml",
        rules: &["TG202", "TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[("TG202", "", 21, "no capabilities are dropped")],
    },
    // Knative's ingress reaches the port the serving container declares (8080 when none),
    // from the internet unless the Service is labelled cluster-local.
    Case {
        path: "knative/public.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[
            (
                "TG302",
                "",
                4,
                "HTTP port 8000 of Service \"triton\" is reachable from the internet through Knative's ingress and nothing",
            ),
            (
                "TG105",
                "",
                4,
                "HTTP port 8000 of Service \"triton\" is reachable from the internet through Knative's ingress and no rate limit",
            ),
        ],
    },
    Case {
        path: "knative/metrics-port.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[(
            "TG301",
            "",
            4,
            "metrics port 8002 of Service \"triton-metrics\" is reachable from the internet through Knative's ingress",
        )],
    },
    Case {
        path: "knative/cluster-local.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[],
    },
    Case {
        path: "knative/default-port.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[],
    },
    // Item 8: an OpenShift Route is a route into the cluster like an Ingress.
    Case {
        path: "openshift/route-edge.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[
            (
                "TG302",
                "",
                32,
                "HTTP port 8000 of Deployment \"triton\" is reachable from the internet through Route \"triton\" and nothing",
            ),
            (
                "TG105",
                "",
                32,
                "HTTP port 8000 of Deployment \"triton\" is reachable from the internet through Route \"triton\" and no rate limit",
            ),
        ],
    },
    Case {
        path: "openshift/route-target-number.yaml",
        rules: &["TG301", "TG302"],
        launches: 1,
        expect: &[(
            "TG301",
            "",
            25,
            "metrics port 8002 of Pod \"triton\" is reachable from the internet through Route \"metrics\"",
        )],
    },
    Case {
        path: "openshift/route-elsewhere.yaml",
        rules: &["TG301", "TG302", "TG105"],
        launches: 1,
        expect: &[],
    },
];

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accuracy")
}

#[test]
fn each_fixture_gives_exactly_its_findings() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let root = root();
    let mut failures = Vec::new();
    for case in CASES {
        let path = root.join(case.path);
        let base = if path.is_dir() {
            path.clone()
        } else {
            path.parent().unwrap().to_path_buf()
        };
        let mut request = ScanRequest::new(vec![path.clone()]);
        request.base = base.clone();
        let result = scan(&catalogue, &request, &|_| true);
        let own = path.file_name().unwrap().to_string_lossy().to_string();
        let found: Vec<(String, String, usize, String)> = result
            .findings
            .iter()
            .filter(|f| case.rules.contains(&f.rule_id.as_str()))
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
                let file = if file.is_empty() { own.as_str() } else { file };
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

#[test]
fn objects_with_several_pod_templates_name_the_template_in_the_launch_id() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let root = root().join("workloads");
    let mut pipeline = Pipeline::new(&catalogue, &|_| true);
    pipeline.keep_subjects = true;
    let mut request = ScanRequest::new(vec![root.join("raycluster.yaml")]);
    request.base = root.clone();
    let result = pipeline.scan(&request);
    let correlated = result.correlated.as_ref().unwrap();
    let ids: Vec<&str> = correlated
        .launches
        .iter()
        .map(|l| l.launch.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "RayCluster//triton-ray/spec.headGroupSpec.template/triton",
            "RayCluster//triton-ray/spec.workerGroupSpecs[0].template/triton",
        ]
    );
    let mut request = ScanRequest::new(vec![root.join("rollout.yaml")]);
    request.base = root;
    let result = pipeline.scan(&request);
    assert_eq!(
        result.correlated.unwrap().launches[0].launch.id,
        "Rollout//triton/triton"
    );
}

#[test]
fn a_team_kind_from_the_config_file_is_a_workload() {
    let dir = root().join("workloads/custom");
    let run = tritonguard_in(
        &dir,
        &["check", "--format", "concise", "--select", "TG205", "."],
        None,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().filter(|l| l.contains("TG205")).collect();
    assert_eq!(
        lines,
        [
            "fleet.yaml:11:11: TG205 [medium] the root filesystem is writable: code in the server can replace backends and image files",
            "fleet.yaml:17:13: TG205 [medium] the root filesystem is writable: code in the server can replace backends and image files",
        ],
        "{}",
        run.stdout
    );
    // Without the config file the kind is unknown: no launch.
    let run = tritonguard_in(
        &dir,
        &[
            "check",
            "--format",
            "concise",
            "--config",
            "/dev/null",
            "fleet.yaml",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn an_openshift_route_says_where_tls_ends() {
    let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| panic!("policies load"));
    let path = root().join("openshift/route-edge.yaml");
    let mut request = ScanRequest::new(vec![path.clone()]);
    request.base = path.parent().unwrap().to_path_buf();
    let result = scan(&catalogue, &request, &|_| true);
    let tg302 = result
        .findings
        .iter()
        .find(|f| f.rule_id == "TG302")
        .expect("TG302");
    assert_eq!(
        tg302.primary.label,
        "Route \"triton\" routes triton.apps.example.com/ (TLS edge-terminated at the router) \
         to Service \"triton\", unauthenticated"
    );
}
