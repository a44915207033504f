//! Stage 3, correlate: the extracted files are grouped into deployment units ([`units`]);
//! inside each unit the Kubernetes objects are indexed once ([`index`]) and every Launch
//! learns who can reach its ports ([`exposure`]) and what authenticates or rate-limits in
//! front of it ([`auth`]); KServe predictors are merged with their runtimes ([`kserve`]).
//! Container runs are joined with the Dockerfiles that build their images ([`images`]).
//! The result is the list of subjects policies look at, each with the variables it sees.

pub mod auth;
pub mod exposure;
pub mod images;
pub mod index;
pub mod kserve;
pub mod subjects;
pub mod units;

use std::collections::BTreeSet;

use crate::extract::Extracted;
use crate::load::Loaded;
use crate::model::k8s::K8sObject;
use crate::model::launch::Launch;
use crate::source::{FileId, Span};
use crate::tree::{Node, ToNode};
use index::UnitIndex;
pub use subjects::{SubjectRecord, Variables};
use units::{Unit, UnitFile, UnitKind};

/// A Launch after correlation, with where it came from.
#[derive(Clone, Debug)]
pub struct LaunchRecord {
    pub launch: Launch,
    pub file: FileId,
    /// Where to point when nothing more precise is known.
    pub anchor: Option<Span>,
    /// The object (document, compose service, run) it was read from.
    pub extent: Option<Span>,
    /// Index into [`Correlated::units`].
    pub unit: usize,
}

/// The correlate stage's output.
pub struct Correlated {
    pub units: Vec<Unit>,
    pub launches: Vec<LaunchRecord>,
    pub subjects: Vec<SubjectRecord>,
    /// Variables shared by groups of subjects (see [`SubjectRecord::group`]).
    pub groups: Vec<Variables>,
}

/// Options of the stage.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Bind `objects` (the unit's Kubernetes objects) for policies: only when one reads it.
    pub bind_objects: bool,
}

/// `group/Kind/namespace/name`: two files defining the same one are variants.
fn object_identity(o: &K8sObject) -> String {
    let group = o.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    format!("{group}/{}/{}/{}", o.kind, o.namespace_or_default(), o.name)
}

/// Correlates the extracted files (indexed like `loaded.files`).
pub fn correlate(loaded: &Loaded, extracted: &[Extracted], options: Options) -> Correlated {
    let store = &loaded.store;
    let unit_files: Vec<UnitFile> = extracted
        .iter()
        .map(|e| {
            let source = store.get(e.file);
            UnitFile {
                id: e.file,
                display: store.display(e.file).to_string(),
                alone: source.is_some_and(|s| s.path.is_none()) || e.is_helm_render(),
                identities: e
                    .objects
                    .iter()
                    .filter(|o| !o.name.is_empty())
                    .map(object_identity)
                    .collect(),
            }
        })
        .collect();
    let units = units::directory_units(&unit_files);

    let mut launches: Vec<LaunchRecord> = Vec::new();
    let mut groups: Vec<Variables> = Vec::new();
    let mut unit_of_file: Vec<Option<usize>> = vec![None; extracted.len()];
    let mut object_subjects: Vec<SubjectRecord> = Vec::new();
    for (u, unit) in units.iter().enumerate() {
        let members: Vec<&Extracted> = unit
            .files
            .iter()
            .filter_map(|id| extracted.get(id.0 as usize))
            .collect();
        for m in &members {
            if let Some(slot) = unit_of_file.get_mut(m.file.0 as usize) {
                slot.get_or_insert(u);
            }
        }
        let objects: Vec<&K8sObject> = members.iter().flat_map(|m| m.objects.iter()).collect();
        let group = groups.len();
        groups.push(if options.bind_objects {
            vec![(
                "objects",
                Node::list(objects.iter().map(|o| o.node.clone()).collect()),
            )]
        } else {
            Vec::new()
        });
        for object in &objects {
            object_subjects.push(subjects::object_subject(object, store, group));
        }
        if objects.is_empty() {
            continue;
        }
        let index = UnitIndex::new(&objects);
        let drafts = members
            .iter()
            .flat_map(|m| m.workloads.iter().cloned().map(|d| (d, None)))
            .chain(kserve::launches(&objects, store));
        for (mut draft, route) in drafts {
            exposure::apply(&mut draft.launch, &draft.pod, &index, store);
            if let Some(route) = &route {
                let protected = draft
                    .launch
                    .auth
                    .evidence
                    .iter()
                    .any(|e| e.value.protects.iter().any(|p| p == "http" || p == "*"));
                kserve::apply_route(&mut draft.launch, route, protected);
            }
            let anchor = draft.launch.container.span;
            launches.push(LaunchRecord {
                file: anchor.map(|s| s.file).unwrap_or(draft.extent.file),
                anchor,
                extent: Some(draft.extent),
                unit: u,
                launch: draft.launch,
            });
        }
    }

    let images = images::ImageIndex::new(extracted, store);
    for e in extracted {
        let unit = unit_of_file
            .get(e.file.0 as usize)
            .copied()
            .flatten()
            .unwrap_or(0);
        for run in &e.runs {
            let defaults = images.defaults_for(&run.image);
            if let Some(launch) = crate::extract::docker::launch(&run.spec, &defaults, store) {
                launches.push(run_record(launch, run.extent, unit));
            }
        }
        if let Some(image) = &e.dockerfile
            && !images.is_run(e.file)
            && let Some(launch) =
                crate::extract::docker::launch(&image.own_run, &image.defaults, store)
        {
            launches.push(run_record(launch, Some(image.extent), unit));
        }
    }

    let mut subject_list: Vec<SubjectRecord> = launches
        .iter()
        .map(|r| subjects::launch_subject(r, store, r.unit))
        .collect();
    subject_list.extend(object_subjects);
    let configs: Vec<(FileId, &Node)> = extracted
        .iter()
        .filter_map(|e| e.model_config.as_ref().map(|c| (e.file, c)))
        .collect();
    let (config_subjects, repositories) =
        subjects::model_config_subjects(&configs, store, groups.len());
    subject_list.extend(config_subjects);
    groups.extend(repositories);
    Correlated {
        units,
        launches,
        subjects: subject_list,
        groups,
    }
}

fn run_record(launch: Launch, extent: Option<Span>, unit: usize) -> LaunchRecord {
    let anchor = launch.container.span.or(launch.image.span);
    LaunchRecord {
        file: anchor
            .map(|s| s.file)
            .or(extent.map(|e| e.file))
            .unwrap_or(FileId(0)),
        anchor,
        extent,
        unit,
        launch,
    }
}

impl Correlated {
    /// Files holding at least one launch or object of a checked (not context-only) file.
    pub fn counts(&self, loaded: &Loaded, extracted: &[Extracted]) -> (usize, usize) {
        let context: BTreeSet<FileId> = loaded
            .files
            .iter()
            .filter(|f| f.context)
            .map(|f| f.id)
            .collect();
        let objects = extracted
            .iter()
            .filter(|e| !context.contains(&e.file))
            .map(|e| e.objects.len())
            .sum();
        // A launch shared by several units (a file joined to each variant) counts once.
        let launches: BTreeSet<(&str, Option<Span>, Option<&str>)> = self
            .launches
            .iter()
            .filter(|r| !context.contains(&r.file))
            .map(|r| {
                (
                    r.launch.id.as_str(),
                    r.anchor,
                    r.launch.image.value.reference.value.as_deref(),
                )
            })
            .collect();
        (objects, launches.len())
    }

    /// What unit a launch belongs to, in words.
    pub fn unit_name(&self, unit: usize) -> String {
        self.units
            .get(unit)
            .map(|u| u.kind.describe())
            .unwrap_or_else(|| UnitKind::Directory(".".into()).describe())
    }
}

impl ToNode for Unit {
    fn to_node(&self) -> Node {
        Node::str(self.kind.describe())
    }
}
