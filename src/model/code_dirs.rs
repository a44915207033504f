//! The directories tritonserver loads shared libraries from: backends
//! (`--backend-directory`, default `/opt/tritonserver/backends`, where a model's `backend:
//! "x"` loads `x/libtriton_x.so`) and repository agents (`--repoagent-directory`, default
//! `/opt/tritonserver/repoagents`). A mount at, above or inside one of them decides the code
//! the server runs (verified on tritonserver 2.51: see tests/ground_truth_backends.rs).

use crate::model::launch::{At, Mount, Server};

/// Marks each mount that covers the server's backend or repo-agent directory.
pub fn mark_code_mounts(server: &Server, mounts: &mut [At<Mount>]) {
    let backends = server.backend_directory.value.as_deref();
    let agents = server.repoagent_directory.value.as_deref();
    for mount in mounts {
        let target = mount.value.target.as_str();
        mount.value.backend_directory = backends.is_some_and(|dir| covers(target, dir));
        mount.value.repoagent_directory = agents.is_some_and(|dir| covers(target, dir));
    }
}

/// A mount at `target` replaces what the image has at `dir` (or part of it): it is the
/// directory, one of its parents, or a directory inside it.
fn covers(target: &str, dir: &str) -> bool {
    let target = target.trim_end_matches('/');
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() || !dir.starts_with('/') {
        return false;
    }
    target.is_empty()
        || target == dir
        || dir.starts_with(&format!("{target}/"))
        || target.starts_with(&format!("{dir}/"))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_mount_covers_its_directory_its_parents_and_inside() {
        let dir = "/opt/tritonserver/backends";
        for target in [
            "/opt/tritonserver/backends",
            "/opt/tritonserver/backends/",
            "/opt/tritonserver",
            "/opt",
            "/",
            "/opt/tritonserver/backends/python",
        ] {
            assert!(covers(target, dir), "{target}");
        }
        for target in [
            "/opt/tritonserver/backends2",
            "/opt/tritonserver/repoagents",
            "/models",
            "/opt/triton",
        ] {
            assert!(!covers(target, dir), "{target}");
        }
        assert!(
            !covers("/opt", "backends"),
            "a relative directory is not judged"
        );
    }
}
