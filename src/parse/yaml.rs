//! YAML 1.2 streams to span-carrying [`Node`] trees.
//!
//! saphyr-parser does the tokenising (it passes the YAML test suite); this module builds the
//! tree itself so that every key and value keeps its byte span, scalar style survives (for
//! Kubernetes' YAML 1.1 booleans), duplicate keys are reported rather than fatal, merge keys
//! work, and alias expansion is bounded. The stream is split at document markers first, so a
//! broken document does not hide the documents after it.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};

use crate::escape::excerpt;
use crate::source::{self, FileId, Span};
use crate::tree::{Node, Value};

/// Upper bound on nodes that alias expansion may create in one file ("billion laughs").
pub const ALIAS_EXPANSION_LIMIT: usize = 100_000;
/// Upper bound on scalar bytes that alias expansion may copy in one file (a long string
/// aliased many times).
pub const ALIAS_EXPANSION_BYTES: usize = 16 << 20;
/// Upper bound on nesting depth, far beyond any real manifest.
const DEPTH_LIMIT: usize = 256;
/// A mapping with more keys than this gets a hash index for its duplicate-key check.
const INDEXED_MAPPING: usize = 16;

#[derive(Debug, Clone)]
pub struct YamlDocument {
    pub root: Node,
    /// The byte range of this document's part of the stream, its `---` line and any comments
    /// before it included.
    pub extent: Span,
    /// 0-based position of the document in the stream (empty documents are not counted).
    pub index: usize,
    /// The `# Source: <template>` comment Helm writes above each rendered document.
    pub helm_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct YamlStream {
    pub documents: Vec<YamlDocument>,
    /// Syntax errors (the document is dropped) and duplicate keys (the document is kept,
    /// with the last value, as Kubernetes tooling would reject it anyway).
    pub errors: Vec<YamlError>,
}

/// What alias expansion has cost so far in one file.
#[derive(Debug, Default)]
struct Expansion {
    nodes: usize,
    bytes: usize,
}

/// Parses every document of a YAML stream.
pub fn parse_stream(file: FileId, text: &str) -> YamlStream {
    let mut stream = YamlStream::default();
    // Line numbers inside messages, counted as `source` counts them (built on first use).
    let line_starts = OnceCell::new();
    let mut expansion = Expansion::default();
    for (start, end) in split_documents(text) {
        let chunk = text.get(start..end).unwrap_or_default();
        let mut builder = Builder::new(file, text, chunk, start, &line_starts, &mut expansion);
        let outcome = builder.run();
        let mut warnings = std::mem::take(&mut builder.warnings);
        match outcome {
            Ok(Some(root)) => {
                let index = stream.documents.len();
                stream.documents.push(YamlDocument {
                    root,
                    extent: Span::new(file, start, end),
                    index,
                    helm_source: helm_source(chunk),
                });
            }
            Ok(None) => {}
            Err(error) => stream.errors.push(error),
        }
        stream.errors.append(&mut warnings);
    }
    stream
}

/// The `# Source:` comment of a rendered Helm document.
fn helm_source(chunk: &str) -> Option<String> {
    source::lines(chunk).find_map(|line| {
        chunk
            .get(line.start..line.content_end)?
            .trim()
            .strip_prefix("# Source:")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    })
}

/// Byte ranges of the documents of a stream, split before each `---` line. A document marker
/// at the start of a line always ends the previous document, even inside a block scalar.
/// Lines end as [`source::lines`] says (`\n`, `\r\n` or a lone `\r`, as in YAML).
pub fn split_documents(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut seen_content = false;
    for line in source::lines(text) {
        let bare = text.get(line.start..line.content_end).unwrap_or_default();
        let is_start_marker = is_marker(bare, "---");
        if is_start_marker && seen_content {
            ranges.push((start, line.start));
            start = line.start;
            seen_content = false;
        }
        if is_marker(bare, "...") {
            ranges.push((start, line.end));
            start = line.end;
            seen_content = false;
            continue;
        }
        let trimmed = bare.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !bare.starts_with('%') {
            // `--- ` itself and directives are not content; anything after `--- ` on the
            // marker line is.
            let after_marker = bare.get(3..).unwrap_or_default();
            if !is_start_marker
                || !after_marker.trim_start().starts_with('#') && !after_marker.trim().is_empty()
            {
                seen_content = true;
            }
        }
    }
    if start < text.len() {
        ranges.push((start, text.len()));
    }
    ranges
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

struct Frame {
    node: Node,
    /// The anchor of a collection read from the document (0: none, or replayed).
    anchor: usize,
    /// Where the anchored collection's events start in [`Builder::recorded`].
    recorded_from: usize,
    /// For mappings: a key waiting for its value.
    pending_key: Option<(Node, bool)>,
    /// For mappings: nodes merged in with `<<`, applied when the mapping ends.
    merges: Vec<Node>,
    /// For large mappings: key → index in the entries, for the duplicate check.
    index: Option<HashMap<String, usize>>,
    /// For keys given more than once: where the first one is (the entry keeps the last).
    first_keys: HashMap<String, usize>,
    flow: bool,
}

/// One event of the document, kept because it lies inside an anchored node: an alias
/// replays the events of its anchor instead of cloning a tree that was built.
struct Recorded<'a> {
    event: Event<'a>,
    span: Span,
}

/// An alias being expanded: the recorded events `next..end` still to replay.
struct Replay {
    next: usize,
    end: usize,
    /// The alias in the document: the expanded node is placed there.
    at: Span,
}

/// An event to build from.
struct Next<'a> {
    event: Event<'a>,
    span: Span,
    /// The event completes an alias's node, which is placed at this span.
    completes_alias: Option<Span>,
    /// The event comes from an alias's replay, not from the document text.
    replayed: bool,
}

struct Builder<'a, 'c> {
    file: FileId,
    /// The whole stream (for line numbers).
    text: &'a str,
    chunk: &'a str,
    base: usize,
    line_starts: &'c OnceCell<Vec<usize>>,
    /// Byte offset of each character, present only when the chunk is not ASCII.
    char_bytes: Option<Vec<usize>>,
    /// Anchor id → the range of its events in `recorded`. Anchored nodes are not cloned
    /// when they are defined (nested anchors would clone each level again); an alias
    /// replays the events, and the expansion budget bounds what replays create.
    anchors: HashMap<usize, (usize, usize)>,
    recorded: Vec<Recorded<'a>>,
    /// Anchored nodes open in the document: while any is, events are recorded.
    open_anchors: usize,
    expansion: &'c mut Expansion,
    warnings: Vec<YamlError>,
}

impl<'a, 'c> Builder<'a, 'c> {
    fn new(
        file: FileId,
        text: &'a str,
        chunk: &'a str,
        base: usize,
        line_starts: &'c OnceCell<Vec<usize>>,
        expansion: &'c mut Expansion,
    ) -> Builder<'a, 'c> {
        let char_bytes = if chunk.is_ascii() {
            None
        } else {
            Some(
                chunk
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(chunk.len()))
                    .collect(),
            )
        };
        Builder {
            file,
            text,
            chunk,
            base,
            line_starts,
            char_bytes,
            anchors: HashMap::new(),
            recorded: Vec::new(),
            open_anchors: 0,
            expansion,
            warnings: Vec::new(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        let local = match &self.char_bytes {
            None => char_index.min(self.chunk.len()),
            Some(table) => table.get(char_index).copied().unwrap_or(self.chunk.len()),
        };
        self.base + local
    }

    fn span(&self, s: &saphyr_parser::Span) -> Span {
        Span::new(
            self.file,
            self.byte(s.start.index()),
            self.byte(s.end.index()),
        )
    }

    fn error_at(&self, error: &ScanError) -> YamlError {
        let mut at = self.byte(error.marker().index());
        // An error found at the end of the document is about what came before it (an
        // unclosed bracket): point at the last character written, not past the end.
        let local = at.saturating_sub(self.base).min(self.chunk.len());
        if self
            .chunk
            .get(local..)
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            let content = self.chunk.get(..local).unwrap_or_default().trim_end();
            let last = content
                .char_indices()
                .next_back()
                .map(|(i, _)| i)
                .unwrap_or(0);
            at = self.base + last;
        }
        let end = self
            .chunk
            .get(at - self.base..)
            .and_then(|rest| rest.chars().next())
            .map(|c| at + c.len_utf8())
            .unwrap_or(at);
        YamlError {
            span: Span::new(self.file, at, end),
            message: format!("invalid YAML: {}", error.info()),
        }
    }

    /// The next event: from the alias being replayed, else from the parser. The flag says
    /// the event is the last one of a replay, which completes the alias's node.
    fn next_event(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        replays: &mut Vec<Replay>,
    ) -> Result<Option<Next<'a>>, YamlError> {
        while let Some(replay) = replays.last_mut() {
            if replay.next >= replay.end {
                replays.pop();
                continue;
            }
            let Some(recorded) = self.recorded.get(replay.next) else {
                replays.pop();
                continue;
            };
            replay.next += 1;
            let completes = (replay.next == replay.end).then_some(replay.at);
            return Ok(Some(Next {
                event: recorded.event.clone(),
                span: recorded.span,
                completes_alias: completes,
                replayed: true,
            }));
        }
        match parser.next_event() {
            None => Ok(None),
            Some(Err(e)) => Err(self.error_at(&e)),
            Some(Ok((event, span))) => Ok(Some(Next {
                event,
                span: self.span(&span),
                completes_alias: None,
                replayed: false,
            })),
        }
    }

    fn run(&mut self) -> Result<Option<Node>, YamlError> {
        let mut parser = Parser::new_from_str(self.chunk);
        let mut stack: Vec<Frame> = Vec::new();
        let mut replays: Vec<Replay> = Vec::new();
        let mut root: Option<Node> = None;
        while let Some(Next {
            event,
            span,
            completes_alias,
            replayed,
        }) = self.next_event(&mut parser, &mut replays)?
        {
            if replayed {
                self.charge(&event, &replays, span)?;
            } else if self.open_anchors > 0 || starts_anchor(&event) {
                self.recorded.push(Recorded {
                    event: event.clone(),
                    span,
                });
            }
            let finished: Option<Node> = match event {
                Event::StreamStart
                | Event::StreamEnd
                | Event::DocumentStart(_)
                | Event::Nothing
                | Event::DocumentEnd => None,
                Event::Scalar(text, style, anchor, tag) => {
                    if anchor != 0 && !replayed {
                        let at = self.recorded.len();
                        self.anchors.insert(anchor, (at.saturating_sub(1), at));
                    }
                    Some(scalar(text.as_ref(), style, tag.as_deref(), span))
                }
                Event::Alias(id) => {
                    let &(next, end) = self.anchors.get(&id).ok_or_else(|| YamlError {
                        span,
                        message: "invalid YAML: alias to an unknown anchor".to_string(),
                    })?;
                    // The replay's last event completes the node, which is placed at the
                    // alias (a nested alias: at the alias inside the anchored text).
                    replays.push(Replay {
                        next,
                        end,
                        at: span,
                    });
                    None
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if stack.len() >= DEPTH_LIMIT {
                        return Err(YamlError {
                            span,
                            message: format!("YAML nested deeper than {DEPTH_LIMIT} levels"),
                        });
                    }
                    let anchor = if replayed { 0 } else { anchor };
                    if anchor != 0 {
                        self.open_anchors += 1;
                    }
                    let flow = self
                        .chunk
                        .get(span.start.saturating_sub(self.base)..)
                        .is_some_and(|rest| rest.starts_with(['[', '{']));
                    let value = if matches!(event, Event::SequenceStart(..)) {
                        Value::List(Vec::new())
                    } else {
                        Value::Map(Vec::new())
                    };
                    stack.push(Frame {
                        node: Node::spanned(value, Some(span)),
                        anchor,
                        recorded_from: self.recorded.len().saturating_sub(1),
                        pending_key: None,
                        merges: Vec::new(),
                        index: None,
                        first_keys: HashMap::new(),
                        flow,
                    });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(mut frame) = stack.pop() else {
                        continue;
                    };
                    let end = if frame.flow {
                        span.end
                    } else {
                        last_child_end(&frame.node).unwrap_or(span.start)
                    };
                    if let Some(s) = frame.node.span.as_mut() {
                        s.end = end.max(s.start);
                    }
                    if !frame.merges.is_empty() {
                        apply_merges(&mut frame.node, std::mem::take(&mut frame.merges));
                    }
                    if frame.anchor != 0 {
                        self.open_anchors = self.open_anchors.saturating_sub(1);
                        self.anchors
                            .insert(frame.anchor, (frame.recorded_from, self.recorded.len()));
                    }
                    Some(frame.node)
                }
            };
            let Some(mut node) = finished else {
                continue;
            };
            if let Some(at) = completes_alias {
                // The alias is used here: point at the alias, the content is elsewhere.
                node.key_span = None;
                node.span = Some(at);
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(parent) => self.attach(parent, node),
            }
        }
        Ok(root)
    }

    /// Counts a replayed event against the file's expansion budget.
    fn charge(
        &mut self,
        event: &Event<'_>,
        replays: &[Replay],
        span: Span,
    ) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, ..) => {
                self.expansion.nodes += 1;
                self.expansion.bytes += text.len();
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => self.expansion.nodes += 1,
            _ => {}
        }
        if self.expansion.nodes <= ALIAS_EXPANSION_LIMIT
            && self.expansion.bytes <= ALIAS_EXPANSION_BYTES
        {
            return Ok(());
        }
        // Report at the alias in the document that started the expansion.
        let at = replays.first().map_or(span, |r| r.at);
        Err(YamlError {
            span: at,
            message: format!(
                "alias expansion exceeds {ALIAS_EXPANSION_LIMIT} nodes or {} MiB in this file; refusing to expand (a \"billion laughs\" document?)",
                ALIAS_EXPANSION_BYTES >> 20
            ),
        })
    }

    fn attach(&mut self, parent: &mut Frame, node: Node) {
        match &mut parent.node.value {
            Value::List(items) => items.push(node),
            Value::Map(entries) => match parent.pending_key.take() {
                None => {
                    let is_merge = node.plain && node.as_str() == Some("<<");
                    parent.pending_key = Some((node, is_merge));
                }
                Some((_, true)) => match node.value {
                    Value::List(items) => parent.merges.extend(items),
                    _ => parent.merges.push(node),
                },
                Some((key, false)) => {
                    let name = key_text(&key);
                    let mut value = node;
                    value.key_span = key.span;
                    let existing = match &parent.index {
                        Some(index) => index.get(&name).copied(),
                        None => entries.iter().position(|(k, _)| *k == name),
                    };
                    if let Some(slot) = existing.and_then(|i| entries.get_mut(i)) {
                        let previous = slot.1.key_span.map(|s| s.start).unwrap_or(self.base);
                        let first = *parent.first_keys.entry(name.clone()).or_insert(previous);
                        let line = 1 + self.line_of(first);
                        self.warnings.push(YamlError {
                            span: key.span.unwrap_or(Span::new(self.file, self.base, self.base)),
                            message: format!(
                                "duplicate key '{}' (first defined on line {line}); Kubernetes and most YAML tools reject this",
                                excerpt(&name)
                            ),
                        });
                        slot.1 = value;
                    } else {
                        if let Some(index) = parent.index.as_mut() {
                            index.insert(name.clone(), entries.len());
                        } else if entries.len() >= INDEXED_MAPPING {
                            let mut index: HashMap<String, usize> = entries
                                .iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect();
                            index.insert(name.clone(), entries.len());
                            parent.index = Some(index);
                        }
                        entries.push((name, value));
                    }
                }
            },
            _ => {}
        }
    }

    /// 0-based line number of a byte offset in the whole file, as `source` counts lines.
    fn line_of(&self, offset: usize) -> usize {
        let starts = self
            .line_starts
            .get_or_init(|| source::line_starts(self.text));
        source::line_index_in(starts, offset)
    }
}

/// Does this event open an anchored node (and so start recording)?
fn starts_anchor(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::Scalar(_, _, a, _) | Event::SequenceStart(a, _) | Event::MappingStart(a, _) if *a != 0
    )
}

fn last_child_end(node: &Node) -> Option<usize> {
    match &node.value {
        Value::List(items) => items.iter().filter_map(|n| n.span.map(|s| s.end)).max(),
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(_, n)| n.span.map(|s| s.end))
            .max(),
        _ => None,
    }
}

/// `<<` merge keys: each merged mapping adds the keys the mapping does not have yet (the
/// mapping's own keys, then earlier merges, win).
fn apply_merges(node: &mut Node, merges: Vec<Node>) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let mut present: HashSet<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    for merged in merges {
        if let Value::Map(more) = merged.value {
            for (key, value) in more {
                if present.insert(key.clone()) {
                    entries.push((key, value));
                }
            }
        }
    }
}

fn key_text(key: &Node) -> String {
    match &key.value {
        Value::Null => String::new(),
        Value::List(_) | Value::Map(_) => {
            let mut text = FlowText::default();
            text.node(key);
            text.out
        }
        _ => key.as_scalar_text().unwrap_or_default(),
    }
}

/// Longest text kept for a complex (collection) mapping key.
const MAX_COMPLEX_KEY: usize = 256;

/// A collection key as flow-style text (`{a: [1, 2]}`), cut after [`MAX_COMPLEX_KEY`] bytes
/// (marked with an ellipsis; closing brackets still follow). Not JSON: a key that holds keys
/// would escape their quotes again at every level, and the text would double with each
/// level of nesting (`? ? ? ...`: gigabytes from 141 bytes).
#[derive(Default)]
struct FlowText {
    out: String,
    cut: bool,
}

impl FlowText {
    fn node(&mut self, node: &Node) {
        if self.full() {
            return;
        }
        match &node.value {
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if self.full() {
                        break;
                    }
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.node(item);
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if self.full() {
                        break;
                    }
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.text(k);
                    self.out.push_str(": ");
                    self.node(v);
                }
                self.out.push('}');
            }
            Value::Null => self.out.push_str("null"),
            _ => self.text(&node.as_scalar_text().unwrap_or_default()),
        }
    }

    /// Whether the limit is reached; marks the cut once.
    fn full(&mut self) -> bool {
        if self.out.len() < MAX_COMPLEX_KEY {
            return false;
        }
        if !self.cut {
            self.cut = true;
            self.out.push('…');
        }
        true
    }

    /// Appends as much of `text` as fits.
    fn text(&mut self, text: &str) {
        let room = MAX_COMPLEX_KEY.saturating_sub(self.out.len());
        let end = floor_boundary(text, room);
        self.out.push_str(text.get(..end).unwrap_or_default());
    }
}

/// The largest character boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
    let plain = style == ScalarStyle::Plain;
    let value = match tag {
        Some(tag) if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" => {
            match tag.suffix.as_str() {
                "str" => Value::Str(text.to_string()),
                "int" => text
                    .parse::<i64>()
                    .map(Value::Int)
                    .unwrap_or_else(|_| Value::Str(text.to_string())),
                "bool" => match text {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Str(text.to_string()),
                },
                "null" => Value::Null,
                _ => resolve_plain(text),
            }
        }
        _ if plain => resolve_plain(text),
        _ => Value::Str(text.to_string()),
    };
    Node {
        value,
        span: Some(span),
        key_span: None,
        plain,
    }
}

/// The YAML 1.2 core schema for plain scalars.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    if looks_like_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

fn looks_like_float(text: &str) -> bool {
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            'e' | 'E' if seen_digit => {
                if matches!(chars.peek(), Some('+' | '-')) {
                    chars.next();
                }
                return chars.peek().is_some() && chars.all(|c| c.is_ascii_digit());
            }
            _ => return false,
        }
    }
    seen_digit && seen_dot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> YamlStream {
        parse_stream(FileId(0), text)
    }

    fn slice(text: &str, span: Option<Span>) -> &str {
        span.map(|s| &text[s.start..s.end]).unwrap_or("<none>")
    }

    #[test]
    fn spans_are_byte_offsets_even_after_multibyte_text() {
        let text = "name: \"héllo wörld\"\nport: 8000\n";
        let stream = parse(text);
        let root = &stream.documents[0].root;
        let port = root.get("port").cloned().unwrap_or_else(Node::null);
        assert_eq!(slice(text, port.span), "8000");
        assert_eq!(slice(text, port.key_span), "port");
        assert_eq!(port.value, Value::Int(8000));
        assert_eq!(
            slice(text, root.get("name").and_then(|n| n.span)),
            "\"héllo wörld\""
        );
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next_one() {
        let text = "a: [1, 2\nb: c\n---\nkind: Service\n";
        let stream = parse(text);
        assert_eq!(stream.documents.len(), 1);
        assert_eq!(
            stream.documents[0].root.get("kind").and_then(Node::as_str),
            Some("Service")
        );
        assert_eq!(stream.errors.len(), 1);
        assert!(stream.errors[0].message.starts_with("invalid YAML"));
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_last_value_wins() {
        let text = "a: 1\nb: 2\na: 3\n";
        let stream = parse(text);
        assert_eq!(
            stream.documents[0].root.get("a").and_then(Node::as_i64),
            Some(3)
        );
        assert_eq!(stream.errors.len(), 1);
        assert_eq!(slice(text, Some(stream.errors[0].span)), "a");
        assert!(
            stream.errors[0].message.contains("line 1"),
            "{}",
            stream.errors[0].message
        );
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 5\nlist: [*b]\n";
        let stream = parse(text);
        let root = &stream.documents[0].root;
        assert_eq!(root.at(&["use", "x"]).and_then(Node::as_i64), Some(1));
        assert_eq!(root.at(&["use", "y"]).and_then(Node::as_i64), Some(5));
        assert_eq!(root.get("list").map(|l| l.as_list().len()), Some(1));
        assert!(stream.errors.is_empty());
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        let stream = parse(&text);
        assert!(stream.documents.is_empty());
        assert!(stream.errors[0].message.contains("alias expansion"));
    }

    #[test]
    fn scalar_styles_follow_yaml_1_2_and_remember_plainness() {
        let text = "a: yes\nb: \"true\"\nc: 0x1F\nd: 1.5\ne: ~\nf: 1e3\ng: 1.2.3\n";
        let root = &parse(text).documents[0].root;
        assert_eq!(
            root.get("a").map(|n| (n.value.clone(), n.plain)),
            Some((Value::Str("yes".into()), true))
        );
        assert_eq!(
            root.get("b").map(|n| n.value.clone()),
            Some(Value::Str("true".into()))
        );
        assert_eq!(root.get("c").map(|n| n.value.clone()), Some(Value::Int(31)));
        assert_eq!(
            root.get("d").map(|n| n.value.clone()),
            Some(Value::Float(1.5))
        );
        assert_eq!(root.get("e").map(|n| n.value.clone()), Some(Value::Null));
        assert_eq!(
            root.get("f").map(|n| n.value.clone()),
            Some(Value::Float(1000.0))
        );
        assert_eq!(
            root.get("g").map(|n| n.value.clone()),
            Some(Value::Str("1.2.3".into()))
        );
    }

    #[test]
    fn documents_split_on_markers_and_skip_empty_ones() {
        let text = "# Source: c/templates/a.yaml\n---\nkind: A\n---\n# only a comment\n---\nkind: B\n...\n";
        let stream = parse(text);
        let kinds: Vec<_> = stream
            .documents
            .iter()
            .filter_map(|d| d.root.get("kind").and_then(Node::as_str))
            .collect();
        assert_eq!(kinds, vec!["A", "B"]);
        assert!(stream.errors.is_empty(), "{:?}", stream.errors);
        assert!(text[stream.documents[0].extent.start..].starts_with("# Source"));
    }

    #[test]
    fn block_collections_span_their_content() {
        let text = "spec:\n  containers:\n    - name: triton\n      image: x\nother: 1\n";
        let root = &parse(text).documents[0].root;
        let containers = root
            .at(&["spec", "containers"])
            .cloned()
            .unwrap_or_else(Node::null);
        assert_eq!(slice(text, containers.key_span), "containers");
        assert_eq!(
            slice(text, containers.span),
            "- name: triton\n      image: x"
        );
    }
}
