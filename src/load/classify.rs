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
