#!/usr/bin/env bash
# Start Triton for the team's demo models: the quickstart command, grown over time.
set -euo pipefail

TRITON_VERSION="${TRITON_VERSION:-24.10}"
MODEL_DIR="${MODEL_DIR:-$PWD/model_repository}"

docker run -d --name triton --restart unless-stopped \
  --gpus all --shm-size=1g \
  -p 8000:8000 -p 8001:8001 -p 8002:8002 \
  -v "$MODEL_DIR:/models" \
  "nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3" \
  tritonserver --model-repository=/models \
    --model-control-mode=poll --repository-poll-secs=30 \
    --log-verbose=1
