//! The policy file format: one rule per YAML file, read with positions so that a mistake in
//! a policy is reported inside the policy file.

use crate::finding::Severity;
pub use crate::model::subject::Subject;
use crate::source::{FileId, Span};
use crate::tree::{Node, PathSegment, Value, parse_path};

/// An expression as written, with its span in the policy file.
#[derive(Clone, Debug)]
pub struct ExprText {
    pub text: String,
    pub span: Span,
    /// The YAML scalar node, to map positions inside the expression back to the file.
    pub node: Node,
}

/// A path (`launch.server.model_control_mode`) as written.
#[derive(Clone, Debug)]
pub struct PathText {
    pub text: String,
    pub segments: Vec<PathSegment>,
    pub span: Span,
}

/// A named sub-expression (`variables:`), visible to later variables and to the policy's
/// other expressions as `variables.<name>`, as in Kubernetes ValidatingAdmissionPolicy.
#[derive(Clone, Debug)]
pub struct VariableSpec {
    pub name: String,
    /// The name as written (the map key, or the `name:` value of the list form).
    pub name_span: Span,
    pub expr: ExprText,
}

/// Where a finding points: the first choice whose `when` holds (or that has none).
#[derive(Clone, Debug)]
pub struct AtChoice {
    pub when: Option<ExprText>,
    pub path: PathText,
}

#[derive(Clone, Debug)]
pub struct RelatedSpec {
    pub at: PathText,
    pub label: Option<ExprText>,
    /// CEL: the place is shown only where this holds (it sees `item` of `each`).
    pub when: Option<ExprText>,
}

/// A policy's `tests:`, read with the policy or, for a built-in one, when first asked for:
/// they are two thirds of the built-in policy text, and a scan needs them only for the
/// examples of a SARIF report's rule help.
#[derive(Clone, Debug, Default)]
pub struct Tests {
    cases: std::sync::OnceLock<Vec<PolicyTest>>,
    /// The policy file to read them from when first asked for.
    deferred: Option<(FileId, &'static str)>,
}

impl Tests {
    pub fn parsed(cases: Vec<PolicyTest>) -> Tests {
        let cell = std::sync::OnceLock::new();
        let _ = cell.set(cases);
        Tests {
            cases: cell,
            deferred: None,
        }
    }

    /// The tests of the policy file `text` (whose other keys were read without them).
    pub fn deferred(file: FileId, text: &'static str) -> Tests {
        Tests {
            cases: std::sync::OnceLock::new(),
            deferred: Some((file, text)),
        }
    }

    /// Whether the tests are read only when asked for.
    pub fn is_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// The test cases. A deferred file that no longer reads (it read when the policy was
    /// loaded) has none.
    pub fn get(&self) -> &[PolicyTest] {
        self.cases.get_or_init(|| match self.deferred {
            Some((file, text)) => super::parse_spec(file, text)
                .map(|spec| spec.tests.into_cases())
                .unwrap_or_default(),
            None => Vec::new(),
        })
    }

    fn into_cases(self) -> Vec<PolicyTest> {
        let _ = self.get();
        self.cases.into_inner().unwrap_or_default()
    }
}

/// A test case input: a file on disk (relative to the policy file), inline files, or an
/// inline model repository (see [`super::fixture`]).
#[derive(Clone, Debug)]
pub enum TestInput {
    File(String),
    Inline(Vec<(String, String)>),
    Repo(super::fixture::RepoFixture),
    /// Canned answers of a server for the probe rules (served by `crate::probe::fixture`).
    Probe(super::probe_fixture::ProbeFixture),
}

/// An expected finding: its rule id, and where a bad case states them, its line, a text its
/// message contains, and its severity.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub id: String,
    pub line: Option<usize>,
    pub message: Option<String>,
    pub severity: Option<Severity>,
}

#[derive(Clone, Debug)]
pub struct PolicyTest {
    pub name: String,
    pub input: TestInput,
    pub expect: Vec<Expectation>,
    /// Extra policy files `(name, text)` loaded for this case only (`policies:`): how the
    /// rule about policies that fail to evaluate is tested.
    pub policies: Vec<(String, String)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct PolicySpec {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub subject: Subject,
    pub summary: String,
    pub description: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    pub match_expr: Option<ExprText>,
    /// Named sub-expressions, in the order written; evaluated per subject after `match`.
    pub variables: Vec<VariableSpec>,
    /// What to iterate: a list (each element) or a map (each value). A key segment met on
    /// a list applies to every element, so `config.model_warmup.inputs` visits the inputs
    /// of every warmup sample.
    pub each: Option<PathText>,
    pub assert: Option<ExprText>,
    pub message: Option<ExprText>,
    pub label: Option<ExprText>,
    pub at: Vec<AtChoice>,
    pub related: Vec<RelatedSpec>,
    /// The fix for each input format (`fix:`), shown as the help line of a finding in a
    /// file of that format.
    pub fix: super::fix::Fixes,
    /// Paths whose values are credentials (`secrets:`): every report masks their text.
    pub secrets: Vec<PathText>,
    pub tests: Tests,
    /// Spans of the `id:` value and of the whole file, for diagnostics.
    pub id_span: Span,
}

/// A mistake in a policy file, positioned in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub span: Span,
    pub message: String,
}

const KNOWN_KEYS: &[&str] = &[
    "id",
    "name",
    "severity",
    "subject",
    "summary",
    "description",
    "remediation",
    "references",
    "tags",
    "match",
    "variables",
    "each",
    "assert",
    "message",
    "label",
    "at",
    "related",
    "fix",
    "secrets",
    "tests",
];

struct Reader<'a> {
    root: &'a Node,
    file_span: Span,
    errors: Vec<SpecError>,
}

impl<'a> Reader<'a> {
    fn error(&mut self, span: Option<Span>, message: String) {
        self.errors.push(SpecError {
            span: span.unwrap_or(self.file_span),
            message,
        });
    }

    fn string(&mut self, key: &str, required: bool) -> Option<(String, Span)> {
        match self.root.get(key) {
            None if required => {
                let span = self
                    .root
                    .as_map()
                    .first()
                    .and_then(|(_, v)| v.key_span)
                    .or(self.root.span);
                self.error(span, format!("missing required field '{key}'"));
                None
            }
            None => None,
            Some(node) => match node.as_scalar_text() {
                Some(text) if !matches!(node.value, Value::Null) => {
                    Some((text, node.span.unwrap_or(self.file_span)))
                }
                _ => {
                    self.error(node.label_span(), format!("'{key}' must be text"));
                    None
                }
            },
        }
    }

    fn expr(&mut self, key: &str) -> Option<ExprText> {
        let node = self.root.get(key)?;
        match node.as_scalar_text() {
            Some(text) if !text.trim().is_empty() && !node.is_null() => Some(ExprText {
                text,
                span: node.span.unwrap_or(self.file_span),
                node: node.clone(),
            }),
            _ => {
                self.error(
                    node.label_span(),
                    format!("'{key}' must be a CEL expression"),
                );
                None
            }
        }
    }

    fn path(&mut self, node: &Node, key: &str) -> Option<PathText> {
        let Some(text) = node.as_str() else {
            self.error(
                node.label_span(),
                format!("'{key}' must be a path like launch.server.http"),
            );
            return None;
        };
        match parse_path(text) {
            Ok(segments) => Some(PathText {
                text: text.to_string(),
                segments,
                span: node.span.unwrap_or(self.file_span),
            }),
            Err(e) => {
                self.error(node.span, e);
                None
            }
        }
    }

    fn string_list(&mut self, key: &str) -> Vec<String> {
        let Some(node) = self.root.get(key) else {
            return Vec::new();
        };
        if !matches!(node.value, Value::List(_)) {
            self.error(node.label_span(), format!("'{key}' must be a list"));
            return Vec::new();
        }
        node.as_list()
            .iter()
            .filter_map(|item| {
                let text = item.as_scalar_text();
                if text.is_none() {
                    self.error(item.span, format!("items of '{key}' must be text"));
                }
                text
            })
            .collect()
    }
}

/// Reads a policy from its YAML tree. `file_span` covers the whole policy file.
pub fn read_policy(root: &Node, file_span: Span) -> Result<PolicySpec, Vec<SpecError>> {
    let mut r = Reader {
        root,
        file_span,
        errors: Vec::new(),
    };
    if !matches!(root.value, Value::Map(_)) {
        r.error(
            root.span,
            "a policy file must be a YAML mapping".to_string(),
        );
        return Err(r.errors);
    }
    for (key, value) in root.as_map() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            let suggestion = KNOWN_KEYS
                .iter()
                .min_by_key(|k| strsim::levenshtein(k, key))
                .filter(|k| strsim::levenshtein(k, key) <= 2)
                .map(|k| format!(" (did you mean '{k}'?)"))
                .unwrap_or_default();
            r.error(value.key_span, format!("unknown field '{key}'{suggestion}"));
        }
    }
    let id = r.string("id", true);
    if let Some((id, span)) = &id {
        let valid = id.len() > 2
            && id.starts_with(|c: char| c.is_ascii_uppercase())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            r.error(Some(*span), format!("'{id}' is not a valid rule id (letters, digits, '-', '_', starting with a capital letter, like TG101 or ACME001)"));
        }
    }
    let name = r.string("name", true);
    if let Some((name, span)) = &name
        && !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        r.error(Some(*span), format!("name '{name}' must be kebab-case"));
    }
    let severity = r.string("severity", true).and_then(|(text, span)| {
        let s = Severity::parse(&text);
        if s.is_none() {
            r.error(
                Some(span),
                format!("unknown severity '{text}' (critical, high, medium, low, info)"),
            );
        }
        s
    });
    let subject = r.string("subject", true).and_then(|(text, span)| {
        let s = Subject::parse(&text);
        if s.is_none() {
            r.error(
                Some(span),
                format!("unknown subject '{text}' (launch, k8s, pbtxt; for native rules file, suppression, policy, repo, probe)"),
            );
        }
        s
    });
    let summary = r.string("summary", true).map(|(s, _)| s);
    let description = r.string("description", true).map(|(s, _)| s);
    let remediation = r.string("remediation", true).map(|(s, _)| s);
    let references = r.string_list("references");
    let tags = r.string_list("tags");
    let match_expr = r.expr("match");
    let variables = read_variables(&mut r);
    let assert = r.expr("assert");
    let message = r.expr("message");
    let label = r.expr("label");
    let each = root.get("each").cloned().and_then(|n| r.path(&n, "each"));
    let at = read_at(&mut r);
    let related = read_related(&mut r);
    let fix = match root.get("fix") {
        Some(node) => super::fix::read(node).unwrap_or_else(|errors| {
            r.errors.extend(errors);
            super::fix::Fixes::default()
        }),
        None => super::fix::Fixes::default(),
    };
    let secrets = read_secrets(&mut r);
    let tests = read_tests(&mut r);
    if subject.is_some_and(|s| s.has_cel() && s != Subject::Pbtxt)
        && assert.is_none()
        && root.get("assert").is_none()
    {
        let first_key = root
            .as_map()
            .first()
            .and_then(|(_, v)| v.key_span)
            .or(root.span);
        r.error(first_key, "missing required field 'assert' (a CEL expression that is true when the subject is compliant)".to_string());
    }
    if subject.is_some_and(|s| !s.has_cel()) {
        for key in [
            "match",
            "variables",
            "each",
            "assert",
            "at",
            "related",
            "label",
            "secrets",
        ] {
            if let Some(n) = root.get(key) {
                r.error(
                    n.key_span,
                    format!(
                        "'{key}' has no meaning for a native rule (subject {})",
                        subject.map(Subject::as_str).unwrap_or_default()
                    ),
                );
            }
        }
    }
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    match (
        id,
        name,
        severity,
        subject,
        summary,
        description,
        remediation,
    ) {
        (
            Some((id, id_span)),
            Some((name, _)),
            Some(severity),
            Some(subject),
            Some(summary),
            Some(description),
            Some(remediation),
        ) => Ok(PolicySpec {
            id,
            name,
            severity,
            subject,
            summary,
            description,
            remediation,
            references,
            tags,
            match_expr,
            variables,
            each,
            assert,
            message,
            label,
            at,
            related,
            fix,
            secrets,
            tests: Tests::parsed(tests),
            id_span,
        }),
        _ => Err(vec![SpecError {
            span: file_span,
            message: "incomplete policy".to_string(),
        }]),
    }
}

/// Words CEL reserves: a variable of that name could not be written as `variables.<name>`.
const CEL_RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// `variables: {name: CEL, ...}` (in order), or ValidatingAdmissionPolicy's list form
/// `variables: [{name: NAME, expression: CEL}, ...]`.
fn read_variables(r: &mut Reader<'_>) -> Vec<VariableSpec> {
    let Some(node) = r.root.get("variables").cloned() else {
        return Vec::new();
    };
    let mut entries: Vec<(String, Span, Node)> = Vec::new();
    match &node.value {
        Value::Map(map) => {
            for (name, value) in map {
                let span = value.key_span.or(value.span).unwrap_or(r.file_span);
                entries.push((name.clone(), span, value.clone()));
            }
        }
        Value::List(items) => {
            for item in items {
                if !matches!(item.value, Value::Map(_)) {
                    r.error(
                        item.label_span(),
                        "each variable is {name: NAME, expression: CEL}".to_string(),
                    );
                    continue;
                }
                for (k, v) in item.as_map() {
                    if k != "name" && k != "expression" {
                        r.error(
                            v.key_span,
                            format!("unknown field '{k}' in a variable (name, expression)"),
                        );
                    }
                }
                let name = item.get("name");
                match (name.and_then(Node::as_str), item.get("expression")) {
                    (Some(text), Some(expr)) => entries.push((
                        text.to_string(),
                        name.and_then(|n| n.span).unwrap_or(r.file_span),
                        expr.clone(),
                    )),
                    _ => r.error(
                        item.label_span(),
                        "a variable needs 'name' and 'expression'".to_string(),
                    ),
                }
            }
        }
        _ => {
            r.error(
                node.label_span(),
                "'variables' is a map from a name to a CEL expression".to_string(),
            );
            return Vec::new();
        }
    }
    let mut out: Vec<VariableSpec> = Vec::new();
    for (name, name_span, value) in entries {
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier || CEL_RESERVED.contains(&name.as_str()) {
            r.error(
                Some(name_span),
                format!("'{name}' is not a valid variable name (a CEL identifier: letters, digits and '_', not a reserved word)"),
            );
            continue;
        }
        if out.iter().any(|v| v.name == name) {
            r.error(
                Some(name_span),
                format!("variable '{name}' is defined twice"),
            );
            continue;
        }
        match value.as_scalar_text() {
            Some(text) if !text.trim().is_empty() && !value.is_null() => out.push(VariableSpec {
                name,
                name_span,
                expr: ExprText {
                    text,
                    span: value.span.unwrap_or(r.file_span),
                    node: value.clone(),
                },
            }),
            _ => r.error(
                value.label_span().or(Some(name_span)),
                format!("variable '{name}' must be a CEL expression"),
            ),
        }
    }
    out
}

/// `at: launch.x` or `at: [{when: CEL, at: launch.x}, ..., launch.fallback]`.
fn read_at(r: &mut Reader<'_>) -> Vec<AtChoice> {
    let Some(node) = r.root.get("at").cloned() else {
        return Vec::new();
    };
    let items: Vec<Node> = match &node.value {
        Value::List(items) => items.clone(),
        _ => vec![node.clone()],
    };
    let mut out = Vec::new();
    for item in &items {
        match &item.value {
            Value::Str(_) => {
                if let Some(path) = r.path(item, "at") {
                    out.push(AtChoice { when: None, path });
                }
            }
            Value::Map(_) => {
                for (k, v) in item.as_map() {
                    if k != "at" && k != "when" {
                        r.error(
                            v.key_span,
                            format!("unknown field '{k}' in an 'at' choice (when, at)"),
                        );
                    }
                }
                let when = item.get("when").map(|n| ExprText {
                    text: n.as_scalar_text().unwrap_or_default(),
                    span: n.span.unwrap_or(r.file_span),
                    node: n.clone(),
                });
                match item.get("at") {
                    Some(p) => {
                        if let Some(path) = r.path(p, "at") {
                            out.push(AtChoice { when, path });
                        }
                    }
                    None => r.error(
                        item.span,
                        "an 'at' choice needs 'at' (and optionally 'when')".to_string(),
                    ),
                }
            }
            _ => r.error(
                item.span,
                "'at' is a path or a list of {when, at} choices".to_string(),
            ),
        }
    }
    out
}

fn read_related(r: &mut Reader<'_>) -> Vec<RelatedSpec> {
    let Some(list) = r.root.get("related").cloned() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list.as_list() {
        match &item.value {
            Value::Str(_) => {
                if let Some(at) = r.path(item, "related") {
                    out.push(RelatedSpec {
                        at,
                        label: None,
                        when: None,
                    });
                }
            }
            Value::Map(_) => {
                let at = item.get("at").and_then(|n| r.path(n, "related.at"));
                let expr = |key: &str| {
                    item.get(key).and_then(|n| {
                        n.as_scalar_text().map(|text| ExprText {
                            text,
                            span: n.span.unwrap_or(r.file_span),
                            node: n.clone(),
                        })
                    })
                };
                let label = expr("label");
                let when = expr("when");
                for (k, v) in item.as_map() {
                    if k != "at" && k != "label" && k != "when" {
                        r.error(
                            v.key_span,
                            format!("unknown field '{k}' in related (at, label, when)"),
                        );
                    }
                }
                match at {
                    Some(at) => out.push(RelatedSpec { at, label, when }),
                    None if item.get("at").is_none() => {
                        r.error(item.span, "related entry needs 'at'".to_string())
                    }
                    None => {}
                }
            }
            _ => r.error(
                item.span,
                "related entries are paths or {at, label, when}".to_string(),
            ),
        }
    }
    out
}

/// `secrets: [item.string_value]`: paths (or one path) whose values are credentials.
fn read_secrets(r: &mut Reader<'_>) -> Vec<PathText> {
    let Some(node) = r.root.get("secrets").cloned() else {
        return Vec::new();
    };
    let items: Vec<Node> = match &node.value {
        Value::List(items) => items.clone(),
        _ => vec![node.clone()],
    };
    items
        .iter()
        .filter_map(|item| r.path(item, "secrets"))
        .collect()
}

/// The span of a secret value to mask: the text inside the quotes of a quoted scalar.
pub fn secret_span(text: &str, span: Span) -> Span {
    let slice = text.get(span.start..span.end).unwrap_or("");
    let quoted = slice.len() >= 2
        && (slice.starts_with('"') && slice.ends_with('"')
            || slice.starts_with('\'') && slice.ends_with('\''));
    if quoted {
        Span::new(span.file, span.start + 1, span.end - 1)
    } else {
        span
    }
}

fn read_tests(r: &mut Reader<'_>) -> Vec<PolicyTest> {
    let Some(list) = r.root.get("tests").cloned() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, case) in list.as_list().iter().enumerate() {
        let span = case.span.unwrap_or(r.file_span);
        for (k, v) in case.as_map() {
            if !["name", "input", "expect", "policies"].contains(&k.as_str()) {
                r.error(
                    v.key_span,
                    format!("unknown field '{k}' in test (name, input, expect, policies)"),
                );
            }
        }
        let name = case
            .get("name")
            .and_then(Node::as_scalar_text)
            .unwrap_or_else(|| format!("test {}", i + 1));
        let input = match case.get("input") {
            Some(input) => {
                if let Some(file) = input.get("file").and_then(Node::as_str) {
                    Some(TestInput::File(file.to_string()))
                } else if let Some(repo) = input.get("repo") {
                    match super::fixture::read(repo) {
                        Ok(fixture) => Some(TestInput::Repo(fixture)),
                        Err(errors) => {
                            for e in errors {
                                r.error(e.span, e.message);
                            }
                            None
                        }
                    }
                } else if let Some(probe) = input.get("probe") {
                    match super::probe_fixture::read(probe) {
                        Ok(fixture) => Some(TestInput::Probe(fixture)),
                        Err(errors) => {
                            for e in errors {
                                r.error(e.span, e.message);
                            }
                            None
                        }
                    }
                } else if let Some(files) = input.get("files") {
                    let mut inline = Vec::new();
                    for f in files.as_list() {
                        match (
                            f.get("path").and_then(Node::as_str),
                            f.get("text").and_then(Node::as_str),
                        ) {
                            (Some(p), Some(t)) => inline.push((p.to_string(), t.to_string())),
                            _ => r.error(
                                f.span,
                                "each of 'files' needs 'path' and 'text'".to_string(),
                            ),
                        }
                    }
                    Some(TestInput::Inline(inline))
                } else if let (Some(path), Some(text)) = (
                    input.get("path").and_then(Node::as_str),
                    input.get("text").and_then(Node::as_str),
                ) {
                    Some(TestInput::Inline(vec![(
                        path.to_string(),
                        text.to_string(),
                    )]))
                } else {
                    r.error(input.label_span(), "a test input is {file: PATH}, {path: NAME, text: ...}, {files: [{path, text}, ...]} or {repo: [{path, text | hex | dir | symlink, mode}, ...]} or {probe: [{request, status, body}, ...]}".to_string());
                    None
                }
            }
            None => {
                r.error(Some(span), format!("test '{name}' has no 'input'"));
                None
            }
        };
        let mut expect = Vec::new();
        match case.get("expect") {
            Some(list) if matches!(list.value, Value::List(_)) => {
                for e in list.as_list() {
                    match (&e.value, e.get("id").and_then(Node::as_str)) {
                        (Value::Str(id), _) => expect.push(Expectation {
                            id: id.clone(),
                            line: None,
                            message: None,
                            severity: None,
                        }),
                        (Value::Map(_), Some(id)) => {
                            if let Some(expectation) = read_expectation(r, e, id) {
                                expect.push(expectation);
                            }
                        }
                        _ => r.error(
                            e.span,
                            "expectations are rule ids or {id, line, message, severity}"
                                .to_string(),
                        ),
                    }
                }
            }
            Some(other) => r.error(
                other.label_span(),
                "'expect' must be a list of rule ids (empty for a passing case)".to_string(),
            ),
            None => r.error(
                Some(span),
                format!("test '{name}' has no 'expect' (use [] for a passing case)"),
            ),
        }
        let mut policies = Vec::new();
        if let Some(list) = case.get("policies") {
            if !matches!(list.value, Value::List(_)) {
                r.error(
                    list.label_span(),
                    "'policies' is a list of {path, text} policy files".to_string(),
                );
            }
            for p in list.as_list() {
                match (
                    p.get("path").and_then(Node::as_str),
                    p.get("text").and_then(Node::as_str),
                ) {
                    (Some(path), Some(text)) => policies.push((path.to_string(), text.to_string())),
                    _ => r.error(
                        p.span,
                        "each of 'policies' needs 'path' and 'text'".to_string(),
                    ),
                }
            }
        }
        if let Some(input) = input {
            out.push(PolicyTest {
                name,
                input,
                expect,
                policies,
                span,
            });
        }
    }
    out
}

/// `{id, line, message, severity}`: `message` is a text the finding's message contains.
fn read_expectation(r: &mut Reader<'_>, e: &Node, id: &str) -> Option<Expectation> {
    let mut ok = true;
    for (k, v) in e.as_map() {
        if !["id", "line", "message", "severity"].contains(&k.as_str()) {
            r.error(
                v.key_span,
                format!("unknown field '{k}' in an expectation (id, line, message, severity)"),
            );
            ok = false;
        }
    }
    let line = match e.get("line") {
        None => None,
        Some(n) => match n.as_i64().and_then(|l| usize::try_from(l).ok()) {
            Some(l) if l > 0 => Some(l),
            _ => {
                r.error(
                    n.label_span(),
                    "'line' is a line number (1 or more)".to_string(),
                );
                ok = false;
                None
            }
        },
    };
    let message = match e.get("message") {
        None => None,
        Some(n) => match n.as_scalar_text() {
            Some(t) if !n.is_null() && !t.is_empty() => Some(t),
            _ => {
                r.error(
                    n.label_span(),
                    "'message' is a text the finding's message contains".to_string(),
                );
                ok = false;
                None
            }
        },
    };
    let severity = match e.get("severity") {
        None => None,
        Some(n) => match n.as_str().and_then(Severity::parse) {
            Some(s) => Some(s),
            None => {
                r.error(
                    n.label_span(),
                    "unknown severity (critical, high, medium, low, info)".to_string(),
                );
                ok = false;
                None
            }
        },
    };
    ok.then(|| Expectation {
        id: id.to_string(),
        line,
        message,
        severity,
    })
}

/// The file span covering all of `text`.
pub fn whole(file: FileId, text: &str) -> Span {
    Span::new(file, 0, text.len())
}
