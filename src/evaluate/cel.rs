//! Runs compiled policies over subjects. Each subject is converted to a CEL value once and
//! shared by every policy; a policy's `assert` is true for a compliant subject. Values that
//! many subjects share (`objects`, a config's `repository`) are converted once and reached
//! through a parent context, so their cost does not grow with the number of subjects.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cel::Context;
use rayon::prelude::*;

use crate::correlate::{LaunchRecord, SubjectRecord, Variables};
use crate::evaluate::budget;
use crate::evaluate::cel_value::{to_text, to_val};
use crate::evaluate::policy::{Catalogue, LazyProgram, Policy, split_root, variables};
use crate::finding::{Finding, Location, fingerprint};
use crate::source::{FileId, SourceStore, Span};
use crate::tree::{Node, PathSegment, ToNode, Value};

/// An expression that failed on a subject: reported, never silently passed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EvalError {
    pub rule_id: String,
    pub subject: String,
    pub file: FileId,
    pub message: String,
    /// Where the subject is (its `kind:` line or launch), for the TG004 finding's message
    /// and related location.
    pub anchor: Option<Span>,
}

pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub errors: Vec<EvalError>,
}

/// Evaluates every policy of `catalogue` on every subject it applies to. `groups` holds the
/// variables shared by the subjects of each group (see [`SubjectRecord::group`]).
pub fn evaluate(
    catalogue: &Catalogue,
    subjects: &[SubjectRecord],
    launches: &[LaunchRecord],
    groups: &[Variables],
    store: &SourceStore,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
) -> Evaluation {
    let shared = Context::with_env(Arc::clone(&catalogue.env));
    let group_contexts: Vec<Context> = groups
        .iter()
        .map(|variables| {
            let mut ctx = shared.new_inner_scope();
            for (name, value) in variables {
                ctx.add_variable_as_val(*name, to_val(value));
            }
            ctx
        })
        .collect();
    // For each policy, the first subject (in `subjects` order) on which it exceeded the
    // budget: it is not evaluated on the later ones, so a policy over budget everywhere costs
    // about one budget per thread, not one per subject. The first such subject is the same in
    // every run: every subject before it is evaluated.
    let first_over: Vec<AtomicUsize> = catalogue
        .policies
        .iter()
        .map(|_| AtomicUsize::new(usize::MAX))
        .collect();
    let mut results: Vec<(Vec<Finding>, Vec<EvalError>)> = subjects
        .par_iter()
        .enumerate()
        .map(|(index, subject)| {
            let parent = subject
                .group
                .and_then(|g| group_contexts.get(g))
                .unwrap_or(&shared);
            let metering = Metering {
                index,
                first_over: &first_over,
            };
            evaluate_subject(
                catalogue, subject, launches, parent, store, enabled, &metering,
            )
        })
        .collect();
    let first_over: Vec<usize> = first_over
        .into_iter()
        .map(AtomicUsize::into_inner)
        .collect();
    if first_over.iter().any(|&i| i != usize::MAX) {
        drop_after_budget(catalogue, subjects, &first_over, &mut results);
    }
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for (f, e) in results {
        findings.extend(f);
        errors.extend(e);
    }
    errors.sort();
    errors.dedup();
    Evaluation { findings, errors }
}

/// Where a subject is in the evaluation order, and the first subject each policy (by index
/// in the catalogue) exceeded the budget on.
struct Metering<'a> {
    index: usize,
    first_over: &'a [AtomicUsize],
}

/// Keeps, for a policy that exceeded the budget, what it found on the subjects before the
/// first one it exceeded it on, and on that one only the budget error, which says how many
/// later subjects it was not evaluated on. The same in every run, whichever subjects the
/// threads evaluated before they saw the policy over budget.
fn drop_after_budget(
    catalogue: &Catalogue,
    subjects: &[SubjectRecord],
    first_over: &[usize],
    results: &mut [(Vec<Finding>, Vec<EvalError>)],
) {
    let index_of: std::collections::HashMap<&str, usize> = catalogue
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.spec.id.as_str(), i))
        .collect();
    let first = |rule: &str| {
        index_of
            .get(rule)
            .and_then(|&p| first_over.get(p))
            .copied()
            .unwrap_or(usize::MAX)
    };
    for (index, (findings, errors)) in results.iter_mut().enumerate() {
        findings.retain(|f| index < first(&f.rule_id));
        errors.retain(|e| {
            let over = first(&e.rule_id);
            index < over || (index == over && budget::is_exceeded(&e.message))
        });
        for error in errors.iter_mut() {
            if first(&error.rule_id) != index {
                continue;
            }
            let Some(policy) = catalogue.get(&error.rule_id) else {
                continue;
            };
            let later = subjects
                .iter()
                .skip(index + 1)
                .filter(|s| s.kind == policy.spec.subject)
                .count();
            if later > 0 {
                error.message.push_str(&format!(
                    "; the policy was not evaluated on the {later} later subject{} of its kind",
                    if later == 1 { "" } else { "s" }
                ));
            }
        }
    }
}

fn evaluate_subject(
    catalogue: &Catalogue,
    subject: &SubjectRecord,
    launches: &[LaunchRecord],
    shared: &Context,
    store: &SourceStore,
    enabled: &(dyn Fn(&Policy) -> bool + Sync),
    metering: &Metering<'_>,
) -> (Vec<Finding>, Vec<EvalError>) {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let policies: Vec<(&Policy, &AtomicUsize)> = catalogue
        .policies
        .iter()
        .zip(metering.first_over)
        .filter(|(p, over)| {
            p.spec.subject == subject.kind
                && enabled(p)
                && over.load(Ordering::Relaxed) > metering.index
        })
        .collect();
    if policies.is_empty() {
        return (findings, errors);
    }
    // A Launch's tree is built for its evaluation and dropped after it.
    let built;
    let subject = match subject.launch.and_then(|i| launches.get(i)) {
        Some(record) if subject.root.is_null() => {
            built = SubjectRecord {
                root: record.launch.to_node(),
                ..subject.clone()
            };
            &built
        }
        _ => subject,
    };
    let mut ctx = shared.new_inner_scope();
    ctx.add_variable_as_val(subject.kind.variable(), to_val(&subject.root));
    ctx.add_variable_as_val("file", to_val(&subject.file_value));
    for (name, value) in &subject.extra {
        ctx.add_variable_as_val(*name, to_val(value));
    }
    for (policy, first_over) in policies {
        // The policy's cost on this subject, every expression and `each` item included.
        let meter = budget::Meter::start();
        let _over = OnExceeded(&meter, first_over, metering.index);
        let over_budget = |stage: &str| format!("{stage}: {}", budget::exceeded_message());
        let mut fail = |message: String| {
            errors.push(EvalError {
                rule_id: policy.spec.id.clone(),
                subject: subject.identity.clone(),
                file: subject.file,
                message,
                anchor: subject.anchor,
            })
        };
        if let Some(program) = &policy.match_program {
            let matched = run_bool(program, &ctx);
            if meter.exceeded() {
                fail(over_budget("match"));
                continue;
            }
            match matched {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    fail(format!("match: {e}"));
                    continue;
                }
            }
        }
        // The policy's variables, in order, each seeing the ones above it.
        let mut values: Vec<(String, cel::Value)> = Vec::new();
        let mut failed = false;
        for (variable, program) in policy.spec.variables.iter().zip(&policy.variable_programs) {
            let mut scope = ctx.new_inner_scope();
            scope.add_variable_from_value("variables", variables::map_value(&values));
            let value = program.execute(&scope);
            if meter.exceeded() {
                fail(over_budget(&format!("variables.{}", variable.name)));
                failed = true;
                break;
            }
            match value {
                Ok(value) => values.push((variable.name.clone(), value)),
                Err(e) => {
                    fail(format!("variables.{}: {e}", variable.name));
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            continue;
        }
        let mut ctx = ctx.new_inner_scope();
        ctx.add_variable_from_value("variables", variables::map_value(&values));
        let ctx = &ctx;
        match &policy.spec.each {
            None => match policy.assert_program.as_ref().map(|p| run_bool(p, ctx)) {
                _ if meter.exceeded() => fail(over_budget("assert")),
                Some(Ok(false)) => {
                    let finding = make_finding(policy, subject, ctx, None, store);
                    if meter.exceeded() {
                        fail(over_budget("assert"));
                    } else {
                        findings.push(finding);
                    }
                }
                Some(Err(e)) => fail(format!("assert: {e}")),
                _ => {}
            },
            Some(each) => {
                let items = match variables::each_variable(each) {
                    Some(Ok(name)) => {
                        let value = values
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or(cel::Value::Null);
                        match variable_items(&subject.root, &value) {
                            Some(items) => items,
                            None => {
                                fail(format!("each: '{}' is not a list or a map", each.text));
                                continue;
                            }
                        }
                    }
                    Some(Err(_)) => continue,
                    None => {
                        let Some((_, rest)) = split_root(&each.segments) else {
                            continue;
                        };
                        match each_items(&subject.root, rest) {
                            Ok(items) => items,
                            Err(()) => {
                                fail(format!("each: '{}' is not a list", each.text));
                                continue;
                            }
                        }
                    }
                };
                for item in &items {
                    let mut inner = ctx.new_inner_scope();
                    inner.add_variable_as_val("item", to_val(&item.node));
                    inner.add_variable_as_val("key", to_val(&item.key));
                    match policy.assert_program.as_ref().map(|p| run_bool(p, &inner)) {
                        _ if meter.exceeded() => {}
                        Some(Ok(false)) => {
                            findings.push(make_finding(policy, subject, &inner, Some(item), store))
                        }
                        Some(Err(e)) => fail(format!("assert: {e}")),
                        _ => {}
                    }
                    if meter.exceeded() {
                        fail(over_budget("assert"));
                        break;
                    }
                }
            }
        }
    }
    (findings, errors)
}

/// One element visited by `each`.
struct EachItem<'a> {
    /// The subject's node, or for an element of a variable that the subject does not hold
    /// as is, the value without positions.
    node: Cow<'a, Node>,
    /// The `key` variable: the map key (a string) or the list index (an int).
    key: Node,
    /// Every key and index on the way from the `each` path to the item (`0.INPUT0` for the
    /// `INPUT0` input of the first warmup sample): a stable identity for fingerprints.
    trail: String,
}

/// The elements an `each` path names. A key segment met on a list applies to each of its
/// elements (`config.model_warmup.inputs`: the inputs of every warmup sample). A missing
/// field or null yields nothing; a scalar at the end of the path is an error.
fn each_items<'a>(root: &'a Node, path: &[PathSegment]) -> Result<Vec<EachItem<'a>>, ()> {
    fn walk<'a>(
        node: &'a Node,
        path: &[PathSegment],
        trail: &str,
        out: &mut Vec<EachItem<'a>>,
    ) -> Result<(), ()> {
        let join = |part: &str| {
            if trail.is_empty() {
                part.to_string()
            } else {
                format!("{trail}.{part}")
            }
        };
        match (path.split_first(), &node.value) {
            (None, Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    out.push(EachItem {
                        node: Cow::Borrowed(item),
                        key: Node::new(Value::Int(i64::try_from(i).unwrap_or(i64::MAX))),
                        trail: join(&i.to_string()),
                    });
                }
                Ok(())
            }
            (None, Value::Map(entries)) => {
                for (k, v) in entries {
                    out.push(EachItem {
                        node: Cow::Borrowed(v),
                        key: Node::str(k.clone()),
                        trail: join(k),
                    });
                }
                Ok(())
            }
            (None, Value::Null) => Ok(()),
            (None, _) => Err(()),
            (Some((PathSegment::Key(_), _)), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, path, &join(&i.to_string()), out)?;
                }
                Ok(())
            }
            (Some((PathSegment::Key(k), rest)), _) => match node.get(k) {
                Some(next) => walk(next, rest, trail, out),
                None => Ok(()),
            },
            (Some((PathSegment::Index(i), rest)), _) => match node.index(*i) {
                Some(next) => walk(next, rest, trail, out),
                None => Ok(()),
            },
        }
    }
    let mut out = Vec::new();
    walk(root, path, "", &mut out)?;
    Ok(out)
}

/// The elements of a variable visited by `each: variables.<name>`, each found in the subject
/// where it is part of it (so that `at: item...` has a position).
fn variable_items<'a>(root: &'a Node, value: &cel::Value) -> Option<Vec<EachItem<'a>>> {
    let elements = variables::elements(value)?;
    Some(
        elements
            .into_iter()
            .map(|(key, element)| EachItem {
                node: match variables::find_node(root, &element) {
                    Some(node) => Cow::Borrowed(node),
                    None => Cow::Owned(variables::value_to_node(&element)),
                },
                trail: key.as_scalar_text().unwrap_or_default(),
                key,
            })
            .collect(),
    )
}

fn run_bool(program: &LazyProgram, ctx: &Context) -> Result<bool, String> {
    match program.execute(ctx) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("expected a boolean, got {other:?}")),
        Err(e) => Err(e),
    }
}

fn run_text(program: &LazyProgram, ctx: &Context) -> Option<String> {
    program.execute(ctx).ok().as_ref().and_then(to_text)
}

/// Resolves a policy path against the subject (or the current `item`) to a span.
fn resolve_span(
    segments: &[PathSegment],
    subject: &SubjectRecord,
    item: Option<&Node>,
) -> Option<Span> {
    let (root, rest) = split_root(segments)?;
    let base = if root == "item" { item? } else { &subject.root };
    base.nearest_span(rest)
}

/// The node(s) a related path names: each element of a list, or the node itself.
fn related_nodes<'a>(
    segments: &[PathSegment],
    subject: &'a SubjectRecord,
    item: Option<&'a Node>,
) -> Vec<&'a Node> {
    let Some((root, rest)) = split_root(segments) else {
        return Vec::new();
    };
    let base = if root == "item" {
        match item {
            Some(i) => i,
            None => return Vec::new(),
        }
    } else {
        &subject.root
    };
    match base.lookup(rest) {
        Some(node) => match &node.value {
            Value::List(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![node],
        },
        None => Vec::new(),
    }
}

fn make_finding(
    policy: &Policy,
    subject: &SubjectRecord,
    ctx: &Context,
    item: Option<&EachItem<'_>>,
    store: &SourceStore,
) -> Finding {
    let spec = &policy.spec;
    let item_node = item.map(|i| &*i.node);
    let message = policy
        .message_program
        .as_ref()
        .and_then(|p| run_text(p, ctx))
        .unwrap_or_else(|| spec.summary.clone());
    let chosen = spec
        .at
        .iter()
        .zip(&policy.at_when)
        .find(|(_, when)| match when {
            None => true,
            Some(program) => run_bool(program, ctx).unwrap_or(false),
        });
    let primary_span = chosen
        .and_then(|(c, _)| resolve_span(&c.path.segments, subject, item_node))
        .or_else(|| item_node.and_then(Node::label_span))
        .or(subject.anchor)
        .unwrap_or(Span::new(subject.file, 0, 0));
    let label = policy
        .label_program
        .as_ref()
        .and_then(|p| run_text(p, ctx))
        .unwrap_or_default();
    let mut related = Vec::new();
    for ((r, label_program), when) in spec
        .related
        .iter()
        .zip(&policy.related_labels)
        .zip(&policy.related_when)
    {
        if let Some(program) = when
            && !run_bool(program, ctx).unwrap_or(false)
        {
            continue;
        }
        for node in related_nodes(&r.at.segments, subject, item_node) {
            let Some(span) = node.label_span() else {
                continue;
            };
            if span == primary_span {
                continue;
            }
            let text = match label_program {
                Some(p) => {
                    let mut inner = ctx.new_inner_scope();
                    inner.add_variable_as_val("item", to_val(node));
                    run_text(p, &inner)
                }
                None => None,
            }
            .or_else(|| node.get("note").and_then(Node::as_str).map(str::to_string))
            .unwrap_or_default();
            related.push(Location { span, label: text });
        }
    }
    related.sort();
    related.dedup();
    let at_text = chosen.map(|(c, _)| c.path.text.as_str()).unwrap_or("");
    let item_identity = match item {
        // A route's note says which route it is (kind, name, ports); its name alone does not
        // tell a Service's ports apart.
        Some(item) => item
            .node
            .as_scalar_text()
            .or_else(|| item.node.get("note").and_then(Node::as_scalar_text))
            .or_else(|| item.node.get("name").and_then(Node::as_scalar_text))
            .or_else(|| item.node.get("arg").and_then(Node::as_scalar_text))
            .unwrap_or_else(|| item.trail.clone()),
        None => String::new(),
    };
    Finding {
        rule_id: spec.id.clone(),
        rule_name: spec.name.clone(),
        severity: spec.severity,
        message,
        primary: Location {
            span: primary_span,
            label,
        },
        related,
        notes: subject.notes.clone(),
        help: help_for(spec, &subject.file_value),
        fingerprint: fingerprint(&[
            &spec.id,
            store.display(subject.file),
            &subject.identity,
            at_text,
            &item_identity,
        ]),
        suppression: None,
        subject_extent: subject.extent,
        subject_anchor: subject.anchor,
        secrets: secret_spans(spec, subject, item_node, store),
        folded: 0,
    }
}

/// The help line: the policy's fix for the subject's file format, else the first paragraph
/// of its remediation.
fn help_for(spec: &crate::evaluate::policy::spec::PolicySpec, file_value: &Node) -> Option<String> {
    let format = file_value
        .get("format")
        .and_then(Node::as_str)
        .unwrap_or("");
    spec.fix
        .for_format(format)
        .map(str::to_string)
        .or_else(|| first_paragraph(&spec.remediation))
}

/// The spans of the values the policy's `secrets:` paths name (inside their quotes).
fn secret_spans(
    spec: &crate::evaluate::policy::spec::PolicySpec,
    subject: &SubjectRecord,
    item: Option<&Node>,
    store: &SourceStore,
) -> Vec<Span> {
    let mut spans: Vec<Span> = spec
        .secrets
        .iter()
        .flat_map(|path| related_nodes(&path.segments, subject, item))
        .filter_map(|node| node.span)
        .map(|span| {
            let text = store.get(span.file).map(|f| f.text.as_ref()).unwrap_or("");
            crate::evaluate::policy::spec::secret_span(text, span)
        })
        .filter(|span| !span.is_empty())
        .collect();
    spans.sort();
    spans.dedup();
    spans
}

/// The first paragraph of a markdown text, on one line: the help line under a finding.
pub fn first_paragraph(text: &str) -> Option<String> {
    let paragraph: Vec<&str> = text
        .trim()
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    if paragraph.is_empty() {
        None
    } else {
        Some(paragraph.join(" "))
    }
}

/// Records, when the policy's evaluation ends, that it exceeded the budget on this subject.
struct OnExceeded<'a>(&'a budget::Meter, &'a AtomicUsize, usize);

impl Drop for OnExceeded<'_> {
    fn drop(&mut self) {
        if self.0.exceeded() {
            self.1.fetch_min(self.2, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;
    use crate::tree::parse_path;

    fn config(text: &str) -> Node {
        let doc = crate::parse::pbtxt::parse_model_config(FileId(0), text);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        doc.root
    }

    fn visit(root: &Node, path: &str) -> Vec<(String, String)> {
        let segments = parse_path(path).unwrap();
        each_items(root, &segments[1..])
            .unwrap()
            .iter()
            .map(|i| {
                let key = i.key.as_scalar_text().unwrap();
                (key, i.trail.clone())
            })
            .collect()
    }

    #[test]
    fn each_visits_map_entries_with_their_keys() {
        let root = config(
            r#"parameters { key: "A" value: { string_value: "1" } }
               parameters { key: "B" value: { string_value: "2" } }"#,
        );
        assert_eq!(
            visit(&root, "config.parameters"),
            [("A".into(), "A".into()), ("B".into(), "B".into())]
        );
    }

    #[test]
    fn each_flattens_a_key_segment_through_a_list() {
        let root = config(
            r#"model_warmup [
                 { name: "a" inputs { key: "X" value: { zero_data: true } } },
                 { name: "b" inputs { key: "X" value: { zero_data: true } }
                             inputs { key: "Y" value: { zero_data: true } } }
               ]"#,
        );
        assert_eq!(
            visit(&root, "config.model_warmup.inputs"),
            [
                ("X".into(), "0.X".into()),
                ("X".into(), "1.X".into()),
                ("Y".into(), "1.Y".into())
            ]
        );
        // List items get their index as key; an absent path visits nothing.
        assert_eq!(
            visit(&root, "config.model_warmup"),
            [("0".into(), "0".into()), ("1".into(), "1".into())]
        );
        assert!(visit(&root, "config.output").is_empty());
    }

    #[test]
    fn each_on_a_scalar_is_an_error() {
        let root = config(r#"name: "m""#);
        let segments = parse_path("config.name").unwrap();
        assert!(each_items(&root, &segments[1..]).is_err());
    }
}
