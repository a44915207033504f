//! Helm charts checked in place.
//!
//! A chart in the scanned tree (a directory with `Chart.yaml` and `templates/`) is rendered
//! with the user's `helm` — with its default values, with each values file beside it, and
//! with the renders `.tritonguard.yaml` lists — and each render is scanned as its own text.
//! A finding inside a render is then moved to what the user edits: the values line whose
//! value produced it (proven by re-rendering with that value changed), else the template
//! line that wrote it.
//!
//! - [`chart`]: which charts a scan holds; [`plan`]: which renders of each.
//! - [`command`]: the `helm` command, bounded in time and output; [`render`]: running it.
//! - [`values`], [`rendered`], [`template`], [`prove`]: the pieces of [`locate`], which maps
//!   finding spans in a render to values lines and template lines.
//! - [`stage`]: the two steps around the scan (`prepare` before loading, `attach` after
//!   evaluation).

pub mod chart;
pub mod command;
pub mod locate;
pub mod plan;
pub mod prove;
pub mod render;
pub mod rendered;
pub mod stage;
pub mod template;
pub mod values;

pub use stage::{AttachStats, HelmRequest, HelmStage, Prepared, attach, prepare};
