//! The Launch: one normalized picture of a place that starts tritonserver, whatever file
//! format described it. Policies see it as the CEL variable `launch`; its field names are a
//! public interface (users' policies depend on them), documented in docs/policies.md.

use std::collections::BTreeMap;

use crate::node_struct;
use crate::source::Span;
use crate::tree::{Node, ToNode};

/// A value the files determine (or not: `None` means unknown), with where it was written.
/// For a setting that was left out, `span` points at the place that should have held it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact<T> {
    pub value: Option<T>,
    pub span: Option<Span>,
}

impl<T> Fact<T> {
    pub fn known(value: T, span: Option<Span>) -> Fact<T> {
        Fact {
            value: Some(value),
            span,
        }
    }

    pub fn unknown(span: Option<Span>) -> Fact<T> {
        Fact { value: None, span }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

impl<T> Default for Fact<T> {
    fn default() -> Fact<T> {
        Fact {
            value: None,
            span: None,
        }
    }
}

impl<T: ToNode> ToNode for Fact<T> {
    fn to_node(&self) -> Node {
        let mut node = self.value.to_node();
        node.span = self.span.or(node.span);
        node
    }
}

/// A struct value with the span that stands for it as a whole (a container's `- name:` line).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T: ToNode> ToNode for At<T> {
    fn to_node(&self) -> Node {
        let mut node = self.value.to_node();
        node.span = self.span.or(node.span);
        node
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Launch {
    /// Stable identity used in fingerprints: `Deployment/ns/name/container`, `compose:svc`...
    pub id: String,
    pub source: LaunchSource,
    pub image: At<Image>,
    pub server: Server,
    pub container: At<Container>,
    pub mounts: Vec<At<Mount>>,
    pub model_repositories: Vec<At<ModelRepository>>,
    pub exposure: Exposure,
    pub auth: Auth,
    pub rate_limiting: RateLimiting,
    pub env: BTreeMap<String, Fact<String>>,
    /// Keys of the pod spec and the Triton container that the Kubernetes schema does not
    /// know (Kubernetes launches only).
    pub unknown_fields: Vec<At<UnknownField>>,
    /// The model configurations of the scan this launch serves: the config.pbtxt files under
    /// the folder that provides each of its model repositories (filled in by correlation).
    pub models: Vec<At<ServedModel>>,
}
node_struct!(Launch {
    id,
    source,
    image,
    server,
    container,
    mounts,
    model_repositories,
    exposure,
    auth,
    rate_limiting,
    env,
    unknown_fields,
    models
});

/// A model configuration a launch serves, as far as the scan shows it. The span is the
/// config's `name:` (or its first field), in the config.pbtxt file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServedModel {
    /// The model directory's name (what Triton calls the model).
    pub name: String,
    /// The config file's path in the scan.
    pub config_path: String,
    /// The launch's repository path it is served from (`/models`).
    pub repository: String,
    /// The folder of the scan taken for that repository (`deploy/models`).
    pub repository_folder: String,
    /// How that folder was matched to the repository: `mount` (the host side of a bind or
    /// hostPath mount at the repository path) or `beside` (a folder named like the
    /// repository next to the launch's file or above it).
    pub matched_by: String,
    /// `backend:` as written (`python`, `vllm`, `onnxruntime`), null when absent.
    pub backend: Fact<String>,
    /// `platform:` as written (`onnxruntime_onnx`, `ensemble`), null when absent.
    pub platform: Fact<String>,
    /// `runtime:` as written (`model.py` for a Python-based backend's model), null when absent.
    pub runtime: Fact<String>,
    /// The model runs in Triton's Python backend stub, which moves tensors through /dev/shm:
    /// `backend: "python"`, the Python-based `vllm` backend, or a `runtime:` ending in `.py`.
    pub python_based: bool,
    /// The `instance_group` entries as written; empty when the config has none (Triton then
    /// picks GPUs or CPU by itself).
    pub instance_groups: Vec<At<InstanceGroup>>,
}
node_struct!(ServedModel {
    name,
    config_path,
    repository,
    repository_folder,
    matched_by,
    backend,
    platform,
    runtime,
    python_based,
    instance_groups
});

/// One `instance_group` of a model configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceGroup {
    /// `KIND_GPU`, `KIND_CPU`, `KIND_MODEL`, or `KIND_AUTO` (also when `kind` is not written,
    /// spanning the group).
    pub kind: Fact<String>,
    /// `count` (default 1).
    pub count: Fact<i64>,
    /// The GPU indices listed in `gpus`, each with its span; empty when not listed.
    pub gpus: Vec<Fact<i64>>,
}
node_struct!(InstanceGroup { kind, count, gpus });

/// A key the Kubernetes schema does not have where it is written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnknownField {
    /// The key as written (`readOnlyRootFileSystem`).
    pub field: String,
    /// Where, from the pod spec (`containers[0].securityContext.readOnlyRootFileSystem`).
    pub path: String,
    /// The Kubernetes type the key is written in (`SecurityContext`).
    pub within: String,
    /// The closest real key of that type, if one is close.
    pub suggestion: Option<String>,
    /// A neighbouring type that has exactly this key (`SecurityContext` for a container
    /// setting written in the pod's `securityContext`).
    pub elsewhere: Option<String>,
    /// The Kubernetes release whose schema was used (`1.35`).
    pub kubernetes: String,
}
node_struct!(UnknownField {
    field,
    path,
    within,
    suggestion,
    elsewhere,
    kubernetes
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchSource {
    /// kubernetes | helm | kserve | dockerfile | shell | compose
    pub format: String,
    pub file: String,
    /// `Kind/namespace/name` for Kubernetes objects, the service for compose.
    pub object: Option<String>,
    pub container: Option<String>,
    /// The chart template a Helm-rendered document came from.
    pub helm_template: Option<String>,
    /// The file says how the container runs (Kubernetes, docker run, compose); false for a
    /// Dockerfile alone, which fixes only the image.
    pub runtime: bool,
}
node_struct!(LaunchSource {
    format,
    file,
    object,
    container,
    helm_template,
    runtime
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Image {
    pub reference: Fact<String>,
    pub registry: Option<String>,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The image is NVIDIA's tritonserver (by name) or the argv runs `tritonserver`.
    pub is_triton: bool,
    /// NGC container release (`24.10`) read from the tag.
    pub release: Option<String>,
    /// Triton server version (`2.51.0`) the release maps to.
    pub triton_version: Option<String>,
    /// Tag variant after the release (`py3`, `py3-min`, `trtllm-python-py3`...).
    pub variant: Option<String>,
    /// A stock image built with CUDA (every NGC tritonserver image except the CPU-only builds).
    pub gpu_capable: Option<bool>,
    /// The image's default user is root (true for stock NGC images; unknown for others).
    pub default_user_root: Option<bool>,
}
node_struct!(Image {
    reference,
    registry,
    repository,
    tag,
    digest,
    is_triton,
    release,
    triton_version,
    variant,
    gpu_capable,
    default_user_root
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Server {
    /// A `tritonserver` invocation was found (rather than only a Triton image).
    pub invoked: bool,
    /// The argv after `tritonserver`, as written.
    pub argv: At<Vec<Fact<String>>>,
    /// Every flag given, by its full name (prefixes and aliases resolved), with all values.
    pub flags: BTreeMap<String, Vec<Fact<String>>>,
    /// Flags the server rejects at start-up (unknown, ambiguous, bad value, stray argument).
    pub invalid_flags: Vec<Fact<InvalidFlag>>,
    pub model_repositories: Vec<Fact<String>>,
    /// none | poll | explicit
    pub model_control_mode: Fact<String>,
    pub repository_poll_secs: Fact<i64>,
    pub load_models: Vec<Fact<String>>,
    /// `--strict-model-config` as given (deprecated); null when not given.
    pub strict_model_config: Fact<bool>,
    /// `--disable-auto-complete-config` given.
    pub disable_auto_complete_config: Fact<bool>,
    /// The effective result: backends may fill in or create model configurations.
    pub auto_complete_config: Fact<bool>,
    pub exit_on_error: Fact<bool>,
    pub strict_readiness: Fact<bool>,
    pub http: Endpoint,
    pub grpc: Endpoint,
    pub metrics: Endpoint,
    pub sagemaker: Endpoint,
    pub vertex_ai: Endpoint,
    /// The OpenAI-compatible HTTP API of Triton's OpenAI frontend (`openai_frontend/main.py`);
    /// disabled for `tritonserver` itself.
    pub openai: Endpoint,
    pub log: Logging,
    /// off | execution_count
    pub rate_limit: Fact<String>,
    pub trace_level: Fact<String>,
    pub backend_directory: Fact<String>,
    pub repoagent_directory: Fact<String>,
    pub cache_directory: Fact<String>,
    pub model_namespacing: Fact<bool>,
}
node_struct!(Server {
    invoked,
    argv,
    flags,
    invalid_flags,
    model_repositories,
    model_control_mode,
    repository_poll_secs,
    load_models,
    strict_model_config,
    disable_auto_complete_config,
    auto_complete_config,
    exit_on_error,
    strict_readiness,
    http,
    grpc,
    metrics,
    sagemaker,
    vertex_ai,
    openai,
    log,
    rate_limit,
    trace_level,
    backend_directory,
    repoagent_directory,
    cache_directory,
    model_namespacing
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvalidFlag {
    /// The argument as written (`--model-contrl-mode=explicit`).
    pub arg: String,
    /// unknown | ambiguous | missing-value | unexpected-value | invalid-value | unexpected-argument
    pub reason: String,
    /// What the server prints, close to its own words.
    pub message: String,
    /// A likely intended flag, for unknown ones.
    pub suggestion: Option<String>,
}
node_struct!(InvalidFlag {
    arg,
    reason,
    message,
    suggestion
});

/// One of Triton's listeners (HTTP, gRPC, metrics, SageMaker, Vertex AI).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Endpoint {
    pub enabled: Fact<bool>,
    pub address: Fact<String>,
    pub port: Fact<i64>,
    /// API groups guarded by a restricted-API header (HTTP, gRPC and OpenAI only).
    pub restricted_apis: Vec<Fact<String>>,
    pub header_forward_pattern: Fact<String>,
    /// gRPC only: TLS and mutual TLS.
    pub ssl: Fact<bool>,
    pub ssl_mutual: Fact<bool>,
}
node_struct!(Endpoint {
    enabled,
    address,
    port,
    restricted_apis,
    header_forward_pattern,
    ssl,
    ssl_mutual
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logging {
    pub file: Fact<String>,
    pub verbose: Fact<i64>,
    pub format: Fact<String>,
}
node_struct!(Logging {
    file,
    verbose,
    format
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Container {
    pub name: Option<String>,
    /// The user as written (`1000`, `root`, `triton-server`, `1000:1000`).
    pub user: Fact<String>,
    /// The numeric uid when it is known.
    pub uid: Fact<i64>,
    pub run_as_non_root: Fact<bool>,
    /// Deprecated: the verdict (true root, false not root, null unknown), derived from
    /// `effective_user`; TG201 decides from `effective_user` itself.
    pub runs_as_root: Fact<bool>,
    /// Who the server runs as, the same fact from every format (see [`EffectiveUser`]).
    pub effective_user: At<EffectiveUser>,
    pub read_only_root_filesystem: Fact<bool>,
    pub allow_privilege_escalation: Fact<bool>,
    pub privileged: Fact<bool>,
    pub capabilities: Capabilities,
    pub resources: Resources,
    pub host_network: Fact<bool>,
    pub host_ipc: Fact<bool>,
    pub host_pid: Fact<bool>,
    pub seccomp_profile: Fact<String>,
    /// Where the runtime settings of this container are written (`securityContext:` etc.).
    pub security_context: Fact<bool>,
    /// Kubernetes health probes: the readiness, liveness and startup probe, in that order,
    /// each present whether declared or not; null where the format has no such probes.
    pub probes: Fact<Vec<At<Probe>>>,
    /// The container's `/dev/shm`; null for a Dockerfile alone.
    pub shm: Fact<SharedMemory>,
}
node_struct!(Container {
    name,
    user,
    uid,
    run_as_non_root,
    runs_as_root,
    effective_user,
    read_only_root_filesystem,
    allow_privilege_escalation,
    privileged,
    capabilities,
    resources,
    host_network,
    host_ipc,
    host_pid,
    seccomp_profile,
    security_context,
    probes,
    shm
});

/// The user the server process runs as, from whatever the format sets (built by
/// [`crate::model::user::effective_user`]). Its span is the setting, or where one would go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EffectiveUser {
    /// The numeric uid, when the files determine it (`root` is 0).
    pub uid: Option<i64>,
    /// The user name, when the setting is a name (`triton-server`, `root`).
    pub name: Option<String>,
    /// The setting as written (`1000:1000`); null for the image default or a value the
    /// files do not determine.
    pub written: Option<String>,
    /// runAsUser | USER | --user | compose user | image default
    pub source: String,
    /// `runAsNonRoot: true`: the kubelet refuses to start the container as uid 0.
    pub kubelet_refuses_root: bool,
    /// The image's default user is root: true for NVIDIA's images, null when unknown.
    pub image_default_root: Option<bool>,
}
node_struct!(EffectiveUser {
    uid,
    name,
    written,
    source,
    kubelet_refuses_root,
    image_default_root
});

/// Docker's and the container runtimes' default size of a container's `/dev/shm`: 64 MiB.
pub const DEFAULT_SHM_BYTES: i64 = 64 * 1024 * 1024;

/// What backs a container's `/dev/shm`, and how large it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SharedMemory {
    /// `default` (the runtime's private 64 MiB tmpfs), `shm-size` (`--shm-size`, compose
    /// `shm_size`), `host-ipc` (the host's, through `--ipc=host`, `ipc: host`, `hostIPC`),
    /// `shared-ipc` (another container's, `--ipc=container:NAME`), `none` (`--ipc=none`: no
    /// /dev/shm at all) or `mount` (a volume or tmpfs mounted at /dev/shm).
    pub source: String,
    /// Bytes, when the files say: 64 MiB for `default`, the `--shm-size`, a memory
    /// `emptyDir`'s `sizeLimit`; 0 for `none`; null otherwise.
    pub size: Option<i64>,
    /// The kind of the mount at /dev/shm (`emptyDir`, `hostPath`, `tmpfs`, `bind`...), and
    /// for an `emptyDir` its `medium` (`Memory`, or empty for node disk).
    pub mount_kind: Option<String>,
    pub medium: Option<String>,
}
node_struct!(SharedMemory {
    source,
    size,
    mount_kind,
    medium
});

impl SharedMemory {
    /// The runtime's default: a private 64 MiB tmpfs.
    pub fn default_size() -> SharedMemory {
        SharedMemory {
            source: "default".to_string(),
            size: Some(DEFAULT_SHM_BYTES),
            mount_kind: None,
            medium: None,
        }
    }
}

/// One Kubernetes health probe of a container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probe {
    /// readiness | liveness | startup
    pub role: String,
    /// The probe is written (or added by the platform: see `defaulted`).
    pub declared: bool,
    /// Added by the platform when none is written (Knative's TCP readiness probe).
    pub defaulted: bool,
    /// httpGet | grpc | tcpSocket | exec; null for a probe without a known handler.
    pub handler: Option<String>,
    /// The port probed, with a named port resolved through the container's ports; null
    /// when a named port does not resolve.
    pub port: Fact<i64>,
    /// The port's name as written, when it is a name.
    pub port_name: Option<String>,
    /// httpGet only: the path (default `/`) and scheme (default `HTTP`).
    pub path: Fact<String>,
    pub scheme: Option<String>,
}
node_struct!(Probe {
    role,
    declared,
    defaulted,
    handler,
    port,
    port_name,
    path,
    scheme
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capabilities {
    /// null when the format cannot express capabilities (a Dockerfile alone).
    pub add: Fact<Vec<Fact<String>>>,
    pub drop: Fact<Vec<Fact<String>>>,
}
node_struct!(Capabilities { add, drop });

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    /// Memory limit in bytes.
    pub memory_limit: Fact<i64>,
    /// CPU limit in millicores.
    pub cpu_limit: Fact<i64>,
    /// GPUs the container may use: a count, `-1` for all, null when not limited/unknown.
    pub gpu_limit: Fact<i64>,
    /// GPUs are attached at all (a GPU limit/request, `--gpus`, compose device reservation).
    pub gpu_requested: Fact<bool>,
}
node_struct!(Resources {
    memory_limit,
    cpu_limit,
    gpu_limit,
    gpu_requested
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mount {
    /// hostPath | persistentVolumeClaim | emptyDir | configMap | secret | bind | volume | tmpfs | ...
    pub kind: String,
    /// Host path, claim name, volume name...
    pub source: Option<String>,
    pub target: String,
    pub read_only: Fact<bool>,
    /// The mount holds (or is inside) a model repository the server reads.
    pub model_repository: bool,
    /// The mount is at, above or inside the directory the server loads backend shared
    /// libraries from (`launch.server.backend_directory`).
    pub backend_directory: bool,
    /// The same for repository agents (`launch.server.repoagent_directory`).
    pub repoagent_directory: bool,
}
node_struct!(Mount {
    kind,
    source,
    target,
    read_only,
    model_repository,
    backend_directory,
    repoagent_directory
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRepository {
    pub path: String,
    /// s3://, gs://, as:// repositories need no mount.
    pub remote: bool,
    /// Index into `mounts` of the mount that provides it.
    pub mount: Option<i64>,
    /// Whether the server process could write to it: true, false, null (unknown).
    pub writable: Fact<bool>,
}
node_struct!(ModelRepository {
    path,
    remote,
    mount,
    writable
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposure {
    pub http: PortExposure,
    pub grpc: PortExposure,
    pub metrics: PortExposure,
    pub sagemaker: PortExposure,
    pub vertex_ai: PortExposure,
    pub openai: PortExposure,
}
node_struct!(Exposure {
    http,
    grpc,
    metrics,
    sagemaker,
    vertex_ai,
    openai
});

/// Who can reach a port, from the narrowest to the widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// The listener is off.
    Disabled,
    /// Only the pod/container itself (loopback bind, or nothing routes to it).
    Local,
    /// Other containers on the same host (`-p 127.0.0.1:...`), or the pod network.
    Host,
    /// Anything in the cluster (ClusterIP Service, pod IP without a NetworkPolicy).
    Cluster,
    /// Anything that reaches a node (NodePort, hostPort, hostNetwork, `-p` on 0.0.0.0).
    Node,
    /// The private network around the cluster (a LoadBalancer marked internal by its cloud
    /// annotation): outside the cluster, but not the internet.
    Network,
    /// The internet, or anything outside the cluster (LoadBalancer, Ingress, externalIPs).
    Internet,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Disabled => "disabled",
            Reach::Local => "local",
            Reach::Host => "host",
            Reach::Cluster => "cluster",
            Reach::Node => "node",
            Reach::Network => "network",
            Reach::Internet => "internet",
        }
    }

    pub fn rank(self) -> i64 {
        self as i64
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct PortExposure {
    /// The port the server listens on (after `--http-port` etc.).
    pub port: Fact<i64>,
    /// The same port where the container declares it (`containerPort`, `EXPOSE`), if it does.
    pub declared: Fact<i64>,
    /// disabled | local | host | cluster | node | network | internet; null when unknown.
    pub reach: Fact<String>,
    /// `reach` as a number for comparisons (disabled 0 … network 5, internet 6).
    pub rank: i64,
    /// Deprecated (policies decide from `routes[].reach`): reachable from outside the
    /// cluster or host (`node`, `network` or `internet`).
    pub external: bool,
    /// Each Service, Ingress, route, published port or host setting that makes it reachable.
    pub routes: Vec<At<Route>>,
    /// Deprecated (policies decide from `routes[].auth`): every route from outside has
    /// something that authenticates it.
    pub authenticated: bool,
}

/// The reaches from outside the cluster or host.
pub const OUTSIDE: [Reach; 3] = [Reach::Node, Reach::Network, Reach::Internet];

impl PortExposure {
    /// Adds the evidence that protects every route to the port `port_name` (`http`,
    /// `grpc`...), wherever it comes from (an Istio policy for the pod, Triton's own
    /// restricted-API header), to each route's `auth`, then derives the deprecated verdicts.
    pub fn attach_port_auth(&mut self, port_name: &str, evidence: &[At<AuthEvidence>]) {
        let protecting: Vec<&At<AuthEvidence>> = evidence
            .iter()
            .filter(|e| e.value.protects.iter().any(|p| p == port_name || p == "*"))
            .collect();
        for route in self
            .routes
            .iter_mut()
            .filter(|r| r.value.kind != "NetworkPolicy")
        {
            for e in &protecting {
                route.value.auth.push(RouteAuth {
                    kind: e.value.kind.clone(),
                    name: e.value.name.clone(),
                    scope: "port".to_string(),
                });
            }
        }
        self.derive_verdicts();
    }

    /// `external`, `authenticated` and each route's `authenticated`, from the facts.
    pub fn derive_verdicts(&mut self) {
        let outside = |r: &At<Route>| OUTSIDE.iter().any(|o| o.as_str() == r.value.reach);
        self.external = self.rank >= Reach::Node.rank();
        for route in &mut self.routes {
            route.value.authenticated = route.value.auth.iter().any(|a| a.scope == "route");
        }
        self.authenticated = self.external
            && self
                .routes
                .iter()
                .filter(|r| outside(r))
                .all(|r| !r.value.auth.is_empty());
    }
}
impl ToNode for PortExposure {
    /// The exposure as a whole points where its reach comes from (the widest route).
    fn to_node(&self) -> Node {
        let mut node = Node::map(vec![
            ("port".to_string(), self.port.to_node()),
            ("declared".to_string(), self.declared.to_node()),
            ("reach".to_string(), self.reach.to_node()),
            ("rank".to_string(), self.rank.to_node()),
            ("external".to_string(), self.external.to_node()),
            ("routes".to_string(), self.routes.to_node()),
            ("authenticated".to_string(), self.authenticated.to_node()),
        ]);
        node.span = self.reach.span;
        node
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Route {
    /// Service | Ingress | HTTPRoute | GRPCRoute | VirtualService | IngressRoute | hostPort |
    /// hostNetwork | publish | network-host | ...
    pub kind: String,
    pub name: String,
    pub reach: String,
    /// A sentence for reports: `LoadBalancer Service "triton-public" forwards port 80 to it`.
    pub note: String,
    /// The file the route is written in (it may differ from the launch's file).
    pub file: String,
    /// What authenticates traffic on this route, empty when nothing does: the route's own
    /// (an auth proxy it passes, an ingress auth annotation) and the port's (evidence that
    /// protects every route to the port).
    pub auth: Vec<RouteAuth>,
    /// Deprecated (policies decide from `auth`): the route itself authenticates (an
    /// `auth` entry of scope `route`).
    pub authenticated: bool,
    /// The Service this route forwards to (Ingress, Gateway API and other routes in front
    /// of a Service); null for a route that reaches the pod itself.
    pub via: Option<String>,
}
node_struct!(Route {
    kind,
    name,
    reach,
    note,
    file,
    auth,
    authenticated,
    via
});

/// One thing that authenticates the traffic of a route.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteAuth {
    /// auth-proxy-sidecar | ingress-auth-annotation | ingress-auth-middleware, or an
    /// `auth.evidence` kind (istio-authorization-policy, restricted-api, grpc-mutual-tls)
    pub kind: String,
    /// The proxy, the annotation key or middleware, or the evidence's name.
    pub name: String,
    /// route (this route's own) | port (protects every route to the port)
    pub scope: String,
}
node_struct!(RouteAuth { kind, name, scope });

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Auth {
    /// Evidence of authentication in front of the server, with where it is written.
    pub evidence: Vec<At<AuthEvidence>>,
}
node_struct!(Auth { evidence });

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthEvidence {
    /// istio-request-authentication | istio-authorization-policy | auth-proxy-sidecar |
    /// ingress-auth-annotation | restricted-api | grpc-mutual-tls
    pub kind: String,
    pub name: String,
    /// Ports (http, grpc, metrics) this evidence protects.
    pub protects: Vec<String>,
    pub note: String,
}
node_struct!(AuthEvidence {
    kind,
    name,
    protects,
    note
});

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimiting {
    /// Evidence of request rate limiting in front of or inside the server.
    pub evidence: Vec<At<RateLimitEvidence>>,
}
node_struct!(RateLimiting { evidence });

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimitEvidence {
    pub kind: String,
    pub name: String,
    pub note: String,
}
node_struct!(RateLimitEvidence { kind, name, note });

/// A `Vec<Fact<String>>` as a plain string list, for Rust-side checks.
pub fn strings(items: &[Fact<String>]) -> Vec<&str> {
    items.iter().filter_map(|f| f.value.as_deref()).collect()
}

impl Launch {
    pub fn to_tree(&self) -> Node {
        self.to_node()
    }
}

impl Launch {
    /// A Launch with every list holding one default element: the shape policies are checked
    /// against when they load, so `launch.server.model_contrl_mode` is caught as a typo.
    pub fn sample() -> Launch {
        let fact_string = || Fact::known(String::new(), None);
        let mut launch = Launch::default();
        launch.server.argv.value.push(fact_string());
        launch
            .server
            .flags
            .insert("model-repository".to_string(), vec![fact_string()]);
        launch
            .server
            .invalid_flags
            .push(Fact::known(InvalidFlag::default(), None));
        launch.server.model_repositories.push(fact_string());
        launch.server.load_models.push(fact_string());
        for endpoint in [
            &mut launch.server.http,
            &mut launch.server.grpc,
            &mut launch.server.openai,
        ] {
            endpoint.restricted_apis.push(fact_string());
        }
        launch.container.value.capabilities.add = Fact::known(vec![fact_string()], None);
        launch.container.value.capabilities.drop = Fact::known(vec![fact_string()], None);
        launch.container.value.probes = Fact::known(vec![At::default()], None);
        launch.mounts.push(At::default());
        launch.model_repositories.push(At::default());
        for exposure in [
            &mut launch.exposure.http,
            &mut launch.exposure.grpc,
            &mut launch.exposure.metrics,
            &mut launch.exposure.sagemaker,
            &mut launch.exposure.vertex_ai,
            &mut launch.exposure.openai,
        ] {
            let mut route = At::<Route>::default();
            route.value.auth.push(RouteAuth::default());
            exposure.routes.push(route);
        }
        launch.auth.evidence.push(At::default());
        launch.rate_limiting.evidence.push(At::default());
        launch.env.insert("PATH".to_string(), fact_string());
        launch.unknown_fields.push(At::default());
        launch.container.value.shm = Fact::known(SharedMemory::default_size(), None);
        let mut model = ServedModel::default();
        model.instance_groups.push(At {
            value: InstanceGroup {
                gpus: vec![Fact::known(0, None)],
                ..InstanceGroup::default()
            },
            span: None,
        });
        launch.models.push(At {
            value: model,
            span: None,
        });
        launch
    }
}
