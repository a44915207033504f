#!/bin/sh
# Build the image and run it on this host only: the reverse proxy in front of it handles TLS
# and authentication.
set -eu
docker build -t registry.example.com/ml/triton:prod .
docker run -d --name triton \
  --gpus device=0 --memory 16g --shm-size 1g \
  --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges \
  -e ADMIN_KEY \
  -p 127.0.0.1:8000:8000 -p 127.0.0.1:8001:8001 -p 127.0.0.1:8002:8002 \
  registry.example.com/ml/triton:prod
