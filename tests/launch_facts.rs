//! Facts policies decide from (issue 10 item 3): one effective user for every format, and the
//! reach and authentication of each route, as `tritonguard inspect` shows them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

mod support;

use serde_json::Value;
use support::cli::tritonguard;

/// The launches `inspect` finds in `files`, written into a temporary directory.
fn launches(files: &[(&str, &str)]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    let run = tritonguard(&[
        "inspect",
        "--subject",
        "launch",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["launch"].clone())
        .collect()
}

fn by_format<'a>(launches: &'a [Value], format: &str) -> &'a Value {
    launches
        .iter()
        .find(|l| l["source"]["format"] == format)
        .unwrap_or_else(|| panic!("no {format} launch in {launches:?}"))
}

#[test]
fn the_effective_user_is_one_fact_for_every_format() {
    let all = launches(&[
        (
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: triton}\nspec:\n  securityContext: {runAsUser: 0}\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      args: [tritonserver, --model-repository=/models]\n      securityContext: {runAsUser: 1000, runAsNonRoot: true}\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  triton:\n    image: nvcr.io/nvidia/tritonserver:24.10-py3\n    command: [tritonserver, --model-repository=/models]\n    user: \"0:0\"\n",
        ),
        (
            "run.sh",
            "docker run -u triton-server nvcr.io/nvidia/tritonserver:24.10-py3 tritonserver --model-repository=/models\n",
        ),
        (
            "Dockerfile",
            "FROM nvcr.io/nvidia/tritonserver:24.10-py3\nUSER 1000:1000\nCMD [\"tritonserver\", \"--model-repository=/models\"]\n",
        ),
    ]);
    let user = |format: &str| by_format(&all, format)["container"]["effective_user"].clone();
    let k8s = user("kubernetes");
    assert_eq!(
        (&k8s["source"], &k8s["uid"], &k8s["kubelet_refuses_root"]),
        (&"runAsUser".into(), &1000.into(), &true.into()),
        "the container's runAsUser wins over the pod's: {k8s}"
    );
    let compose = user("compose");
    assert_eq!(
        (&compose["source"], &compose["uid"], &compose["written"]),
        (&"compose user".into(), &0.into(), &"0:0".into()),
        "{compose}"
    );
    let shell = user("shell");
    assert_eq!(
        (&shell["source"], &shell["uid"], &shell["name"]),
        (&"--user".into(), &Value::Null, &"triton-server".into()),
        "{shell}"
    );
    let dockerfile = user("dockerfile");
    assert_eq!(
        (&dockerfile["source"], &dockerfile["uid"]),
        (&"USER".into(), &1000.into()),
        "{dockerfile}"
    );
    assert_eq!(dockerfile["image_default_root"], true, "NVIDIA's image");
}

#[test]
fn each_route_says_what_authenticates_it() {
    let all = launches(&[(
        "triton.yaml",
        r#"apiVersion: v1
kind: Pod
metadata: {name: triton, labels: {app: triton}}
spec:
  containers:
    - name: triton
      image: nvcr.io/nvidia/tritonserver:24.10-py3
      args: [tritonserver, --model-repository=/models]
---
apiVersion: v1
kind: Service
metadata: {name: triton}
spec:
  selector: {app: triton}
  ports:
    - {name: http, port: 8000}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: guarded
  annotations: {nginx.ingress.kubernetes.io/auth-url: "https://auth.example/verify"}
spec:
  rules:
    - http:
        paths:
          - {path: /a, pathType: Prefix, backend: {service: {name: triton, port: {number: 8000}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: open}
spec:
  rules:
    - http:
        paths:
          - {path: /b, pathType: Prefix, backend: {service: {name: triton, port: {number: 8000}}}}
"#,
    )]);
    let routes = by_format(&all, "kubernetes")["exposure"]["http"]["routes"]
        .as_array()
        .unwrap()
        .clone();
    let route = |name: &str| {
        routes
            .iter()
            .find(|r| r["name"] == name && r["kind"] == "Ingress")
            .unwrap_or_else(|| panic!("no Ingress {name} in {routes:?}"))
            .clone()
    };
    let guarded = route("guarded");
    assert_eq!(guarded["reach"], "internet");
    assert_eq!(
        guarded["auth"],
        serde_json::json!([{
            "kind": "ingress-auth-annotation",
            "name": "nginx.ingress.kubernetes.io/auth-url",
            "scope": "route"
        }])
    );
    assert_eq!(route("open")["auth"], serde_json::json!([]));
    let service = routes.iter().find(|r| r["kind"] == "Service").unwrap();
    assert_eq!(
        (&service["reach"], &service["auth"]),
        (&"cluster".into(), &serde_json::json!([]))
    );
}

/// A variable whose value the files do not give (a Secret, an env file that is not read) is
/// unknown, not unset: `${MODE:-none}` is then unknown too, never the default.
#[test]
fn a_variable_set_to_an_unknown_value_is_not_its_default() {
    let secret = launches(&[(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: triton}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      command: [sh, -c, 'tritonserver --model-repository=/models --model-control-mode=${MODE:-none}']\n      env:\n        - name: MODE\n          valueFrom: {secretKeyRef: {name: triton, key: mode}}\n",
    )]);
    assert_eq!(secret[0]["server"]["model_control_mode"], Value::Null);
    let unset = launches(&[(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: triton}\nspec:\n  containers:\n    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n      command: [sh, -c, 'tritonserver --model-repository=/models --model-control-mode=${MODE:-none}']\n",
    )]);
    assert_eq!(unset[0]["server"]["model_control_mode"], "none");

    // The second env file is outside the project folder and not read: it may override MODE.
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(dir.path().join("outside.env"), "MODE=poll\n").unwrap();
    std::fs::write(project.join("triton.env"), "MODE=none\n").unwrap();
    let compose = "services:\n  triton:\n    image: nvcr.io/nvidia/tritonserver:24.10-py3\n    command: [sh, -c, 'tritonserver --model-repository=/models --model-control-mode=$${MODE:-none}']\n    env_file: [triton.env, ENV_FILE]\n";
    let run = |env_file: &str| {
        std::fs::write(
            project.join("compose.yaml"),
            compose.replace("ENV_FILE", env_file),
        )
        .unwrap();
        let run = tritonguard(&[
            "inspect",
            "--subject",
            "launch",
            &project.display().to_string(),
        ]);
        let value: Value = serde_json::from_str(&run.stdout).unwrap();
        value[0]["launch"]["server"]["model_control_mode"].clone()
    };
    assert_eq!(run("../outside.env"), Value::Null);
    // A file that does not exist sets nothing (compose skips it with `required: false`).
    assert_eq!(run("{path: missing.env, required: false}"), "none");
}
