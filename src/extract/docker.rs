//! Docker semantics shared by `docker run` scripts and compose files: one description of a
//! container run, turned into a Launch the same way whichever file wrote it.

use std::collections::BTreeMap;

use crate::extract::workload::match_repositories;
use crate::model::argv;
use crate::model::image::parse_image;
use crate::model::launch::{
    At, AuthEvidence, Capabilities, Container, EffectiveUser, Fact, Image, Launch, LaunchSource,
    Mount, PortExposure, Reach, Resources, Route, Server,
};
use crate::model::launchers;
use crate::model::server::ArgWord;
use crate::model::user::{UserSetting, UserSource, effective_user};
use crate::source::{SourceStore, Span};

/// A published port: `-p [host_ip:]host_port:container_port[/proto]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub host_ip: Option<String>,
    pub host_port: Option<String>,
    /// First and last container port (a range publishes several).
    pub container_ports: (i64, i64),
    pub protocol: String,
    pub span: Option<Span>,
}

/// What an image contributes when nothing overrides it (from a Dockerfile in the scan, or
/// what is known of NVIDIA's images).
#[derive(Clone, Debug, Default)]
pub struct ImageDefaults {
    pub user: Option<Fact<String>>,
    pub entrypoint: Option<Vec<ArgWord>>,
    pub cmd: Option<Vec<ArgWord>>,
    pub env: BTreeMap<String, Fact<String>>,
    pub exposed: Vec<(i64, Option<Span>)>,
    /// Where the image is built (the Dockerfile), for messages.
    pub dockerfile: Option<String>,
    /// The image the Dockerfile starts from: what is known about Triton images (release,
    /// default user) comes from it when the run names a locally built tag.
    pub base_image: Option<ArgWord>,
}

/// One container run, as `docker run` flags or a compose service describe it.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    pub id: String,
    pub format: String,
    pub file: String,
    pub object: Option<String>,
    pub name: Option<String>,
    /// Where the run as a whole is written (the `docker run` word, the service key).
    pub anchor: Option<Span>,
    pub image: Option<ArgWord>,
    pub entrypoint: Option<Vec<ArgWord>>,
    pub command: Option<Vec<ArgWord>>,
    /// Where a missing command-line setting belongs (the command, or the run).
    pub command_anchor: Option<Span>,
    pub user: Option<Fact<String>>,
    pub cap_add: Vec<Fact<String>>,
    pub cap_drop: Vec<Fact<String>>,
    pub privileged: Option<Fact<bool>>,
    pub read_only: Option<Fact<bool>>,
    pub no_new_privileges: Option<Fact<bool>>,
    pub network_host: Option<Fact<bool>>,
    pub ipc_host: Option<Fact<bool>>,
    /// The IPC mode as written (`host`, `private`, `container:NAME`...).
    pub ipc: Option<Fact<String>>,
    /// `--shm-size` / compose `shm_size`, in bytes.
    pub shm_size: Option<Fact<i64>>,
    pub pid_host: Option<Fact<bool>>,
    pub memory: Option<Fact<i64>>,
    /// GPUs: a count, -1 for all; `None` for no `--gpus` at all.
    pub gpus: Option<Fact<i64>>,
    pub published: Vec<Published>,
    pub publish_all: Option<Span>,
    pub mounts: Vec<At<Mount>>,
    pub env: BTreeMap<String, Fact<String>>,
    /// An argument that could not be read (`$EXTRA_ARGS`): its settings are unknown.
    pub opaque: Option<Span>,
    /// Only the image is described (a Dockerfile alone): runtime settings are unknown.
    pub image_only: bool,
}

fn is_loopback(ip: &str) -> bool {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    ip.starts_with("127.") || ip == "::1" || ip == "localhost"
}

/// Builds the Launch of a run. `defaults` describes the image.
pub fn launch(spec: &RunSpec, defaults: &ImageDefaults, store: &SourceStore) -> Option<Launch> {
    let image_word = spec
        .image
        .clone()
        .unwrap_or_else(|| ArgWord::new("", spec.anchor));
    let mut image: Image = parse_image(&image_word.text, image_word.span.or(spec.anchor));
    if image_word.unresolved {
        image.reference = Fact::unknown(image_word.span);
    }
    // A tag built from a Dockerfile of the scan is what its base image is, plus the layers.
    if let Some(base) = &defaults.base_image {
        let from = parse_image(&base.text, base.span);
        if from.is_triton && !base.unresolved {
            // What the image is comes from its FROM line: point there.
            image = Image {
                reference: Fact {
                    value: image.reference.value,
                    span: base.span,
                },
                ..from
            };
        }
    }
    // Docker runs ENTRYPOINT + (command or CMD); an --entrypoint override drops the image CMD.
    let entrypoint = spec
        .entrypoint
        .clone()
        .or_else(|| defaults.entrypoint.clone())
        .unwrap_or_default();
    let command = match (&spec.command, &spec.entrypoint) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => defaults.cmd.clone().unwrap_or_default(),
    };
    let mut words = entrypoint.clone();
    words.extend(command.iter().cloned());
    let env_values: BTreeMap<String, Option<String>> = defaults
        .env
        .iter()
        .chain(spec.env.iter())
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    let literal_env: BTreeMap<String, String> = env_values
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    let anchor = spec
        .command_anchor
        .or_else(|| argv::argv_anchor(&command))
        .or(spec.anchor);
    let invocation = argv::find_invocation(&words, &env_values).or_else(|| {
        let flags_only =
            spec.command.is_some() && command.first().is_some_and(|w| w.text.starts_with("--"));
        (image.is_triton && flags_only).then(|| argv::Invocation::tritonserver(command.clone()))
    });
    let mut server = match invocation {
        Some(mut invocation) => {
            if let Some(opaque) = spec.opaque {
                invocation.argv.push(ArgWord {
                    text: String::new(),
                    span: Some(opaque),
                    unresolved: true,
                    pieces: Vec::new(),
                    origin: None,
                    note: None,
                });
            }
            launchers::server_settings(&invocation, anchor, &literal_env)
        }
        None if image.is_triton => Server::default(),
        None => return None,
    };
    image.is_triton |= server.invoked;
    if !server.invoked {
        server.argv.span = anchor;
    }

    // `--user` (or compose `user:`) overrides the image's `USER`.
    let (user, source) = match (&spec.user, &defaults.user) {
        (Some(u), _) => (
            Some(u.clone()),
            match spec.format.as_str() {
                "compose" => UserSource::ComposeUser,
                "dockerfile" => UserSource::DockerfileUser,
                _ => UserSource::RunFlag,
            },
        ),
        (None, Some(u)) => (Some(u.clone()), UserSource::DockerfileUser),
        (None, None) => (None, UserSource::RunFlag),
    };
    let effective_user = effective_user(
        user.as_ref().map(|u| UserSetting {
            text: u.value.clone(),
            source,
            span: u.span,
        }),
        None,
        image.default_user_root,
        spec.anchor,
    );
    let runs_as_root = EffectiveUser::runs_as_root_fact(&effective_user);
    let uid = Fact {
        value: effective_user.value.uid,
        span: effective_user.span,
    };
    // A Dockerfile alone says nothing about how the container runs.
    let known_or = |fact: &Option<Fact<bool>>, default: bool| -> Fact<bool> {
        match fact {
            Some(f) => f.clone(),
            None if spec.image_only => Fact::unknown(spec.anchor),
            None => Fact::known(default, spec.anchor),
        }
    };
    let runtime_list = |list: &Vec<Fact<String>>| -> Fact<Vec<Fact<String>>> {
        if spec.image_only {
            Fact::unknown(spec.anchor)
        } else {
            Fact::known(
                list.clone(),
                list.first().and_then(|c| c.span).or(spec.anchor),
            )
        }
    };
    let container = Container {
        name: spec.name.clone(),
        user: user.clone().unwrap_or(Fact::unknown(spec.anchor)),
        uid,
        run_as_non_root: Fact::unknown(spec.anchor),
        runs_as_root,
        effective_user,
        read_only_root_filesystem: known_or(&spec.read_only, false),
        allow_privilege_escalation: match &spec.no_new_privileges {
            Some(f) => Fact {
                value: f.value.map(|n| !n),
                span: f.span,
            },
            None if spec.image_only => Fact::unknown(spec.anchor),
            None => Fact::known(true, spec.anchor),
        },
        privileged: known_or(&spec.privileged, false),
        capabilities: Capabilities {
            add: runtime_list(&spec.cap_add),
            drop: runtime_list(&spec.cap_drop),
        },
        resources: Resources {
            memory_limit: spec.memory.clone().unwrap_or(Fact::unknown(spec.anchor)),
            cpu_limit: Fact::unknown(spec.anchor),
            // Without --gpus (or a device reservation) Docker attaches no GPU.
            gpu_limit: match &spec.gpus {
                Some(g) => g.clone(),
                None if spec.image_only => Fact::unknown(spec.anchor),
                None => Fact::known(0, spec.anchor),
            },
            gpu_requested: Fact::known(
                spec.gpus
                    .as_ref()
                    .and_then(|g| g.value)
                    .is_some_and(|g| g != 0),
                spec.gpus.as_ref().and_then(|g| g.span).or(spec.anchor),
            ),
        },
        host_network: known_or(&spec.network_host, false),
        host_ipc: known_or(&spec.ipc_host, false),
        host_pid: known_or(&spec.pid_host, false),
        seccomp_profile: Fact::unknown(spec.anchor),
        security_context: Fact::known(true, spec.anchor),
        // Docker's HEALTHCHECK is not a Kubernetes probe: nothing routes by it.
        probes: Fact::unknown(None),
        shm: if spec.image_only {
            Fact::unknown(None)
        } else {
            crate::extract::shared_memory::docker(
                spec.ipc.as_ref(),
                spec.shm_size.as_ref(),
                &spec.mounts,
                spec.anchor,
            )
        },
    };
    let mut mounts = spec.mounts.clone();
    crate::model::code_dirs::mark_code_mounts(&server, &mut mounts);
    let model_repositories = match_repositories(&server, &mut mounts, &container);

    let mut env = defaults.env.clone();
    env.extend(spec.env.clone());
    let mut launch = Launch {
        id: spec.id.clone(),
        source: LaunchSource {
            format: spec.format.clone(),
            file: spec.file.clone(),
            object: spec.object.clone(),
            container: spec.name.clone(),
            helm_template: None,
            runtime: !spec.image_only,
        },
        image: At {
            span: image.reference.span.or(image_word.span).or(spec.anchor),
            value: image,
        },
        server,
        container: At {
            value: container,
            span: spec.anchor,
        },
        mounts,
        model_repositories,
        env,
        ..Launch::default()
    };
    if spec.image_only {
        launch.auth.evidence = server_auth_evidence(&launch.server);
    } else {
        apply_exposure(&mut launch, spec, defaults, store);
    }
    Some(launch)
}

/// Who reaches each Triton port of a docker run: published ports, host networking.
fn apply_exposure(
    launch: &mut Launch,
    spec: &RunSpec,
    defaults: &ImageDefaults,
    store: &SourceStore,
) {
    let server = launch.server.clone();
    let file_of = |span: Option<Span>| {
        span.map(|s| store.display(s.file).to_string())
            .unwrap_or_default()
    };
    let exposure_for = |endpoint: &crate::model::launch::Endpoint| -> PortExposure {
        let mut out = PortExposure {
            port: endpoint.port.clone(),
            declared: defaults
                .exposed
                .iter()
                .find(|(p, _)| Some(*p) == endpoint.port.value)
                .map(|(p, span)| Fact::known(*p, *span))
                .unwrap_or_else(|| {
                    if endpoint.port.span != server.argv.span {
                        endpoint.port.clone()
                    } else {
                        Fact {
                            value: endpoint.port.value,
                            span: None,
                        }
                    }
                }),
            ..PortExposure::default()
        };
        match (endpoint.enabled.value, endpoint.port.value) {
            (Some(false), _) => {
                out.reach =
                    Fact::known(Reach::Disabled.as_str().to_string(), endpoint.enabled.span);
                return out;
            }
            (None, _) | (_, None) => {
                out.reach = Fact::unknown(endpoint.enabled.span.or(endpoint.port.span));
                return out;
            }
            _ => {}
        }
        let port = endpoint.port.value.unwrap_or_default();
        let loopback = endpoint.address.value.as_deref().is_some_and(is_loopback);
        let mut routes: Vec<(Reach, At<Route>)> = Vec::new();
        let mut add = |reach: Reach, kind: &str, note: String, span: Option<Span>| {
            routes.push((
                reach,
                At {
                    value: Route {
                        kind: kind.to_string(),
                        name: String::new(),
                        reach: reach.as_str().to_string(),
                        note,
                        file: file_of(span),
                        auth: Vec::new(),
                        authenticated: false,
                        via: None,
                    },
                    span,
                },
            ));
        };
        if !loopback {
            if let Some(host) = spec.network_host.as_ref().filter(|f| f.value == Some(true)) {
                add(
                    Reach::Node,
                    "network-host",
                    // The same route for every port (a policy reports it once).
                    "host networking: the container's ports listen on the host's addresses"
                        .to_string(),
                    host.span,
                );
            } else {
                for p in &spec.published {
                    if !(p.container_ports.0..=p.container_ports.1).contains(&port)
                        || p.protocol != "tcp"
                    {
                        continue;
                    }
                    let host_port = p
                        .host_port
                        .clone()
                        .unwrap_or_else(|| "a random port".to_string());
                    match p.host_ip.as_deref() {
                        Some(ip) if is_loopback(ip) => add(
                            Reach::Host,
                            "publish",
                            format!("published on {ip}:{host_port}, the host's loopback only"),
                            p.span,
                        ),
                        Some(ip) if ip != "0.0.0.0" && ip != "::" && !ip.is_empty() => add(
                            Reach::Node,
                            "publish",
                            format!("published on {ip}:{host_port}"),
                            p.span,
                        ),
                        _ => add(
                            Reach::Node,
                            "publish",
                            format!("published on every host address, port {host_port}"),
                            p.span,
                        ),
                    }
                }
                if let Some(span) = spec.publish_all {
                    let exposed = defaults.exposed.is_empty()
                        || defaults.exposed.iter().any(|(p, _)| *p == port);
                    if exposed {
                        add(
                            Reach::Node,
                            "publish-all",
                            "-P publishes every port the image exposes".to_string(),
                            Some(span),
                        );
                    }
                }
            }
        }
        let reach = if loopback {
            Reach::Local
        } else {
            routes
                .iter()
                .map(|(r, _)| *r)
                .max()
                .unwrap_or(Reach::Host)
                .max(Reach::Host)
        };
        routes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.span.cmp(&b.1.span)));
        let widest = routes.first().and_then(|(_, r)| r.span);
        out.reach = Fact::known(reach.as_str().to_string(), widest.or(endpoint.port.span));
        out.rank = reach.rank();
        out.external = reach >= Reach::Node;
        out.routes = routes.into_iter().map(|(_, r)| r).collect();
        out
    };
    launch.exposure.http = exposure_for(&server.http);
    launch.exposure.grpc = exposure_for(&server.grpc);
    launch.exposure.metrics = exposure_for(&server.metrics);
    launch.exposure.sagemaker = exposure_for(&server.sagemaker);
    launch.exposure.vertex_ai = exposure_for(&server.vertex_ai);
    launch.exposure.openai = exposure_for(&server.openai);
    launch.auth.evidence = server_auth_evidence(&server);
    for (name, exposure) in [
        ("http", &mut launch.exposure.http),
        ("grpc", &mut launch.exposure.grpc),
        ("openai", &mut launch.exposure.openai),
    ] {
        exposure.attach_port_auth(name, &launch.auth.evidence);
    }
}

/// Authentication Triton itself provides: the restricted-API header on inference, and gRPC
/// mutual TLS.
pub fn server_auth_evidence(server: &Server) -> Vec<At<AuthEvidence>> {
    let mut evidence = Vec::new();
    for (name, endpoint) in [
        ("http", &server.http),
        ("grpc", &server.grpc),
        ("openai", &server.openai),
    ] {
        if let Some(api) = endpoint
            .restricted_apis
            .iter()
            .find(|a| a.value.as_deref() == Some("inference"))
        {
            evidence.push(At {
                value: AuthEvidence {
                    kind: "restricted-api".to_string(),
                    name: name.to_string(),
                    protects: vec![name.to_string()],
                    note: format!(
                        "the {name} inference API requires a shared-secret header (restricted API)"
                    ),
                },
                span: api.span,
            });
        }
    }
    if server.grpc.ssl_mutual.value == Some(true) {
        evidence.push(At {
            value: AuthEvidence {
                kind: "grpc-mutual-tls".to_string(),
                name: "grpc".to_string(),
                protects: vec!["grpc".to_string()],
                note: "gRPC clients must present a certificate (mutual TLS)".to_string(),
            },
            span: server.grpc.ssl_mutual.span,
        });
    }
    evidence
}
