//! Which model configurations of the scan a launch serves. A launch names its model
//! repositories by their path inside the container (`--model-repository=/models`); the scan
//! holds folders of `<model>/config.pbtxt`. A folder is taken for a repository when
//!
//! - the repository is provided by a bind mount (`-v ./models:/models`, compose `volumes:`)
//!   whose host side is a relative path (or starts with `$PWD`): that folder, resolved
//!   against the launch's file, plus the part of the repository path below the mount;
//! - otherwise (a volume, a PVC, an absolute host path, the image's own files), a folder
//!   named like the repository's last component (`models` for `/models`) beside the
//!   launch's file or in a folder above it, the nearest first (not for KServe, whose
//!   storage initializer fills the repository from the predictor's `storageUri`).
//!
//! These are facts about the files, not verdicts: rules decide what a served model needs.

use std::collections::BTreeMap;

use crate::correlate::LaunchRecord;
use crate::model::launch::{At, Fact, InstanceGroup, Launch, ServedModel};
use crate::source::{FileId, SourceStore, Span};
use crate::tree::Node;

/// One model configuration file, located in its repository folder.
struct ConfigFile<'a> {
    model: String,
    display: String,
    root: &'a Node,
    file: FileId,
    /// `Some(name)` for `configs/<name>.pbtxt`.
    custom: Option<String>,
}

/// Model configurations by the repository folder they are in.
type Folders<'a> = BTreeMap<String, Vec<ConfigFile<'a>>>;

fn folders<'a>(configs: &[(FileId, &'a Node)], store: &SourceStore) -> Folders<'a> {
    let mut out: Folders<'a> = BTreeMap::new();
    for (id, root) in configs {
        let display = store.display(*id).to_string();
        let parts: Vec<&str> = display.split('/').collect();
        let n = parts.len();
        let (model, folder_end, custom) = if n >= 3 && parts[n - 2] == "configs" {
            let name = parts[n - 1].strip_suffix(".pbtxt").unwrap_or(parts[n - 1]);
            (parts[n - 3], n - 3, Some(name.to_string()))
        } else if n >= 2 {
            (parts[n - 2], n - 2, None)
        } else {
            continue;
        };
        out.entry(parts[..folder_end].join("/"))
            .or_default()
            .push(ConfigFile {
                model: model.to_string(),
                display: display.clone(),
                root,
                file: *id,
                custom,
            });
    }
    out
}

/// `a/b/../c` → `a/c`, without leading `./`; `None` when it climbs above the scan's root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn join(dir: &str, rest: &str) -> Option<String> {
    normalize(&format!("{dir}/{rest}"))
}

/// The folder of the scan a bind mount's host side names, relative to the launch's folder.
fn host_folder(source: &str, dir: &str) -> Option<String> {
    let relative = ["$(pwd)", "${PWD}", "$PWD", "`pwd`"]
        .iter()
        .find_map(|p| source.strip_prefix(p))
        .unwrap_or(source);
    if relative.starts_with('/') && relative.len() == source.len() {
        return None;
    }
    if relative.starts_with('$') || relative.starts_with('~') {
        return None;
    }
    join(dir, relative.trim_start_matches('/'))
}

/// The scan folder taken for one repository path of a launch, and how it was matched.
fn repository_folder(
    launch: &Launch,
    repository: usize,
    dir: &str,
    folders: &Folders<'_>,
) -> Option<(String, &'static str)> {
    let repo = launch.model_repositories.get(repository)?;
    if repo.value.remote {
        return None;
    }
    let path = repo.value.path.trim_end_matches('/');
    let mount = repo
        .value
        .mount
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| launch.mounts.get(i));
    if let Some(mount) = mount
        && matches!(mount.value.kind.as_str(), "bind" | "hostPath")
        && let Some(source) = &mount.value.source
        && let Some(host) = host_folder(source, dir)
    {
        let below = path
            .strip_prefix(mount.value.target.as_str())
            .unwrap_or_default();
        let folder = join(&host, below.trim_start_matches('/'))?;
        // The mount says which folder it is: no guessing by name past it.
        return folders.contains_key(&folder).then_some((folder, "mount"));
    }
    // KServe downloads the predictor's storageUri into its repository: a folder of the scan
    // is not what it serves.
    if launch.source.format == "kserve" {
        return None;
    }
    let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
    let mut ancestor = Some(dir.to_string());
    while let Some(current) = ancestor {
        if let Some(candidate) = join(&current, name)
            && folders.contains_key(&candidate)
        {
            return Some((candidate, "beside"));
        }
        ancestor = (!current.is_empty()).then(|| {
            current
                .rsplit_once('/')
                .map_or(String::new(), |(p, _)| p.to_string())
        });
    }
    None
}

/// Fills `launch.models` of every launch.
pub fn attach(launches: &mut [LaunchRecord], configs: &[(FileId, &Node)], store: &SourceStore) {
    let folders = folders(configs, store);
    if folders.is_empty() {
        return;
    }
    for record in launches {
        let display = store.display(record.file).to_string();
        let dir = display
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        let selected: Vec<String> = record
            .launch
            .server
            .flags
            .get("model-config-name")
            .into_iter()
            .flatten()
            .filter_map(|f| f.value.clone())
            .collect();
        let mut models: Vec<At<ServedModel>> = Vec::new();
        for r in 0..record.launch.model_repositories.len() {
            let Some((folder, matched_by)) = repository_folder(&record.launch, r, &dir, &folders)
            else {
                continue;
            };
            let repository = record
                .launch
                .model_repositories
                .get(r)
                .map(|m| m.value.path.clone())
                .unwrap_or_default();
            let files = folders.get(&folder).map(Vec::as_slice).unwrap_or_default();
            for config in files {
                // Triton reads configs/<name>.pbtxt for `--model-config-name=<name>` when the
                // model has one, and config.pbtxt otherwise.
                let chosen = match &config.custom {
                    Some(name) => selected.contains(name),
                    None => !files.iter().any(|c| {
                        c.model == config.model
                            && c.custom.as_ref().is_some_and(|n| selected.contains(n))
                    }),
                };
                if !chosen || models.iter().any(|m| m.value.config_path == config.display) {
                    continue;
                }
                models.push(served_model(config, &repository, &folder, matched_by));
            }
        }
        record.launch.models = models;
    }
}

fn string_fact(root: &Node, key: &str) -> Fact<String> {
    match root.get(key) {
        Some(n) => Fact {
            value: n.as_scalar_text(),
            span: n.label_span(),
        },
        None => Fact::unknown(None),
    }
}

fn served_model(
    config: &ConfigFile<'_>,
    repository: &str,
    folder: &str,
    matched_by: &str,
) -> At<ServedModel> {
    let root = config.root;
    let backend = string_fact(root, "backend");
    let platform = string_fact(root, "platform");
    let runtime = string_fact(root, "runtime");
    let python_based = matches!(backend.value.as_deref(), Some("python" | "vllm"))
        || runtime.value.as_deref().is_some_and(|r| r.ends_with(".py"));
    let instance_groups = root
        .get("instance_group")
        .map(Node::as_list)
        .unwrap_or_default()
        .iter()
        .map(instance_group)
        .collect();
    let anchor = root
        .get("name")
        .and_then(Node::label_span)
        .or_else(|| root.as_map().first().and_then(|(_, v)| v.label_span()))
        .or(Some(Span::new(config.file, 0, 0)));
    At {
        value: ServedModel {
            name: config.model.clone(),
            config_path: config.display.clone(),
            repository: repository.to_string(),
            repository_folder: folder.to_string(),
            matched_by: matched_by.to_string(),
            backend,
            platform,
            runtime,
            python_based,
            instance_groups,
        },
        span: anchor,
    }
}

fn instance_group(group: &Node) -> At<InstanceGroup> {
    let span = group.item_span().or(group.span);
    let kind = match group.get("kind") {
        Some(k) => Fact {
            value: k.as_scalar_text(),
            span: k.label_span(),
        },
        None => Fact::known("KIND_AUTO".to_string(), span),
    };
    let count = match group.get("count") {
        Some(c) => Fact {
            value: c.as_i64(),
            span: c.label_span(),
        },
        None => Fact::known(1, span),
    };
    let gpus = group
        .get("gpus")
        .map(|g| match &g.value {
            crate::tree::Value::List(items) => items
                .iter()
                .map(|i| Fact {
                    value: i.as_i64(),
                    span: i.span,
                })
                .collect(),
            // `gpus: 1` written once is a one-element repeated field.
            _ => vec![Fact {
                value: g.as_i64(),
                span: g.label_span(),
            }],
        })
        .unwrap_or_default();
    // The group stands for its GPUs where it lists them, else for its kind.
    let anchor = group
        .get("gpus")
        .and_then(Node::label_span)
        .or_else(|| group.get("kind").and_then(Node::label_span))
        .or(span);
    At {
        value: InstanceGroup { kind, count, gpus },
        span: anchor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_and_host_folders_resolve_against_the_launch() {
        assert_eq!(normalize("./a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../a"), None);
        assert_eq!(
            host_folder("./models", "deploy").as_deref(),
            Some("deploy/models")
        );
        assert_eq!(host_folder("$(pwd)/models", "").as_deref(), Some("models"));
        assert_eq!(
            host_folder("${PWD}/repo/m", "x").as_deref(),
            Some("x/repo/m")
        );
        assert_eq!(host_folder("/opt/models", "x"), None);
        assert_eq!(host_folder("$HOME/models", "x"), None);
        assert_eq!(
            host_folder("../models", "deploy").as_deref(),
            Some("models")
        );
    }
}
