//! Parse speed of the Dockerfile, shell and Makefile parsers on large generated inputs.
//! Run with `cargo bench --bench parse_speed`; under `cargo test` it runs on small inputs as a
//! smoke test.

#![expect(
    clippy::print_stdout,
    reason = "a bench script reports its measurements"
)]

use std::time::Instant;

use tritonguard::parse::dockerfile::{effective_config, parse_dockerfile};
use tritonguard::parse::shell::{parse_makefile, parse_script};
use tritonguard::source::FileId;

fn script(blocks: usize) -> String {
    let mut text = String::from("#!/usr/bin/env bash\nset -euo pipefail\n");
    for i in 0..blocks {
        text.push_str(&format!(
            r#"TRITON_VERSION_{i}=${{TRITON_VERSION:-24.{m:02}}}
IMAGE_{i}="nvcr.io/nvidia/tritonserver:${{TRITON_VERSION_{i}}}-py3"
: "${{HTTP_PORT_{i}:=80{m:02}}}"
# launch server {i}
if [ -n "${{DEBUG:-}}" ]; then echo "starting {i}" >&2; fi
CID_{i}=$(sudo docker run -d --rm --name "triton-{i}" \
  --gpus '"device=0,1"' --shm-size=1g --ulimit memlock=-1 --ulimit stack=67108864 \
  -p ${{HTTP_PORT_{i}}}:8000 -p8001:8001 -p 127.0.0.1:8002:8002 \
  -v "$(pwd)/model_repository":/models:ro --mount type=bind,source=/srv/cache,target=/cache \
  --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges -e LOG_LEVEL=info \
  "$IMAGE_{i}" \
  tritonserver --model-repository=/models --model-control-mode=explicit --log-verbose=0)
docker logs "$CID_{i}" 2>&1 | tail -n 20
"#,
            m = i % 12
        ));
    }
    text
}

fn dockerfile(stages: usize) -> String {
    let mut text = String::from(
        "# syntax=docker/dockerfile:1.7\nARG BASE=nvcr.io/nvidia/tritonserver:24.05-py3\n",
    );
    for i in 0..stages {
        text.push_str(&format!(
            r#"FROM ${{BASE}} AS stage{i}
ARG PIP_INDEX=https://pypi.org/simple
ENV MODEL_REPO=/models \
    LOG_VERBOSE=0 \
    PATH="/opt/tritonserver/bin:${{PATH}}"
LABEL org.opencontainers.image.title="triton {i}" version="1.{i}"
RUN --mount=type=cache,target=/root/.cache apt-get update && \
    # tools for the health check
    apt-get install -y --no-install-recommends curl jq && \
    rm -rf /var/lib/apt/lists/*
RUN <<PIP
set -e
pip install --index-url "$PIP_INDEX" tritonclient[all]
PIP
COPY --chown=1000:1000 model_repository ${{MODEL_REPO}}
WORKDIR /opt/tritonserver
EXPOSE 8000 8001 8002/tcp
USER 1000:1000
HEALTHCHECK --interval=30s CMD curl -f localhost:8000/v2/health/ready || exit 1
CMD ["tritonserver", "--model-repository=/models", "--model-control-mode=explicit"]
"#
        ));
    }
    text
}

fn makefile(targets: usize) -> String {
    let mut text = String::from(
        "TRITON_VERSION ?= 24.05\nIMAGE := nvcr.io/nvidia/tritonserver:$(TRITON_VERSION)-py3\n",
    );
    for i in 0..targets {
        text.push_str(&format!(
            "serve{i}:\n\t@docker run --rm --gpus all -p 8000:8000 \\\n\t\t-v $(CURDIR)/models:/models \\\n\t\t$(IMAGE) tritonserver --model-repository=/models\n\n"
        ));
    }
    text
}

fn measure(name: &str, text: &str, parse: impl Fn(&str) -> usize) {
    let rounds = 20;
    let mut found = parse(text);
    let start = Instant::now();
    for _ in 0..rounds {
        found = parse(text);
    }
    let elapsed = start.elapsed().as_secs_f64() / f64::from(rounds);
    let kb = text.len() as f64 / 1024.0;
    println!(
        "{name:<12} {kb:>8.0} KB  {:>8.2} ms/parse  {:>6.1} µs/KB  ({found} found)",
        elapsed * 1e3,
        elapsed * 1e6 / kb
    );
}

fn main() {
    let scale = if std::env::args().any(|a| a == "--bench") {
        100
    } else {
        1
    };
    let script = script(15 * scale);
    measure("script", &script, |t| parse_script(FileId(0), t).runs.len());
    let makefile = makefile(60 * scale);
    measure("makefile", &makefile, |t| {
        parse_makefile(FileId(0), t).runs.len()
    });
    let dockerfile = dockerfile(12 * scale);
    measure("dockerfile", &dockerfile, |t| {
        parse_dockerfile(FileId(0), t).instructions.len()
    });
    measure("df+config", &dockerfile, |t| {
        let df = parse_dockerfile(FileId(0), t);
        effective_config(&df).map_or(0, |c| c.env.len())
    });
}
