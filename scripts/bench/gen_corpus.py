"""Write a deterministic benchmark corpus of Triton deployment files.

Usage: python3 scripts/bench/gen_corpus.py OUTDIR FILES [KIND]

FILES files in all, spread over the formats tritonguard reads, about half of each kind with
findings (insecure flags, root, no limits, exposed ports) and half hardened:

    k8s/deploy-NNNNN.yaml       one Deployment + Service per file (84-92 lines)  40 %
    helm/render-NNNNN.yaml      `helm template` output: `# Source:` documents     15 %
    docker/NNNNN/Dockerfile     a Triton image                                    15 %
    scripts/run-NNNNN.sh        a `docker run` script                             10 %
    compose/NNNNN/compose.yaml  a compose file                                    10 %
    models/                     model repositories: config.pbtxt per model        10 %

With KIND (k8s, helm, docker, scripts, compose or models), all FILES are of that kind (the
10,000-Dockerfile case). The same arguments always give byte-identical output. OUTDIR/manifest.txt lists the counts.
"""

import os
import sys

OUT = sys.argv[1]
TOTAL = int(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 else None

SHARES = [("k8s", 40), ("helm", 15), ("docker", 15), ("scripts", 10), ("compose", 10), ("models", 10)]
# Releases with published vulnerabilities (TG401), for the files that should have findings;
# the hardened half uses one without.
OLD_RELEASES = ["24.05", "24.10", "25.01", "25.06"]
CURRENT_RELEASE = "26.06"


# Server flags of the hardened half: no model control, no config completion, admin APIs
# behind a header.
RESTRICTED = "model-repository,logging,shared-memory,trace,statistics:admin-key=$(ADMIN_KEY)"
HARDENED_FLAGS = (
    "--model-repository=/models --model-control-mode=none --disable-auto-complete-config "
    f"--http-restricted-api={RESTRICTED} --grpc-restricted-protocol={RESTRICTED}"
)


def release(i):
    return OLD_RELEASES[i % len(OLD_RELEASES)] if bad(i) else CURRENT_RELEASE


def counts(total):
    """Files per kind; the remainder goes to k8s. A corpus of one file is one manifest."""
    if ONLY is not None:
        if ONLY not in dict(SHARES):
            sys.exit(f"unknown kind {ONLY!r}: one of {', '.join(k for k, _ in SHARES)}")
        return {ONLY: total}
    if total == 1:
        return {"k8s": 1}
    out = {kind: total * share // 100 for kind, share in SHARES}
    out["k8s"] += total - sum(out.values())
    return out


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def bad(i):
    """About half of the files of each kind have findings."""
    return i % 2 == 0


def args(i):
    if bad(i):
        return "[tritonserver, --model-repository=/models, --model-control-mode=explicit, --allow-metrics=true]"
    return "[tritonserver, " + ", ".join(f'"{f}"' for f in HARDENED_FLAGS.split()) + "]"


def security(i, indent):
    pad = " " * indent
    if bad(i):
        return f"{pad}securityContext:\n{pad}  privileged: true\n"
    return (
        f"{pad}securityContext:\n{pad}  runAsNonRoot: true\n{pad}  runAsUser: 1000\n"
        f"{pad}  allowPrivilegeEscalation: false\n{pad}  readOnlyRootFilesystem: true\n"
        f"{pad}  capabilities:\n{pad}    drop: [ALL]\n"
    )


def deployment(i, namespace):
    resources = (
        ""
        if bad(i)
        else "          resources:\n            limits: {memory: 8Gi, nvidia.com/gpu: 1}\n            requests: {cpu: '2', memory: 8Gi}\n"
    )
    service_type = "LoadBalancer" if bad(i) else "ClusterIP"
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: triton-{i}
  namespace: {namespace}
  labels:
    app.kubernetes.io/name: triton-{i}
    app.kubernetes.io/part-of: inference
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: triton-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: triton-{i}
        app.kubernetes.io/part-of: inference
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8002"
    spec:
      serviceAccountName: triton
      containers:
        - name: triton
          image: nvcr.io/nvidia/tritonserver:{release(i)}-py3
          imagePullPolicy: IfNotPresent
          args: {args(i)}
          ports:
            - containerPort: 8000
              name: http
            - containerPort: 8001
              name: grpc
            - containerPort: 8002
              name: metrics
          readinessProbe:
            httpGet:
              path: /v2/health/ready
              port: http
            initialDelaySeconds: 10
            periodSeconds: 5
          livenessProbe:
            httpGet:
              path: /v2/health/live
              port: http
            periodSeconds: 10
{security(i, 10)}{resources}          volumeMounts:
            - name: models
              mountPath: /models
              readOnly: {"false" if bad(i) else "true"}
            - name: shm
              mountPath: /dev/shm
      volumes:
        - name: models
          persistentVolumeClaim:
            claimName: models-{i % 7}
        - name: shm
          emptyDir:
            medium: Memory
            sizeLimit: 1Gi
---
apiVersion: v1
kind: Service
metadata:
  name: triton-{i}
  namespace: {namespace}
  labels:
    app.kubernetes.io/name: triton-{i}
spec:
  type: {service_type}
  selector:
    app.kubernetes.io/name: triton-{i}
  ports:
    - name: http
      port: 8000
      targetPort: http
    - name: grpc
      port: 8001
      targetPort: grpc
    - name: metrics
      port: 8002
      targetPort: metrics
"""


def dockerfile(i):
    user = "" if bad(i) else "RUN useradd --uid 1000 triton\nUSER 1000\n"
    cmd = (
        '["--model-repository=/models", "--model-control-mode=explicit"]'
        if bad(i)
        else "[" + ", ".join(f'"{f}"' for f in HARDENED_FLAGS.split()) + "]"
    )
    return f"""# syntax=docker/dockerfile:1
FROM nvcr.io/nvidia/tritonserver:{release(i)}-py3
ARG MODEL_DIR=/models
ENV MODEL_REPOSITORY=$MODEL_DIR \\
    LOG_VERBOSE=0
COPY model_repository/ $MODEL_DIR/
RUN pip install --no-cache-dir numpy==1.26.4
{user}EXPOSE 8000 8001 8002
HEALTHCHECK CMD curl -fsS http://localhost:8000/v2/health/ready || exit 1
ENTRYPOINT ["tritonserver"]
CMD {cmd}
"""


def script(i):
    if bad(i):
        ports = "-p 8000:8000 -p 8001:8001 -p 8002:8002"
        flags, server = "--privileged", "--model-control-mode=explicit"
    else:
        ports = "-p 127.0.0.1:8000:8000"
        flags = "--user 1000:1000 --read-only --cap-drop ALL --security-opt no-new-privileges --memory 8g"
        server = HARDENED_FLAGS.replace("$(ADMIN_KEY)", '"$ADMIN_KEY"')
    return f"""#!/usr/bin/env bash
set -euo pipefail
MODELS="${{MODELS:-$(pwd)/model_repository}}"
IMAGE=nvcr.io/nvidia/tritonserver:{release(i)}-py3
docker run --rm --gpus {"all" if bad(i) else "device=0"} --shm-size=1g {flags} \\
  {ports} \\
  -v "$MODELS":/models:ro \\
  "$IMAGE" \\
  tritonserver --model-repository=/models {server}
"""


def compose(i):
    if bad(i):
        ports = '      - "8000:8000"\n      - "8001:8001"\n      - "8002:8002"\n'
        command = "[tritonserver, --model-repository=/models, --model-control-mode=poll]"
        hardening = "    privileged: true\n"
    else:
        ports = '      - "127.0.0.1:8000:8000"\n'
        command = "[tritonserver, " + ", ".join(f'"{f}"' for f in HARDENED_FLAGS.split()) + "]"
        hardening = (
            '    user: "1000:1000"\n    read_only: true\n    cap_drop: [ALL]\n'
            "    security_opt: [no-new-privileges:true]\n    mem_limit: 8g\n"
        )
    return f"""services:
  triton:
    image: nvcr.io/nvidia/tritonserver:{release(i)}-py3
    command: {command}
    ports:
{ports}    volumes:
      - ./model_repository:/models:ro
    shm_size: 1g
{hardening}    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]
"""


def model_config(i):
    if bad(i):
        return f"""name: "model_{i}"
backend: "python"
max_batch_size: 8
parameters {{ key: "EXECUTION_ENV_PATH" value: {{ string_value: "/tmp/env.tar.gz" }} }}
dynamic_batching {{ }}
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
"""
    return f"""name: "model_{i}"
platform: "onnxruntime_onnx"
max_batch_size: 8
dynamic_batching {{ max_queue_delay_microseconds: 100 default_queue_policy {{ max_queue_size: 64 }} }}
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
instance_group [ {{ kind: KIND_GPU count: 1 }} ]
"""


def main():
    n = counts(TOTAL)
    for i in range(n.get("k8s", 0)):
        write(f"{OUT}/k8s/deploy-{i:05d}.yaml", deployment(i, f"ns-{i % 10}"))
    for i in range(n.get("helm", 0)):
        doc = deployment(i, "serving").replace(
            "apiVersion: apps/v1", "# Source: triton/templates/deployment.yaml\napiVersion: apps/v1"
        ).replace("---\napiVersion: v1", "---\n# Source: triton/templates/service.yaml\napiVersion: v1")
        write(f"{OUT}/helm/render-{i:05d}.yaml", "---\n" + doc)
    for i in range(n.get("docker", 0)):
        write(f"{OUT}/docker/{i:05d}/Dockerfile", dockerfile(i))
    for i in range(n.get("scripts", 0)):
        write(f"{OUT}/scripts/run-{i:05d}.sh", script(i))
    for i in range(n.get("compose", 0)):
        write(f"{OUT}/compose/{i:05d}/compose.yaml", compose(i))
    # Model repositories of 10 models each.
    for i in range(n.get("models", 0)):
        write(f"{OUT}/models/repo-{i // 10:04d}/model_{i}/config.pbtxt", model_config(i))
    with open(f"{OUT}/manifest.txt", "w") as f:
        for kind, count in sorted(n.items()):
            f.write(f"{kind} {count}\n")


main()
