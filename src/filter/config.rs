//! The project file `.tritonguard.yaml`: which rules run and how severe they are, what to
//! exclude, where team policies live, the fail-on threshold, and suppressions that live
//! outside the scanned files. Read with positions, so a mistake points into the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::finding::{FailOn, Severity};
use crate::parse::yaml::parse_stream;
use crate::source::{FileId, Span};
use crate::tree::{Node, Value};

pub const FILE_NAMES: &[&str] = &[".tritonguard.yaml", ".tritonguard.yml"];

/// A suppression written in the config file.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigIgnore {
    pub rules: Vec<String>,
    /// Glob patterns of files (relative, `/`-separated); empty means every file.
    pub paths: Vec<String>,
    pub reason: Option<String>,
    /// `YYYY-MM-DD`: the suppression stops working after this day.
    pub until: Option<String>,
    pub span: Span,
    /// When configs resolve per file: the files this ignore's config governs, each with its
    /// path relative to the config's folder (what `paths` match). `None`: every file, by
    /// its displayed path.
    pub scope: Option<Arc<BTreeMap<FileId, String>>>,
}

/// `helm:` in the config file: how charts found in the scan are rendered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HelmConfig {
    /// Seconds one `helm template` may take.
    pub timeout: Option<u64>,
    pub charts: Vec<HelmChartConfig>,
}

/// One entry of `helm.charts`: renders of one chart beyond the automatic ones.
#[derive(Clone, Debug, PartialEq)]
pub struct HelmChartConfig {
    /// The chart directory (relative to the config file until [`load`] resolves it).
    pub path: PathBuf,
    /// Extra renders, each a list of values files given to `helm template -f` in order.
    pub values: Vec<Vec<PathBuf>>,
    /// Where each entry of `values` is written.
    pub values_spans: Vec<Span>,
    /// `--set` expressions for every render of this chart (e.g. a `required` value).
    pub set: Vec<String>,
    pub release: Option<String>,
    pub namespace: Option<String>,
    /// The entry in the config file, for errors found later (a path that is no chart).
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from, and its text (for diagnostics).
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
    pub fail_on: Option<FailOn>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub severity: Vec<(String, Severity)>,
    pub exclude: Vec<String>,
    pub policy_dirs: Vec<PathBuf>,
    pub require_reason: bool,
    pub inline_ignores: bool,
    pub ignores: Vec<ConfigIgnore>,
    pub baseline: Option<PathBuf>,
    pub helm: HelmConfig,
    /// Custom resource kinds that hold pods (`workloads:`), besides the built-in ones.
    pub workloads: Vec<crate::extract::workload_kinds::WorkloadKind>,
}

/// A mistake in the config file.
#[derive(Clone, Debug)]
pub struct ConfigError {
    pub path: String,
    pub text: Arc<str>,
    pub span: Span,
    pub message: String,
}

const KEYS: &[&str] = &[
    "fail-on",
    "select",
    "ignore",
    "severity",
    "exclude",
    "policy-dirs",
    "require-reason",
    "inline-ignores",
    "ignores",
    "baseline",
    "helm",
    "workloads",
];

/// The nearest `.tritonguard.yaml` in `start` or one of its parents, up to the repository
/// root (a folder with `.git`), never above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    let absolute = std::fs::canonicalize(start).ok()?;
    let dir = if absolute.is_dir() {
        absolute
    } else {
        absolute.parent()?.to_path_buf()
    };
    find_from_dir(&dir)
}

fn find_from_dir(dir: &Path) -> Option<PathBuf> {
    find_from_dir_cached(dir, &mut HashMap::new())
}

/// [`find_from_dir`] with the answers for folders already asked (and the folders on the way
/// up) in `cache`: sibling folders share their parents' answer, so a scan of 10,000 folders
/// looks at each parent once instead of once per folder below it.
fn find_from_dir_cached(
    dir: &Path,
    cache: &mut HashMap<PathBuf, Option<PathBuf>>,
) -> Option<PathBuf> {
    // Folders met on the way up without a config or a repository root of their own: their
    // answer is the one found above them.
    let mut passed: Vec<PathBuf> = Vec::new();
    let mut current = Some(dir);
    let found = loop {
        let Some(folder) = current else { break None };
        if let Some(known) = cache.get(folder) {
            break known.clone();
        }
        passed.push(folder.to_path_buf());
        if let Some(config) = FILE_NAMES
            .iter()
            .map(|name| folder.join(name))
            .find(|candidate| candidate.is_file())
        {
            break Some(config);
        }
        if folder.join(".git").exists() {
            break None;
        }
        current = folder.parent();
    };
    for folder in passed {
        cache.insert(folder, found.clone());
    }
    found
}

/// The configuration of each file, the way ruff resolves it: a file uses the nearest
/// config above it (up to the repository root), and paths in a config are relative to its
/// folder. `select`, `ignore`, `exclude` and `ignores` apply per file; the other keys come
/// from the config `check` read first.
#[derive(Debug, Default)]
pub struct PerFile {
    /// The configs found, with the rule ids their `select` and `ignore` resolved to.
    pub configs: Vec<FileConfig>,
    /// Each governed file: its config and its path relative to that config's folder.
    pub files: BTreeMap<FileId, (usize, String)>,
    /// Files named on the command line: `exclude` does not apply to them (unless
    /// `--force-exclude` already dropped them before the scan).
    pub explicit: std::collections::BTreeSet<FileId>,
}

/// Where `value` is first written in a config's text outside a comment (as a whole word),
/// for an error about it; the file's start when it is not found.
fn value_span(text: &str, value: &str) -> Span {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|t| t.find(value)) {
        let at = from + found;
        let end = at + value.len();
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let commented = text[line_start..at].contains('#');
        if !commented && !word(text[..at].chars().next_back()) && !word(text[end..].chars().next())
        {
            return Span::new(FileId(0), at, end);
        }
        from = end;
    }
    Span::new(FileId(0), 0, 0)
}

/// Turns a config's selectors into rule ids; the error names `origin`.
pub type ResolveSelectors<'a> = dyn Fn(&[String], &str) -> Result<Vec<String>, String> + 'a;

#[derive(Debug)]
pub struct FileConfig {
    pub config: Config,
    /// Empty: every rule.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: globset::GlobSet,
}

impl PerFile {
    /// Finds and reads the config of every file of `store` that has a path on disk.
    /// `resolve` turns a config's `select`/`ignore` into rule ids (the catalogue lives
    /// in a later stage's caller); `keep_select` is false when the command line's
    /// `--select` replaces every config's `select`; `extend_select` (rule ids) is added to
    /// each config's.
    pub fn resolve(
        store: &crate::source::SourceStore,
        keep_select: bool,
        extend_select: &[String],
        resolve: &ResolveSelectors<'_>,
    ) -> Result<PerFile, Vec<ConfigError>> {
        let mut per_file = PerFile::default();
        let mut by_path: BTreeMap<PathBuf, usize> = BTreeMap::new();
        let mut by_dir: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        for (id, file) in store.files() {
            let Some(real) = file
                .path
                .as_ref()
                .and_then(|p| std::fs::canonicalize(p).ok())
            else {
                continue;
            };
            let Some(dir) = real.parent() else { continue };
            let found = find_from_dir_cached(dir, &mut by_dir);
            let Some(config_path) = found else { continue };
            let index = match by_path.get(&config_path) {
                Some(i) => *i,
                None => {
                    let config = load(&config_path)?;
                    let name = config_path.display().to_string();
                    let fail = |message: String| {
                        vec![ConfigError {
                            path: name.clone(),
                            text: config.text.clone(),
                            span: Span::new(FileId(0), 0, 0),
                            message,
                        }]
                    };
                    let mut select = if keep_select {
                        resolve(&config.select, &name).map_err(fail)?
                    } else {
                        Vec::new()
                    };
                    // `--extend-select` adds to a narrowed selection (all rules stay all).
                    if !select.is_empty() {
                        select.extend(extend_select.iter().cloned());
                    }
                    let ignore = resolve(&config.ignore, &name).map_err(fail)?;
                    // `severity` and `ignores[].rules` name rules too: a typo there is an
                    // error at the name, as in the config `check` reads first.
                    let named = config
                        .severity
                        .iter()
                        .map(|(rule, _)| rule)
                        .chain(config.ignores.iter().flat_map(|i| &i.rules));
                    for rule in named {
                        if let Err(message) = resolve(std::slice::from_ref(rule), &name) {
                            return Err(vec![ConfigError {
                                path: name.clone(),
                                text: config.text.clone(),
                                span: value_span(&config.text, rule),
                                message,
                            }]);
                        }
                    }
                    let mut globs = globset::GlobSetBuilder::new();
                    for pattern in &config.exclude {
                        if let Ok(glob) = globset::Glob::new(pattern) {
                            globs.add(glob);
                        }
                    }
                    per_file.configs.push(FileConfig {
                        exclude: globs.build().unwrap_or_else(|_| globset::GlobSet::empty()),
                        config,
                        select,
                        ignore,
                    });
                    by_path.insert(config_path.clone(), per_file.configs.len() - 1);
                    per_file.configs.len() - 1
                }
            };
            let folder = config_path.parent().unwrap_or(Path::new("/"));
            let relative = real
                .strip_prefix(folder)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            per_file.files.insert(id, (index, relative));
        }
        // Each config's ignores match the files it governs, by their path from its folder.
        for (index, fc) in per_file.configs.iter_mut().enumerate() {
            let scope: BTreeMap<FileId, String> = per_file
                .files
                .iter()
                .filter(|(_, (i, _))| *i == index)
                .map(|(id, (_, rel))| (*id, rel.clone()))
                .collect();
            let scope = Arc::new(scope);
            for ignore in &mut fc.config.ignores {
                ignore.scope = Some(scope.clone());
            }
        }
        Ok(per_file)
    }

    /// Whether rule `id` counts on `file` under the file's config.
    pub fn rule_on(&self, file: FileId, id: &str) -> bool {
        match self
            .files
            .get(&file)
            .and_then(|(i, _)| self.configs.get(*i))
        {
            Some(fc) => {
                (fc.select.is_empty() || fc.select.iter().any(|s| s == id))
                    && !fc.ignore.iter().any(|s| s == id)
            }
            None => true,
        }
    }

    /// Whether `file` is excluded by its config's `exclude`.
    pub fn excluded(&self, file: FileId) -> bool {
        if self.explicit.contains(&file) {
            return false;
        }
        self.files
            .get(&file)
            .and_then(|(i, rel)| self.configs.get(*i).map(|fc| fc.exclude.is_match(rel)))
            .unwrap_or(false)
    }

    /// Every config's ignores, each scoped to its files.
    pub fn ignores(&self) -> Vec<ConfigIgnore> {
        self.configs
            .iter()
            .flat_map(|fc| fc.config.ignores.iter().cloned())
            .collect()
    }
}

pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            path: path.display().to_string(),
            text: Arc::from(""),
            span: Span::new(FileId(0), 0, 0),
            message: format!("cannot read the config file: {e}"),
        }]
    })?;
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok())
        .unwrap_or_default();
    let shown = crate::source::display_path(path, &cwd);
    let mut config = parse(&shown, &text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    // Paths in the config are relative to the config file.
    config.policy_dirs = config.policy_dirs.iter().map(|p| dir.join(p)).collect();
    config.baseline = config.baseline.map(|b| dir.join(b));
    resolve_helm_paths(&mut config.helm, dir).map_err(|errors| {
        errors
            .into_iter()
            .map(|(span, message)| ConfigError {
                path: shown.clone(),
                text: config.text.clone(),
                span,
                message,
            })
            .collect::<Vec<_>>()
    })?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

pub fn parse(name: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    let file = FileId(0);
    let shared: Arc<str> = Arc::from(text);
    let mut errors: Vec<(Span, String)> = Vec::new();
    let stream = parse_stream(file, text);
    for e in &stream.errors {
        errors.push((e.span, e.message.clone()));
    }
    let mut config = Config {
        text: shared.clone(),
        inline_ignores: true,
        ..Config::default()
    };
    let whole = Span::new(file, 0, text.len());
    let root = stream
        .documents
        .first()
        .map(|d| d.root.clone())
        .unwrap_or_else(|| Node::map(Vec::new()));
    match &root.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                let span = value.key_span.unwrap_or(whole);
                match key.as_str() {
                    "fail-on" => {
                        config.fail_on = value.as_str().and_then(FailOn::parse);
                        if config.fail_on.is_none() {
                            errors.push((
                                value.span.unwrap_or(span),
                                "'fail-on' is a severity (critical, high, medium, low, info) or never"
                                    .to_string(),
                            ));
                        }
                    }
                    "select" => config.select = strings(value, key, &mut errors),
                    "ignore" => config.ignore = strings(value, key, &mut errors),
                    "severity" => {
                        for (rule, v) in value.as_map() {
                            if let Some(s) = severity(v, &mut errors) {
                                config.severity.push((rule.clone(), s));
                            }
                        }
                        if !matches!(value.value, Value::Map(_)) {
                            errors.push((
                                span,
                                "'severity' maps rule ids to severities, e.g. {TG105: medium}"
                                    .to_string(),
                            ));
                        }
                    }
                    "exclude" => config.exclude = strings(value, key, &mut errors),
                    "policy-dirs" => {
                        config.policy_dirs = strings(value, key, &mut errors)
                            .into_iter()
                            .map(PathBuf::from)
                            .collect()
                    }
                    "require-reason" => config.require_reason = boolean(value, key, &mut errors),
                    "inline-ignores" => config.inline_ignores = boolean(value, key, &mut errors),
                    "baseline" => config.baseline = value.as_str().map(PathBuf::from),
                    "ignores" => config.ignores = ignores(value, &mut errors),
                    "helm" => config.helm = helm(value, &mut errors),
                    "workloads" => config.workloads = workloads(value, &mut errors),
                    other => {
                        let suggestion = KEYS
                            .iter()
                            .min_by_key(|k| strsim::levenshtein(k, other))
                            .filter(|k| strsim::levenshtein(k, other) <= 3)
                            .map(|k| format!(" (did you mean '{k}'?)"))
                            .unwrap_or_default();
                        errors.push((
                            span,
                            format!(
                                "unknown key '{other}'{suggestion}; known keys: {}",
                                KEYS.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        Value::Null => {}
        _ => errors.push((
            root.span.unwrap_or(whole),
            "the config file must be a YAML mapping".to_string(),
        )),
    }
    for pattern in &config.exclude {
        if let Err(e) = globset::Glob::new(pattern) {
            errors.push((whole, format!("invalid exclude pattern '{pattern}': {e}")));
        }
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors
            .into_iter()
            .map(|(span, message)| ConfigError {
                path: name.to_string(),
                text: shared.clone(),
                span,
                message,
            })
            .collect())
    }
}

fn severity(node: &Node, errors: &mut Vec<(Span, String)>) -> Option<Severity> {
    let s = node.as_str().and_then(Severity::parse);
    if s.is_none() {
        errors.push((
            node.span.unwrap_or(Span::new(FileId(0), 0, 0)),
            "expected a severity: critical, high, medium, low or info".to_string(),
        ));
    }
    s
}

fn boolean(node: &Node, key: &str, errors: &mut Vec<(Span, String)>) -> bool {
    match node.as_bool() {
        Some(b) => b,
        None => {
            errors.push((
                node.span.unwrap_or(Span::new(FileId(0), 0, 0)),
                format!("'{key}' must be true or false"),
            ));
            false
        }
    }
}

fn strings(node: &Node, key: &str, errors: &mut Vec<(Span, String)>) -> Vec<String> {
    match &node.value {
        Value::List(items) => items
            .iter()
            .filter_map(|i| {
                let t = i.as_scalar_text();
                if t.is_none() {
                    errors.push((
                        i.span.unwrap_or(Span::new(FileId(0), 0, 0)),
                        format!("items of '{key}' must be text"),
                    ));
                }
                t
            })
            .collect(),
        Value::Str(s) => vec![s.clone()],
        _ => {
            errors.push((
                node.span.unwrap_or(Span::new(FileId(0), 0, 0)),
                format!("'{key}' must be a list"),
            ));
            Vec::new()
        }
    }
}

fn ignores(node: &Node, errors: &mut Vec<(Span, String)>) -> Vec<ConfigIgnore> {
    let mut out = Vec::new();
    for item in node.as_list() {
        let span = item.span.unwrap_or(Span::new(FileId(0), 0, 0));
        for (k, v) in item.as_map() {
            const IGNORE_KEYS: [&str; 6] = ["rules", "rule", "paths", "path", "reason", "until"];
            if !IGNORE_KEYS.contains(&k.as_str()) {
                let suggestion = IGNORE_KEYS
                    .iter()
                    .find(|key| strsim::levenshtein(key, k) <= 2)
                    .map(|key| format!(" (did you mean '{key}'?)"))
                    .unwrap_or_default();
                errors.push((v.key_span.unwrap_or(span), format!("unknown key '{k}' in an ignore{suggestion}; known: rules, paths, reason, until")));
            }
        }
        let mut rules = Vec::new();
        for key in ["rule", "rules"] {
            if let Some(v) = item.get(key) {
                rules.extend(strings(v, key, errors));
            }
        }
        let mut paths = Vec::new();
        for key in ["path", "paths"] {
            if let Some(v) = item.get(key) {
                paths.extend(strings(v, key, errors));
            }
        }
        if rules.is_empty() {
            errors.push((
                span,
                "an ignore needs 'rules' (ids of the rules it suppresses)".to_string(),
            ));
        }
        let until = item.get("until").and_then(Node::as_scalar_text);
        if let Some(u) = &until
            && crate::filter::date::parse_date(u).is_none()
        {
            errors.push((
                item.get("until").and_then(|n| n.span).unwrap_or(span),
                format!("'until' must be a date like 2027-03-31, got '{u}'"),
            ));
        }
        for p in &paths {
            if let Err(e) = globset::Glob::new(p) {
                errors.push((span, format!("invalid path pattern '{p}': {e}")));
            }
        }
        out.push(ConfigIgnore {
            rules,
            paths,
            reason: item.get("reason").and_then(Node::as_scalar_text),
            until,
            span,
            scope: None,
        });
    }
    out
}

const WORKLOAD_KEYS: [&str; 5] = ["apiVersion", "group", "kind", "podTemplate", "podSpec"];

/// `workloads: [{apiVersion: acme.io/v1 | group: acme.io, kind: TritonServer,
/// podTemplate: spec.server.template | podSpec: [spec.head.pod, spec.workers[].pod]}]`.
fn workloads(
    node: &Node,
    errors: &mut Vec<(Span, String)>,
) -> Vec<crate::extract::workload_kinds::WorkloadKind> {
    use crate::extract::workload_kinds::{Shape, WorkloadKind, group_of, parse_path};
    let at = |n: &Node| n.span.unwrap_or(Span::new(FileId(0), 0, 0));
    const EXAMPLE: &str =
        "{apiVersion: acme.io/v1, kind: TritonServer, podTemplate: spec.template}";
    if !matches!(node.value, Value::List(_)) {
        errors.push((
            at(node),
            format!("'workloads' is a list of kinds that hold pods, e.g. [{EXAMPLE}]"),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in node.as_list() {
        if !matches!(item.value, Value::Map(_)) {
            errors.push((
                at(item),
                format!("a workload entry is a mapping: {EXAMPLE}"),
            ));
            continue;
        }
        unknown_keys(item, &WORKLOAD_KEYS, "a workload entry", errors);
        let Some(kind) = item.get("kind").and_then(Node::as_str) else {
            errors.push((
                at(item),
                "a workload entry needs 'kind' (the custom resource's kind)".to_string(),
            ));
            continue;
        };
        let group = match (item.get("apiVersion"), item.get("group")) {
            (Some(v), Some(g)) => {
                errors.push((
                    g.key_span.unwrap_or(at(g)),
                    "give 'apiVersion' or 'group', not both".to_string(),
                ));
                v.as_str().map(|v| group_of(v).to_string())
            }
            (Some(v), None) => match v.as_str() {
                Some(v) if v.contains('/') => Some(group_of(v).to_string()),
                _ => {
                    errors.push((
                        at(v),
                        "'apiVersion' is group/version, e.g. acme.io/v1".to_string(),
                    ));
                    None
                }
            },
            (None, Some(g)) => match g.as_scalar_text() {
                Some(g) => Some(g),
                None => {
                    errors.push((at(g), "'group' is text, e.g. acme.io".to_string()));
                    None
                }
            },
            (None, None) => {
                errors.push((
                    at(item),
                    format!(
                        "a workload entry needs 'apiVersion' or 'group', so that '{kind}' of \
                         another API is not mistaken for it"
                    ),
                ));
                None
            }
        };
        let mut paths = Vec::new();
        for (key, shape) in [
            ("podTemplate", Shape::Template),
            ("podSpec", Shape::PodSpec),
        ] {
            let Some(value) = item.get(key) else {
                continue;
            };
            let texts: Vec<&Node> = match &value.value {
                Value::List(items) => items.iter().collect(),
                _ => vec![value],
            };
            for text in texts {
                match text.as_str().map(|t| parse_path(t, shape)) {
                    Some(Ok(path)) => paths.push(path),
                    Some(Err(message)) => errors.push((at(text), message)),
                    None => errors.push((
                        at(text),
                        format!("'{key}' is a path such as spec.template, or a list of them"),
                    )),
                }
            }
        }
        if item.get("podTemplate").is_none() && item.get("podSpec").is_none() {
            errors.push((
                at(item),
                "a workload entry needs 'podTemplate' (the path of a pod template: metadata \
                 and spec) or 'podSpec' (the path of a PodSpec)"
                    .to_string(),
            ));
        }
        if let Some(group) = group
            && !paths.is_empty()
        {
            out.push(WorkloadKind {
                group: Some(group),
                kind: kind.to_string(),
                paths,
            });
        }
    }
    out
}

const HELM_KEYS: [&str; 2] = ["timeout", "charts"];
const HELM_CHART_KEYS: [&str; 5] = ["path", "values", "set", "release", "namespace"];

/// `unknown key` errors for the keys of a mapping that are not in `known`.
fn unknown_keys(node: &Node, known: &[&str], what: &str, errors: &mut Vec<(Span, String)>) {
    for (k, v) in node.as_map() {
        if !known.contains(&k.as_str()) {
            let suggestion = known
                .iter()
                .find(|key| strsim::levenshtein(key, k) <= 2)
                .map(|key| format!(" (did you mean '{key}'?)"))
                .unwrap_or_default();
            errors.push((
                v.key_span.or(v.span).unwrap_or(Span::new(FileId(0), 0, 0)),
                format!(
                    "unknown key '{k}' in {what}{suggestion}; known: {}",
                    known.join(", ")
                ),
            ));
        }
    }
}

/// `helm: {timeout: 60, charts: [{path, values, set, release, namespace}]}`.
fn helm(node: &Node, errors: &mut Vec<(Span, String)>) -> HelmConfig {
    let at = |n: &Node| n.span.unwrap_or(Span::new(FileId(0), 0, 0));
    let mut config = HelmConfig::default();
    if !matches!(node.value, Value::Map(_)) {
        errors.push((
            at(node),
            "'helm' is a mapping: {timeout: 60, charts: [{path: charts/triton, values: [...], set: [...]}]}"
                .to_string(),
        ));
        return config;
    }
    unknown_keys(node, &HELM_KEYS, "'helm'", errors);
    if let Some(t) = node.get("timeout") {
        match t.as_i64() {
            Some(n) if n > 0 => config.timeout = u64::try_from(n).ok(),
            _ => errors.push((
                at(t),
                "'timeout' is a number of seconds, e.g. 60".to_string(),
            )),
        }
    }
    let Some(charts) = node.get("charts") else {
        return config;
    };
    if !matches!(charts.value, Value::List(_)) {
        errors.push((
            at(charts),
            "'charts' is a list of {path: <chart directory>, values: [...], set: [...]}"
                .to_string(),
        ));
        return config;
    }
    for item in charts.as_list() {
        if !matches!(item.value, Value::Map(_)) {
            errors.push((
                at(item),
                "a chart entry is a mapping with 'path'".to_string(),
            ));
            continue;
        }
        unknown_keys(item, &HELM_CHART_KEYS, "a chart entry", errors);
        let Some(path) = item.get("path").and_then(Node::as_scalar_text) else {
            errors.push((
                at(item),
                "a chart entry needs 'path' (the chart directory, relative to this file)"
                    .to_string(),
            ));
            continue;
        };
        let mut renders = Vec::new();
        let mut values_spans = Vec::new();
        if let Some(values) = item.get("values") {
            for render in values.as_list() {
                values_spans.push(at(render));
                match &render.value {
                    Value::List(files) => {
                        let layered = strings(render, "values", errors);
                        if files.is_empty() {
                            errors.push((at(render), "an empty list of values files".to_string()));
                        }
                        renders.push(layered.into_iter().map(PathBuf::from).collect());
                    }
                    _ => match render.as_scalar_text() {
                        Some(file) => renders.push(vec![PathBuf::from(file)]),
                        None => errors.push((
                            at(render),
                            "items of 'values' are a values file, or a list of files layered in order"
                                .to_string(),
                        )),
                    },
                }
            }
            if !matches!(values.value, Value::List(_)) {
                errors.push((
                    at(values),
                    "'values' is a list: [values-prod.yaml, [base.yaml, overlay.yaml]]".to_string(),
                ));
            }
        }
        let mut set = Vec::new();
        if let Some(pairs) = item.get("set") {
            let nodes: Vec<&Node> = match &pairs.value {
                Value::List(items) => items.iter().collect(),
                _ => vec![pairs],
            };
            for node in nodes {
                match node.as_scalar_text() {
                    Some(pair)
                        if pair
                            .split_once('=')
                            .is_some_and(|(k, _)| !k.trim().is_empty()) =>
                    {
                        set.push(pair)
                    }
                    Some(pair) => errors.push((
                        at(node),
                        format!("'{pair}' is not a --set pair like key.path=value"),
                    )),
                    None => errors.push((
                        at(node),
                        "items of 'set' are text like key.path=value".to_string(),
                    )),
                }
            }
        }
        let text = |key: &str| item.get(key).and_then(Node::as_scalar_text);
        config.charts.push(HelmChartConfig {
            path: PathBuf::from(path),
            values: renders,
            values_spans,
            set,
            release: text("release"),
            namespace: text("namespace"),
            span: item.get("path").and_then(|p| p.span).unwrap_or(at(item)),
        });
    }
    config
}

/// Makes the chart and values paths of `helm.charts` relative to the config file's
/// directory, and checks that each chart has a Chart.yaml and each values file exists.
fn resolve_helm_paths(helm: &mut HelmConfig, dir: &Path) -> Result<(), Vec<(Span, String)>> {
    let mut errors = Vec::new();
    for chart in &mut helm.charts {
        chart.path = dir.join(&chart.path);
        if !chart.path.join("Chart.yaml").is_file() {
            errors.push((
                chart.span,
                format!(
                    "{} is not a Helm chart (no Chart.yaml)",
                    chart.path.display()
                ),
            ));
        }
        for (i, render) in chart.values.iter_mut().enumerate() {
            let span = chart.values_spans.get(i).copied().unwrap_or(chart.span);
            for file in render.iter_mut() {
                *file = dir.join(&*file);
                if !file.is_file() {
                    errors.push((
                        span,
                        format!(
                            "values file {} of this chart does not exist",
                            file.display()
                        ),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A config error as a miette diagnostic pointing into the config file.
pub struct ConfigDiagnostic {
    message: String,
    source: miette::NamedSource<String>,
    span: (usize, usize),
    has_text: bool,
}

impl ConfigDiagnostic {
    pub fn new(error: &ConfigError) -> ConfigDiagnostic {
        let len = error.text.len();
        let start = error.span.start.min(len);
        let end = error.span.end.min(len).max(start);
        ConfigDiagnostic {
            message: error.message.clone(),
            source: miette::NamedSource::new(error.path.clone(), error.text.to_string()),
            span: (start, end - start),
            has_text: !error.text.is_empty(),
        }
    }
}

impl std::fmt::Debug for ConfigDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config error: {}", self.message)
    }
}

impl std::error::Error for ConfigDiagnostic {}

impl miette::Diagnostic for ConfigDiagnostic {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.has_text
            .then_some(&self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if !self.has_text {
            return None;
        }
        Some(Box::new(std::iter::once(miette::LabeledSpan::new(
            Some("here".to_string()),
            self.span.0,
            self.span.1,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached lookup answers as the uncached one does, whatever the order of the
    /// questions: a config in a folder governs its subfolders, a repository root stops the
    /// search, and a folder passed on the way up keeps the answer found above it.
    #[test]
    fn the_cached_config_lookup_answers_as_the_walk_does() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let top = root.path();
        let mkdir =
            |p: &str| std::fs::create_dir_all(top.join(p)).unwrap_or_else(|e| panic!("{e}"));
        let touch = |p: &str| std::fs::write(top.join(p), "").unwrap_or_else(|e| panic!("{e}"));
        for dir in ["team/a/deep", "team/b", "repo/.git", "repo/x", "plain/y"] {
            mkdir(dir);
        }
        touch(".tritonguard.yaml");
        touch("team/.tritonguard.yaml");
        touch("team/a/deep/.tritonguard.yaml");
        let questions = [
            "team/a",
            "team/a/deep",
            "team/b",
            "repo/x",
            "plain/y",
            "repo",
            "team",
        ];
        let mut cache = HashMap::new();
        for order in [
            questions.to_vec(),
            questions.iter().rev().copied().collect(),
        ] {
            cache.clear();
            for q in &order {
                let dir = top.join(q);
                assert_eq!(
                    find_from_dir_cached(&dir, &mut cache),
                    find_from_dir(&dir),
                    "{q}"
                );
            }
        }
        assert_eq!(
            find_from_dir_cached(&top.join("team/b"), &mut cache),
            Some(top.join("team/.tritonguard.yaml"))
        );
        assert_eq!(find_from_dir_cached(&top.join("repo/x"), &mut cache), None);
        assert_eq!(
            find_from_dir_cached(&top.join("plain/y"), &mut cache),
            Some(top.join(".tritonguard.yaml"))
        );
    }

    #[test]
    fn workloads_read_with_their_paths() {
        let text = "workloads:\n  - apiVersion: acme.io/v1\n    kind: TritonServer\n    podTemplate: spec.server.template\n  - group: ml.example.com\n    kind: Fleet\n    podSpec:\n      - spec.head.pod\n      - spec.workers[].pod\n";
        let config = parse("c", text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.workloads.len(), 2);
        assert_eq!(config.workloads[0].group.as_deref(), Some("acme.io"));
        assert_eq!(config.workloads[1].paths.len(), 2);
    }

    #[test]
    fn workload_mistakes_point_into_the_file() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "workloads:\n  - kind: TritonServer\n    podTemplate: spec.template\n",
                "needs 'apiVersion' or 'group'",
                "kind",
            ),
            (
                "workloads:\n  - {group: acme.io, kind: T, podTemplat: spec.template}\n",
                "unknown key 'podTemplat' in a workload entry (did you mean 'podTemplate'?)",
                "podTemplat",
            ),
            (
                "workloads:\n  - {group: acme.io, kind: T, podSpec: 'spec.pods[0]'}\n",
                "is not a key",
                "'spec.pods[0]'",
            ),
            (
                "workloads:\n  - {group: acme.io, kind: T}\n",
                "needs 'podTemplate'",
                "{group",
            ),
            ("workloads: {kind: T}\n", "is a list", "{kind"),
        ];
        for (text, message, at) in cases {
            let errors = parse("c", text).err().unwrap_or_default();
            let error = errors
                .iter()
                .find(|e| e.message.contains(message))
                .unwrap_or_else(|| panic!("{text}: {errors:?}"));
            let start = text.find(at).unwrap_or(usize::MAX);
            assert_eq!(error.span.start, start, "{text}: {}", error.message);
        }
    }

    #[test]
    fn a_full_config_reads() {
        let text = "fail-on: medium\nselect: [TG101]\nignore: [TG105]\nseverity: {TG105: high}\nexclude: ['charts/**/tests/**']\npolicy-dirs: [team-policies]\nrequire-reason: true\ninline-ignores: false\nbaseline: baseline.json\nignores:\n  - rules: [TG301]\n    paths: ['deploy/monitoring/**']\n    reason: behind the VPN\n    until: 2099-01-01\n";
        let config = parse("c", text).unwrap_or_default();
        assert_eq!(config.fail_on, Some(FailOn::At(Severity::Medium)));
        assert_eq!(config.severity, vec![("TG105".to_string(), Severity::High)]);
        assert!(config.require_reason && !config.inline_ignores);
        assert_eq!(config.ignores[0].rules, vec!["TG301".to_string()]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_positioned() {
        let text = "fail_on: medium\nseverity: {TG105: severe}\nignores:\n  - reason: x\n";
        let errors = parse("c", text).err().unwrap_or_default();
        let messages: Vec<(&str, String)> = errors
            .iter()
            .map(|e| (&text[e.span.start..e.span.end], e.message.clone()))
            .collect();
        assert!(
            messages[0].0 == "fail_on" && messages[0].1.contains("did you mean 'fail-on'"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|(t, m)| *t == "severe" && m.contains("expected a severity")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|(_, m)| m.contains("needs 'rules'")),
            "{messages:?}"
        );
    }

    #[test]
    fn helm_charts_read_with_positions() {
        let text = "helm:\n  timeout: 90\n  charts:\n    - path: charts/triton\n      values: [values-gke.yaml, [base.yaml, env/prod.yaml]]\n      set: ['modelRepository.bucket=s3://models']\n      release: tg\n      namespace: inference\n";
        let config = parse("c", text).unwrap_or_default();
        assert_eq!(config.helm.timeout, Some(90));
        let chart = &config.helm.charts[0];
        assert_eq!(chart.path, PathBuf::from("charts/triton"));
        assert_eq!(
            chart.values,
            vec![
                vec![PathBuf::from("values-gke.yaml")],
                vec![PathBuf::from("base.yaml"), PathBuf::from("env/prod.yaml")]
            ]
        );
        assert_eq!(
            chart.set,
            vec!["modelRepository.bucket=s3://models".to_string()]
        );
        assert_eq!(
            (chart.release.as_deref(), chart.namespace.as_deref()),
            (Some("tg"), Some("inference"))
        );
        assert_eq!(&text[chart.span.start..chart.span.end], "charts/triton");
    }

    #[test]
    fn helm_mistakes_are_positioned() {
        let text = "helm:\n  timeout: soon\n  charts:\n    - values: [a.yaml]\n    - path: c\n      set: [novalue]\n      valuse: []\n";
        let errors = parse("c", text).err().unwrap_or_default();
        let messages: Vec<(&str, String)> = errors
            .iter()
            .map(|e| (&text[e.span.start..e.span.end], e.message.clone()))
            .collect();
        for (at, says) in [
            ("soon", "number of seconds"),
            ("values: [a.yaml]", "needs 'path'"),
            ("novalue", "not a --set pair"),
            ("valuse", "did you mean 'values'"),
        ] {
            assert!(
                messages.iter().any(|(t, m)| *t == at && m.contains(says)),
                "{at}: {messages:?}"
            );
        }
    }

    #[test]
    fn helm_paths_are_relative_to_the_config_file_and_must_exist() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let chart = dir.path().join("charts/t");
        std::fs::create_dir_all(&chart).unwrap_or_default();
        std::fs::write(chart.join("Chart.yaml"), "name: t\n").unwrap_or_default();
        std::fs::write(chart.join("prod.yaml"), "{}\n").unwrap_or_default();
        let file = dir.path().join(".tritonguard.yaml");
        std::fs::write(
            &file,
            "helm:\n  charts:\n    - path: charts/t\n      values: [charts/t/prod.yaml]\n",
        )
        .unwrap_or_default();
        let config = load(&file).unwrap_or_default();
        assert_eq!(config.helm.charts[0].values[0][0], chart.join("prod.yaml"));
        std::fs::write(
            &file,
            "helm:\n  charts:\n    - path: charts/none\n    - path: charts/t\n      values: [gone.yaml]\n",
        )
        .unwrap_or_default();
        let errors = load(&file).err().unwrap_or_default();
        let messages: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (&e.text[e.span.start..e.span.end], e.message.as_str()))
            .collect();
        assert!(
            messages[0].0 == "charts/none" && messages[0].1.contains("not a Helm chart"),
            "{messages:?}"
        );
        assert!(
            messages[1].0 == "gone.yaml" && messages[1].1.contains("does not exist"),
            "{messages:?}"
        );
    }
}
