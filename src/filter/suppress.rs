//! Suppressions, applied after evaluation: inline comments (`# tritonguard:ignore[TG101]
//! reason`), Kubernetes annotations (`tritonguard.dev/ignore: "TG101,TG301"`), ignores in the
//! config file, and a baseline of fingerprints. A suppressed finding is kept and marked (SARIF
//! shows it with its justification); a suppression that matches nothing is reported, and so is
//! one that is malformed or has expired.

use std::collections::BTreeSet;

use crate::evaluate::policy::Catalogue;
use crate::evaluate::registry::Rule;
use crate::filter::config::ConfigIgnore;
use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::model::k8s::K8sObject;
use crate::parse::comments::Comment;
use crate::source::{FileId, SourceFile, SourceStore, Span};
use crate::tree::Node;

const MARKER: &str = "tritonguard:ignore";

use crate::filter::date::show_date;
pub use crate::filter::date::{Date, parse_date, today};

/// Where an inline suppression applies.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// 0-based lines, inclusive.
    Lines(usize, usize),
    /// A byte range: a whole YAML document (object) or a whole file.
    Range(Span),
}

/// A suppression written in a scanned file: a comment or a Kubernetes annotation.
#[derive(Clone, Debug)]
pub struct InlineIgnore {
    pub file: FileId,
    /// The comment (or annotation) itself.
    pub span: Span,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub until: Option<Date>,
    pub scope: Scope,
    /// A problem that keeps it from applying (unknown rule, bad date).
    pub problem: Option<String>,
    pub annotation: bool,
}

/// An object-wide suppression from the `tritonguard.dev/ignore` annotation.
#[derive(Clone, Debug)]
pub struct AnnotationIgnore {
    pub extent: Span,
    pub span: Span,
    pub rules: Vec<String>,
    pub reason: Option<String>,
}

/// The `tritonguard.dev/ignore` annotation of an object or of its pod template.
pub fn annotation_ignore(object: &K8sObject) -> Option<AnnotationIgnore> {
    const KEY: &str = "tritonguard.dev/ignore";
    const REASON: &str = "tritonguard.dev/ignore-reason";
    let places = [
        object.node.at(&["metadata", "annotations"]),
        object
            .node
            .at(&["spec", "template", "metadata", "annotations"]),
        object.node.at(&[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "metadata",
            "annotations",
        ]),
    ];
    places.into_iter().flatten().find_map(|annotations| {
        let value = annotations.get(KEY)?;
        Some(AnnotationIgnore {
            extent: object.extent,
            span: value.label_span()?,
            rules: value
                .as_scalar_text()
                .unwrap_or_default()
                .split([',', ' '])
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            reason: annotations.get(REASON).and_then(Node::as_scalar_text),
        })
    })
}

/// Everything the filter stage needs.
pub struct SuppressionInput<'a> {
    pub catalogue: &'a Catalogue,
    pub store: &'a SourceStore,
    /// The comments of every file whose ignores count.
    pub comments: &'a std::collections::BTreeMap<FileId, FileComments>,
    pub annotations: &'a [AnnotationIgnore],
    pub config_ignores: &'a [ConfigIgnore],
    /// The config file's name, for justifications.
    pub config_name: String,
    pub inline: bool,
    pub require_reason: bool,
    pub baseline: Option<(&'a BTreeSet<String>, String)>,
    pub today: Date,
    /// Whether a rule ran: an ignore of a rule that did not run cannot be called unused.
    pub ran: &'a (dyn Fn(&str, FileId) -> bool + Sync),
}

/// The comments of one file as its parser saw them, and the extents of its documents (one
/// YAML document each; the whole file for other formats).
#[derive(Clone, Debug, Default)]
pub struct FileComments {
    pub comments: Vec<Comment>,
    pub documents: Vec<Span>,
}

/// Reads the `# tritonguard:ignore[...]` comments of one file. A comment on its own line
/// above the first content of a document covers the document; on its own line elsewhere,
/// the next line with content; after content, its own line.
pub fn inline_ignores(
    source: &SourceFile,
    file: FileId,
    comments: &FileComments,
) -> Vec<InlineIgnore> {
    let mut out = Vec::new();
    if !source.text.contains(MARKER) {
        return out;
    }
    let whole = [Span::new(file, 0, source.text.len())];
    let documents: &[Span] = if comments.documents.is_empty() {
        &whole
    } else {
        &comments.documents
    };
    let comment_lines: std::collections::BTreeSet<usize> = comments
        .comments
        .iter()
        .filter(|c| c.own_line)
        .map(|c| source.line_index(c.span.start))
        .collect();
    let has_content = |line: usize| {
        let t = source.line_text(line).trim();
        !t.is_empty()
            && !comment_lines.contains(&line)
            && t != "---"
            && !t.starts_with("--- ")
            && !t.starts_with('%')
    };
    for comment in &comments.comments {
        let body_text = source.slice(comment.span);
        let Some(at) = body_text.find(MARKER) else {
            continue;
        };
        let body = &body_text[at + MARKER.len()..];
        let span = Span::new(
            file,
            comment.span.start + at,
            comment.span.start + body_text.trim_end().len(),
        );
        let mut ignore = parse_body(body, file, span);
        let index = source.line_index(comment.span.start);
        // Above the first content of its document: the whole document.
        let header = documents.iter().find(|d| {
            comment.own_line
                && comment.span.start >= d.start
                && comment.span.start < d.end.max(d.start + 1)
                && !(source.line_index(d.start)..index).any(has_content)
        });
        ignore.scope = match header {
            Some(extent) => Scope::Range(*extent),
            None if comment.own_line => {
                let next = (index + 1..source.line_count())
                    .find(|i| has_content(*i))
                    .unwrap_or(index);
                Scope::Lines(index, next)
            }
            None => Scope::Lines(index, index),
        };
        out.push(ignore);
    }
    out
}

/// `[TG101,TG301] reason until=2027-03-31` (also `-- reason`).
fn parse_body(body: &str, file: FileId, span: Span) -> InlineIgnore {
    let mut ignore = InlineIgnore {
        file,
        span,
        rules: Vec::new(),
        reason: None,
        until: None,
        scope: Scope::Lines(0, 0),
        problem: None,
        annotation: false,
    };
    let Some(rest) = body.strip_prefix('[') else {
        ignore.problem = Some(
            "write the rules to ignore in brackets: tritonguard:ignore[TG101] reason".to_string(),
        );
        return ignore;
    };
    let Some(close) = rest.find(']') else {
        ignore.problem = Some("unclosed '[' in the ignore comment".to_string());
        return ignore;
    };
    ignore.rules = rest[..close]
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let mut reason_words = Vec::new();
    for word in rest[close + 1..].split_whitespace() {
        if let Some(date) = word.strip_prefix("until=") {
            match parse_date(date) {
                Some(d) => ignore.until = Some(d),
                None => {
                    ignore.problem = Some(format!(
                        "'until={date}' is not a date like until=2027-03-31"
                    ))
                }
            }
        } else if word != "--" || !reason_words.is_empty() {
            reason_words.push(word);
        }
    }
    if !reason_words.is_empty() {
        ignore.reason = Some(reason_words.join(" "));
    }
    if ignore.rules.is_empty() && ignore.problem.is_none() {
        ignore.problem = Some("name the rules to ignore: tritonguard:ignore[TG101]".to_string());
    }
    ignore
}

fn rule_matches(catalogue: &Catalogue, written: &str, finding: &Finding) -> bool {
    written.eq_ignore_ascii_case(&finding.rule_id)
        || written == finding.rule_name
        || catalogue
            .get(written)
            .is_some_and(|p| p.spec.id == finding.rule_id)
}

fn covers(store: &SourceStore, scope: &Scope, file: FileId, finding: &Finding) -> bool {
    match scope {
        Scope::Range(extent) => {
            let inside = |s: Span| {
                s.file == extent.file
                    && s.start >= extent.start
                    && s.start < extent.end.max(extent.start + 1)
            };
            inside(finding.primary.span)
                || finding.subject_extent.is_some_and(|e| {
                    e.file == extent.file
                        && e.start < extent.end
                        && extent.start < e.end.max(e.start + 1)
                })
        }
        Scope::Lines(first, last) => {
            finding.primary.span.file == file && {
                let line = store.position(file, finding.primary.span.start).line - 1;
                line >= *first && line <= *last
            }
        }
    }
}

/// Marks suppressed findings and returns the findings about suppressions themselves
/// (TG002 unused, TG003 invalid or expired).
pub fn apply(findings: &mut [Finding], input: &SuppressionInput<'_>) -> Vec<Finding> {
    let mut meta = Vec::new();
    let mut inline: Vec<InlineIgnore> = Vec::new();
    if input.inline {
        for (file, comments) in input.comments {
            if let Some(source) = input.store.get(*file) {
                inline.extend(inline_ignores(source, *file, comments));
            }
        }
        inline.extend(input.annotations.iter().map(|a| InlineIgnore {
            file: a.span.file,
            span: a.span,
            rules: a.rules.clone(),
            reason: a.reason.clone(),
            until: None,
            scope: Scope::Range(a.extent),
            problem: None,
            annotation: true,
        }));
    }
    let mut used = vec![false; inline.len()];
    for (i, ignore) in inline.iter_mut().enumerate() {
        if ignore.problem.is_none() {
            if let Some(unknown) = ignore
                .rules
                .iter()
                .find(|r| input.catalogue.get(r).is_none())
            {
                ignore.problem = Some(format!(
                    "unknown rule '{unknown}' (see `tritonguard rules`)"
                ));
            } else if input.require_reason && ignore.reason.is_none() {
                ignore.problem = Some("this ignore gives no reason, and the config requires one (require-reason: true)".to_string());
            }
        }
        if let Some(problem) = &ignore.problem {
            meta.extend(meta_finding(
                input,
                Rule::InvalidSuppression,
                ignore.span,
                problem.clone(),
            ));
            used[i] = true;
        }
    }
    for finding in findings.iter_mut() {
        if finding.suppression.is_some() {
            continue;
        }
        for (i, ignore) in inline.iter().enumerate() {
            if ignore.problem.is_some()
                || !ignore
                    .rules
                    .iter()
                    .any(|r| rule_matches(input.catalogue, r, finding))
                || !covers(input.store, &ignore.scope, ignore.file, finding)
            {
                continue;
            }
            used[i] = true;
            if let Some(until) = ignore.until.filter(|u| *u < input.today) {
                let (pos, _) = input.store.range(ignore.span);
                finding.notes.push(format!(
                    "an ignore at {}:{} expired on {}",
                    input.store.display(ignore.file),
                    pos.line,
                    show_date(until)
                ));
                continue;
            }
            finding.suppression = Some(Suppression {
                kind: SuppressionKind::InSource,
                justification: ignore.reason.clone().unwrap_or_else(|| {
                    if ignore.annotation {
                        "tritonguard.dev/ignore annotation".to_string()
                    } else {
                        "ignore comment".to_string()
                    }
                }),
                span: Some(ignore.span),
            });
            break;
        }
    }
    for (i, ignore) in inline.iter().enumerate() {
        let all_ran = ignore.rules.iter().all(|r| {
            input
                .catalogue
                .get(r)
                .is_some_and(|p| (input.ran)(&p.spec.id, ignore.file))
        });
        if !used[i] && all_ran {
            meta.extend(meta_finding(
                input,
                Rule::UnusedSuppression,
                ignore.span,
                format!(
                    "this ignore of {} matches no finding; remove it",
                    ignore.rules.join(", ")
                ),
            ));
        }
    }
    // The config file's ignores.
    for ignore in input.config_ignores {
        let globs: Vec<globset::GlobMatcher> = ignore
            .paths
            .iter()
            .filter_map(|p| globset::Glob::new(p).ok().map(|g| g.compile_matcher()))
            .collect();
        let expired = ignore
            .until
            .as_deref()
            .and_then(parse_date)
            .filter(|u| *u < input.today);
        for finding in findings.iter_mut().filter(|f| f.suppression.is_none()) {
            let file = finding.primary.span.file;
            let path = match &ignore.scope {
                None => input.store.display(file),
                Some(scope) => match scope.get(&file) {
                    Some(relative) => relative.as_str(),
                    None => continue,
                },
            };
            let rule_ok = ignore
                .rules
                .iter()
                .any(|r| rule_matches(input.catalogue, r, finding));
            let path_ok = globs.is_empty() || globs.iter().any(|g| g.is_match(path));
            if !(rule_ok && path_ok) {
                continue;
            }
            match expired {
                Some(until) => finding.notes.push(format!(
                    "an ignore in {} expired on {}",
                    input.config_name,
                    show_date(until)
                )),
                None => {
                    finding.suppression = Some(Suppression {
                        kind: SuppressionKind::External,
                        justification: ignore
                            .reason
                            .clone()
                            .unwrap_or_else(|| format!("ignored in {}", input.config_name)),
                        span: None,
                    })
                }
            }
        }
    }
    if let Some((baseline, name)) = &input.baseline {
        for finding in findings.iter_mut().filter(|f| f.suppression.is_none()) {
            if baseline.contains(&finding.fingerprint) {
                finding.suppression = Some(Suppression {
                    kind: SuppressionKind::External,
                    justification: format!("in baseline {name}"),
                    span: None,
                });
            }
        }
    }
    meta
}

fn meta_finding(
    input: &SuppressionInput<'_>,
    rule: Rule,
    span: Span,
    message: String,
) -> Option<Finding> {
    let identity = input.store.slice(span).to_string();
    crate::evaluate::native::finding(input.catalogue, rule, span, message, &identity, input.store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ignores_in(text: &str, yaml: bool) -> Vec<InlineIgnore> {
        let source = SourceFile::new("t".into(), None, Arc::from(text));
        let comments = if yaml {
            let stream = crate::parse::yaml::parse_stream(FileId(0), text);
            FileComments {
                comments: crate::parse::comments::yaml(FileId(0), text, &stream),
                documents: stream.documents.iter().map(|d| d.extent).collect(),
            }
        } else {
            let mut spans = Vec::new();
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                let body = line.trim_end_matches('\n');
                if let Some(i) = crate::parse::comments::hash_by_quotes(body) {
                    spans.push(Span::new(FileId(0), offset + i, offset + body.len()));
                }
                offset += line.len();
            }
            FileComments {
                comments: crate::parse::comments::from_spans(text, spans),
                documents: Vec::new(),
            }
        };
        inline_ignores(&source, FileId(0), &comments)
    }

    #[test]
    fn comments_parse_rules_reasons_and_dates() {
        let text = "a: 1  # tritonguard:ignore[TG101, TG301] trusted network until=2099-01-31\n# tritonguard:ignore[TG205]\nb: 2\n";
        let ignores = ignores_in(text, false);
        assert_eq!(ignores.len(), 2);
        assert_eq!(ignores[0].rules, vec!["TG101", "TG301"]);
        assert_eq!(ignores[0].reason.as_deref(), Some("trusted network"));
        assert_eq!(ignores[0].until, Some((2099, 1, 31)));
        assert_eq!(ignores[0].scope, Scope::Lines(0, 0));
        assert_eq!(ignores[1].scope, Scope::Lines(1, 2));
    }

    #[test]
    fn a_comment_above_a_yaml_document_covers_the_document() {
        let text = "---\n# tritonguard:ignore[TG201] legacy\napiVersion: v1\nkind: Pod\n---\nkind: Service\n";
        let ignores = ignores_in(text, true);
        let end = text.find("---\nkind: Service").unwrap_or(0);
        assert_eq!(ignores[0].scope, Scope::Range(Span::new(FileId(0), 0, end)));
    }

    #[test]
    fn malformed_comments_say_why() {
        let ignores = ignores_in("# tritonguard:ignore TG101\nx\n", false);
        assert!(
            ignores[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("brackets"))
        );
        let ignores = ignores_in("# tritonguard:ignore[TG101] until=tomorrow\nx\n", false);
        assert!(
            ignores[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("not a date"))
        );
    }

    #[test]
    fn an_ignore_inside_a_yaml_string_is_not_a_suppression() {
        let text = "a: |\n  # tritonguard:ignore[TG101] inside the script\nb: \"x # tritonguard:ignore[TG102]\"\n";
        assert!(ignores_in(text, true).is_empty());
    }

    #[test]
    fn dates() {
        assert_eq!(crate::filter::date::civil_from_days(0), (1970, 1, 1));
        assert_eq!(crate::filter::date::civil_from_days(20_419), (2025, 11, 27));
        assert_eq!(parse_date("2027-03-31"), Some((2027, 3, 31)));
        assert_eq!(parse_date("2027-13-01"), None);
    }
}
