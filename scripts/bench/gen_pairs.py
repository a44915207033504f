#!/usr/bin/env python3
"""Generates N files of one Triton Deployment and its Service each (half exposed through a
LoadBalancer, half hardened), 100 per folder: the correlation benchmark of docs/benchmarks.md.

    python3 scripts/bench/gen_pairs.py 10000 /tmp/gen/k10000
"""
import os,sys
n=int(sys.argv[1]); out=sys.argv[2]
os.makedirs(out,exist_ok=True)
for i in range(n):
    d=os.path.join(out,f"svc{i//100:03d}")
    os.makedirs(d,exist_ok=True)
    bad = i%2==0
    open(os.path.join(d,f"triton-{i}.yaml"),"w").write(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: triton-{i}
  namespace: ns{i%50}
  labels: {{app: triton-{i}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: triton-{i}}}
  template:
    metadata:
      labels: {{app: triton-{i}, tier: inference}}
    spec:
      securityContext:
        runAsNonRoot: {str(not bad).lower()}
        runAsUser: 1000
      containers:
        - name: triton
          image: nvcr.io/nvidia/tritonserver:{'24.03' if bad else '26.07'}-py3
          args:
            - tritonserver
            - --model-repository=/models
            - --model-control-mode={'poll' if bad else 'none'}
            - --strict-model-config=true
          ports:
            - {{containerPort: 8000, name: http}}
            - {{containerPort: 8001, name: grpc}}
            - {{containerPort: 8002, name: metrics}}
          resources:
            limits: {{memory: 8Gi, nvidia.com/gpu: 1}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          volumeMounts:
            - {{name: models, mountPath: /models, readOnly: true}}
      volumes:
        - name: models
          persistentVolumeClaim: {{claimName: models-{i}}}
---
apiVersion: v1
kind: Service
metadata:
  name: triton-{i}
  namespace: ns{i%50}
spec:
  type: {'LoadBalancer' if bad else 'ClusterIP'}
  selector: {{app: triton-{i}}}
  ports:
    - {{name: http, port: 8000, targetPort: http}}
    - {{name: grpc, port: 8001, targetPort: grpc}}
    - {{name: metrics, port: 8002, targetPort: metrics}}
""")
