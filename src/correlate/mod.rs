//! Stage 3, correlate: the extracted files are grouped into deployment units ([`units`]);
//! inside each unit the Kubernetes objects are indexed once ([`index`]) and every Launch
//! learns who can reach its ports ([`exposure`]) and what authenticates or rate-limits in
//! front of it ([`auth`]); KServe predictors are merged with their runtimes ([`kserve`]),
//! and Knative Services add the route of Knative's ingress ([`knative`]). Compose files are
//! merged into projects as compose reads them ([`compose`]); container runs are joined with
//! the Dockerfiles that build their images ([`images`]), and launches with the model
//! configurations of the scan they serve ([`served_models`]).
//! The result is the list of subjects policies look at, each with the variables it sees.

pub mod auth;
pub mod compose;
pub mod exposure;
pub mod images;
pub mod index;
pub mod knative;
pub mod kserve;
pub mod kustomize;
pub mod served_models;
pub mod subjects;
pub mod units;

use std::collections::BTreeSet;

use crate::extract::Extracted;
use crate::extract::workload::LaunchDraft;
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
    /// Make each Kubernetes object a subject: only when a policy of subject `k8s` runs (or
    /// `inspect` shows them), since each holds a copy of its object.
    pub object_subjects: bool,
    /// Build each Launch subject's tree here (for `inspect`) instead of in evaluation.
    pub launch_roots: bool,
}

/// `group/Kind/namespace/name`: two files defining the same one are variants.
fn object_identity(o: &K8sObject) -> String {
    let group = o.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    format!("{group}/{}/{}/{}", o.kind, o.namespace_or_default(), o.name)
}

/// Correlates the extracted files (indexed like `loaded.files`). The workloads of each file
/// move into the launches of its unit (`workloads` is left empty).
pub fn correlate(loaded: &Loaded, extracted: &mut [Extracted], options: Options) -> Correlated {
    let mut workloads: Vec<Vec<LaunchDraft>> = extracted
        .iter_mut()
        .map(|e| std::mem::take(&mut e.workloads))
        .collect();
    let extracted: &[Extracted] = extracted;
    let store = &loaded.store;
    let (kustomizations, claimed) = kustomize::build_roots(extracted, store);
    let unit_files: Vec<UnitFile> = extracted
        .iter()
        .filter(|e| !claimed.contains(&e.file))
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
    let mut units = units::directory_units(&unit_files);

    let mut state = State {
        store,
        options,
        launches: Vec::new(),
        groups: Vec::new(),
        object_subjects: Vec::new(),
        unit_of_file: vec![None; extracted.len()],
    };
    for (u, unit) in units.iter().enumerate() {
        let members: Vec<&Extracted> = unit
            .files
            .iter()
            .filter_map(|id| extracted.get(id.0 as usize))
            .collect();
        let objects: Vec<&K8sObject> = members.iter().flat_map(|m| m.objects.iter()).collect();
        let mut drafts: Vec<LaunchDraft> = Vec::new();
        for id in &unit.files {
            if let Some(of_file) = workloads.get_mut(id.0 as usize) {
                drafts.append(of_file);
            }
        }
        state.unit(u, &unit.files, &objects, drafts);
    }
    for built in &kustomizations {
        let u = units.len();
        let files: Vec<FileId> = built.files.iter().copied().collect();
        units.push(Unit {
            kind: UnitKind::Kustomization(built.dir.clone()),
            files: files.clone(),
        });
        let objects: Vec<&K8sObject> = built.objects.iter().collect();
        let drafts: Vec<LaunchDraft> = built
            .objects
            .iter()
            .flat_map(|o| {
                let format = if o.helm_template.is_some() {
                    "helm"
                } else {
                    "kubernetes"
                };
                crate::extract::workload::launches(o, store, store.display(o.file), format)
            })
            .collect();
        state.unit(u, &files, &objects, drafts);
    }

    let images = images::ImageIndex::new(extracted, store);
    let projects = compose::projects(extracted, store);
    let merged: BTreeSet<FileId> = projects.iter().flat_map(|p| p.files.clone()).collect();
    for project in &projects {
        let docs: Vec<&crate::extract::ComposeDocument> = project
            .files
            .iter()
            .filter_map(|f| extracted.get(f.0 as usize).and_then(|e| e.compose.as_ref()))
            .collect();
        let (Some(first), Some(first_doc)) = (project.files.first(), docs.first()) else {
            continue;
        };
        let unit = state
            .unit_of_file
            .get(first.0 as usize)
            .copied()
            .flatten()
            .unwrap_or(0);
        let mut root = first_doc.root.clone();
        for doc in docs.iter().skip(1) {
            root = crate::model::compose_merge::merge_documents(&root, &doc.root);
        }
        let env = project.env.as_ref().unwrap_or(&first_doc.env);
        let folder = store
            .get(*first)
            .and_then(|s| s.path.as_deref())
            .and_then(std::path::Path::parent);
        let (runs, _) =
            crate::extract::compose_runs(&root, store, store.display(*first), env, folder);
        for run in &runs {
            let defaults = images.defaults_for(&run.image);
            if let Some(launch) = crate::extract::docker::launch(&run.spec, &defaults, store) {
                state.launches.push(run_record(launch, run.extent, unit));
            }
        }
    }
    for e in extracted {
        let unit = state
            .unit_of_file
            .get(e.file.0 as usize)
            .copied()
            .flatten()
            .unwrap_or(0);
        for run in e.runs.iter().filter(|_| !merged.contains(&e.file)) {
            let defaults = images.defaults_for(&run.image);
            if let Some(launch) = crate::extract::docker::launch(&run.spec, &defaults, store) {
                state.launches.push(run_record(launch, run.extent, unit));
            }
        }
        if let Some(image) = &e.dockerfile
            && !images.is_run(e.file)
            && let Some(launch) =
                crate::extract::docker::launch(&image.own_run, &image.defaults, store)
        {
            state
                .launches
                .push(run_record(launch, Some(image.extent), unit));
        }
    }

    let State {
        mut launches,
        mut groups,
        object_subjects,
        ..
    } = state;
    // Only the .pbtxt files Triton reads as model configurations become subjects.
    let selected =
        crate::extract::model_configs::selected_config_names(launches.iter().map(|r| &r.launch));
    let configs: Vec<(FileId, &Node)> = extracted
        .iter()
        .filter_map(|e| e.model_config.as_ref().map(|c| (e.file, c)))
        .filter(|(id, _)| {
            crate::extract::model_configs::is_model_configuration(
                store.display(*id),
                selected.as_ref(),
            )
        })
        .collect();
    served_models::attach(&mut launches, &configs, store);
    let mut subject_list: Vec<SubjectRecord> = launches
        .iter()
        .enumerate()
        .map(|(i, r)| subjects::launch_subject(r, i, options.launch_roots, store, r.unit))
        .collect();
    subject_list.extend(object_subjects);
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

/// What correlation builds up, unit by unit.
struct State<'a> {
    store: &'a crate::source::SourceStore,
    options: Options,
    launches: Vec<LaunchRecord>,
    /// One group per unit (index = unit), then one per model repository.
    groups: Vec<Variables>,
    object_subjects: Vec<SubjectRecord>,
    /// The first unit each file is in (container runs are reported there).
    unit_of_file: Vec<Option<usize>>,
}

impl State<'_> {
    /// Correlates one unit: its objects are indexed once, and every Launch of its pod
    /// templates (and KServe predictors) learns its exposure and what is in front of it.
    fn unit(
        &mut self,
        u: usize,
        files: &[FileId],
        objects: &[&K8sObject],
        drafts: Vec<LaunchDraft>,
    ) {
        let store = self.store;
        for id in files {
            if let Some(slot) = self.unit_of_file.get_mut(id.0 as usize) {
                slot.get_or_insert(u);
            }
        }
        let group = self.groups.len();
        self.groups.push(if self.options.bind_objects {
            vec![(
                "objects",
                Node::list(objects.iter().map(|o| o.node.clone()).collect()),
            )]
        } else {
            Vec::new()
        });
        if self.options.object_subjects {
            for object in objects {
                self.object_subjects
                    .push(subjects::object_subject(object, store, group));
            }
        }
        if objects.is_empty() {
            return;
        }
        let index = UnitIndex::new(objects);
        let knative_services = knative::KnativeServices::new(objects);
        let all = drafts
            .into_iter()
            .map(|d| {
                let knative = knative_services.route_for(&d, store);
                (d, None, knative)
            })
            .chain(
                kserve::launches(objects, store)
                    .into_iter()
                    .map(|(d, r)| (d, r, None)),
            );
        for (mut draft, route, knative_route) in all {
            exposure::apply(&mut draft.launch, &draft.pod, &index, store);
            let evidence = draft.launch.auth.evidence.clone();
            if let Some(route) = &route {
                kserve::apply_route(&mut draft.launch, route, &evidence);
            }
            if let Some(route) = &knative_route {
                knative::apply_route(&mut draft.launch, route, &evidence);
            }
            let anchor = draft.launch.container.span;
            self.launches.push(LaunchRecord {
                file: anchor.map(|s| s.file).unwrap_or(draft.extent.file),
                anchor,
                extent: Some(draft.extent),
                unit: u,
                launch: draft.launch,
            });
        }
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
