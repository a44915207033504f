//! Turns what the repository data layer found into findings of the TG6xx rules, each placed
//! in the report's source store: text files (configurations, the lock file) by line, binary
//! files and directories by path and byte offset (see `report::human::textless`).
//!
//! Rules: TG600 repo-scan-error, TG601 repo-world-writable, TG602 unsafe-pickle (one rule,
//! three severities: critical, high, low), TG603-TG605 lock drift, TG606
//! repo-group-writable, TG607 repo-symlink-escapes. Message texts live in the small
//! functions at the end of the file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::escape::excerpt;
use crate::evaluate::native;
use crate::evaluate::policy::{Catalogue, Policy};
use crate::evaluate::registry::Rule;
use crate::finding::{Finding, Severity};
use crate::repo::FileReport;
use crate::repo::classify::Class;
use crate::repo::format::Format;
use crate::repo::lock::{Drift, DriftKind, LockError};
use crate::repo::pickle::{Global, Opcode, PickleErrorKind, PickleScan};
use crate::repo::scan::{PickleStream, ScanIssue};
use crate::repo::walk::{Entry, EntryKind, RepoWalk, Role};
use crate::source::{FileId, SourceFile, SourceStore, Span, display_path};

const SCAN_ERROR: Rule = Rule::RepoScanError;
const WORLD_WRITABLE: Rule = Rule::RepoWorldWritable;
const UNSAFE_PICKLE: Rule = Rule::UnsafePickle;
const GROUP_WRITABLE: Rule = Rule::RepoGroupWritable;
const SYMLINK_ESCAPES: Rule = Rule::RepoSymlinkEscapes;

/// The rule a difference from the lock file breaks.
fn drift_rule(kind: DriftKind) -> Rule {
    match kind {
        DriftKind::Mismatch => Rule::RepoIntegrityMismatch,
        DriftKind::Missing => Rule::RepoFileMissing,
        DriftKind::Untracked => Rule::RepoFileUntracked,
    }
}

/// Most other notable globals listed in a TG602 finding's notes.
const MAX_OTHER_GLOBALS: usize = 10;

/// Collects the findings of one audit.
pub struct Context<'a> {
    catalogue: &'a Catalogue,
    enabled: &'a (dyn Fn(&Policy) -> bool + Sync),
    store: &'a mut SourceStore,
    /// Shown path → file, for files already in the store (configurations) and those added.
    ids: HashMap<String, FileId>,
    root: &'a Path,
    base: &'a Path,
    findings: Vec<Finding>,
}

impl<'a> Context<'a> {
    pub fn new(
        catalogue: &'a Catalogue,
        enabled: &'a (dyn Fn(&Policy) -> bool + Sync),
        store: &'a mut SourceStore,
        root: &'a Path,
        base: &'a Path,
    ) -> Context<'a> {
        let ids = store
            .files()
            .map(|(id, f)| (f.display.clone(), id))
            .collect();
        Context {
            catalogue,
            enabled,
            store,
            ids,
            root,
            base,
            findings: Vec::new(),
        }
    }

    pub fn finish(self) -> Vec<Finding> {
        self.findings
    }

    /// How a repository-relative path is shown: from the root as the user named it.
    fn display(&self, rel: &str) -> String {
        if rel == "." {
            display_path(self.root, self.base)
        } else {
            display_path(&self.root.join(rel), self.base)
        }
    }

    /// The store entry of a repository path: the configuration's text if the config scan
    /// read it, else an entry without text.
    fn source(&mut self, rel: &str) -> FileId {
        let display = self.display(rel);
        if let Some(id) = self.ids.get(&display) {
            return *id;
        }
        let path = self.root.join(rel);
        let id = self
            .store
            .add(SourceFile::new(display.clone(), Some(path), Arc::from("")));
        self.ids.insert(display, id);
        id
    }

    /// Adds a text file (the lock file) to the store, or finds it there.
    pub fn add_text(&mut self, file: SourceFile) -> FileId {
        if let Some(id) = self.ids.get(&file.display) {
            return *id;
        }
        let display = file.display.clone();
        let id = self.store.add(file);
        self.ids.insert(display, id);
        id
    }

    fn enabled(&self, rule: Rule) -> bool {
        native::runs(self.catalogue, rule, self.enabled)
    }

    /// Records a finding of `rule` if it is enabled; returns it for further detail.
    fn emit(
        &mut self,
        rule: Rule,
        span: Span,
        message: String,
        identity: &str,
        label: String,
    ) -> Option<&mut Finding> {
        if !self.enabled(rule) {
            return None;
        }
        let mut finding =
            native::finding(self.catalogue, rule, span, message, identity, self.store)?;
        finding.primary.label = label;
        self.findings.push(finding);
        self.findings.last_mut()
    }

    fn at_path(&mut self, rel: &str, offset: u64) -> Span {
        let file = self.source(rel);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        Span::new(file, start, start)
    }

    /// TG601 / TG606: writable by others, or by the group, for every entry but links
    /// (whose own permission bits mean nothing on Linux).
    pub fn permissions(&mut self, walk: &RepoWalk) {
        for e in &walk.entries {
            let (rule, who) = if e.world_writable {
                (WORLD_WRITABLE, "any local user".to_string())
            } else if e.group_writable {
                (GROUP_WRITABLE, "any member of its group".to_string())
            } else {
                continue;
            };
            if !self.enabled(rule) {
                continue;
            }
            let span = self.at_path(&e.path, 0);
            let writable = if rule == WORLD_WRITABLE {
                "world-writable"
            } else {
                "group-writable"
            };
            self.emit(
                rule,
                span,
                writable_message(e, writable, &who),
                writable,
                format!("mode {:04o} ({})", e.mode, mode_string(e)),
            );
        }
    }

    /// TG607: symbolic links whose target lies outside the repository.
    pub fn symlinks(&mut self, walk: &RepoWalk) {
        for e in &walk.entries {
            let Some(link) = e.symlink.as_ref().filter(|l| l.escapes_root) else {
                continue;
            };
            if !self.enabled(SYMLINK_ESCAPES) {
                continue;
            }
            let span = self.at_path(&e.path, 0);
            self.emit(
                SYMLINK_ESCAPES,
                span,
                symlink_message(&link.target, link.dangling),
                &link.target,
                format!("-> {}", link.target),
            );
        }
    }

    /// TG600 for entries the walk could not read.
    pub fn walk_issues(&mut self, walk: &RepoWalk) {
        for issue in &walk.issues {
            if !self.enabled(SCAN_ERROR) {
                return;
            }
            let span = self.at_path(&issue.path, 0);
            self.emit(
                SCAN_ERROR,
                span,
                issue.message.clone(),
                &issue.message,
                String::new(),
            );
        }
    }

    /// The findings of one regular file: its pickles (TG602), and what could not be read
    /// (TG600).
    pub fn scanned_file(&mut self, file: &FileReport) {
        if let Some(error) = &file.scan.error {
            self.scan_issue(&file.path, error, "could not be scanned: ");
        }
        for issue in &file.scan.issues {
            self.scan_issue(&file.path, issue, "");
        }
        for stream in &file.scan.streams {
            self.pickle(file, stream);
        }
        if file.scan.error.is_none()
            && let Some(e) = &file.hash_error
        {
            let span = self.at_path(&file.path, 0);
            self.emit(
                SCAN_ERROR,
                span,
                format!("could not be hashed for the lock comparison: {e}"),
                "hash",
                String::new(),
            );
        }
    }

    fn scan_issue(&mut self, rel: &str, issue: &ScanIssue, prefix: &str) {
        if issue.unscanned {
            return self.unscanned(rel, issue);
        }
        if !self.enabled(SCAN_ERROR) {
            return;
        }
        // Offsets of member issues may count from the member; only whole-file ones are
        // file positions.
        let offset = issue.offset.filter(|_| issue.member.is_none());
        let span = self.at_path(rel, offset.unwrap_or(0));
        let label = place_label(issue.member.as_deref(), offset, None);
        self.emit(
            SCAN_ERROR,
            span,
            format!("{prefix}{}", issue.message),
            &format!(
                "{}:{}",
                issue.member.as_deref().unwrap_or(""),
                issue.message
            ),
            label,
        );
    }

    /// TG602 at high severity for content a limit or an unreadable container left
    /// unscanned: a pickle there could import anything, which is what cannot be ruled out.
    fn unscanned(&mut self, rel: &str, issue: &ScanIssue) {
        let offset = issue.offset.filter(|_| issue.member.is_none());
        let span = self.at_path(rel, offset.unwrap_or(0));
        let mut label = place_label(issue.member.as_deref(), offset, None);
        if !label.is_empty() {
            label.push_str(": ");
        }
        label.push_str("not scanned");
        let identity = format!(
            "{}:unscanned:{}",
            issue.member.as_deref().unwrap_or(""),
            issue.message
        );
        if let Some(finding) = self.emit(
            UNSAFE_PICKLE,
            span,
            unscanned_message(issue.member.as_deref(), &issue.message),
            &identity,
            label,
        ) {
            finding.severity = Severity::High;
        }
    }

    /// TG602 for one pickle stream (and TG600 when it could not be decoded to its end).
    fn pickle(&mut self, file: &FileReport, stream: &PickleStream) {
        let scan = &stream.scan;
        let member = stream.member.as_deref();
        let subject = match member {
            Some(m) => format!("member {}", excerpt(m)),
            None => "this file".to_string(),
        };
        let limit = matches!(
            scan.error.as_ref().map(|e| &e.kind),
            Some(PickleErrorKind::LimitExceeded { .. })
        );
        // Offsets as shown: in the file, or (deflated members) in the uncompressed member,
        // as the location label says.
        let shown = |offset: u64| stream.file_position(offset).unwrap_or(offset);
        if let Some(error) = scan.error.as_ref().filter(|_| !limit) {
            let position = stream.file_position(error.offset);
            let span = self.at_path(&file.path, position.unwrap_or(0));
            self.emit(
                SCAN_ERROR,
                span,
                format!(
                    "the pickle in {subject} could not be decoded past offset 0x{:x}: {error}",
                    shown(error.offset)
                ),
                &format!("{}:{error}", member.unwrap_or("")),
                place_label(member, Some(error.offset), position),
            );
        }
        // TorchScript's own unpickler resolves `__torch__.*` classes from the archive's
        // code and `torch.jit._pickle` helpers natively; Python never imports them.
        let torchscript = file.scan.format == Format::TorchScript;
        let archive_local = |g: &Global| torchscript && is_torchscript_local(g);
        let counted: Vec<(usize, &Global)> = scan
            .globals
            .iter()
            .enumerate()
            .filter(|(_, g)| !archive_local(g))
            .collect();
        let worst = counted.iter().map(|(_, g)| g.class).max();
        let severity = match (worst, limit) {
            (Some(Class::Dangerous), _) => Severity::Critical,
            (Some(Class::Unknown), _) | (_, true) => Severity::High,
            // Nothing Python would import from a TorchScript archive: no finding.
            _ if torchscript => return,
            // Not a pickle at all (the decoder failed before anything): TG600 said so.
            (None, false) if scan.pickles.is_empty() => return,
            _ => Severity::Low,
        };
        let primary = counted
            .iter()
            .find(|(_, g)| Some(g.class) == worst)
            .copied();
        let stopped = scan
            .error
            .as_ref()
            .filter(|_| limit)
            .map(|e| (e.offset, e.to_string()));
        let (message, offset, length, identity, detail) = match (primary, &stopped) {
            (Some((index, g)), _) if g.class != Class::Safe => {
                let call = scan
                    .calls
                    .iter()
                    .find(|c| c.global == index)
                    .map(|c| (c.opcode, shown(c.offset)));
                let message = if g.class == Class::Dangerous {
                    dangerous_message(&subject, g, call)
                } else {
                    unknown_message(&subject, g, call)
                };
                (
                    message,
                    g.offset,
                    opcode_length(g),
                    g.qualified(),
                    Some(format!("{} {}", g.opcode.name(), global_text(g))),
                )
            }
            (_, Some((at, error))) => (
                limit_message(&subject, shown(*at), error),
                *at,
                0,
                "scan limit".to_string(),
                Some("scan stopped".to_string()),
            ),
            _ => {
                let start = scan.pickles.first().map(|p| p.start).unwrap_or(0);
                let names = distinct_names(&counted);
                (
                    allow_listed_message(&subject, scan, &names),
                    counted.first().map(|(_, g)| g.offset).unwrap_or(start),
                    counted.first().map(|(_, g)| opcode_length(g)).unwrap_or(0),
                    "allow-listed".to_string(),
                    counted
                        .first()
                        .map(|(_, g)| format!("{} {}", g.opcode.name(), global_text(g))),
                )
            }
        };
        let position = stream.file_position(offset);
        let start = usize::try_from(position.unwrap_or(0)).unwrap_or(usize::MAX);
        let file_id = self.source(&file.path);
        let span = Span::new(
            file_id,
            start,
            start.saturating_add(if position.is_some() { length } else { 0 }),
        );
        let mut label = place_label(member, Some(offset), position);
        if let Some(detail) = detail {
            label.push_str(": ");
            label.push_str(&detail);
        }
        let mut notes = other_globals(&counted, primary.map(|(i, _)| i), &shown);
        let local = scan.globals.iter().filter(|g| archive_local(g)).count();
        if local > 0 {
            notes.push(format!(
                "{local} TorchScript reference{} (__torch__.*, torch.jit._pickle.*) resolve inside the archive and were not counted",
                if local == 1 { "" } else { "s" }
            ));
        }
        // When the message names a global, say that the scan also stopped early.
        if let Some((at, error)) = &stopped
            && primary.is_some_and(|(_, g)| g.class != Class::Safe)
        {
            notes.push(format!(
                "the scan stopped at offset 0x{:x} ({error}): what follows may import more",
                shown(*at)
            ));
        }
        if scan.legacy_torch {
            notes.push(
                "legacy torch.save format: its pickles are followed by raw tensor data".into(),
            );
        }
        let identity = format!("{}:{identity}", member.unwrap_or(""));
        if let Some(finding) = self.emit(UNSAFE_PICKLE, span, message, &identity, label) {
            finding.severity = severity;
            finding.notes = notes;
        }
    }

    /// TG600 for lock file lines that could not be read.
    pub fn lock_errors(&mut self, lock_file: FileId, errors: &[LockError]) {
        for e in errors {
            let span = self.line_span(lock_file, e.span);
            // The line as the report counts lines, so message and position agree.
            let line = self.store.position(lock_file, span.start).line;
            self.emit(
                SCAN_ERROR,
                span,
                format!(
                    "lock file line {line}: {}; this line was not compared",
                    e.message
                ),
                &format!("lock:{}", e.message),
                String::new(),
            );
        }
    }

    /// TG600 for a lock file too large to read, at high severity: without it, files
    /// changed since the lock was written (TG603, high) cannot be ruled out.
    pub fn lock_unread(&mut self, lock_file: FileId, size: u64, limit: u64) {
        let span = Span::new(lock_file, 0, 0);
        if let Some(finding) = self.emit(
            SCAN_ERROR,
            span,
            lock_unread_message(size, limit),
            "lock:too-large",
            "not read".to_string(),
        ) {
            finding.severity = Severity::High;
        }
    }

    /// TG603 / TG604 at the lock line, TG605 at the untracked file.
    pub fn drift(&mut self, lock_file: FileId, lock_display: &str, drifts: &[Drift]) {
        for d in drifts {
            let rule = drift_rule(d.kind);
            if !self.enabled(rule) {
                continue;
            }
            let (span, message) = match d.kind {
                DriftKind::Mismatch => (
                    self.line_span(lock_file, d.lock_span.unwrap_or((0, 0))),
                    mismatch_message(d),
                ),
                DriftKind::Missing => (
                    self.line_span(lock_file, d.lock_span.unwrap_or((0, 0))),
                    missing_message(&d.path),
                ),
                DriftKind::Untracked => (self.at_path(&d.path, 0), untracked_message(lock_display)),
            };
            let label = match d.kind {
                DriftKind::Untracked => String::new(),
                DriftKind::Missing => "missing".to_string(),
                DriftKind::Mismatch => d
                    .actual
                    .map(|a| format!("now {}…", short(&a.sha256.to_hex())))
                    .unwrap_or_default(),
            };
            self.emit(rule, span, message, &d.path, label);
        }
    }

    /// A lock line's span without its line terminator.
    fn line_span(&self, file: FileId, (start, end): (usize, usize)) -> Span {
        let text = self.store.get(file).map(|f| f.text.as_ref()).unwrap_or("");
        let line = text.get(start..end).unwrap_or("");
        let trimmed = line.trim_end_matches(['\n', '\r']).len();
        Span::new(file, start, start + trimmed)
    }
}

/// A global's qualified name as messages show it: bounded, control characters escaped.
fn global_text(g: &Global) -> String {
    excerpt(&g.qualified())
}

/// TorchScript names its unpickler resolves without Python.
fn is_torchscript_local(g: &Global) -> bool {
    let module = g.module.as_deref().unwrap_or("");
    module == "__torch__" || module.starts_with("__torch__.") || module == "torch.jit._pickle"
}

/// The bytes a global's opcode occupies: `GLOBAL`/`INST` carry `module\nname\n`.
fn opcode_length(g: &Global) -> usize {
    usize::try_from(g.length).unwrap_or(usize::MAX)
}

/// `(archive/data.pkl) offset 0x1f3`: where in a binary file. `file_position` is `None`
/// when the offset counts the uncompressed bytes of a deflated member.
fn place_label(member: Option<&str>, offset: Option<u64>, file_position: Option<u64>) -> String {
    let mut label = String::new();
    if let Some(m) = member {
        label.push_str(&format!("({})", excerpt(m)));
    }
    if let Some(o) = offset {
        if !label.is_empty() {
            label.push(' ');
        }
        if member.is_some() && file_position.is_none() {
            label.push_str(&format!("offset 0x{o:x} of the uncompressed member"));
        } else {
            label.push_str(&format!("offset 0x{:x}", file_position.unwrap_or(o)));
        }
    }
    label
}

/// `drwxrwxrwx`, as `ls -l` shows it.
fn mode_string(e: &Entry) -> String {
    let kind = match e.kind {
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Special => 's',
        EntryKind::File => '-',
    };
    let mut out = String::from(kind);
    let bits = [
        (0o400, 'r'),
        (0o200, 'w'),
        (0o100, 'x'),
        (0o040, 'r'),
        (0o020, 'w'),
        (0o010, 'x'),
        (0o004, 'r'),
        (0o002, 'w'),
        (0o001, 'x'),
    ];
    for (i, (bit, c)) in bits.iter().enumerate() {
        let set = e.mode & bit != 0;
        let special = match i {
            2 => e.mode & 0o4000 != 0,
            5 => e.mode & 0o2000 != 0,
            8 => e.mode & 0o1000 != 0,
            _ => false,
        };
        out.push(match (special, set, i) {
            (true, true, 8) => 't',
            (true, false, 8) => 'T',
            (true, true, _) => 's',
            (true, false, _) => 'S',
            (false, true, _) => *c,
            (false, false, _) => '-',
        });
    }
    out
}

fn what_entry_is(e: &Entry) -> &'static str {
    match e.role {
        Role::Root => "model repository directory",
        Role::ModelDir => "model directory",
        Role::VersionDir => "model version directory",
        Role::ConfigsDir => "configs directory",
        Role::Config | Role::CustomConfig => "model configuration",
        Role::ModelFile => "model file",
        Role::PythonModel => "python backend model",
        Role::PythonCode => "Python module",
        Role::BackendStub => "python backend stub",
        Role::SharedLibrary => "shared library",
        Role::Other if e.kind == EntryKind::Dir => "directory",
        Role::Other => "file",
    }
}

fn writable_message(e: &Entry, writable: &str, who: &str) -> String {
    let can = if e.kind == EntryKind::Dir {
        "add, rename or replace the files in it"
    } else if e.role.is_code() {
        "change code that runs inside the server"
    } else {
        match e.role {
            Role::Config | Role::CustomConfig => "change how Triton loads and runs the model",
            Role::ModelFile => "replace the model that Triton serves",
            _ => "change a file Triton may read",
        }
    };
    format!("{writable} {}: {who} can {can}", what_entry_is(e))
}

fn symlink_message(target: &str, dangling: bool) -> String {
    format!(
        "symbolic link to {target}{}, outside the repository: Triton follows it, but the audit does not, so what it serves is neither scanned nor locked",
        if dangling {
            " (which does not exist yet)"
        } else {
            ""
        }
    )
}

fn called(call: Option<(Opcode, u64)>) -> String {
    call.map(|(op, at)| format!(", and {} at 0x{at:x} calls it", op.name()))
        .unwrap_or_default()
}

fn dangerous_message(subject: &str, g: &Global, call: Option<(Opcode, u64)>) -> String {
    format!(
        "unpickling {subject} imports {}, which {}{}",
        global_text(g),
        g.reason,
        called(call)
    )
}

fn unknown_message(subject: &str, g: &Global, call: Option<(Opcode, u64)>) -> String {
    format!(
        "unpickling {subject} imports {}, which is not on the allow-list of data reconstructors: the loader imports it and may run it{}",
        global_text(g),
        called(call)
    )
}

fn unscanned_message(member: Option<&str>, why: &str) -> String {
    let what = match member {
        Some(m) => format!("member {}", excerpt(m)),
        None => "this file".to_string(),
    };
    format!("{what} could not be inspected ({why}): a pickle in it may import anything")
}

fn limit_message(subject: &str, at: u64, error: &str) -> String {
    format!(
        "{subject} could not be scanned to its end ({error}): what follows offset 0x{at:x} may import anything"
    )
}

fn allow_listed_message(subject: &str, scan: &PickleScan, names: &[String]) -> String {
    let protocol = scan
        .pickles
        .first()
        .and_then(|p| p.protocol)
        .map(|p| format!(" (protocol {p})"))
        .unwrap_or_default();
    let imports = if names.is_empty() {
        "imports no globals".to_string()
    } else {
        format!(
            "imports only allow-listed data reconstructors ({})",
            names.join(", ")
        )
    };
    let subject = if subject == "this file" {
        "this file is a pickle".to_string()
    } else {
        format!("{subject} is a pickle")
    };
    format!(
        "{subject}{protocol} that {imports}; loading a pickle still trusts the file, which a later change could turn into code"
    )
}

/// Distinct qualified names, in order of first use (at most five, then "…").
fn distinct_names(globals: &[(usize, &Global)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, g) in globals {
        let q = global_text(g);
        if !names.contains(&q) {
            names.push(q);
        }
    }
    if names.len() > 5 {
        names.truncate(5);
        names.push("…".to_string());
    }
    names
}

/// Notes naming the other dangerous and unknown globals, most severe first.
fn other_globals(
    globals: &[(usize, &Global)],
    primary: Option<usize>,
    shown: &dyn Fn(u64) -> u64,
) -> Vec<String> {
    let mut others: Vec<&Global> = globals
        .iter()
        .filter(|(i, g)| Some(*i) != primary && g.class != Class::Safe)
        .map(|(_, g)| *g)
        .collect();
    others.sort_by(|a, b| b.class.cmp(&a.class).then(a.offset.cmp(&b.offset)));
    let total = others.len();
    let mut notes: Vec<String> = others
        .iter()
        .take(MAX_OTHER_GLOBALS)
        .map(|g| {
            format!(
                "also imports {} ({}, {} at 0x{:x})",
                global_text(g),
                match g.class {
                    Class::Dangerous => "dangerous",
                    _ => "not allow-listed",
                },
                g.opcode.name(),
                shown(g.offset)
            )
        })
        .collect();
    if total > MAX_OTHER_GLOBALS {
        notes.push(format!(
            "and {} more not allow-listed globals",
            total - MAX_OTHER_GLOBALS
        ));
    }
    notes
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

fn lock_unread_message(size: u64, limit: u64) -> String {
    format!(
        "the lock file is {size} bytes, more than the {} MiB tritonguard reads: it was not read, so files changed, missing or added since it was written cannot be ruled out",
        limit >> 20
    )
}

fn mismatch_message(d: &Drift) -> String {
    let size = |s: Option<u64>| s.map(|n| format!(" ({n} bytes)")).unwrap_or_default();
    let expected = d
        .expected
        .map(|e| format!("{}…{}", short(&e.sha256.to_hex()), size(e.size)))
        .unwrap_or_default();
    let actual = d
        .actual
        .map(|a| format!("{}…{}", short(&a.sha256.to_hex()), size(Some(a.size))))
        .unwrap_or_default();
    format!(
        "{} changed since the lock was written: SHA-256 is now {actual}, the lock says {expected}",
        d.path
    )
}

fn missing_message(path: &str) -> String {
    format!("{path} is in the lock but no longer in the repository (or no longer a regular file)")
}

fn untracked_message(lock: &str) -> String {
    format!(
        "not in the lock file {lock}: added or renamed after the lock was written, so its content was never reviewed"
    )
}
