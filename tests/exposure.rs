//! `tritonguard exposure` (issue 12 item 4) and `check --format markdown` (item 5): the map of
//! the bundled examples in every format (snapshots), standard input, unreadable input, the
//! fixture charts rendered with the real Helm engine, and every Mermaid diagram the tool
//! prints parsed by Mermaid's own parser (`TG_MERMAID_PARSE`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::cli::{Run, tritonguard, tritonguard_in};
use support::tools::{HELM, MERMAID_PARSE, require_tool};

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![(r" in \d+ ms", " in [duration]")],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

fn ok(run: &Run) -> &str {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    &run.stdout
}

#[test]
fn the_examples_map_in_every_format() {
    for format in ["table", "json", "mermaid", "dot"] {
        let run = tritonguard(&["exposure", "examples", "--format", format]);
        let out = ok(&run);
        // The same scan prints the same map.
        let again = tritonguard(&["exposure", "examples", "--format", format]);
        assert_eq!(out, again.stdout, "{format} output is not deterministic");
        snapshot!(format!("exposure_examples_{format}"), out);
    }
}

#[test]
fn the_map_holds_the_facts_the_rules_use() {
    let run = tritonguard(&["exposure", "examples/kubernetes", "--format", "json"]);
    let map: Value = serde_json::from_str(ok(&run)).unwrap();
    let launch = |object: &str| {
        map["launches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["object"] == object)
            .unwrap_or_else(|| panic!("no launch {object}: {map:#}"))
            .clone()
    };
    let port = |launch: &Value, name: &str| {
        launch["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    // The insecure Deployment: a LoadBalancer Service puts all three ports on the internet
    // with nothing in front (what TG301 and TG302 report).
    let insecure = launch("Deployment/inference-legacy/triton");
    for name in ["http", "grpc", "metrics"] {
        let p = port(&insecure, name);
        assert_eq!(p["reach"], "internet", "{p:#}");
        assert_eq!(p["authenticated"], false);
        assert_eq!(p["routes"][0]["kind"], "Service");
    }
    assert_eq!(map["summary"]["internet_unauthenticated"], 3);
    // The hardened one: an authenticating Ingress in front of a ClusterIP Service for HTTP,
    // gRPC narrowed by a NetworkPolicy, and the Ingress's rate limit.
    let hardened = launch("Deployment/inference/triton");
    let http = port(&hardened, "http");
    assert_eq!(
        (http["reach"].as_str(), http["authenticated"].as_bool()),
        (Some("internet"), Some(true))
    );
    assert_eq!(http["routes"][0]["kind"], "Ingress");
    assert_eq!(http["routes"][0]["via"], "triton");
    assert_eq!(http["routes"][1]["kind"], "Service");
    let grpc = port(&hardened, "grpc");
    assert_eq!(grpc["reach"], "local");
    assert_eq!(grpc["narrowed_by"][0]["kind"], "NetworkPolicy");
    assert_eq!(hardened["rate_limiting"].as_array().unwrap().len(), 1);
    assert!(hardened["at"]["line"].as_u64().unwrap() > 1);
}

#[test]
fn standard_input_is_read_like_check() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/insecure/triton.yaml"),
    )
    .unwrap();
    let run = tritonguard_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["exposure", "-"],
        Some(&manifest),
    );
    let out = ok(&run);
    assert!(
        out.contains("http      8000   internet  auth: none  ! reachable from the internet"),
        "{out}"
    );
    assert!(out.contains("(<stdin>:61)"), "{out}");
    assert!(out.ends_with("<stdin>: 1 Triton launch, 3 enabled ports (3 reachable from the internet, 3 of them without authentication)\n"), "{out}");
}

#[test]
fn unreadable_input_is_a_positioned_error_and_the_rest_is_still_drawn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/compose/docker-compose.yml"),
        dir.path().join("docker-compose.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "kind: Service\nspec: [unclosed\n",
    )
    .unwrap();
    let run = tritonguard_in(dir.path(), &["exposure", "."], None);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with("error: broken.yaml:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("could not be read or rendered"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.contains("service/triton"), "{}", run.stdout);

    // Nothing at all: a map with no launch, in every format.
    let empty = tempfile::tempdir().unwrap();
    for format in ["table", "json", "mermaid", "dot"] {
        let run = tritonguard_in(empty.path(), &["exposure", "--format", format], None);
        assert!(!ok(&run).is_empty());
    }
    // A path that does not exist.
    let run = tritonguard(&["exposure", "no/such/dir"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no/such/dir"), "{}", run.stderr);
}

#[test]
fn the_markdown_report() {
    let run = tritonguard(&["check", "examples/kubernetes", "--format", "markdown"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    snapshot!("check_markdown_examples_kubernetes", &run.stdout);
    // Links start where --link-base says.
    let run = tritonguard(&[
        "check",
        "examples/kubernetes/insecure",
        "--format",
        "markdown",
        "--link-base",
        "https://github.example/team/models/blob/0123abc/",
    ]);
    assert!(run.stdout.contains(
        "[examples/kubernetes/insecure/triton.yaml:61](https://github.example/team/models/blob/0123abc/examples/kubernetes/insecure/triton.yaml#L61)"
    ), "{}", run.stdout);
    // Standard input has no file to link to.
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/insecure/triton.yaml"),
    )
    .unwrap();
    let run = tritonguard_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["check", "-", "--format", "markdown"],
        Some(&manifest),
    );
    assert!(
        run.stdout.contains("| TG302 | &lt;stdin&gt;:61 |"),
        "{}",
        run.stdout
    );
    // A clean scan says so, without tables.
    let run = tritonguard(&["check", "examples/github", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("| rule |"), "{}", run.stdout);
}

/// Runs the real Mermaid parser on `text`; `markdown` parses every mermaid block of it.
fn mermaid_parse(parser: &Path, text: &str, markdown: bool) -> (bool, String) {
    let mut command = Command::new(parser);
    if markdown {
        command.arg("--markdown");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mermaid-parse starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_mermaid_diagram_parses_with_mermaid() {
    let Some(parser) = require_tool(MERMAID_PARSE) else {
        return;
    };
    // The parser is strict: a broken diagram fails (so a pass means something).
    let (parsed, out) = mermaid_parse(
        &parser,
        "flowchart LR\n  a --> b\n  linkStyle 4 stroke:red\n",
        false,
    );
    assert!(!parsed, "{out}");

    for paths in [
        &["examples"][..],
        &["examples/kubernetes"],
        &["tests/fixtures/units"],
    ] {
        let mut args = vec!["exposure", "--format", "mermaid"];
        args.extend_from_slice(paths);
        let run = tritonguard(&args);
        let (parsed, out) = mermaid_parse(&parser, ok(&run), false);
        assert!(parsed, "{paths:?}: {out}\n{}", run.stdout);
        assert_eq!(out.trim(), "flowchart-v2");
    }
    // Labels with quotes, `#`, `<`, `&` and backticks, and the empty map.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("odd.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: \"a#b<c>&`d\"}\nspec:\n  selector: {matchLabels: {app: t}}\n  template:\n    metadata: {labels: {app: t}}\n    spec:\n      containers:\n        - name: \"t\\\"x\"\n          image: nvcr.io/nvidia/tritonserver:24.10-py3\n---\napiVersion: v1\nkind: Service\nmetadata: {name: \"s\"}\nspec:\n  type: LoadBalancer\n  selector: {app: t}\n  ports: [{port: 80, targetPort: 8000}]\n",
    )
    .unwrap();
    let run = tritonguard_in(dir.path(), &["exposure", "--format", "mermaid"], None);
    let (parsed, out) = mermaid_parse(&parser, ok(&run), false);
    assert!(parsed, "{out}\n{}", run.stdout);
    let empty = tempfile::tempdir().unwrap();
    let run = tritonguard_in(empty.path(), &["exposure", "--format", "mermaid"], None);
    let (parsed, out) = mermaid_parse(&parser, ok(&run), false);
    assert!(parsed, "{out}\n{}", run.stdout);

    // The markdown report's diagram.
    let run = tritonguard(&["check", "examples", "--format", "markdown"]);
    let (parsed, out) = mermaid_parse(&parser, &run.stdout, true);
    assert!(parsed, "{out}\n{}", run.stdout);

    // The README's diagram, which must also be what the tool prints.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let (parsed, out) = mermaid_parse(&parser, &readme, true);
    assert!(parsed, "{out}");
    let run = tritonguard(&[
        "exposure",
        "examples/kubernetes/insecure",
        "--format",
        "mermaid",
    ]);
    assert!(
        readme.contains(&format!("```mermaid\n{}```\n", ok(&run))),
        "README.md shows another diagram than `exposure examples/kubernetes/insecure --format mermaid`:\n{}",
        run.stdout
    );
}

#[test]
fn the_fixture_charts_are_rendered_and_mapped() {
    let Some(helm) = require_tool(HELM) else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm-repo");
    let run: Run = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
        .args(["exposure", ".", "--format", "json", "--helm"])
        .arg(&helm)
        .current_dir(&repo)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into();
    // The chart with a `required` value does not render: an error naming it, after the map.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("charts/model-store/Chart.yaml"),
        "{}",
        run.stderr
    );
    let map: Value = serde_json::from_str(&run.stdout).unwrap();
    let launches = map["launches"].as_array().unwrap();
    let units: Vec<&str> = launches
        .iter()
        .map(|l| l["unit"].as_str().unwrap())
        .collect();
    assert_eq!(
        units,
        [
            "file charts/triton-server (rendered with default values)",
            "file charts/triton-server (rendered with values-prod.yaml)"
        ]
    );
    for launch in launches {
        let reach: Vec<(&str, &str)> = launch["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["reach"].as_str().unwrap()))
            .collect();
        // values.yaml publishes metrics through a LoadBalancer; values-prod.yaml keeps it.
        assert_eq!(
            reach,
            [
                ("http", "cluster"),
                ("grpc", "cluster"),
                ("metrics", "internet")
            ]
        );
        let metrics = &launch["ports"][2]["routes"][0];
        assert_eq!(metrics["kind"], "Service");
        assert!(
            metrics["note"]
                .as_str()
                .unwrap()
                .starts_with("LoadBalancer Service")
        );
    }
    // The map of the charts draws with Mermaid too.
    if let Some(parser) = require_tool(MERMAID_PARSE) {
        let run: Run = Command::new(env!("CARGO_BIN_EXE_tritonguard"))
            .args([
                "exposure",
                "charts/triton-server",
                "--format",
                "mermaid",
                "--helm",
            ])
            .arg(&helm)
            .current_dir(&repo)
            .stdin(Stdio::null())
            .output()
            .unwrap()
            .into();
        let (parsed, out) = mermaid_parse(&parser, ok(&run), false);
        assert!(parsed, "{out}\n{}", run.stdout);
    }
}

#[test]
fn a_team_workload_kind_from_the_config_file_is_mapped() {
    // `workloads:` in the fixture's .tritonguard.yaml names the team's own kind; without the
    // config the objects hold no launch.
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accuracy/workloads/custom");
    let launches = |args: &[&str]| -> u64 {
        let run = tritonguard_in(&dir, args, None);
        let report: Value = serde_json::from_str(ok(&run)).unwrap();
        report["summary"]["launches"].as_u64().unwrap()
    };
    assert_eq!(launches(&["exposure", "--format", "json", "."]), 2);
    assert_eq!(
        launches(&["exposure", "--format", "json", "--no-config", "."]),
        0
    );
}
