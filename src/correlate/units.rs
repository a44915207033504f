//! Deployment units: the groups of files whose objects are deployed together, so that
//! correlation (a Service exposing a pod, a route to a Service, a NetworkPolicy, auth
//! evidence, KServe runtimes) stays inside one unit and never joins two environments.
//!
//! - A Helm render (a text with `# Source:` headers, from stdin or `helm template`) and any
//!   other text made in memory is a unit of its own.
//! - A kustomization is a unit of the resources it lists (see [`super::kustomize`]).
//! - Every other file belongs to its directory tree: a directory and its subdirectories form
//!   one unit, unless two files in it define the same object (group, kind, namespace, name).
//!   Then the files are variants (environments): each subdirectory forms its own units, and
//!   the directory's own files join each variant they do not conflict with (a Service shared
//!   by `envs/dev` and `envs/prod` written in `envs/`). Own files that conflict with each
//!   other are variants of their own.

use std::collections::{BTreeMap, HashSet};

use crate::source::FileId;

/// What a unit is, for `inspect` and messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnitKind {
    /// A directory tree (the display path of the directory, `.` for the top).
    Directory(String),
    /// One file on its own: a Helm render, standard input, a variant file.
    File(String),
    /// A kustomization directory.
    Kustomization(String),
}

impl UnitKind {
    pub fn describe(&self) -> String {
        match self {
            UnitKind::Directory(d) => format!("directory {d}"),
            UnitKind::File(f) => format!("file {f}"),
            UnitKind::Kustomization(d) => format!("kustomization {d}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub kind: UnitKind,
    /// Sorted, each once.
    pub files: Vec<FileId>,
}

/// A file as unit formation sees it.
pub struct UnitFile {
    pub id: FileId,
    /// `/`-separated display path.
    pub display: String,
    /// A unit by itself (a Helm render, a text made in memory).
    pub alone: bool,
    /// The identities of the Kubernetes objects it defines.
    pub identities: Vec<String>,
}

/// Forms the units of the files that no kustomization claimed.
pub fn directory_units(files: &[UnitFile]) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut tree = Dir::default();
    for f in files {
        if f.alone {
            units.push(Unit {
                kind: UnitKind::File(f.display.clone()),
                files: vec![f.id],
            });
            continue;
        }
        let parts: Vec<&str> = f.display.split('/').collect();
        let (dirs, _) = parts.split_at(parts.len().saturating_sub(1));
        tree.insert(dirs, f);
    }
    for (files, kind) in tree.units(".") {
        let mut files: Vec<FileId> = files.into_iter().map(|f| f.id).collect();
        files.sort_unstable();
        files.dedup();
        units.push(Unit { kind, files });
    }
    units.sort_by(|a, b| a.files.cmp(&b.files));
    units
}

#[derive(Default)]
struct Dir<'f> {
    files: Vec<&'f UnitFile>,
    children: BTreeMap<String, Dir<'f>>,
}

/// A candidate unit: its files and the identities they define.
struct Group<'f> {
    files: Vec<&'f UnitFile>,
    identities: HashSet<&'f str>,
    kind: UnitKind,
}

impl<'f> Group<'f> {
    fn of(files: Vec<&'f UnitFile>, kind: UnitKind) -> Group<'f> {
        let identities = files
            .iter()
            .flat_map(|f| f.identities.iter().map(String::as_str))
            .collect();
        Group {
            files,
            identities,
            kind,
        }
    }

    fn conflicts(&self, other: &Group<'_>) -> bool {
        let (small, large) = if self.identities.len() <= other.identities.len() {
            (&self.identities, &other.identities)
        } else {
            (&other.identities, &self.identities)
        };
        small.iter().any(|i| large.contains(i))
    }

    fn absorb(&mut self, other: Group<'f>) {
        self.identities.extend(other.identities);
        self.files.extend(other.files);
    }
}

/// Whether any two of `own` and `children` define the same object.
fn any_conflict(own: &Group<'_>, children: &[Group<'_>]) -> bool {
    let mut seen: HashSet<&str> = own.identities.iter().copied().collect();
    for child in children {
        if child.identities.iter().any(|i| seen.contains(i)) {
            return true;
        }
        seen.extend(child.identities.iter().copied());
    }
    false
}

impl<'f> Dir<'f> {
    fn insert(&mut self, dirs: &[&str], file: &'f UnitFile) {
        match dirs.split_first() {
            None => self.files.push(file),
            Some((first, rest)) => self
                .children
                .entry((*first).to_string())
                .or_default()
                .insert(rest, file),
        }
    }

    /// The units of this directory tree (`path` is its display path).
    fn units(&self, path: &str) -> Vec<(Vec<&'f UnitFile>, UnitKind)> {
        self.groups(path)
            .into_iter()
            .map(|g| (g.files, g.kind))
            .collect()
    }

    fn groups(&self, path: &str) -> Vec<Group<'f>> {
        let join = |name: &str| {
            if path == "." {
                name.to_string()
            } else {
                format!("{path}/{name}")
            }
        };
        let mut children: Vec<Group<'f>> = Vec::new();
        for (name, child) in &self.children {
            children.extend(child.groups(&join(name)));
        }
        // The directory's own files: those that define an object another own file defines
        // too are variants; the rest are shared.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &self.files {
            let mine: HashSet<&str> = f.identities.iter().map(String::as_str).collect();
            for i in mine {
                *seen.entry(i).or_default() += 1;
            }
        }
        let (variants, shared): (Vec<&'f UnitFile>, Vec<&'f UnitFile>) = self
            .files
            .iter()
            .partition(|f| f.identities.iter().any(|i| seen.get(i.as_str()) > Some(&1)));
        let own = Group::of(shared, UnitKind::Directory(path.to_string()));

        // No conflict anywhere below: the whole tree is one unit.
        if variants.is_empty() && !any_conflict(&own, &children) {
            let mut whole = own;
            for child in children {
                whole.absorb(child);
            }
            return vec![whole];
        }
        let variants = variants
            .into_iter()
            .map(|f| Group::of(vec![f], UnitKind::File(f.display.clone())))
            .collect();
        Self::split(own, variants, children)
    }

    /// Variants below a directory: each child unit and each own variant file, with the
    /// directory's shared files joined to every one they do not conflict with.
    fn split(
        shared: Group<'f>,
        own_variants: Vec<Group<'f>>,
        children: Vec<Group<'f>>,
    ) -> Vec<Group<'f>> {
        let mut out = Vec::new();
        let mut shared_used = shared.files.is_empty();
        for mut g in own_variants.into_iter().chain(children) {
            if !shared.files.is_empty() && !shared.conflicts(&g) {
                g.absorb(Group::of(shared.files.clone(), shared.kind.clone()));
                shared_used = true;
            }
            out.push(g);
        }
        if !shared_used {
            out.push(shared);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u32, display: &str, identities: &[&str]) -> UnitFile {
        UnitFile {
            id: FileId(id),
            display: display.to_string(),
            alone: false,
            identities: identities.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn shown(units: &[Unit], files: &[UnitFile]) -> Vec<Vec<String>> {
        units
            .iter()
            .map(|u| {
                u.files
                    .iter()
                    .filter_map(|id| files.iter().find(|f| f.id == *id))
                    .map(|f| f.display.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_tree_without_conflicts_is_one_unit() {
        let files = vec![
            file(0, "deploy/triton.yaml", &["apps/Deployment/default/triton"]),
            file(1, "deploy/svc/service.yaml", &["/Service/default/triton"]),
        ];
        let units = directory_units(&files);
        assert_eq!(
            shown(&units, &files),
            [["deploy/triton.yaml", "deploy/svc/service.yaml"]]
        );
    }

    #[test]
    fn environments_that_define_the_same_object_are_variants_sharing_the_parent() {
        let files = vec![
            file(
                0,
                "envs/dev/triton.yaml",
                &["apps/Deployment/default/triton"],
            ),
            file(
                1,
                "envs/prod/triton.yaml",
                &["apps/Deployment/default/triton"],
            ),
            file(
                2,
                "envs/shared-policy.yaml",
                &["networking.k8s.io/NetworkPolicy/default/np"],
            ),
        ];
        let units = directory_units(&files);
        assert_eq!(
            shown(&units, &files),
            [
                vec!["envs/dev/triton.yaml", "envs/shared-policy.yaml"],
                vec!["envs/prod/triton.yaml", "envs/shared-policy.yaml"],
            ]
        );
    }

    #[test]
    fn files_of_one_directory_that_clash_are_variants() {
        let files = vec![
            file(0, "k8s/a.yaml", &["apps/Deployment/default/triton"]),
            file(1, "k8s/b.yaml", &["apps/Deployment/default/triton"]),
            file(2, "k8s/svc.yaml", &["/Service/default/triton"]),
        ];
        let units = directory_units(&files);
        assert_eq!(
            shown(&units, &files),
            [
                vec!["k8s/a.yaml", "k8s/svc.yaml"],
                vec!["k8s/b.yaml", "k8s/svc.yaml"]
            ]
        );
    }

    #[test]
    fn renders_stand_alone() {
        let mut render = file(0, "<stdin>", &["apps/Deployment/default/triton"]);
        render.alone = true;
        let files = vec![
            render,
            file(1, "a.yaml", &["apps/Deployment/default/triton"]),
        ];
        let units = directory_units(&files);
        assert_eq!(shown(&units, &files), [["<stdin>"], ["a.yaml"]]);
    }
}
