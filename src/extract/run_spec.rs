//! `docker|podman|nerdctl run` lines (from scripts and Makefiles) and Dockerfiles as Launches.
//! A run whose image is built by a Dockerfile of the scan (`docker build -t NAME -f FILE`,
//! compose `build:`) takes that Dockerfile's USER, ENTRYPOINT, CMD, ENV and EXPOSE as its
//! image defaults, the way Docker would.

use std::collections::BTreeMap;

use crate::extract::docker::{ImageDefaults, Published, RunSpec};
use crate::model::launch::{At, Fact, Mount};
use crate::model::server::ArgWord;
use crate::parse::container::{GpuCount, MountKind, MountSpec, PublishedPort};
use crate::parse::dockerfile::{Dockerfile, ImageConfig, effective_config};
use crate::parse::shell::ContainerRun;
use crate::source::Span;

/// What a Dockerfile contributes to the runs of the image it builds.
pub fn image_defaults(config: &ImageConfig, display: &str) -> ImageDefaults {
    let user = config.user.as_ref().map(|u| {
        let text = match &u.value.group {
            Some(g) => format!("{}:{}", u.value.user.text, g.text),
            None => u.value.user.text.clone(),
        };
        Fact {
            value: u.value.user.resolved.then_some(text),
            span: Some(u.span),
        }
    });
    let words =
        |argv: &[crate::parse::words::Word]| argv.iter().map(ArgWord::from).collect::<Vec<_>>();
    let entrypoint = config.entrypoint.as_ref().map(|e| words(&e.value.argv));
    let cmd = if config.cmd_ignored() {
        Some(Vec::new())
    } else {
        config.cmd.as_ref().map(|c| words(&c.value.argv))
    };
    let env = config
        .env
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                Fact {
                    value: e.value.is_resolved().then(|| e.value.text.clone()),
                    span: Some(e.key_span),
                },
            )
        })
        .collect();
    let exposed = config
        .expose
        .iter()
        .filter_map(|p| {
            let range = p.value.range?;
            Some((i64::from(range.start), Some(p.span)))
        })
        .collect();
    ImageDefaults {
        user,
        entrypoint,
        cmd,
        env,
        exposed,
        dockerfile: Some(display.to_string()),
        base_image: Some(ArgWord::from(&config.base_image)),
    }
}

/// The image's effective configuration, when the Dockerfile has a stage.
pub fn dockerfile_config(df: &Dockerfile) -> Option<ImageConfig> {
    effective_config(df)
}

/// A Dockerfile on its own: the image's user and command, with no runtime settings.
pub fn dockerfile_run(df: &Dockerfile, config: &ImageConfig, display: &str) -> RunSpec {
    let last_stage = df.stages.last();
    let anchor = last_stage
        .map(|s| s.base.span)
        .or(Some(config.base_image.span));
    RunSpec {
        id: format!("dockerfile:{display}"),
        format: "dockerfile".to_string(),
        file: display.to_string(),
        object: None,
        name: None,
        anchor,
        image: Some(ArgWord::from(&config.base_image)),
        command_anchor: config
            .cmd
            .as_ref()
            .or(config.entrypoint.as_ref())
            .map(|c| c.span),
        image_only: true,
        ..RunSpec::default()
    }
}

fn fact_bool(s: Option<crate::parse::container::Spanned<bool>>) -> Option<Fact<bool>> {
    s.map(|s| Fact::known(s.value, Some(s.span)))
}

/// A published port as Docker semantics need it.
pub fn published(p: &PublishedPort) -> Option<Published> {
    let range = p.container_range?;
    Some(Published {
        host_ip: p.host_ip.as_ref().map(|i| {
            i.text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        }),
        host_port: p.host_port.as_ref().map(|h| h.text.clone()),
        container_ports: (i64::from(range.start), i64::from(range.end)),
        protocol: p.protocol.as_str().to_string(),
        span: Some(p.span),
    })
}

/// A `-v`/`--mount`/`--tmpfs` (or compose volume) as a Launch mount.
pub fn mount(m: &MountSpec) -> Option<At<Mount>> {
    let target = m.target.as_ref()?;
    let kind = match &m.kind {
        MountKind::Bind => "bind".to_string(),
        MountKind::Volume => "volume".to_string(),
        MountKind::Tmpfs => "tmpfs".to_string(),
        MountKind::Other(k) => k.clone(),
        MountKind::Unknown => "unknown".to_string(),
    };
    Some(At {
        value: Mount {
            kind,
            source: m.source.as_ref().map(|s| s.text.clone()),
            target: target.text.trim_end_matches('/').to_string(),
            read_only: match &m.read_only {
                Some(ro) => Fact::known(ro.value, Some(ro.span)),
                None => Fact::known(false, Some(m.span)),
            },
            model_repository: false,
            backend_directory: false,
            repoagent_directory: false,
        },
        span: Some(m.span),
    })
}

/// The GPUs a `--gpus` request (or compose `gpus:`) gives: a count, -1 for all.
pub fn gpu_count(g: &crate::parse::container::GpuRequest) -> Fact<i64> {
    let value = match (&g.count, g.devices.len()) {
        (Some(c), _) => Some(match c.value {
            GpuCount::All => -1,
            GpuCount::Count(n) => i64::from(n),
        }),
        (None, n) if n > 0 => i64::try_from(n).ok(),
        _ => None,
    };
    Fact {
        value: if g.resolved { value } else { None },
        span: Some(g.span),
    }
}

/// A container run line as a [`RunSpec`]. `ordinal` tells apart runs of the same image in
/// one file (for stable identities).
pub fn run_spec(run: &ContainerRun, display: &str, ordinal: usize, format: &str) -> RunSpec {
    let anchor = Some(run.program.span.join(run.subcommand_span));
    let image = run.image.as_ref().map(ArgWord::from);
    let name = run.name().map(|n| n.text.clone());
    // The candidate runs of one command (an image chosen in a branch) share one identity.
    let identity = run
        .identity
        .clone()
        .or_else(|| name.clone())
        .or_else(|| image.as_ref().map(|i| i.text.clone()))
        .unwrap_or_default();
    let command: Vec<ArgWord> = run.args.iter().map(ArgWord::from).collect();
    let command_anchor = match (run.args.first(), run.args.last()) {
        (Some(first), Some(last)) => Some(first.span.join(last.span)),
        _ => None,
    };
    let caps = |parts: Vec<crate::parse::container::Part>| -> Vec<Fact<String>> {
        parts
            .into_iter()
            .map(|p| Fact {
                value: p
                    .resolved
                    .then(|| p.text.trim_start_matches("CAP_").to_ascii_uppercase()),
                span: Some(p.span),
            })
            .collect()
    };
    let gpus = run.gpus().as_ref().map(gpu_count);
    let mut env = BTreeMap::new();
    for e in run.env() {
        env.insert(
            e.name.text.clone(),
            Fact {
                value: e
                    .value
                    .as_ref()
                    .filter(|v| v.resolved)
                    .map(|v| v.text.clone()),
                span: Some(e.span),
            },
        );
    }
    RunSpec {
        id: format!("{format}:{display}:{identity}#{ordinal}"),
        format: format.to_string(),
        file: display.to_string(),
        object: name.clone().map(|n| format!("container/{n}")),
        name,
        anchor,
        image,
        entrypoint: run.entrypoint().map(|e| vec![ArgWord::from(e)]),
        command: (!command.is_empty()).then_some(command),
        command_anchor,
        user: run.user().map(|u| Fact {
            value: u.user.resolved.then(|| match &u.group {
                Some(g) => format!("{}:{}", u.user.text, g.text),
                None => u.user.text.clone(),
            }),
            span: Some(u.span),
        }),
        cap_add: caps(run.cap_add()),
        cap_drop: caps(run.cap_drop()),
        privileged: fact_bool(run.privileged()),
        read_only: fact_bool(run.read_only()),
        no_new_privileges: fact_bool(run.no_new_privileges()),
        network_host: fact_bool(run.uses_host("network")),
        ipc_host: fact_bool(run.uses_host("ipc")),
        ipc: run.ipc().map(|w| Fact {
            value: w.is_resolved().then(|| w.text.clone()),
            span: Some(w.span),
        }),
        shm_size: run.shm_size().map(|s| Fact {
            value: s.value.and_then(|b| i64::try_from(b).ok()),
            span: Some(s.span),
        }),
        pid_host: fact_bool(run.uses_host("pid")),
        memory: run.memory().map(|m| Fact {
            value: m.value.and_then(|b| i64::try_from(b).ok()),
            span: Some(m.span),
        }),
        gpus,
        published: run.published_ports().iter().filter_map(published).collect(),
        publish_all: run.publish_all().filter(|p| p.value).map(|p| p.span),
        mounts: run.mounts().iter().filter_map(mount).collect(),
        env,
        opaque: run.unresolved_options.first().map(|w| w.span),
        image_only: false,
    }
}

/// The span a Dockerfile's findings fall back to: its final FROM line.
pub fn dockerfile_anchor(df: &Dockerfile) -> Option<Span> {
    df.stages.last().map(|s| s.base.span)
}
