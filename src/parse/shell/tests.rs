use super::*;
use crate::parse::container::{GpuCount, MountKind, PortRange};
use crate::parse::words::Resolution;

const FILE: FileId = FileId(0);

fn scan(text: &str) -> ShellScan {
    parse_script(FILE, text)
}

fn src(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

fn texts(words: &[Word]) -> Vec<&str> {
    words.iter().map(|w| w.text.as_str()).collect()
}

fn names(run: &ContainerRun) -> Vec<&str> {
    run.options.iter().map(|o| o.name.as_str()).collect()
}

fn only_run(scan: &ShellScan) -> &ContainerRun {
    assert_eq!(scan.runs.len(), 1, "{:#?}", scan.runs);
    &scan.runs[0]
}

/// The Triton quickstart command (with a concrete release in place of `<xx.yy>`).
#[test]
fn triton_quickstart() {
    let text = "docker run --gpus=1 --rm --net=host -v ${PWD}/model_repository:/models nvcr.io/nvidia/tritonserver:24.05-py3 tritonserver --model-repository=/models\n";
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let run = only_run(&scan);
    assert_eq!(run.engine, Engine::Docker);
    assert_eq!(run.subcommand, Subcommand::Run);
    assert_eq!(names(run), ["gpus", "rm", "net", "volume"]);
    assert_eq!(
        run.image.as_ref().unwrap().text,
        "nvcr.io/nvidia/tritonserver:24.05-py3"
    );
    assert_eq!(
        texts(&run.args),
        ["tritonserver", "--model-repository=/models"]
    );
    assert_eq!(src(text, run.args[1].span), "--model-repository=/models");
    let gpus = run.gpus().unwrap();
    assert_eq!(gpus.count.map(|c| c.value), Some(GpuCount::Count(1)));
    let host = run.uses_host("network").unwrap();
    assert!(host.value);
    assert_eq!(src(text, host.span), "host");
    let mounts = run.mounts();
    assert_eq!(mounts[0].kind, MountKind::Bind);
    assert!(!mounts[0].source.as_ref().unwrap().resolved);
    assert_eq!(
        src(text, mounts[0].target.as_ref().unwrap().span),
        "/models"
    );
    assert!(!mounts[0].is_read_only());
    assert_eq!(run.flag("rm").map(|f| f.value), Some(true));
    assert_eq!(src(text, run.span), text.trim_end());
}

/// Copied verbatim, the docs' `<xx.yy>` placeholder is two redirections to a shell.
#[test]
fn the_docs_placeholder_reads_as_redirections() {
    let text = "docker run --rm nvcr.io/nvidia/tritonserver:<xx.yy>-py3 tritonserver\n";
    let run = only_run(&scan(text)).clone();
    assert_eq!(run.image.unwrap().text, "nvcr.io/nvidia/tritonserver:");
    assert_eq!(texts(&run.args), ["tritonserver"]);
}

const LAUNCH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
TRITON_VERSION=${TRITON_VERSION:-24.05}
IMAGE="nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3"
MODEL_REPO="$(pwd)/model_repository"
: "${HTTP_PORT:=8000}"
GPU_ARGS="--gpus all"

docker pull "$IMAGE"
# docker run --privileged "$IMAGE"   (an old variant, commented out)
sudo docker run -d --rm --name triton \
  $GPU_ARGS \
  --shm-size=1g --ulimit memlock=-1 --ulimit stack=67108864 \
  -p ${HTTP_PORT}:8000 -p8001:8001 -p 127.0.0.1:8002:8002 \
  -v "${MODEL_REPO}":/models:ro \
  --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges \
  "$IMAGE" \
  tritonserver --model-repository=/models --model-control-mode=explicit
"#;

#[test]
fn a_launch_script_with_variables_defaults_and_continuations() {
    let scan = scan(LAUNCH);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let run = only_run(&scan);
    let image = run.image.as_ref().unwrap();
    assert_eq!(image.text, "nvcr.io/nvidia/tritonserver:24.05-py3");
    assert!(image.is_resolved());
    assert!(image.is_defaulted());
    assert_eq!(src(LAUNCH, image.span), "\"$IMAGE\"");
    match image.expansions[0].resolution {
        Resolution::Defaulted {
            defined_at: Some(at),
        } => assert!(src(LAUNCH, at).starts_with("nvcr.io")),
        other => panic!("{other:?}"),
    }

    let gpus = run.gpus().unwrap();
    assert_eq!(gpus.count.map(|c| c.value), Some(GpuCount::All));
    let ports = run.published_ports();
    assert_eq!(ports.len(), 3);
    assert_eq!(ports[0].host_port.as_ref().unwrap().text, "8000");
    assert_eq!(
        src(LAUNCH, ports[0].host_port.as_ref().unwrap().span),
        "${HTTP_PORT}"
    );
    assert_eq!(ports[1].container_range, Some(PortRange::single(8001)));
    assert_eq!(ports[1].is_loopback_only(), Some(false));
    assert_eq!(ports[2].is_loopback_only(), Some(true));
    assert_eq!(
        src(LAUNCH, ports[2].host_ip.as_ref().unwrap().span),
        "127.0.0.1"
    );

    let mounts = run.mounts();
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].kind, MountKind::Bind);
    assert_eq!(
        mounts[0].source.as_ref().unwrap().text,
        "$(pwd)/model_repository"
    );
    assert!(mounts[0].is_read_only());
    assert_eq!(
        src(LAUNCH, mounts[0].read_only.as_ref().unwrap().span),
        "ro"
    );

    let user = run.user().unwrap();
    assert_eq!(user.uid(), Some(1000));
    let drops: Vec<String> = run.cap_drop().into_iter().map(|p| p.text).collect();
    assert_eq!(drops, ["ALL"]);
    assert_eq!(run.no_new_privileges().map(|n| n.value), Some(true));
    assert_eq!(run.shm_size().unwrap().value, Some(1 << 30));
    assert_eq!(run.flag("detach").map(|f| f.value), Some(true));
    assert_eq!(run.name().unwrap().text, "triton");

    let flag = run
        .args
        .iter()
        .find(|w| w.text.starts_with("--model-control-mode"))
        .unwrap();
    assert_eq!(src(LAUNCH, flag.span), "--model-control-mode=explicit");
    assert_eq!(src(LAUNCH, flag.subspan(21..29)), "explicit");
}

#[test]
fn detached_flag_from_a_defaulted_variable() {
    let text = r#"NV_VISIBLE_DEVICES=${NVIDIA_VISIBLE_DEVICES:-"all"}
DETACHED=${DETACHED:-"-d"}
docker run --gpus $NV_VISIBLE_DEVICES --rm $DETACHED \
   -p8000:8000 \
   -e NVIDIA_VISIBLE_DEVICES=$NV_VISIBLE_DEVICES \
   -v $PWD/results/triton_models:/models \
   nvcr.io/nvidia/tritonserver:24.05-py3 tritonserver --model-store=/models --strict-model-config=false
"#;
    let scan = scan(text);
    let run = only_run(&scan);
    assert_eq!(
        names(run),
        ["gpus", "rm", "detach", "publish", "env", "volume"]
    );
    assert_eq!(src(text, run.options[2].span), "$DETACHED");
    let env = run.env();
    assert_eq!(env[0].name.text, "NVIDIA_VISIBLE_DEVICES");
    assert_eq!(env[0].value.as_ref().unwrap().text, "all");
    assert_eq!(
        run.gpus().unwrap().count.map(|c| c.value),
        Some(GpuCount::All)
    );
}

#[test]
fn engines_wrappers_and_subcommand_forms() {
    let text = r#"DOCKER=${DOCKER:-podman}
"$DOCKER" run --rm img1
exec docker container run img2
nerdctl --namespace k8s.io run -d img3
docker --context remote -H ssh://gpu-box create img4
env -u HOME FOO=1 nice -n 5 timeout 60 docker run img5
if ! docker run img6; then echo failed; fi
command -v docker >/dev/null && docker ps
docker exec -it triton bash
CID=$(docker run -d img7)
bash -lc "docker run img8 tritonserver --model-control-mode=poll"
"#;
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let images: Vec<&str> = scan
        .runs
        .iter()
        .map(|r| r.image.as_ref().unwrap().text.as_str())
        .collect();
    assert_eq!(
        images,
        [
            "img1", "img2", "img3", "img4", "img5", "img6", "img7", "img8"
        ]
    );
    let engines: Vec<Engine> = scan.runs.iter().map(|r| r.engine).collect();
    assert_eq!(engines[0], Engine::Podman);
    assert_eq!(engines[2], Engine::Nerdctl);
    assert_eq!(scan.runs[3].subcommand, Subcommand::Create);
    let nested = &scan.runs[7];
    assert_eq!(src(text, nested.args[1].span), "--model-control-mode=poll");
    assert_eq!(src(text, nested.program.span), "docker");
}

#[test]
fn short_flag_clusters_and_attached_values() {
    let text =
        "docker run -dit -p8000:8000 -eA=1 -v/srv/m:/m -itp=8001:8001 --rm=false -u 0 img cmd -x\n";
    let run = only_run(&scan(text)).clone();
    assert_eq!(
        names(&run),
        [
            "detach",
            "interactive",
            "tty",
            "publish",
            "env",
            "volume",
            "interactive",
            "tty",
            "publish",
            "rm",
            "user"
        ]
    );
    let publish = &run.options[3];
    assert_eq!(src(text, publish.flag), "-p");
    assert_eq!(src(text, publish.value.as_ref().unwrap().span), "8000:8000");
    assert_eq!(src(text, run.options[1].flag), "i");
    assert_eq!(run.options[8].value.as_ref().unwrap().text, "8001:8001");
    assert_eq!(run.flag("rm").map(|f| f.value), Some(false));
    assert_eq!(run.user().unwrap().is_root(), Some(true));
    assert_eq!(run.image.unwrap().text, "img");
    assert_eq!(texts(&run.args), ["cmd", "-x"]);
}

#[test]
fn security_and_resource_accessors() {
    let text = "docker run --privileged --read-only --ipc=host --pid host --network=bridge \
                --cap-add=SYS_ADMIN,NET_ADMIN --cap-add SYS_PTRACE -m 16g --memory-swap 20g \
                --mount type=bind,source=/srv/models,target=/models,readonly \
                --tmpfs /tmp:rw,size=64m -P --entrypoint /bin/bash --env-file .env \
                --security-opt seccomp=unconfined --security-opt=no-new-privileges:false img\n";
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let run = only_run(&scan);
    assert_eq!(run.privileged().map(|f| f.value), Some(true));
    assert_eq!(src(text, run.privileged().unwrap().span), "--privileged");
    assert_eq!(run.read_only().map(|f| f.value), Some(true));
    assert_eq!(run.uses_host("ipc").map(|f| f.value), Some(true));
    assert_eq!(run.uses_host("pid").map(|f| f.value), Some(true));
    assert_eq!(run.uses_host("network").map(|f| f.value), Some(false));
    let caps: Vec<String> = run.cap_add().into_iter().map(|p| p.text).collect();
    assert_eq!(caps, ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"]);
    assert_eq!(src(text, run.cap_add()[1].span), "NET_ADMIN");
    assert_eq!(run.memory().unwrap().value, Some(16 << 30));
    let mounts = run.mounts();
    assert_eq!(mounts.len(), 2);
    assert!(mounts[0].is_read_only());
    assert_eq!(mounts[0].source.as_ref().unwrap().text, "/srv/models");
    assert_eq!(mounts[1].kind, MountKind::Tmpfs);
    assert_eq!(run.publish_all().map(|f| f.value), Some(true));
    assert_eq!(run.entrypoint().unwrap().text, "/bin/bash");
    assert_eq!(run.env_files()[0].text, ".env");
    assert_eq!(run.no_new_privileges().map(|n| n.value), Some(false));
    assert_eq!(run.security_opts().len(), 2);
}

#[test]
fn unresolved_words_in_option_position() {
    let scan = scan(
        "docker run $DOCKER_ARGS $IMAGE tritonserver\n\
         docker run --rm $IMAGE --model-repository=/m\n\
         docker run ${EXTRA} --gpus all img\n\
         docker run \"$IMAGE\" x\n",
    );
    let first = &scan.runs[0];
    assert_eq!(texts(&first.unresolved_options), ["$DOCKER_ARGS"]);
    assert_eq!(first.image.as_ref().unwrap().text, "$IMAGE");
    assert!(!first.image.as_ref().unwrap().is_resolved());
    assert_eq!(scan.runs[1].image.as_ref().unwrap().text, "$IMAGE");
    assert_eq!(texts(&scan.runs[1].args), ["--model-repository=/m"]);
    assert_eq!(texts(&scan.runs[2].unresolved_options), ["${EXTRA}"]);
    assert_eq!(scan.runs[2].image.as_ref().unwrap().text, "img");
    assert_eq!(scan.runs[3].image.as_ref().unwrap().text, "$IMAGE");
}

#[test]
fn builds_link_tags_to_dockerfiles() {
    let text = "IMG=triton-custom\n\
                docker build -t $IMG:latest -f docker/Dockerfile.triton --build-arg VERSION=24.05 .\n\
                docker buildx build --platform linux/amd64 --push -t registry/x:1 deploy/\n\
                podman build --tag y ctx\n\
                docker build - < Dockerfile\n";
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert_eq!(scan.builds.len(), 4);
    let first = &scan.builds[0];
    assert_eq!(first.tags()[0].text, "triton-custom:latest");
    assert_eq!(first.file().unwrap().text, "docker/Dockerfile.triton");
    assert_eq!(first.context.as_ref().unwrap().text, ".");
    assert_eq!(first.build_args()[0].text, "VERSION=24.05");
    assert_eq!(first.dockerfile_candidates(), ["docker/Dockerfile.triton"]);
    assert_eq!(
        scan.builds[1].dockerfile_candidates(),
        ["deploy/Dockerfile"]
    );
    assert_eq!(
        scan.builds[2].dockerfile_candidates(),
        ["ctx/Containerfile", "ctx/Dockerfile"]
    );
    assert!(scan.builds[3].dockerfile_candidates().is_empty());
}

#[test]
fn comments_heredocs_and_other_commands_are_not_runs() {
    let text = "# docker run --privileged evil\n\
                cat > run.sh <<'EOF'\ndocker run --privileged inside-heredoc\nEOF\n\
                echo 'docker run quoted'\n\
                docker ps; docker logs -f triton\n";
    let scan = scan(text);
    assert!(scan.runs.is_empty(), "{:?}", scan.runs);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
}

#[test]
fn variables_track_assignments_exports_and_unsets() {
    let text = "export IMAGE=a\ndocker run $IMAGE\nIMAGE=b docker run $IMAGE\nunset IMAGE\ndocker run $IMAGE\nfor IMAGE in x y; do docker run $IMAGE; done\n";
    let scan = scan(text);
    let images: Vec<&str> = scan
        .runs
        .iter()
        .map(|r| r.image.as_ref().unwrap().text.as_str())
        .collect();
    // A prefix assignment applies only to its command, and not to its own words.
    assert_eq!(images, ["a", "a", "$IMAGE", "$IMAGE"]);
}

#[test]
fn malformed_commands_are_reported_and_the_rest_is_scanned() {
    let text = "docker run \"unterminated img\ndocker run --rm good1\ndocker run -p 80a:80 good2\ndocker run --rm\ndocker run --gpus\n";
    let scan = scan(text);
    let images: Vec<&str> = scan
        .runs
        .iter()
        .filter_map(|r| r.image.as_ref().map(|i| i.text.as_str()))
        .collect();
    assert_eq!(images, ["good1", "good2"]);
    let errors: Vec<(&str, String)> = scan
        .errors
        .iter()
        .map(|e| (src(text, e.span), e.kind.to_string()))
        .collect();
    assert_eq!(errors[0].0, "\"");
    assert!(matches!(
        scan.errors[0].kind,
        ShellErrorKind::Syntax(WordsErrorKind::UnterminatedDoubleQuote)
    ));
    assert_eq!(errors[1], ("80a", "invalid port `80a`".to_string()));
    assert_eq!(errors[2], ("run", "`run` without an image".to_string()));
    assert_eq!(errors[3].0, "--gpus");
    assert_eq!(errors.len(), 5);
}

#[test]
fn dangling_continuation_keeps_the_command() {
    let text = "docker run --rm img \\\n";
    let scan = scan(text);
    assert_eq!(only_run(&scan).image.as_ref().unwrap().text, "img");
    assert_eq!(src(text, scan.errors[0].span), "\\");
    assert!(matches!(
        scan.errors[0].kind,
        ShellErrorKind::Syntax(WordsErrorKind::DanglingContinuation)
    ));
}

#[test]
fn crlf_bom_and_empty_scripts() {
    let text =
        "\u{feff}#!/bin/sh\r\ndocker run --rm \\\r\n  -p 8000:8000 \\\r\n  img tritonserver\r\n";
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let run = only_run(&scan);
    assert_eq!(run.image.as_ref().unwrap().text, "img");
    assert_eq!(texts(&run.args), ["tritonserver"]);
    assert_eq!(
        src(text, run.options[1].value.as_ref().unwrap().span),
        "8000:8000"
    );
    assert_eq!(super::parse_script(FILE, ""), ShellScan::default());
    let only_a_comment = super::parse_script(FILE, "\n\n# nothing\n");
    assert!(only_a_comment.runs.is_empty() && only_a_comment.errors.is_empty());
    assert_eq!(only_a_comment.comments.len(), 1);
}

#[test]
fn a_makefile_recipe_with_make_variables() {
    let text = "TRITON_VERSION ?= 24.05\n\
                IMAGE := nvcr.io/nvidia/tritonserver:$(TRITON_VERSION)-py3 # the server\n\
                MODEL_DIR = $(CURDIR)/models\n\
                PORTS = -p 8000:8000\n\
                PORTS += -p 8002:8002\n\
                \n\
                .PHONY: serve build\n\
                build:\n\
                \tdocker build -t $(IMAGE) .\n\
                \n\
                serve: build\n\
                \t@docker run --rm --gpus all \\\n\
                \t\t$(PORTS) \\\n\
                \t\t-v $(MODEL_DIR):/models \\\n\
                \t\t$(IMAGE) tritonserver --model-repository=/models\n\
                \t-docker run --rm -e HOME=$$HOME img2\n";
    let scan = parse_makefile(FILE, text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert_eq!(
        scan.builds[0].tags()[0].text,
        "nvcr.io/nvidia/tritonserver:24.05-py3"
    );
    assert_eq!(scan.runs.len(), 2);
    let run = &scan.runs[0];
    let image = run.image.as_ref().unwrap();
    assert_eq!(image.text, "nvcr.io/nvidia/tritonserver:24.05-py3");
    assert!(image.is_defaulted());
    assert_eq!(src(text, image.span), "$(IMAGE)");
    let ports: Vec<String> = run
        .published_ports()
        .into_iter()
        .map(|p| p.container_port.text)
        .collect();
    assert_eq!(ports, ["8000", "8002"]);
    let mount = &run.mounts()[0];
    assert_eq!(mount.source.as_ref().unwrap().text, "$(CURDIR)/models");
    assert!(!mount.source.as_ref().unwrap().resolved);
    assert_eq!(src(text, run.args[1].span), "--model-repository=/models");
    let second = &scan.runs[1];
    assert_eq!(second.env()[0].value.as_ref().unwrap().text, "$HOME");
    assert_eq!(src(text, second.program.span), "docker");
}

/// Random mixes of shell syntax never panic and keep every span inside the text.
#[test]
fn arbitrary_scripts_never_panic() {
    let pieces: &[&str] = &[
        "docker run ",
        "-p ",
        "8000:8000 ",
        "-v ",
        "$X",
        "${X:-a b}",
        "\"",
        "'",
        "\\\n",
        "\n",
        "\r\n",
        "img ",
        "--gpus=",
        "all ",
        "$(",
        ")",
        "`",
        "<<EOF\n",
        "EOF\n",
        "#",
        ";",
        "&&",
        "-it",
        "--mount ",
        "type=bind,",
        "X=",
        "sudo ",
        "sh -c ",
        "é",
        "-e",
        "--",
        " ",
    ];
    for text in crate::parse::fuzz::texts(pieces, 3000, 28, 0xD1B5_4A32_D192_ED03) {
        for result in [
            parse_script(FILE, &text),
            parse_makefile(FILE, &format!("\t{text}")),
        ] {
            let len = text.len() + 1;
            let within = |span: Span| span.start <= span.end && span.end <= len;
            for error in &result.errors {
                assert!(within(error.span), "{text:?}: {error:?}");
            }
            for run in &result.runs {
                assert!(within(run.span), "{text:?}");
                let _ = (run.published_ports(), run.mounts(), run.gpus(), run.user());
            }
        }
    }
}

#[test]
fn self_doubling_variables_stay_bounded() {
    let mut text = String::from("X=abcdefgh\n");
    for _ in 0..40 {
        text.push_str("X=$X$X\n");
    }
    text.push_str("docker run \"$X\"\n");
    let scan = scan(&text);
    let image = only_run(&scan).image.as_ref().unwrap();
    assert!(image.text.len() <= 2 * crate::parse::words::MAX_VALUE_LEN);

    let mut make = String::from("V0 = 0123456789abcdef\n");
    for i in 1..40 {
        make.push_str(&format!("V{i} = $(V{})$(V{})\n", i - 1, i - 1));
    }
    make.push_str("run:\n\tdocker run $(V39)\n");
    let scan = parse_makefile(FILE, &make);
    let image = scan.runs[0].image.as_ref().unwrap();
    assert!(!image.is_resolved());
    assert!(image.text.len() <= 512 * 1024);
}

/// Model Analyzer's docker launch mode mounts the Docker socket and uses host networking.
#[test]
fn model_analyzer_sdk_container_with_the_docker_socket() {
    let text = "docker run -it --gpus all \\\n    -v /var/run/docker.sock:/var/run/docker.sock \\\n    -v $(pwd)/examples/quick-start:$(pwd)/examples/quick-start \\\n    --net=host nvcr.io/nvidia/tritonserver:24.05-py3-sdk\n";
    let scan = scan(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let run = only_run(&scan);
    let mounts = run.mounts();
    let socket = &mounts[0];
    assert_eq!(socket.kind, MountKind::Bind);
    assert_eq!(socket.source.as_ref().unwrap().text, "/var/run/docker.sock");
    assert_eq!(
        src(text, socket.source.as_ref().unwrap().span),
        "/var/run/docker.sock"
    );
    let target = mounts[1].target.as_ref().unwrap();
    assert!(!target.resolved);
    assert_eq!(src(text, target.span), "$(pwd)/examples/quick-start");
    assert!(run.args.is_empty());
    assert_eq!(run.uses_host("network").map(|h| h.value), Some(true));
}

/// Make targets that launch the server and the SDK container, as in Triton examples.
#[test]
fn makefile_targets_with_environment_variables_and_globs() {
    let text = "TRITON ?= nvcr.io/nvidia/tritonserver:24.05-py3\n\
                docker-run-triton:\n\
                \tdocker run --gpus all --rm -p 8000:8000 -p 8001:8001 -p 8002:8002 \\\n\
                \t\t-v ${PWD}/model_repository:/models \\\n\
                \t\t$(TRITON) \\\n\
                \t\ttritonserver --model-repository=/models \\\n\
                \t\t--model-control-mode=explicit \\\n\
                \t\t--load-model=*\n\
                docker-run-sdk:\n\
                \tdocker run --gpus all --rm -it --net=host -v ${PWD}:/workspace/ $(TRITON)-sdk bash\n";
    let scan = parse_makefile(FILE, text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert_eq!(scan.runs.len(), 2);
    let server = &scan.runs[0];
    assert_eq!(
        texts(&server.args),
        [
            "tritonserver",
            "--model-repository=/models",
            "--model-control-mode=explicit",
            "--load-model=*"
        ]
    );
    assert_eq!(
        src(text, server.args[2].span),
        "--model-control-mode=explicit"
    );
    let mount = &server.mounts()[0];
    assert_eq!(
        mount.source.as_ref().unwrap().text,
        "${PWD}/model_repository"
    );
    assert_eq!(mount.kind, MountKind::Bind);
    let sdk = &scan.runs[1];
    assert_eq!(
        sdk.image.as_ref().unwrap().text,
        "nvcr.io/nvidia/tritonserver:24.05-py3-sdk"
    );
    assert_eq!(texts(&sdk.args), ["bash"]);
}

fn images(scan: &ShellScan) -> Vec<&str> {
    scan.runs
        .iter()
        .filter_map(|r| r.image.as_ref().map(|i| i.text.as_str()))
        .collect()
}

#[test]
fn an_image_chosen_in_a_branch_gives_a_run_per_candidate() {
    let text = "if [ -n \"$A\" ]; then\n  IMG=a:1\nelif [ -n \"$B\" ]; then\n  IMG=b:1\nelse\n  IMG=c:1\nfi\ndocker run \"$IMG\"\n";
    let scan = scan(text);
    assert_eq!(images(&scan), ["c:1", "a:1", "b:1"]);
    // The candidate runs share one identity, and each image points at its assignment.
    assert!(
        scan.runs
            .iter()
            .all(|r| r.identity.as_deref() == Some("\"$IMG\""))
    );
    let first = scan.runs[1].image.as_ref().unwrap();
    assert_eq!(src(text, first.span), "a:1");
}

#[test]
fn a_branch_without_else_keeps_the_earlier_value_as_a_candidate() {
    let no_else = scan("IMG=a:1\nif true; then IMG=b:1; fi\ndocker run $IMG\n");
    assert_eq!(images(&no_else), ["b:1", "a:1"]);
    let case = scan_case();
    assert_eq!(images(&case), ["y:1", "x:1"], "a `*)` branch always runs");
    let reassigned = scan("if true; then IMG=b:1; else IMG=c:1; fi\nIMG=d:1\ndocker run $IMG\n");
    assert_eq!(
        images(&reassigned),
        ["d:1"],
        "a later assignment ends the choice"
    );
}

fn scan_case() -> ShellScan {
    scan("IMG=z:1\ncase \"$1\" in\n  x) IMG=x:1 ;;\n  *) IMG=y:1 ;;\nesac\ndocker run $IMG\n")
}

#[test]
fn compose_commands_name_their_files_in_order() {
    let s = scan(
        "F=gpu.yaml\ndocker compose -f compose.yaml --file=$F --env-file prod.env up -d\n\
         docker-compose -fa.yml -p demo run triton\nsudo docker compose ps\n\
         docker compose --project-directory deploy up\n",
    );
    assert_eq!(s.composes.len(), 3);
    assert_eq!(texts(&s.composes[0].files), ["compose.yaml", "gpu.yaml"]);
    assert_eq!(texts(&s.composes[0].env_files), ["prod.env"]);
    assert_eq!(texts(&s.composes[1].files), ["a.yml"]);
    assert!(s.composes[2].files.is_empty());
    assert_eq!(
        s.composes[2]
            .project_directory
            .as_ref()
            .map(|w| w.text.as_str()),
        Some("deploy")
    );
}
