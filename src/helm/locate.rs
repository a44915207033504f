//! Findings on the source: for each finding inside a render, what the user edits.
//!
//! 1. The values key whose value produced the offending text, proven by re-rendering with
//!    the key changed: first among the keys whose values appear in the finding's span, by
//!    whether the text at the finding's place (same template document, same YAML path)
//!    changes with the key; then, for a finding still unexplained and when the caller can
//!    re-check a render, among the keys whose values appear in the settings of the objects
//!    holding that place (a Service's `type: LoadBalancer` for a finding on its port), by
//!    whether the finding goes away while every other finding about the same object stays
//!    (a key that takes several away, such as an image that stops being Triton's, is a
//!    precondition of the object rather than the cause of one finding).
//! 2. The template line that produced the text (see [`super::template`]), always, as the
//!    primary location when no key is proven and as a related one when one is.
//!
//! A function over plain data (finding spans in the rendered text, the render's plan, the
//! chart's files) so that it can run wherever the pipeline has evaluated a render.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::command::Helm;
use super::prove::{Outcome, group_test};
use super::render::Render;
use super::rendered::{NodeAt, Rendered};
use super::template::{Aligned, align_document};
use super::values::{Leaf, Values, change};
use crate::tree::PathSegment;

/// A finding of a render checked on its own (the render as one deployment unit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub rule_id: String,
    pub primary: Range<usize>,
    /// The object it is about (its extent in the render), when known.
    pub subject: Option<Range<usize>>,
}

/// Checks a rendered text on its own: what the second kind of proof compares.
pub type Recheck<'a> = &'a (dyn Fn(&str) -> Vec<Checked> + Sync);

/// Re-renders allowed per render for proving values keys.
pub const PROBE_BUDGET: usize = 40;
/// Wall time allowed for re-renders per render; later probes count as inconclusive.
const PROBE_TIME: std::time::Duration = std::time::Duration::from_secs(60);
/// Candidate keys tried per finding (the longest values first).
const MAX_CANDIDATES: usize = 24;

/// A finding inside a render, as byte ranges of the rendered text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingSpans {
    pub rule_id: String,
    pub primary: Range<usize>,
    /// Related locations inside the same render.
    pub related: Vec<Range<usize>>,
    /// Message and label: when several keys are proven, the one whose value the message
    /// names is shown first.
    pub message: String,
}

/// A byte range in a file of the chart (a values file or a template).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub range: Range<usize>,
}

/// How a values key was proven to be the cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Changing it changed the text at the finding's place.
    RenderedText,
    /// Changing it made the finding go away (its object's other findings stayed).
    Finding,
}

/// A values key and its `key: value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuesOrigin {
    pub key: String,
    pub place: Place,
    pub proof: Proof,
}

/// Where a finding's text comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceLocation {
    /// The values key shown first.
    pub values: Option<ValuesOrigin>,
    /// Other keys proven the same way (e.g. an image's repository next to its tag).
    pub also: Vec<ValuesOrigin>,
    /// The template text that printed the finding's text.
    pub template: Option<Place>,
    /// The template place of each related span (`None` where none was found).
    pub related: Vec<Option<Place>>,
}

/// The locations, in the order of the findings, and the re-renders it took.
#[derive(Clone, Debug, Default)]
pub struct Located {
    pub locations: Vec<SourceLocation>,
    pub probes: usize,
}

/// The findings of a render checked alone: by (rule, place), and by (rule, the document
/// of the object they are about).
#[derive(Default)]
struct Found {
    at: BTreeSet<(String, NodeAt)>,
    about: BTreeSet<(String, super::rendered::DocKey)>,
}

impl Found {
    fn new(r: &Rendered, checked: &[Checked]) -> Found {
        let mut found = Found::default();
        for c in checked {
            if let Some(at) = r.locate(&c.primary) {
                found.at.insert((c.rule_id.clone(), at));
            }
            if let Some((doc, _)) = c.subject.as_ref().and_then(|s| r.document_at(s.start)) {
                found.about.insert((c.rule_id.clone(), doc.clone()));
            }
        }
        found
    }
}

/// A re-render with some keys changed.
struct Probe {
    rendered: Rendered,
    /// Its findings, computed on first use.
    findings: OnceCell<Found>,
}

/// Where each finding of `render` comes from. `recheck` enables the second kind of proof.
pub fn locate(
    helm: &Helm,
    render: &Render,
    findings: &[FindingSpans],
    recheck: Option<Recheck<'_>>,
) -> Located {
    let rendered = Rendered::parse(render.text.clone());
    let values = Values::load(
        &render.plan.chart.dir,
        &render.plan.values,
        &render.plan.set,
    );
    let files = ChartFiles::read(&render.plan.chart.dir);
    let ats: Vec<Option<NodeAt>> = findings
        .iter()
        .map(|f| rendered.locate(&f.primary))
        .collect();
    let changes: Vec<Option<(serde_json::Value, Option<String>)>> = values
        .leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| change(leaf, i, &render.text))
        .collect();
    let texts: Vec<Option<String>> = values.leaves.iter().map(Leaf::text).collect();
    let candidates_in = |hay: &[&str], exclude: &[usize]| -> Vec<usize> {
        let mut keys: Vec<usize> = (0..values.leaves.len())
            .filter(|k| changes[*k].is_some() && !exclude.contains(k))
            .filter(|k| {
                let leaf = &values.leaves[*k];
                texts[*k].as_deref().is_some_and(|t| {
                    hay.iter()
                        .any(|h| appears(h, t) && (distinctive(leaf) || names_key(h, &leaf.path)))
                })
            })
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(texts[*k].as_ref().map_or(0, String::len)));
        keys.truncate(MAX_CANDIDATES);
        keys.sort_unstable();
        keys
    };

    let workdir = tempfile::tempdir().ok();
    let mut cache: HashMap<Vec<usize>, Option<Rc<Probe>>> = HashMap::new();
    let mut probes_run = 0usize;
    let started = std::time::Instant::now();
    let mut probe = |keys: &[usize]| -> Option<Rc<Probe>> {
        if let Some(hit) = cache.get(keys) {
            return hit.clone();
        }
        if started.elapsed() > PROBE_TIME {
            return None;
        }
        let dir = workdir.as_ref()?;
        let changed: Vec<(&Leaf, serde_json::Value)> = keys
            .iter()
            .filter_map(|k| Some((&values.leaves[*k], changes[*k].as_ref()?.0.clone())))
            .collect();
        let overlay = values.overlay(&changed);
        probes_run += 1;
        let path = dir.path().join(format!("probe-{probes_run}.json"));
        let result = std::fs::write(&path, overlay.to_string())
            .ok()
            .and_then(|()| helm.template(&render.plan, &[path]).ok())
            .map(|text| {
                Rc::new(Probe {
                    rendered: Rendered::parse(text),
                    findings: OnceCell::new(),
                })
            });
        cache.insert(keys.to_vec(), result.clone());
        result
    };

    // Tier 1: keys whose values are in the span; the text there must change with them.
    let first: Vec<Vec<usize>> = findings
        .iter()
        .zip(&ats)
        .map(|(f, at)| match (at, render.text.get(f.primary.clone())) {
            (Some(_), Some(span_text)) => candidates_in(&[span_text], &[]),
            _ => Vec::new(),
        })
        .collect();
    let mut judge_text = |f: usize, p: Option<&Rc<Probe>>, sub: &[usize]| -> Outcome {
        let (Some(p), Some(at)) = (p, &ats[f]) else {
            return Outcome::Inconclusive;
        };
        let old = rendered.text_at(at);
        let new = p.rendered.text_at(at);
        if new == old {
            return Outcome::Unaffected;
        }
        let attributed: Vec<usize> = sub
            .iter()
            .copied()
            .filter(|k| {
                let marker = changes[*k].as_ref().and_then(|c| c.1.as_deref());
                marker.is_some_and(|m| new.is_some_and(|n| n.contains(m)))
            })
            .collect();
        if attributed.is_empty() {
            Outcome::Affected
        } else {
            Outcome::Attributed(attributed)
        }
    };
    let tier1 = group_test(&first, PROBE_BUDGET, &mut probe, &mut judge_text);
    let mut proven: Vec<(Vec<usize>, Proof)> = tier1
        .keys
        .into_iter()
        .map(|k| (k, Proof::RenderedText))
        .collect();

    // Tier 2: keys in the settings of the objects around the place; the finding must go
    // away with them while its object's other findings stay.
    if let Some(recheck) = recheck {
        // The render checked alone: each finding's rule, place and object.
        let alone = recheck(&render.text);
        let key_of = |f: usize| ats[f].clone().map(|at| (findings[f].rule_id.clone(), at));
        // For each finding, the other rules that fire on its object: they must all still
        // fire after a change that is to be called the cause of this one finding.
        let siblings: Vec<Vec<(String, super::rendered::DocKey)>> = (0..findings.len())
            .map(|f| {
                let Some((rule, at)) = key_of(f) else {
                    return Vec::new();
                };
                let Some(subject) = alone
                    .iter()
                    .find(|c| {
                        c.rule_id == rule && rendered.locate(&c.primary).as_ref() == Some(&at)
                    })
                    .and_then(|c| c.subject.clone())
                else {
                    return Vec::new();
                };
                let Some((doc, _)) = rendered.document_at(subject.start) else {
                    return Vec::new();
                };
                let mut rules: Vec<(String, super::rendered::DocKey)> = alone
                    .iter()
                    .filter(|c| c.subject.as_ref() == Some(&subject) && c.rule_id != rule)
                    .map(|c| (c.rule_id.clone(), doc.clone()))
                    .collect();
                rules.sort();
                rules.dedup();
                rules
            })
            .collect();
        let second: Vec<Vec<usize>> = (0..findings.len())
            .map(|f| {
                if !proven[f].0.is_empty() || siblings[f].is_empty() {
                    return Vec::new();
                }
                let Some(at) = &ats[f] else { return Vec::new() };
                let context = rendered.context_texts(at);
                let hay: Vec<&str> = context.iter().map(String::as_str).collect();
                candidates_in(&hay, &first[f])
            })
            .collect();
        let mut judge_finding = |f: usize, p: Option<&Rc<Probe>>, _: &[usize]| -> Outcome {
            let (Some(p), Some(key)) = (p, key_of(f)) else {
                return Outcome::Inconclusive;
            };
            let found = p
                .findings
                .get_or_init(|| Found::new(&p.rendered, &recheck(&p.rendered.text)));
            if found.at.contains(&key) {
                Outcome::Unaffected
            } else if siblings[f].iter().all(|s| found.about.contains(s)) {
                // Only this finding went: the key is its cause, not a precondition of the
                // whole object (an image that is no longer Triton's takes every finding).
                Outcome::Affected
            } else {
                Outcome::Inconclusive
            }
        };
        let budget = PROBE_BUDGET.saturating_sub(tier1.probes);
        let tier2 = group_test(&second, budget, &mut probe, &mut judge_finding);
        for (f, keys) in tier2.keys.into_iter().enumerate() {
            if proven[f].0.is_empty() && !keys.is_empty() {
                proven[f] = (keys, Proof::Finding);
            }
        }
    }

    let origin = |k: usize, proof: Proof| -> Option<ValuesOrigin> {
        let leaf = &values.leaves[k];
        Some(ValuesOrigin {
            key: leaf.key(),
            place: Place {
                file: values.files.get(leaf.file)?.path.clone(),
                range: leaf.line.clone(),
            },
            proof,
        })
    };
    let mut aligned: Alignments<'_> = HashMap::new();
    let locations = findings
        .iter()
        .enumerate()
        .map(|(f, finding)| {
            let (keys, proof) = &proven[f];
            let mut ranked = keys.clone();
            ranked.sort_by_key(|k| {
                (
                    std::cmp::Reverse(named_by(
                        texts[*k].as_deref().unwrap_or(""),
                        &finding.message,
                    )),
                    std::cmp::Reverse(texts[*k].as_ref().map_or(0, String::len)),
                    *k,
                )
            });
            let template = template_place(&rendered, &files, &mut aligned, &finding.primary);
            // The keys wrote only part of the text; if the message names words of the rest
            // that the template line does not write either (a version that comes from the
            // chart's appVersion beside an image repository from the values), the keys are
            // not what the finding is about: the template stays first.
            let span_text = render.text.get(finding.primary.clone()).unwrap_or("");
            let key_texts: Vec<&str> = ranked.iter().filter_map(|k| texts[*k].as_deref()).collect();
            // Words the template line writes, and the keys' own names (`toYaml` of a values
            // mapping writes those too).
            let mut written = template
                .as_ref()
                .and_then(|t| files.line_at(t))
                .unwrap_or("")
                .to_string();
            for k in keys {
                written.push(' ');
                written.push_str(&values.leaves[*k].key());
            }
            let secondary = *proof == Proof::RenderedText
                && names_other_words(span_text, &key_texts, &written, &finding.message);
            let mut origins = ranked.into_iter().filter_map(|k| origin(k, *proof));
            SourceLocation {
                values: if secondary { None } else { origins.next() },
                also: origins.collect(),
                template,
                related: finding
                    .related
                    .iter()
                    .map(|r| template_place(&rendered, &files, &mut aligned, r))
                    .collect(),
            }
        })
        .collect();
    Located {
        locations,
        probes: probes_run,
    }
}

/// Whether `needle` occurs in `hay`; a short one (under 4 bytes: `1`, `80`, `true`) only
/// as a whole word, so `1` is not found in `--http-port=8001`.
fn appears(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    if needle.len() >= 4 {
        return hay.contains(needle);
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    hay.match_indices(needle).any(|(i, _)| {
        !word(hay[..i].chars().next_back()) && !word(hay[i + needle.len()..].chars().next())
    })
}

/// A value distinctive enough to be looked for on its own: text of 4 bytes or more that is
/// not a boolean. `true`, `1` or `80` occur everywhere; they are candidates only where the
/// text also names their key.
fn distinctive(leaf: &Leaf) -> bool {
    match &leaf.value {
        crate::tree::Value::Bool(_) => false,
        _ => leaf.text().is_some_and(|t| t.len() >= 4),
    }
}

/// Whether `hay` names one of the key's segments (letters and digits compared without
/// case: `readOnly: false` names `models.readOnly`, `--allow-metrics=true` names
/// `metrics.enabled`).
fn names_key(hay: &str, path: &[PathSegment]) -> bool {
    let squash = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let hay = squash(hay);
    path.iter().any(|seg| match seg {
        PathSegment::Key(k) => {
            let k = squash(k);
            k.len() >= 3 && hay.contains(&k)
        }
        PathSegment::Index(_) => false,
    })
}

/// Whether the message names a word of `span` that none of `values` wrote and that is not
/// among the `written` words (the template line's, the keys' names).
fn names_other_words(span: &str, values: &[&str], written: &str, message: &str) -> bool {
    let mut rest = span.to_string();
    for v in values {
        rest = rest.replace(v, " ");
    }
    let said = words(message);
    let written = words(written);
    words(&rest)
        .iter()
        .any(|w| said.contains(w) && !written.contains(w))
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// How many words of a value the message names (`24.08-py3` in "tritonserver 24.08 ...").
fn named_by(value: &str, message: &str) -> usize {
    let said = words(message);
    words(value).iter().filter(|w| said.contains(*w)).count()
}

/// Rendered documents aligned with their templates, by the document's start offset.
type Alignments<'a> = HashMap<usize, Aligned<'a>>;

/// The template place that printed a span of the render.
fn template_place<'a>(
    rendered: &'a Rendered,
    files: &'a ChartFiles,
    aligned: &mut Alignments<'a>,
    span: &Range<usize>,
) -> Option<Place> {
    let (key, extent) = rendered.document_at(span.start)?;
    let doc = rendered.text.get(extent.clone())?;
    let offset = span.start - extent.start;
    let line = doc[..offset].matches('\n').count();
    let line_start = doc[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = doc[offset..].find('\n').map_or(doc.len(), |i| offset + i);
    let end = (span.end - extent.start).clamp(offset, line_end);
    let (own_path, own) = files.template(&key.source)?;
    let mut texts: Vec<&str> = vec![own.as_str()];
    let mut paths: Vec<&Path> = vec![own_path.as_path()];
    for (path, text) in &files.helpers {
        if path != own_path {
            texts.push(text);
            paths.push(path);
        }
    }
    let alignment = aligned
        .entry(extent.start)
        .or_insert_with(|| align_document(doc, own));
    let spot = alignment.locate(line, offset - line_start..end - line_start, &texts)?;
    Some(Place {
        file: paths.get(spot.file)?.to_path_buf(),
        range: spot.range,
    })
}

/// The template files of a chart and its unpacked dependencies.
struct ChartFiles {
    dir: PathBuf,
    /// Every template file (path → text).
    templates: BTreeMap<PathBuf, String>,
    /// Those that define named templates.
    helpers: Vec<(PathBuf, String)>,
}

/// Template files read per chart, and the largest one read.
const MAX_TEMPLATE_FILES: usize = 500;
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

impl ChartFiles {
    fn read(dir: &Path) -> ChartFiles {
        let mut templates = BTreeMap::new();
        let mut stack = vec![dir.join("templates")];
        let deps = dir.join("charts");
        if let Ok(entries) = std::fs::read_dir(&deps) {
            let mut subdirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("templates"))
                .filter(|p| p.is_dir())
                .collect();
            subdirs.sort();
            stack.extend(subdirs);
        }
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file()
                    && templates.len() < MAX_TEMPLATE_FILES
                    && entry
                        .metadata()
                        .is_ok_and(|m| m.len() <= MAX_TEMPLATE_BYTES)
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    templates.insert(path, text);
                }
            }
        }
        let helpers = templates
            .iter()
            .filter(|(_, t)| t.contains("define"))
            .map(|(p, t)| (p.clone(), t.clone()))
            .collect();
        ChartFiles {
            dir: dir.to_path_buf(),
            templates,
            helpers,
        }
    }

    /// The text of the template line a place starts on.
    fn line_at(&self, place: &Place) -> Option<&str> {
        let text = self.templates.get(&place.file)?;
        let start = text
            .get(..place.range.start)?
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        text.get(start..end)
    }

    /// The file of a `# Source:` path: `<chart name>/templates/x.yaml` (or
    /// `<chart>/charts/<dependency>/templates/x.yaml`) inside the chart directory.
    fn template(&self, source: &str) -> Option<(&PathBuf, &String)> {
        let (_, inside) = source.split_once('/')?;
        self.templates.get_key_value(&self.dir.join(inside))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_match_whole_words_only() {
        assert!(appears("--model-control-mode=poll", "poll"));
        assert!(appears("replicas: 1", "1"));
        assert!(!appears("--http-port=8001", "1"));
        assert!(appears("readOnly: false", "false"));
        assert!(!appears("x", ""));
    }

    #[test]
    fn booleans_and_short_values_need_their_key_named() {
        let key = |p: &[&str]| -> Vec<PathSegment> {
            p.iter().map(|k| PathSegment::Key(k.to_string())).collect()
        };
        assert!(names_key("readOnly: false", &key(&["models", "readOnly"])));
        assert!(names_key(
            "- --allow-metrics=true",
            &key(&["metrics", "enabled"])
        ));
        assert!(!names_key(
            "readOnly: false",
            &key(&["restrictedApis", "enabled"])
        ));
        assert!(!names_key("replicas: 1", &key(&["a", "b"])));
    }

    #[test]
    fn a_key_that_wrote_only_an_unnamed_part_of_the_text_is_not_shown_first() {
        let message = "tritonserver 24.10 (server 2.50.0) has published vulnerabilities";
        let span = "image: \"nvcr.io/nvidia/tritonserver:24.10-py3\"";
        let line = "image: {{ include \"triton.image\" . | quote }} image.repository";
        let repository = ["nvcr.io/nvidia/tritonserver"];
        assert!(names_other_words(span, &repository, line, message));
        let both = ["nvcr.io/nvidia/tritonserver", "24.10-py3"];
        assert!(!names_other_words(span, &both, line, message));
        let line = "- --model-control-mode={{ .Values.mode }} server.mode";
        let message = "explicit mode lets any client load models";
        let span = "--model-control-mode=explicit";
        assert!(!names_other_words(span, &["explicit"], line, message));
        // `toYaml` of a values mapping writes the key's name too.
        let line = "{{- toYaml . | nindent 12 }} securityContext.allowPrivilegeEscalation";
        let message = "privilege escalation is allowed allowPrivilegeEscalation is not false";
        let span = "allowPrivilegeEscalation: true";
        assert!(!names_other_words(span, &["true"], line, message));
    }

    #[test]
    fn the_value_the_message_names_ranks_first() {
        let message = "tritonserver 24.08 (server 2.49.0) has published vulnerabilities";
        assert!(named_by("24.08-py3", message) > named_by("nvcr.io/nvidia/tritonserver", message));
    }
}
