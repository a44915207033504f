//! File kinds by name (and, for files without an extension, by shebang). YAML files are
//! told apart by content later: Kubernetes objects, compose files, or neither.

use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// Kubernetes manifests, Helm output, KServe resources or compose files.
    Yaml,
    Dockerfile,
    Shell,
    Makefile,
    /// A Triton model configuration (`config.pbtxt`, `configs/*.pbtxt`).
    Pbtxt,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Yaml => "yaml",
            FileKind::Dockerfile => "dockerfile",
            FileKind::Shell => "shell",
            FileKind::Makefile => "makefile",
            FileKind::Pbtxt => "pbtxt",
        }
    }
}

pub fn classify_path(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    classify_name(name)
}

/// The last component of a `/`-separated name (`--stdin-filename images/Dockerfile` is
/// classified as `Dockerfile`).
pub fn base_name(name: &str) -> String {
    std::path::Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

pub fn classify_name(name: &str) -> Option<FileKind> {
    let lower = name.to_ascii_lowercase();
    if lower == ".tritonguard.yaml"
        || lower == ".tritonguard.yml"
        || lower == ".pre-commit-config.yaml"
        || lower == ".pre-commit-hooks.yaml"
    {
        return None;
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Some(FileKind::Yaml);
    }
    let dockerfile_variant = (lower.starts_with("dockerfile.")
        || lower.starts_with("dockerfile-")
        || lower.starts_with("containerfile."))
        && !has_non_dockerfile_extension(&lower);
    if lower == "dockerfile"
        || lower == "containerfile"
        || dockerfile_variant
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
    {
        return Some(FileKind::Dockerfile);
    }
    if lower.ends_with(".sh") || lower.ends_with(".bash") {
        return Some(FileKind::Shell);
    }
    if lower == "makefile" || lower == "gnumakefile" || lower.ends_with(".mk") {
        return Some(FileKind::Makefile);
    }
    if lower.ends_with(".pbtxt") {
        return Some(FileKind::Pbtxt);
    }
    None
}

/// What a `*.pbtxt` file is to Triton, by its place in a model directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelConfigRole {
    /// `<model>/config.pbtxt`: the configuration Triton loads by default.
    Default,
    /// `<model>/configs/<name>.pbtxt`: loaded instead when the server runs with
    /// `--model-config-name=<name>`.
    Custom(String),
    /// Any other `.pbtxt` (a sample, a template a script copies into place): Triton never
    /// reads it as a model configuration.
    Other,
}

/// The role of a `.pbtxt` file by its `/`-separated path. Triton opens exactly
/// `config.pbtxt` (case-sensitive) in the model directory, or `configs/<name>.pbtxt`.
pub fn model_config_role(path: &str) -> ModelConfigRole {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    if file == "config.pbtxt" {
        return ModelConfigRole::Default;
    }
    match (file.strip_suffix(".pbtxt"), parts.next(), parts.next()) {
        (Some(name), Some("configs"), Some(model))
            if !name.is_empty() && !model.is_empty() && model != "." =>
        {
            ModelConfigRole::Custom(name.to_string())
        }
        _ => ModelConfigRole::Other,
    }
}

/// `Dockerfile.gpu` is a Dockerfile, but `dockerfile.rs`, `Dockerfile.md` or
/// `dockerfile-lint.json` are code, docs or data about Dockerfiles.
fn has_non_dockerfile_extension(lower: &str) -> bool {
    const NOT_DOCKERFILES: &[&str] = &[
        "rs", "py", "go", "js", "ts", "java", "rb", "c", "h", "cc", "cpp", "md", "rst", "txt",
        "json", "toml", "lock", "html", "snap", "orig", "bak", "swp", "patch", "diff", "log",
        "yaml", "yml", "sh", "bash", "ps1",
    ];
    lower
        .rsplit_once('.')
        .is_some_and(|(_, extension)| NOT_DOCKERFILES.contains(&extension))
}

/// `#!/bin/sh`, `#!/usr/bin/env bash` and friends.
pub fn classify_shebang(head: &[u8]) -> Option<FileKind> {
    let line = head.strip_prefix(b"#!")?;
    let line = std::str::from_utf8(line.split(|b| *b == b'\n').next()?).ok()?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|w| !w.starts_with('-'))?;
    }
    matches!(program, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh").then_some(FileKind::Shell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_shebangs() {
        assert_eq!(classify_name("deploy.YAML"), Some(FileKind::Yaml));
        assert_eq!(classify_name("Dockerfile.gpu"), Some(FileKind::Dockerfile));
        assert_eq!(
            classify_name("triton.Dockerfile"),
            Some(FileKind::Dockerfile)
        );
        assert_eq!(classify_name("Containerfile"), Some(FileKind::Dockerfile));
        assert_eq!(
            classify_name("Dockerfile.cuda-12"),
            Some(FileKind::Dockerfile)
        );
        assert_eq!(classify_name("dockerfile.rs"), None);
        assert_eq!(classify_name("Dockerfile.md"), None);
        assert_eq!(classify_name("Dockerfile.sh"), Some(FileKind::Shell));
        assert_eq!(classify_name("run.sh"), Some(FileKind::Shell));
        assert_eq!(classify_name("Makefile"), Some(FileKind::Makefile));
        assert_eq!(classify_name("config.pbtxt"), Some(FileKind::Pbtxt));
        assert_eq!(
            model_config_role("models/resnet/config.pbtxt"),
            ModelConfigRole::Default
        );
        assert_eq!(model_config_role("config.pbtxt"), ModelConfigRole::Default);
        assert_eq!(
            model_config_role("models/resnet/configs/h100.pbtxt"),
            ModelConfigRole::Custom("h100".to_string())
        );
        for other in [
            "models/resnet/config.pbtxt.sample",
            "models/resnet/config_template.pbtxt",
            "models/resnet/Config.pbtxt",
            "templates/ensemble.pbtxt",
            "configs/h100.pbtxt",
            "models/resnet/configs/.pbtxt",
        ] {
            assert_eq!(model_config_role(other), ModelConfigRole::Other, "{other}");
        }
        assert_eq!(classify_name(".tritonguard.yaml"), None);
        assert_eq!(classify_name("README.md"), None);
        assert_eq!(
            classify_shebang(b"#!/usr/bin/env bash\nset -e"),
            Some(FileKind::Shell)
        );
        assert_eq!(classify_shebang(b"#!/bin/sh"), Some(FileKind::Shell));
        assert_eq!(classify_shebang(b"#!/usr/bin/python3"), None);
    }
}
