//! A container's `/dev/shm`: what backs it and how large it is, from `docker run`/compose
//! settings or a Kubernetes pod spec. Triton's Python backend moves every tensor through it.

use crate::model::launch::{At, Fact, Mount, SharedMemory};
use crate::model::quantity;
use crate::source::Span;
use crate::tree::Node;

const SHM: &str = "/dev/shm";

/// Docker semantics (docker run and compose): a mount at /dev/shm wins; then the IPC mode
/// (`host` and another container's namespace bring their /dev/shm, and Docker ignores
/// `--shm-size` with them; `none` has no /dev/shm); then `--shm-size`; else 64 MiB.
pub fn docker(
    ipc: Option<&Fact<String>>,
    shm_size: Option<&Fact<i64>>,
    mounts: &[At<Mount>],
    anchor: Option<Span>,
) -> Fact<SharedMemory> {
    if let Some(m) = mounts.iter().rev().find(|m| m.value.target == SHM) {
        let mount = SharedMemory {
            source: "mount".to_string(),
            size: None,
            mount_kind: Some(m.value.kind.clone()),
            medium: None,
        };
        return Fact::known(mount, m.span);
    }
    if let Some(mode) = ipc {
        let Some(text) = mode.value.as_deref() else {
            return Fact::unknown(mode.span);
        };
        let shared = |source: &str, size: Option<i64>| {
            Fact::known(
                SharedMemory {
                    source: source.to_string(),
                    size,
                    mount_kind: None,
                    medium: None,
                },
                mode.span,
            )
        };
        match text {
            "host" => return shared("host-ipc", None),
            "none" => return shared("none", Some(0)),
            t if t.starts_with("container:") || t.starts_with("service:") => {
                return shared("shared-ipc", None);
            }
            // private, shareable and "" keep a /dev/shm of the container's own.
            _ => {}
        }
    }
    match shm_size {
        Some(size) => Fact {
            value: size.value.map(|bytes| SharedMemory {
                source: "shm-size".to_string(),
                size: Some(bytes),
                mount_kind: None,
                medium: None,
            }),
            span: size.span,
        },
        None => Fact::known(SharedMemory::default_size(), anchor),
    }
}

/// Kubernetes: `hostIPC: true` gives the host's /dev/shm; a volume mounted at /dev/shm
/// (the usual `emptyDir: {medium: Memory}`) replaces the runtime's 64 MiB; else 64 MiB.
pub fn kubernetes(
    container: &Node,
    pod_spec: &Node,
    host_ipc: &Fact<bool>,
    anchor: Option<Span>,
) -> Fact<SharedMemory> {
    let mount = container
        .get("volumeMounts")
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|m| {
            m.get("mountPath")
                .and_then(Node::as_str)
                .is_some_and(|p| p.trim_end_matches('/') == SHM)
        });
    if let Some(m) = mount {
        let name = m.get("name").and_then(Node::as_str).unwrap_or_default();
        let volume = pod_spec
            .get("volumes")
            .map(Node::as_list)
            .unwrap_or_default()
            .iter()
            .find(|v| v.get("name").and_then(Node::as_str) == Some(name));
        let kind = volume.and_then(|v| {
            v.as_map()
                .iter()
                .map(|(k, _)| k.clone())
                .find(|k| k != "name")
        });
        let empty_dir = volume.and_then(|v| v.get("emptyDir"));
        let medium = empty_dir.map(|e| {
            e.get("medium")
                .and_then(Node::as_scalar_text)
                .unwrap_or_default()
        });
        // A memory emptyDir is a tmpfs of `sizeLimit` (bounded by the pod's memory without one).
        let size = empty_dir
            .and_then(|e| e.get("sizeLimit"))
            .and_then(Node::as_scalar_text)
            .and_then(|t| quantity::k8s_bytes(&t));
        let span = m.get("mountPath").and_then(Node::label_span).or(m.span);
        let value = SharedMemory {
            source: "mount".to_string(),
            size,
            mount_kind: kind,
            medium,
        };
        return Fact::known(value, span);
    }
    if host_ipc.value == Some(true) {
        let value = SharedMemory {
            source: "host-ipc".to_string(),
            size: None,
            mount_kind: None,
            medium: None,
        };
        return Fact::known(value, host_ipc.span);
    }
    Fact::known(SharedMemory::default_size(), anchor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::launch::{DEFAULT_SHM_BYTES, Mount};

    fn fact<T>(value: T) -> Fact<T> {
        Fact::known(value, None)
    }

    #[test]
    fn docker_defaults_to_64_mib_and_reads_shm_size_ipc_and_mounts() {
        let none = docker(None, None, &[], None);
        assert_eq!(none.value.unwrap().size, Some(DEFAULT_SHM_BYTES));
        let sized = docker(None, Some(&fact(1 << 30)), &[], None);
        assert_eq!(sized.value.unwrap().source, "shm-size");
        // Docker ignores --shm-size with --ipc=host.
        let host = docker(
            Some(&fact("host".to_string())),
            Some(&fact(1 << 20)),
            &[],
            None,
        );
        assert_eq!(host.value.unwrap().source, "host-ipc");
        let private = docker(Some(&fact("private".to_string())), None, &[], None);
        assert_eq!(private.value.unwrap().source, "default");
        let unresolved = docker(Some(&Fact::unknown(None)), None, &[], None);
        assert!(unresolved.value.is_none());
        let mounted = docker(
            None,
            None,
            &[At {
                value: Mount {
                    kind: "bind".to_string(),
                    target: "/dev/shm".to_string(),
                    ..Mount::default()
                },
                span: None,
            }],
            None,
        );
        assert_eq!(mounted.value.unwrap().mount_kind.as_deref(), Some("bind"));
    }
}
