//! Pod templates of Kubernetes workloads, and a Launch for every container in them that runs
//! tritonserver: argv, image, merged security context, resources and volume mounts.

use std::collections::BTreeMap;

use crate::extract::workload_kinds::{WorkloadKind, find_pods};
use crate::model::argv::{self, expand_k8s_refs};
use crate::model::image::parse_image;
use crate::model::k8s::{K8sObject, string_map};
use crate::model::launch::{
    At, Capabilities, Container, EffectiveUser, Fact, Launch, LaunchSource, ModelRepository, Mount,
    Resources, Server,
};
use crate::model::launchers;
use crate::model::quantity;
use crate::model::server::ArgWord;
use crate::model::user::{UserSetting, UserSource, effective_user};
use crate::model::yaml_words::arg_word;
use crate::source::{SourceStore, Span};
use crate::tree::Node;

/// A pod template inside a workload object.
pub struct PodTemplate<'a> {
    pub object: &'a K8sObject,
    pub spec: &'a Node,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Where the template is in the object, for objects that hold more than one
    /// (`spec.workerGroupSpecs[0].template`); `None` for the only one.
    pub place: Option<String>,
}

/// Every pod template (or PodSpec) of a workload: built-in kinds, custom resources that
/// embed pods, and the team's own kinds (`extra`, from `.tritonguard.yaml`).
pub fn pod_templates<'a>(object: &'a K8sObject, extra: &[WorkloadKind]) -> Vec<PodTemplate<'a>> {
    let found = find_pods(object, extra);
    let several = found.len() > 1;
    found
        .into_iter()
        .map(|pod| {
            let (labels, annotations) = match pod.metadata {
                Some(meta) => (
                    string_map(meta.get("labels")),
                    string_map(meta.get("annotations")),
                ),
                None if pod.path == "spec" => (object.labels(), object.annotations()),
                // A PodSpec inside a custom resource: its operator labels the pods.
                None => (Vec::new(), Vec::new()),
            };
            PodTemplate {
                object,
                spec: pod.spec,
                labels,
                annotations,
                place: several.then_some(pod.path),
            }
        })
        .collect()
}

/// A container port of the pod, for matching Services and routes.
#[derive(Clone, Debug)]
pub struct PodPort {
    pub container: String,
    pub name: Option<String>,
    pub number: i64,
    pub host_port: Option<(i64, Option<Span>)>,
    pub span: Option<Span>,
}

/// A container running next to tritonserver in the same pod.
#[derive(Clone, Debug)]
pub struct Sidecar {
    pub name: String,
    pub image: String,
    /// Its command and args, joined, to find an auth proxy's upstream.
    pub command_line: String,
    pub ports: Vec<i64>,
    pub span: Option<Span>,
}

/// What exposure and auth need to know about the pod a Launch runs in.
#[derive(Clone, Debug)]
pub struct PodFacts {
    pub namespace: String,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub host_network: Option<(bool, Option<Span>)>,
    pub ports: Vec<PodPort>,
    pub sidecars: Vec<Sidecar>,
}

/// A Launch before exposure and auth are computed from the rest of the scan.
#[derive(Clone, Debug)]
pub struct LaunchDraft {
    pub launch: Launch,
    pub pod: PodFacts,
    /// The object (YAML document or list item) the launch was read from.
    pub extent: Span,
}

/// The Launches of one workload object.
pub fn launches(
    object: &K8sObject,
    store: &SourceStore,
    display: &str,
    format: &str,
) -> Vec<LaunchDraft> {
    launches_of_kinds(object, &[], store, display, format)
}

/// The Launches of one workload object, with the team's own kinds (`workloads:` of
/// `.tritonguard.yaml`) besides the built-in ones. A launch of an object with several pod
/// templates names the template in its id (`RayCluster/ns/r/spec.headGroupSpec.template/triton`).
pub fn launches_of_kinds(
    object: &K8sObject,
    extra: &[WorkloadKind],
    store: &SourceStore,
    display: &str,
    format: &str,
) -> Vec<LaunchDraft> {
    let mut drafts = Vec::new();
    for template in pod_templates(object, extra) {
        let mut found = launches_in_pod_spec(
            object,
            template.spec,
            template.labels,
            template.annotations,
            store,
            display,
            format,
        );
        if let Some(place) = &template.place {
            for draft in &mut found {
                let container = draft.launch.source.container.clone().unwrap_or_default();
                draft.launch.id = format!("{}/{place}/{container}", object.identity());
            }
        }
        drafts.extend(found);
    }
    drafts
}

/// The Launches of a pod spec (also used for KServe resources that embed container lists).
pub fn launches_in_pod_spec(
    object: &K8sObject,
    spec: &Node,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    store: &SourceStore,
    display: &str,
    format: &str,
) -> Vec<LaunchDraft> {
    let mut containers: Vec<(&Node, bool)> = Vec::new();
    for c in spec
        .get("initContainers")
        .map(Node::as_list)
        .unwrap_or_default()
    {
        containers.push((c, true));
    }
    for c in spec
        .get("containers")
        .map(Node::as_list)
        .unwrap_or_default()
    {
        containers.push((c, false));
    }
    let ports = pod_ports(&containers);
    let host_network = spec
        .get("hostNetwork")
        .and_then(|n| n.as_k8s_bool().map(|b| (b, n.label_span())));
    let mut drafts = Vec::new();
    for (container, init) in &containers {
        let Some(launch) = container_launch(object, spec, container, *init, store, display, format)
        else {
            continue;
        };
        let own_name = launch.container.value.name.clone().unwrap_or_default();
        let sidecars = containers
            .iter()
            .filter(|(c, init)| {
                !init && c.get("name").and_then(Node::as_str) != Some(own_name.as_str())
            })
            .map(|(c, _)| sidecar(c))
            .collect();
        drafts.push(LaunchDraft {
            launch,
            pod: PodFacts {
                namespace: object.namespace_or_default().to_string(),
                labels: labels.clone(),
                annotations: annotations.clone(),
                host_network,
                ports: ports.clone(),
                sidecars,
            },
            extent: object.extent,
        });
    }
    drafts
}

fn pod_ports(containers: &[(&Node, bool)]) -> Vec<PodPort> {
    let mut out = Vec::new();
    for (c, _) in containers {
        let container = c.get("name").and_then(Node::as_str).unwrap_or_default();
        for p in c.get("ports").map(Node::as_list).unwrap_or_default() {
            let Some(number) = p.get("containerPort").and_then(port_number) else {
                continue;
            };
            let host_port = p
                .get("hostPort")
                .and_then(|h| port_number(h).map(|n| (n, h.label_span())));
            out.push(PodPort {
                container: container.to_string(),
                name: p.get("name").and_then(Node::as_str).map(str::to_string),
                number,
                host_port,
                span: p.item_span(),
            });
        }
    }
    out
}

fn port_number(node: &Node) -> Option<i64> {
    node.as_i64()
        .or_else(|| node.as_str().and_then(|s| s.parse().ok()))
}

fn sidecar(c: &Node) -> Sidecar {
    let mut words: Vec<String> = Vec::new();
    for key in ["command", "args"] {
        for w in c.get(key).map(Node::as_list).unwrap_or_default() {
            if let Some(t) = w.as_scalar_text() {
                words.push(t);
            }
        }
    }
    Sidecar {
        name: c
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string(),
        image: c
            .get("image")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string(),
        command_line: words.join(" "),
        ports: c
            .get("ports")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.get("containerPort").and_then(port_number))
            .collect(),
        span: c.get("name").and_then(Node::label_span).or(c.span),
    }
}

/// The container's environment: literal values, and `None` for values from elsewhere.
fn container_env(container: &Node) -> BTreeMap<String, Option<String>> {
    let mut env = BTreeMap::new();
    for e in container.get("env").map(Node::as_list).unwrap_or_default() {
        let Some(name) = e.get("name").and_then(Node::as_str) else {
            continue;
        };
        let value = if e.get("valueFrom").is_some() {
            None
        } else {
            Some(
                e.get("value")
                    .and_then(Node::as_scalar_text)
                    .unwrap_or_default(),
            )
        };
        env.insert(name.to_string(), value);
    }
    env
}

fn container_launch(
    object: &K8sObject,
    pod_spec: &Node,
    container: &Node,
    init: bool,
    store: &SourceStore,
    display: &str,
    format: &str,
) -> Option<Launch> {
    let name = container
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let anchor = container
        .get("name")
        .and_then(Node::label_span)
        .or(container.span);
    let image_node = container.get("image");
    let image_text = image_node
        .and_then(Node::as_scalar_text)
        .unwrap_or_default();
    let mut image = parse_image(
        &image_text,
        image_node.and_then(Node::label_span).or(anchor),
    );
    let env = container_env(container);

    let command = container.get("command");
    let args = container.get("args");
    let mut words: Vec<ArgWord> = Vec::new();
    for list in [command, args].into_iter().flatten() {
        for item in list.as_list() {
            // A patched value (kustomize) is written in another file than the object.
            let text = item
                .span
                .and_then(|s| store.get(s.file))
                .map(|f| &*f.text)
                .unwrap_or("");
            let mut word = arg_word(item, text);
            let (expanded, unresolved) = expand_k8s_refs(&word.text, &env);
            if expanded != word.text {
                word.pieces.clear();
                word.origin = None;
                word.text = expanded;
            }
            word.unresolved |= unresolved;
            words.push(word);
        }
    }
    let argv_node = args.or(command);
    let argv_anchor = argv_node
        .and_then(Node::label_span)
        .or_else(|| argv::argv_anchor(&words))
        .or(anchor);
    let literal_env: BTreeMap<String, String> = env
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();

    let invocation = argv::find_invocation(&words, &env).or_else(|| {
        // A Triton image whose args are only flags: an entrypoint that runs tritonserver.
        let flags_only = command.is_none()
            && !words.is_empty()
            && words.first().is_some_and(|w| w.text.starts_with("--"));
        (image.is_triton && flags_only).then(|| argv::Invocation::tritonserver(words.clone()))
    });
    let server = match invocation {
        Some(invocation) => launchers::server_settings(&invocation, argv_anchor, &literal_env),
        // A Triton image that runs something else (an init container copying models).
        None if image.is_triton && words.is_empty() && !init => Server::default(),
        None => return None,
    };
    // A container that runs `tritonserver` is a Triton launch whatever its image is called.
    image.is_triton |= server.invoked;

    let pod_security = pod_spec.get("securityContext");
    let container_security = container.get("securityContext");
    let container_facts = security(
        &name,
        anchor,
        pod_spec,
        pod_security,
        container_security,
        container.get("resources"),
        &image,
    );
    let mut container_facts = container_facts;
    container_facts.probes = crate::extract::probes::probes(container, anchor, object);
    container_facts.shm = crate::extract::shared_memory::kubernetes(
        container,
        pod_spec,
        &container_facts.host_ipc,
        anchor,
    );
    let (mounts, model_repositories) =
        mounts_and_repositories(container, pod_spec, &server, &container_facts);

    let mut env_facts = BTreeMap::new();
    for e in container.get("env").map(Node::as_list).unwrap_or_default() {
        if let Some(k) = e.get("name").and_then(Node::as_str) {
            let value = e.get("value").and_then(Node::as_scalar_text);
            env_facts.insert(
                k.to_string(),
                Fact {
                    value,
                    span: e.span,
                },
            );
        }
    }

    Some(Launch {
        id: format!("{}/{}", object.identity(), name),
        source: LaunchSource {
            format: format.to_string(),
            file: display.to_string(),
            object: Some(object.identity()),
            container: Some(name.clone()),
            helm_template: object.helm_template.clone(),
            runtime: true,
        },
        image: At {
            value: image,
            span: image_node.and_then(Node::label_span).or(anchor),
        },
        server,
        container: At {
            value: container_facts,
            span: anchor,
        },
        mounts,
        model_repositories,
        env: env_facts,
        unknown_fields: if format == "kserve" || !crate::extract::k8s_schema::is_pod_spec(object) {
            Vec::new()
        } else {
            crate::extract::k8s_schema::unknown_fields(pod_spec, container)
        },
        ..Launch::default()
    })
}

fn bool_fact(node: Option<&Node>, fallback: Option<Span>, default: Option<bool>) -> Fact<bool> {
    match node {
        Some(n) => Fact {
            value: n.as_k8s_bool(),
            span: n.label_span(),
        },
        None => Fact {
            value: default,
            span: fallback,
        },
    }
}

/// Container and pod security contexts merged as the kubelet merges them: user settings
/// from the container override the pod's; the rest exist only per container.
fn security(
    name: &str,
    anchor: Option<Span>,
    pod_spec: &Node,
    pod_sc: Option<&Node>,
    sc: Option<&Node>,
    resources: Option<&Node>,
    image: &crate::model::launch::Image,
) -> Container {
    let sc_anchor = sc.and_then(Node::label_span).or(anchor);
    let pick = |key: &str| -> Option<&Node> {
        sc.and_then(|s| s.get(key))
            .or_else(|| pod_sc.and_then(|s| s.get(key)))
    };
    let user_node = pick("runAsUser");
    let uid = match user_node {
        Some(n) => Fact {
            value: n.as_i64(),
            span: n.label_span(),
        },
        None => Fact::unknown(sc_anchor),
    };
    let run_as_non_root = bool_fact(pick("runAsNonRoot"), sc_anchor, None);
    let effective_user = effective_user(
        user_node.map(|n| UserSetting {
            text: n.as_i64().map(|uid| uid.to_string()),
            source: UserSource::RunAsUser,
            span: n.label_span(),
        }),
        run_as_non_root.value,
        image.default_user_root,
        run_as_non_root.span.or(sc_anchor),
    );
    let runs_as_root = EffectiveUser::runs_as_root_fact(&effective_user);
    let privileged = bool_fact(sc.and_then(|s| s.get("privileged")), sc_anchor, Some(false));
    let capabilities_node = sc.and_then(|s| s.get("capabilities"));
    let cap_list = |key: &str| -> Fact<Vec<Fact<String>>> {
        match capabilities_node.and_then(|c| c.get(key)) {
            Some(list) => Fact::known(
                list.as_list()
                    .iter()
                    .map(|c| Fact {
                        value: c
                            .as_scalar_text()
                            .map(|t| t.trim_start_matches("CAP_").to_ascii_uppercase()),
                        span: c.span,
                    })
                    .collect(),
                list.label_span(),
            ),
            None => Fact::known(
                Vec::new(),
                capabilities_node.and_then(Node::label_span).or(sc_anchor),
            ),
        }
    };
    let host = |key: &str| bool_fact(pod_spec.get(key), None, Some(false));
    let seccomp = pick("seccompProfile");
    Container {
        name: Some(name.to_string()),
        user: Fact {
            value: user_node.and_then(Node::as_scalar_text),
            span: uid.span,
        },
        uid,
        run_as_non_root,
        runs_as_root,
        effective_user,
        read_only_root_filesystem: bool_fact(
            sc.and_then(|s| s.get("readOnlyRootFilesystem")),
            sc_anchor,
            Some(false),
        ),
        // Unset means allowed (the kubelet does not set no_new_privs).
        allow_privilege_escalation: bool_fact(
            sc.and_then(|s| s.get("allowPrivilegeEscalation")),
            sc_anchor,
            Some(true),
        ),
        privileged,
        capabilities: Capabilities {
            add: cap_list("add"),
            drop: cap_list("drop"),
        },
        resources: resources_facts(resources, anchor),
        host_network: host("hostNetwork"),
        host_ipc: host("hostIPC"),
        host_pid: host("hostPID"),
        seccomp_profile: match seccomp {
            Some(n) => Fact {
                value: n.get("type").and_then(Node::as_str).map(str::to_string),
                span: n.label_span(),
            },
            None => Fact::unknown(sc_anchor),
        },
        security_context: Fact {
            value: Some(sc.is_some()),
            span: sc_anchor,
        },
        probes: Fact::unknown(None),
        shm: Fact::unknown(None),
    }
}

fn resources_facts(resources: Option<&Node>, anchor: Option<Span>) -> Resources {
    let res_anchor = resources.and_then(Node::label_span).or(anchor);
    let limits = resources.and_then(|r| r.get("limits"));
    let requests = resources.and_then(|r| r.get("requests"));
    let limits_anchor = limits.and_then(Node::label_span).or(res_anchor);
    let quantity = |key: &str, parse: fn(&str) -> Option<i64>| -> Fact<i64> {
        match limits.and_then(|l| l.get(key)) {
            Some(n) => Fact {
                value: n.as_scalar_text().and_then(|t| parse(&t)),
                span: n.label_span(),
            },
            None => Fact::unknown(limits_anchor),
        }
    };
    // nvidia.com/gpu, or MIG slices such as nvidia.com/mig-1g.5gb.
    let gpu_entry = |node: Option<&Node>| -> Option<(i64, Option<Span>)> {
        node?.as_map().iter().find_map(|(k, v)| {
            (k == "nvidia.com/gpu" || k.starts_with("nvidia.com/mig-")).then(|| {
                let count = v
                    .as_scalar_text()
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0);
                (count, v.label_span())
            })
        })
    };
    let gpu_limit = gpu_entry(limits);
    let gpu_request = gpu_entry(requests);
    Resources {
        memory_limit: quantity("memory", quantity::k8s_bytes),
        cpu_limit: quantity("cpu", quantity::k8s_millicores),
        gpu_limit: match gpu_limit {
            Some((count, span)) => Fact::known(count, span),
            None => Fact::unknown(limits_anchor),
        },
        gpu_requested: match gpu_limit.or(gpu_request) {
            Some((count, span)) => Fact::known(count > 0, span),
            None => Fact::known(false, limits_anchor),
        },
    }
}

/// Volume mounts with their volume's kind and read-only state, and each model repository
/// matched to the mount that provides it (the deepest mount at or above its path).
fn mounts_and_repositories(
    container: &Node,
    pod_spec: &Node,
    server: &Server,
    facts: &Container,
) -> (Vec<At<Mount>>, Vec<At<ModelRepository>>) {
    let volumes = pod_spec
        .get("volumes")
        .map(Node::as_list)
        .unwrap_or_default();
    let mut mounts: Vec<At<Mount>> = Vec::new();
    for m in container
        .get("volumeMounts")
        .map(Node::as_list)
        .unwrap_or_default()
    {
        let Some(target) = m.get("mountPath").and_then(Node::as_str) else {
            continue;
        };
        let volume_name = m.get("name").and_then(Node::as_str).unwrap_or_default();
        let volume = volumes
            .iter()
            .find(|v| v.get("name").and_then(Node::as_str) == Some(volume_name));
        let (kind, source, volume_read_only) = volume.map(volume_kind).unwrap_or_default();
        let mount_ro = m.get("readOnly");
        let read_only = match (mount_ro.and_then(Node::as_k8s_bool), volume_read_only) {
            (Some(true), _) => Fact::known(true, mount_ro.and_then(Node::label_span)),
            (_, Some((true, span))) => Fact::known(true, span),
            (Some(false), _) => Fact::known(false, mount_ro.and_then(Node::label_span)),
            _ => Fact::known(
                false,
                m.get("mountPath").and_then(Node::label_span).or(m.span),
            ),
        };
        mounts.push(At {
            value: Mount {
                kind,
                source: source.or_else(|| Some(volume_name.to_string())),
                target: target.trim_end_matches('/').to_string(),
                read_only,
                model_repository: false,
                backend_directory: false,
                repoagent_directory: false,
            },
            span: m.get("mountPath").and_then(Node::label_span).or(m.span),
        });
    }
    crate::model::code_dirs::mark_code_mounts(server, &mut mounts);
    let repositories = match_repositories(server, &mut mounts, facts);
    (mounts, repositories)
}

/// A volume that is read-only by its own definition, and where that is written.
type VolumeReadOnly = Option<(bool, Option<Span>)>;

/// (kind, source, read-only-by-volume) of a pod volume.
fn volume_kind(volume: &Node) -> (String, Option<String>, VolumeReadOnly) {
    for (key, spec) in volume.as_map() {
        if key == "name" {
            continue;
        }
        let ro = |field: &str| {
            spec.get(field)
                .and_then(|n| n.as_k8s_bool().map(|b| (b, n.label_span())))
        };
        return match key.as_str() {
            "persistentVolumeClaim" => (
                key.clone(),
                spec.get("claimName").and_then(Node::as_scalar_text),
                ro("readOnly"),
            ),
            "hostPath" => (
                key.clone(),
                spec.get("path").and_then(Node::as_scalar_text),
                None,
            ),
            // The kubelet mounts these read-only whatever the mount says.
            "configMap" | "secret" | "downwardAPI" | "projected" => (
                key.clone(),
                spec.get("name")
                    .or_else(|| spec.get("secretName"))
                    .and_then(Node::as_scalar_text),
                Some((true, spec.label_span())),
            ),
            "csi"
            | "nfs"
            | "iscsi"
            | "cephfs"
            | "azureFile"
            | "gcePersistentDisk"
            | "awsElasticBlockStore" => (key.clone(), None, ro("readOnly")),
            "ephemeral" | "emptyDir" | "image" => (key.clone(), None, None),
            other => (other.to_string(), None, ro("readOnly")),
        };
    }
    ("unknown".to_string(), None, None)
}

/// Matches each `--model-repository` path to the mount that provides it.
pub fn match_repositories(
    server: &Server,
    mounts: &mut [At<Mount>],
    facts: &Container,
) -> Vec<At<ModelRepository>> {
    let mut out = Vec::new();
    for repo in &server.model_repositories {
        let Some(path) = repo.value.clone() else {
            continue;
        };
        let remote = ["s3://", "gs://", "as://", "http://", "https://"]
            .iter()
            .any(|p| path.starts_with(p));
        let normalized = path.trim_end_matches('/');
        let best = if remote {
            None
        } else {
            mounts
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    let t = m.value.target.as_str();
                    normalized == t || normalized.starts_with(&format!("{t}/")) || t.is_empty()
                })
                .max_by_key(|(_, m)| m.value.target.len())
                .map(|(i, _)| i)
        };
        let writable = match best {
            Some(i) => {
                if let Some(m) = mounts.get_mut(i) {
                    m.value.model_repository = true;
                    Fact {
                        value: m.value.read_only.value.map(|ro| !ro),
                        span: m.value.read_only.span.or(m.span),
                    }
                } else {
                    Fact::unknown(repo.span)
                }
            }
            None if remote => Fact::known(false, repo.span),
            // In the image's own filesystem: writable unless the root filesystem is read-only.
            None => Fact {
                value: facts.read_only_root_filesystem.value.map(|ro| !ro),
                span: repo.span,
            },
        };
        out.push(At {
            value: ModelRepository {
                path,
                remote,
                mount: best.and_then(|i| i64::try_from(i).ok()),
                writable,
            },
            span: repo.span,
        });
    }
    out
}
