//! Images built by Dockerfiles of the scan: a `docker run` of a tag that a script builds with
//! `docker build -t`, or a compose service with `build:`, runs the Dockerfile's image, whose
//! USER, ENTRYPOINT, CMD and ENV are then the run's defaults. A Dockerfile whose image nothing
//! in the scan runs is a launch of its own.

use std::collections::{BTreeMap, BTreeSet};

use crate::extract::docker::ImageDefaults;
use crate::extract::{Extracted, ImageLink};
use crate::source::{FileId, SourceStore};

pub struct ImageIndex<'a> {
    /// Dockerfile display path → (file, defaults).
    by_path: BTreeMap<&'a str, (FileId, &'a ImageDefaults)>,
    /// Image tag → Dockerfile display path.
    by_tag: BTreeMap<&'a str, &'a str>,
    /// Dockerfiles whose image is run somewhere in the scan.
    run: BTreeSet<FileId>,
}

impl<'a> ImageIndex<'a> {
    pub fn new(extracted: &'a [Extracted], store: &'a SourceStore) -> ImageIndex<'a> {
        let mut by_path = BTreeMap::new();
        for e in extracted {
            if let Some(image) = &e.dockerfile {
                by_path.insert(store.display(e.file), (e.file, &image.defaults));
            }
        }
        let mut by_tag = BTreeMap::new();
        for e in extracted {
            for build in &e.builds {
                let Some(path) = build
                    .dockerfiles
                    .iter()
                    .find_map(|p| by_path.get_key_value(p.as_str()).map(|(k, _)| *k))
                else {
                    continue;
                };
                for tag in &build.tags {
                    by_tag.insert(tag.as_str(), path);
                }
            }
        }
        let mut index = ImageIndex {
            by_path,
            by_tag,
            run: BTreeSet::new(),
        };
        let mut run = BTreeSet::new();
        for e in extracted {
            for r in &e.runs {
                if let Some((id, _)) = index.dockerfile_of(&r.image) {
                    run.insert(id);
                }
            }
        }
        index.run = run;
        index
    }

    fn dockerfile_of(&self, link: &ImageLink) -> Option<(FileId, &'a ImageDefaults)> {
        let by_tag = |tag: &str| {
            self.by_tag
                .get(tag)
                .and_then(|path| self.by_path.get(path))
                .copied()
        };
        match link {
            ImageLink::Tag(tag) => by_tag(tag),
            ImageLink::Build { dockerfile, tag } => self
                .by_path
                .get(dockerfile.as_str())
                .copied()
                .or_else(|| by_tag(tag)),
        }
    }

    /// The defaults a run's image gets from the Dockerfile that builds it, if any.
    pub fn defaults_for(&self, link: &ImageLink) -> ImageDefaults {
        self.dockerfile_of(link)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    /// Whether something in the scan runs this Dockerfile's image.
    pub fn is_run(&self, dockerfile: FileId) -> bool {
        self.run.contains(&dockerfile)
    }
}
