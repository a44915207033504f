//! Bad input gets a positioned TG000 finding and the scan goes on; nothing panics.

mod support;

use std::fs;

use support::scratch::Scratch;

use tritonguard::evaluate::policy::Catalogue;
use tritonguard::load::Request as ScanRequest;
use tritonguard::pipeline::{scan, scan_texts};

fn catalogue() -> Catalogue {
    Catalogue::load(&[], true).unwrap_or_else(|_| panic!("built-in policies load"))
}

/// (rule, file, line) of every finding.
fn summary(result: &tritonguard::pipeline::Outcome) -> Vec<(String, String, usize)> {
    result
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                result.store.display(f.primary.span.file).to_string(),
                result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line,
            )
        })
        .collect()
}

const GOOD_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      args: [tritonserver, --model-repository=/m, --model-control-mode=explicit]\n";

#[test]
fn broken_files_are_findings_and_the_rest_is_still_checked() {
    let dir = tempdir("broken");
    fs::write(dir.join("good.yaml"), GOOD_POD).unwrap_or_default();
    fs::write(dir.join("broken.yaml"), "kind: [unclosed\n").unwrap_or_default();
    fs::write(dir.join("binary.yaml"), b"\x00\x01\x02apiVersion").unwrap_or_default();
    fs::write(dir.join("latin1.yaml"), b"kind: caf\xe9\n").unwrap_or_default();
    fs::write(dir.join("empty.yaml"), "").unwrap_or_default();
    let catalogue = catalogue();
    let mut request = ScanRequest::new(vec![dir.to_path_buf()]);
    request.base = dir.to_path_buf();
    let result = scan(&catalogue, &request, &|_| true);
    let found = summary(&result);
    assert!(
        found.contains(&("TG000".into(), "broken.yaml".into(), 1)),
        "{found:?}"
    );
    assert!(
        found.contains(&("TG000".into(), "binary.yaml".into(), 1)),
        "{found:?}"
    );
    assert!(
        found.contains(&("TG000".into(), "latin1.yaml".into(), 1)),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(r, f, _)| r == "TG101" && f == "good.yaml"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, f, _)| f == "empty.yaml"),
        "an empty file is not an error: {found:?}"
    );
    let latin1 = result
        .findings
        .iter()
        .find(|f| result.store.display(f.primary.span.file) == "latin1.yaml");
    assert!(
        latin1.is_some_and(|f| f.message.contains("offset 9")),
        "names the first invalid byte"
    );
}

#[test]
fn oversized_files_are_reported_not_read() {
    let dir = tempdir("huge");
    let mut big = String::from(GOOD_POD);
    while big.len() < 17 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    fs::write(dir.join("huge.yaml"), big).unwrap_or_default();
    let catalogue = catalogue();
    let mut request = ScanRequest::new(vec![dir.to_path_buf()]);
    request.base = dir.to_path_buf();
    let result = scan(&catalogue, &request, &|_| true);
    assert_eq!(result.findings.len(), 1);
    assert!(
        result.findings[0].message.contains("too large"),
        "{}",
        result.findings[0].message
    );
}

#[test]
fn byte_order_marks_and_crlf_keep_positions_exact() {
    let text = format!("\u{feff}{}", GOOD_POD.replace('\n', "\r\n"));
    let catalogue = catalogue();
    let result = scan_texts(
        &catalogue,
        &[("pod.yaml".to_string(), text.clone())],
        &|p| p.spec.id == "TG101",
    );
    assert_eq!(result.findings.len(), 1, "{:?}", summary(&result));
    let span = result.findings[0].primary.span;
    assert_eq!(&text[span.start..span.end], "--model-control-mode=explicit");
    assert_eq!(result.store.position(span.file, span.start).line, 8);
}

#[test]
fn hostile_yaml_does_not_hang_or_panic() {
    let catalogue = catalogue();
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        laughs.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let inputs = [
        ("laughs.yaml", laughs),
        ("deep.yaml", deep),
        ("tabs.yaml", "kind:\tPod\n\tspec: x\n".to_string()),
        ("anchors.yaml", "a: *undefined\n".to_string()),
        ("weird.yaml", "--- !!binary |\n  R0lGODlh\n...\n---\n? [complex, key]\n: value\n".to_string()),
        ("list.yaml", "apiVersion: v1\nkind: List\nitems: 7\n".to_string()),
        ("nulls.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - null\n    - name: x\n      image: ~\n      args: [tritonserver, null, 7, {a: b}]\n".to_string()),
    ];
    for (name, text) in inputs {
        let result = scan_texts(&catalogue, &[(name.to_string(), text)], &|_| true);
        for f in &result.findings {
            assert!(f.primary.span.end >= f.primary.span.start, "{name}");
        }
    }
}

fn tempdir(name: &str) -> Scratch {
    Scratch::new(&format!("robustness-{name}"))
}

/// (rule, line) of the findings of one in-memory file.
fn lines_of(name: &str, text: &str) -> Vec<(String, usize)> {
    let catalogue = catalogue();
    let result = scan_texts(&catalogue, &[(name.to_string(), text.to_string())], &|_| {
        true
    });
    result
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                result
                    .store
                    .position(f.primary.span.file, f.primary.span.start)
                    .line,
            )
        })
        .collect()
}

#[test]
fn malformed_scripts_and_dockerfiles_give_positioned_parse_errors() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "run.sh",
            "#!/bin/sh\necho ok\ndocker run -p 8000:8000 \"nvcr.io/nvidia/tritonserver:24.10-py3 tritonserver\n",
            3,
        ),
        ("run.sh", "docker run --rm \\\n", 1),
        (
            "Dockerfile",
            "FROM nvcr.io/nvidia/tritonserver:24.10-py3\nRUN <<EOF\necho never closed\n",
            2,
        ),
        (
            "Dockerfile",
            "FROM nvcr.io/nvidia/tritonserver:24.10-py3\nCMD tritonserver \\",
            2,
        ),
        ("Dockerfile", "", 1),
        (
            "Dockerfile",
            "RUN echo before from\nFROM nvcr.io/nvidia/tritonserver:24.10-py3\n",
            1,
        ),
        (
            "Makefile",
            "run:\n\tdocker run -p 8000:8000 'nvcr.io/nvidia/tritonserver:24.10-py3\n",
            2,
        ),
        (
            "compose.yaml",
            "services:\n  triton:\n    image: [nvcr.io/nvidia/tritonserver\n",
            3,
        ),
        (
            "models/m/config.pbtxt",
            "name: \"m\"\ninput [ { name: \"x\n",
            2,
        ),
    ];
    for (name, text, line) in cases {
        let found = lines_of(name, text);
        let parse_errors: Vec<_> = found
            .iter()
            .filter(|(r, _)| r == "TG000" || r == "TG501")
            .collect();
        assert!(
            parse_errors.iter().any(|(_, l)| l == line),
            "{name} {text:?}: {found:?}"
        );
    }
}

#[test]
fn crlf_and_bom_keep_positions_in_every_format() {
    let script = "\u{feff}#!/bin/sh\r\ndocker run --rm \\\r\n  nvcr.io/nvidia/tritonserver:26.07-py3 \\\r\n  tritonserver --model-repository=s3://m --model-control-mode=poll\r\n";
    let dockerfile = "\u{feff}FROM nvcr.io/nvidia/tritonserver:26.07-py3\r\nCMD [\"tritonserver\", \"--model-repository=s3://m\", \\\r\n     \"--model-control-mode=poll\"]\r\n";
    let compose = "\u{feff}services:\r\n  triton:\r\n    image: nvcr.io/nvidia/tritonserver:26.07-py3\r\n    command: [tritonserver, --model-repository=s3://m, --model-control-mode=poll]\r\n";
    for (name, text, line, needle) in [
        ("run.sh", script, 4, "--model-control-mode=poll"),
        ("Dockerfile", dockerfile, 3, "\"--model-control-mode=poll\""),
        ("compose.yaml", compose, 4, "--model-control-mode=poll"),
    ] {
        let catalogue = catalogue();
        let result = scan_texts(&catalogue, &[(name.to_string(), text.to_string())], &|p| {
            p.spec.id == "TG101" || p.spec.id == "TG000"
        });
        let f = result.findings.iter().find(|f| f.rule_id == "TG101");
        let Some(f) = f else {
            panic!(
                "{name}: {:?}",
                result
                    .findings
                    .iter()
                    .map(|f| &f.message)
                    .collect::<Vec<_>>()
            )
        };
        assert_eq!(
            &text[f.primary.span.start..f.primary.span.end],
            needle,
            "{name}"
        );
        assert_eq!(
            result
                .store
                .position(f.primary.span.file, f.primary.span.start)
                .line,
            line,
            "{name}"
        );
        assert!(
            !result.findings.iter().any(|f| f.rule_id == "TG000"),
            "{name}: no parse error"
        );
    }
}

#[test]
fn empty_files_of_every_kind_are_quiet_or_explained() {
    for name in [
        "run.sh",
        "compose.yaml",
        "deploy.yaml",
        "Makefile",
        "models/m/config.pbtxt",
    ] {
        let found = lines_of(name, "");
        assert!(found.is_empty(), "{name}: {found:?}");
    }
    // A Dockerfile without instructions cannot be built: say so.
    assert_eq!(lines_of("Dockerfile", ""), vec![("TG000".to_string(), 1)]);
}

#[test]
fn a_file_full_of_errors_reports_twenty_and_sums_up_the_rest() {
    let text: String = (0..50)
        .map(|i| format!("NOT_AN_INSTRUCTION {i}\n"))
        .collect();
    let found = lines_of(
        "Dockerfile",
        &format!("FROM nvcr.io/nvidia/tritonserver:26.07-py3\n{text}"),
    );
    let parse_errors: Vec<_> = found.iter().filter(|(r, _)| r == "TG000").collect();
    assert_eq!(parse_errors.len(), 21, "{found:?}");
    assert_eq!(parse_errors[20].1, 22, "the summary sits at the 21st error");
}

/// Values the files leave to the environment (`$ARGS`, `${PORT}`, `$(FLAGS)`) make facts
/// unknown (`null`); every built-in policy must still decide, never fail on a null. A run
/// script passing `$TRITON_ARGS` before `--model-control-mode=explicit` made TG101 fail with
/// "no matching overload for '!_'" (found by the `check` fuzz target).
#[test]
fn launches_whose_facts_are_unknown_are_evaluated_by_every_policy() {
    let inputs = [
        (
            "run.sh",
            "#!/bin/sh\ndocker run $DOCKER_OPTS --user $UID -p $PORT:8000 -p $METRICS:8002 \\\n  -v $SRC:$DST --shm-size $SHM --gpus $GPUS $IMAGE \\\n  tritonserver $TRITON_ARGS --model-repository=$REPO --model-control-mode=explicit\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  triton:\n    image: ${IMAGE}\n    user: ${USER_ID}\n    command: [\"tritonserver\", \"${ARGS}\", \"--model-control-mode=${MODE}\", \"--http-port=${PORT}\"]\n    ports: [\"${P}:8000\", \"${M}:8002\"]\n    volumes: [\"${SRC}:${DST}\"]\n    shm_size: ${SHM}\n    cap_drop: [\"${CAP}\"]\n",
        ),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: triton}\nspec:\n  template:\n    metadata: {labels: {app: t}}\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:24.10-py3\n          command: [sh, -c, \"tritonserver $(FLAGS) --model-control-mode=explicit --http-port=$HTTP_PORT\"]\n          env:\n            - name: FLAGS\n              valueFrom: {configMapKeyRef: {name: flags, key: flags}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: triton}\nspec:\n  type: LoadBalancer\n  selector: {app: t}\n  ports: [{port: 80, targetPort: $(PORT)}]\n",
        ),
        (
            "Dockerfile",
            "ARG BASE\nFROM ${BASE}\nARG USER\nUSER ${USER}\nENTRYPOINT [\"tritonserver\", \"${FLAGS}\"]\nCMD tritonserver $FLAGS --model-control-mode=$MODE\n",
        ),
    ];
    let catalogue = catalogue();
    for (name, text) in inputs {
        let result = scan_texts(&catalogue, &[(name.to_string(), text.to_string())], &|_| {
            true
        });
        let errors: Vec<String> = result
            .findings
            .iter()
            .filter(|f| f.rule_id == "TG004")
            .map(|f| f.message.clone())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert!(
            !result.findings.is_empty(),
            "{name}: the launch was not checked at all"
        );
    }
}
