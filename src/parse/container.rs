//! The small value grammars that Dockerfiles, `docker run` and compose files share: users,
//! ports, port publishing, volume and mount specs, GPU requests and byte sizes. Each parses a
//! [`Word`] and keeps the span of every part, so a finding can underline the host IP of a
//! `-p` or the `ro` of a `-v`.

use std::ops::Range;

use crate::escape::excerpt;
use crate::parse::words::Word;
use crate::source::Span;

/// A value and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A part of a word: its text, its span, and whether all of it is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub span: Span,
    pub resolved: bool,
}

impl Part {
    pub fn of(word: &Word, range: Range<usize>) -> Part {
        Part {
            text: word.text.get(range.clone()).unwrap_or("").to_string(),
            span: word.subspan(range.clone()),
            resolved: word.is_range_resolved(range),
        }
    }

    pub fn whole(word: &Word) -> Part {
        Part::of(word, 0..word.text.len())
    }
}

/// A malformed value, at the part that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SpecError {
    pub span: Span,
    pub message: String,
}

impl SpecError {
    fn new(span: Span, message: impl Into<String>) -> SpecError {
        SpecError {
            span,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Other(String),
}

impl Protocol {
    pub fn parse(text: &str) -> Protocol {
        match text.to_ascii_lowercase().as_str() {
            "" | "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            other => Protocol::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Other(other) => other,
        }
    }
}

/// An inclusive range of ports; a single port is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }

    /// `8000` or `8000-8002`.
    pub fn parse(text: &str) -> Option<PortRange> {
        let (start, end) = match text.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let port = text.parse().ok()?;
                (port, port)
            }
        };
        (start <= end).then_some(PortRange { start, end })
    }

    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    pub fn len(&self) -> usize {
        usize::from(self.end - self.start) + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A port (range) with its protocol: Dockerfile `EXPOSE 8000/tcp`, `docker run --expose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    pub port: Part,
    /// `None` when the port text is unresolved.
    pub range: Option<PortRange>,
    pub protocol: Protocol,
    pub span: Span,
}

pub fn parse_port_spec(word: &Word) -> Result<PortSpec, SpecError> {
    let (port_end, protocol) = match word.text.rfind('/') {
        Some(slash) => (slash, Protocol::parse(&word.text[slash + 1..])),
        None => (word.text.len(), Protocol::Tcp),
    };
    let port = Part::of(word, 0..port_end);
    let range = PortRange::parse(&port.text);
    if range.is_none() && port.resolved {
        return Err(SpecError::new(
            port.span,
            format!("invalid port `{}`", excerpt(&port.text)),
        ));
    }
    Ok(PortSpec {
        port,
        range,
        protocol,
        span: word.span,
    })
}

/// `-p [ip:][host_port:]container_port[/protocol]`, as in compose's short `ports:` syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPort {
    /// The host address to bind; `None` means every interface.
    pub host_ip: Option<Part>,
    /// `None`: Docker picks an ephemeral host port.
    pub host_port: Option<Part>,
    pub host_range: Option<PortRange>,
    pub container_port: Part,
    pub container_range: Option<PortRange>,
    pub protocol: Protocol,
    pub span: Span,
}

impl PublishedPort {
    /// Binds only a loopback address.
    pub fn is_loopback_only(&self) -> Option<bool> {
        let ip = match &self.host_ip {
            None => return Some(false),
            Some(ip) if !ip.resolved => return None,
            Some(ip) => ip.text.trim_start_matches('[').trim_end_matches(']'),
        };
        Some(ip == "localhost" || ip == "::1" || ip.starts_with("127."))
    }
}

pub fn parse_publish(word: &Word) -> Result<PublishedPort, SpecError> {
    let text = word.text.as_str();
    let (body_end, protocol) = match text.rfind('/') {
        Some(slash) if !text[slash..].contains(']') => (slash, Protocol::parse(&text[slash + 1..])),
        _ => (text.len(), Protocol::Tcp),
    };
    let body = &text[..body_end];
    // An IPv6 host address is bracketed: [::1]:8000:8000.
    let (ip_range, rest_start) = if body.starts_with('[') {
        match body.find("]:") {
            Some(close) => (Some(0..close + 1), close + 2),
            None => {
                return Err(SpecError::new(
                    word.span,
                    format!("invalid IPv6 address in `{}`", excerpt(text)),
                ));
            }
        }
    } else {
        (None, 0)
    };
    let colons: Vec<usize> = body[rest_start..]
        .match_indices(':')
        .map(|(i, _)| rest_start + i)
        .collect();
    let (ip_range, host_range, container_range) = match (ip_range, colons.as_slice()) {
        (None, []) => (None, None, rest_start..body_end),
        (None, [a]) => (None, Some(rest_start..*a), a + 1..body_end),
        (None, [.., a, b]) => (Some(0..*a), Some(a + 1..*b), b + 1..body_end),
        (Some(ip), [a]) => (Some(ip), Some(rest_start..*a), a + 1..body_end),
        (Some(ip), []) => (Some(ip), None, rest_start..body_end),
        (Some(_), _) => {
            return Err(SpecError::new(
                word.span,
                format!("invalid port publishing `{}`", excerpt(text)),
            ));
        }
    };
    let ip = ip_range
        .filter(|r| !r.is_empty())
        .map(|r| Part::of(word, r));
    let host = host_range
        .filter(|r| !r.is_empty())
        .map(|r| Part::of(word, r));
    let container = Part::of(word, container_range);
    let port = |part: &Part| -> Result<Option<PortRange>, SpecError> {
        match PortRange::parse(&part.text) {
            Some(range) => Ok(Some(range)),
            None if !part.resolved => Ok(None),
            None => Err(SpecError::new(
                part.span,
                format!("invalid port `{}`", excerpt(&part.text)),
            )),
        }
    };
    let container_range = port(&container)?;
    let host_range = match &host {
        Some(part) => port(part)?,
        None => None,
    };
    Ok(PublishedPort {
        host_ip: ip,
        host_port: host,
        host_range,
        container_port: container,
        container_range,
        protocol,
        span: word.span,
    })
}

/// `user[:group]`, by name or number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    pub user: Part,
    pub group: Option<Part>,
    pub span: Span,
}

impl UserSpec {
    pub fn parse(word: &Word) -> UserSpec {
        let (user, group) = match word.text.find(':') {
            Some(colon) => (
                Part::of(word, 0..colon),
                Some(Part::of(word, colon + 1..word.text.len())),
            ),
            None => (Part::whole(word), None),
        };
        UserSpec {
            user,
            group,
            span: word.span,
        }
    }

    pub fn uid(&self) -> Option<u32> {
        self.user
            .resolved
            .then(|| self.user.text.parse().ok())
            .flatten()
    }

    pub fn gid(&self) -> Option<u32> {
        self.group
            .as_ref()
            .filter(|g| g.resolved)
            .and_then(|g| g.text.parse().ok())
    }

    /// `Some(true)` for `root` or uid 0, `Some(false)` for any other known user (a name
    /// other than `root` is taken as non-root, though only a uid proves it), `None` when the
    /// user is not known.
    pub fn is_root(&self) -> Option<bool> {
        if !self.user.resolved {
            return None;
        }
        Some(self.user.text == "root" || self.uid() == Some(0))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
    /// Any other `--mount type=` (npipe, image, cluster).
    Other(String),
    /// The source is an unresolved expansion: a path or a volume name.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountSyntax {
    /// `-v`/`--volume source:target[:options]`
    Volume,
    /// `--mount type=...,source=...,target=...`
    Mount,
    /// `--tmpfs target[:options]`
    Tmpfs,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    pub syntax: MountSyntax,
    pub kind: MountKind,
    /// Host path or volume name; `None` for an anonymous volume or a tmpfs.
    pub source: Option<Part>,
    pub target: Option<Part>,
    /// `Some(true)` with the span of `ro`/`readonly`; `Some(false)` for an explicit `rw`;
    /// `None` when not said (writable).
    pub read_only: Option<Spanned<bool>>,
    /// The remaining options (`z`, `bind-propagation=rshared`, `size=64m`).
    pub options: Vec<Part>,
    pub span: Span,
}

impl MountSpec {
    pub fn is_read_only(&self) -> bool {
        self.read_only.as_ref().is_some_and(|r| r.value)
    }
}

const VOLUME_MODES: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
    "U",
    "O",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "copy",
    "idmap",
];

fn is_volume_mode(text: &str) -> bool {
    !text.is_empty() && text.split(',').all(|m| VOLUME_MODES.contains(&m))
}

/// `-v source:target[:mode]`, `-v target`, `-v target:mode` (Docker's Linux rules).
pub fn parse_volume(word: &Word) -> Result<MountSpec, SpecError> {
    let text = word.text.as_str();
    let colons: Vec<usize> = text.match_indices(':').map(|(i, _)| i).collect();
    let (source, target, mode) = match colons.as_slice() {
        [] => (None, 0..text.len(), None),
        [a] if is_volume_mode(&text[a + 1..]) => (None, 0..*a, Some(a + 1..text.len())),
        [a] => (Some(0..*a), a + 1..text.len(), None),
        [a, b] => (Some(0..*a), a + 1..*b, Some(b + 1..text.len())),
        _ => {
            return Err(SpecError::new(
                word.span,
                format!("invalid volume specification `{}`", excerpt(text)),
            ));
        }
    };
    let source = source.map(|r| Part::of(word, r));
    let kind = match &source {
        None => MountKind::Volume,
        Some(part) => source_kind(part),
    };
    let mut read_only = None;
    let mut options = Vec::new();
    if let Some(mode) = mode {
        for range in split_ranges(text, mode, ',') {
            let part = Part::of(word, range);
            match part.text.as_str() {
                "ro" => read_only = Some(spanned(true, part.span)),
                "rw" => read_only = Some(spanned(false, part.span)),
                _ => options.push(part),
            }
        }
    }
    Ok(MountSpec {
        syntax: MountSyntax::Volume,
        kind,
        source,
        target: Some(Part::of(word, target)).filter(|t| !t.text.is_empty()),
        read_only,
        options,
        span: word.span,
    })
}

/// Bind mount or named volume, from how the source is written.
fn source_kind(source: &Part) -> MountKind {
    let text = source.text.as_str();
    if text.starts_with(['/', '.', '~']) {
        return MountKind::Bind;
    }
    if source.resolved {
        return MountKind::Volume;
    }
    // `${PWD}/models`, `$(pwd)/models`: an expansion followed by a path.
    let leading = if let Some(rest) = text.strip_prefix("$(") {
        rest.find(')').map(|i| i + 3)
    } else if let Some(rest) = text.strip_prefix("${") {
        rest.find('}').map(|i| i + 3)
    } else if let Some(rest) = text.strip_prefix('`') {
        rest.find('`').map(|i| i + 2)
    } else {
        text.strip_prefix('$').map(|rest| {
            1 + rest
                .bytes()
                .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                .count()
        })
    };
    match leading.and_then(|at| text.get(at..)) {
        Some(rest) if rest.starts_with('/') => MountKind::Bind,
        _ => MountKind::Unknown,
    }
}

fn spanned<T>(value: T, span: Span) -> Spanned<T> {
    Spanned { value, span }
}

/// The byte ranges of `text[range]` between `sep`s.
fn split_ranges(text: &str, range: Range<usize>, sep: char) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    let slice = text.get(range.clone()).unwrap_or("");
    for (i, _) in slice.match_indices(sep) {
        out.push(start..range.start + i);
        start = range.start + i + 1;
    }
    out.push(start..range.end);
    out
}

/// Fields of a CSV line as `encoding/csv` reads them (Docker parses `--mount` and `--gpus`
/// with it): the byte range of each field's content, quotes excluded.
fn csv_fields(text: &str) -> Result<Vec<Range<usize>>, usize> {
    let bytes = text.as_bytes();
    let mut fields = Vec::new();
    let mut at = 0;
    loop {
        if bytes.get(at) == Some(&b'"') {
            let start = at + 1;
            let mut p = start;
            loop {
                match bytes.get(p) {
                    None => return Err(at),
                    Some(b'"') if bytes.get(p + 1) == Some(&b'"') => p += 2,
                    Some(b'"') => break,
                    Some(_) => p += 1,
                }
            }
            fields.push(start..p);
            at = p + 1;
            match bytes.get(at) {
                None => return Ok(fields),
                Some(b',') => at += 1,
                Some(_) => return Err(at),
            }
        } else {
            let end = text
                .get(at..)
                .and_then(|rest| rest.find(','))
                .map_or(text.len(), |i| at + i);
            fields.push(at..end);
            if end == text.len() {
                return Ok(fields);
            }
            at = end + 1;
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `--mount type=bind,source=/a,target=/b,readonly`.
pub fn parse_mount(word: &Word) -> Result<MountSpec, SpecError> {
    let text = word.text.as_str();
    let fields = csv_fields(text).map_err(|at| {
        SpecError::new(
            word.subspan(at..text.len()),
            "unbalanced quotes in --mount value",
        )
    })?;
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut read_only = None;
    let mut options = Vec::new();
    for field in fields {
        let slice = text.get(field.clone()).unwrap_or("");
        let (key, value) = match slice.find('=') {
            Some(eq) => (&slice[..eq], Some(field.start + eq + 1..field.end)),
            None => (slice, None),
        };
        let part = Part::of(word, field.clone());
        match (key.to_ascii_lowercase().as_str(), value) {
            ("type", Some(v)) => kind = Some(Part::of(word, v)),
            ("source" | "src", Some(v)) => source = Some(Part::of(word, v)),
            ("target" | "destination" | "dst", Some(v)) => target = Some(Part::of(word, v)),
            ("readonly" | "ro", None) => read_only = Some(spanned(true, part.span)),
            ("readonly" | "ro", Some(v)) => {
                let value = Part::of(word, v);
                match parse_bool(&value.text) {
                    Some(b) => read_only = Some(spanned(b, part.span)),
                    None if !value.resolved => options.push(part),
                    None => {
                        return Err(SpecError::new(
                            value.span,
                            format!(
                                "invalid value for {}: `{}`",
                                excerpt(key),
                                excerpt(&value.text)
                            ),
                        ));
                    }
                }
            }
            ("", None) => {}
            _ => options.push(part),
        }
    }
    // Docker's default --mount type is a volume.
    let kind = match kind.as_ref().map(|k| k.text.to_ascii_lowercase()) {
        None => MountKind::Volume,
        Some(k) if k == "bind" => MountKind::Bind,
        Some(k) if k == "volume" => MountKind::Volume,
        Some(k) if k == "tmpfs" => MountKind::Tmpfs,
        Some(_) if kind.as_ref().is_some_and(|k| !k.resolved) => MountKind::Unknown,
        Some(k) => MountKind::Other(k),
    };
    Ok(MountSpec {
        syntax: MountSyntax::Mount,
        kind,
        source,
        target,
        read_only,
        options,
        span: word.span,
    })
}

/// `--tmpfs /run[:rw,size=64m]`.
pub fn parse_tmpfs(word: &Word) -> MountSpec {
    let text = word.text.as_str();
    let (target, opts) = match text.find(':') {
        Some(colon) => (0..colon, Some(colon + 1..text.len())),
        None => (0..text.len(), None),
    };
    let mut read_only = None;
    let mut options = Vec::new();
    for range in opts.map(|r| split_ranges(text, r, ',')).unwrap_or_default() {
        let part = Part::of(word, range);
        match part.text.as_str() {
            "ro" => read_only = Some(spanned(true, part.span)),
            "rw" => read_only = Some(spanned(false, part.span)),
            _ => options.push(part),
        }
    }
    MountSpec {
        syntax: MountSyntax::Tmpfs,
        kind: MountKind::Tmpfs,
        source: None,
        target: Some(Part::of(word, target)),
        read_only,
        options,
        span: word.span,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuCount {
    All,
    Count(u32),
}

/// `--gpus all`, `--gpus 2`, `--gpus device=0,1` (quoted: `'"device=0,1"'`),
/// `--gpus count=2,capabilities=compute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuRequest {
    pub count: Option<Spanned<GpuCount>>,
    pub devices: Vec<Part>,
    pub driver: Option<Part>,
    pub capabilities: Vec<Part>,
    pub span: Span,
    pub resolved: bool,
}

pub fn parse_gpus(word: &Word) -> Result<GpuRequest, SpecError> {
    let text = word.text.as_str();
    let fields = csv_fields(text).map_err(|at| {
        SpecError::new(
            word.subspan(at..text.len()),
            "unbalanced quotes in --gpus value",
        )
    })?;
    let mut request = GpuRequest {
        count: None,
        devices: Vec::new(),
        driver: None,
        capabilities: Vec::new(),
        span: word.span,
        resolved: word.is_resolved(),
    };
    let count = |range: Range<usize>| -> Result<Spanned<GpuCount>, SpecError> {
        let part = Part::of(word, range);
        let value = if part.text == "all" {
            GpuCount::All
        } else {
            GpuCount::Count(part.text.parse().map_err(|_| {
                SpecError::new(
                    part.span,
                    format!("invalid GPU count `{}`", excerpt(&part.text)),
                )
            })?)
        };
        Ok(spanned(value, part.span))
    };
    for field in fields {
        let slice = text.get(field.clone()).unwrap_or("");
        let Some(eq) = slice.find('=') else {
            if !word.is_range_resolved(field.clone()) {
                continue;
            }
            request.count = Some(count(field)?);
            continue;
        };
        let value = field.start + eq + 1..field.end;
        match &slice[..eq] {
            "count" => request.count = Some(count(value)?),
            "device" => {
                request.devices = split_ranges(text, value, ',')
                    .into_iter()
                    .map(|r| Part::of(word, r))
                    .collect();
            }
            "driver" => request.driver = Some(Part::of(word, value)),
            "capabilities" => {
                request.capabilities = split_ranges(text, value, ',')
                    .into_iter()
                    .map(|r| Part::of(word, r))
                    .collect();
            }
            "options" => {}
            key => {
                return Err(SpecError::new(
                    word.subspan(field.clone()),
                    format!("unexpected key `{}` in --gpus value", excerpt(key)),
                ));
            }
        }
    }
    if request.count.is_some() && !request.devices.is_empty() {
        return Err(SpecError::new(
            word.span,
            "cannot set both a GPU count and device IDs",
        ));
    }
    Ok(request)
}

/// A byte size as Docker reads `--memory` and `--shm-size`: a number with an optional
/// `b`, `k`, `m`, `g`, `t` or `p` suffix (binary multiples, optional trailing `b`/`ib`).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let number: f64 = lower.get(..digits_end)?.parse().ok()?;
    let unit = lower.get(digits_end..)?.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return None,
    };
    let bytes = number * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::words::{NoVars, split_words};
    use crate::source::FileId;

    fn word(text: &str) -> Word {
        split_words(FileId(0), text, 0, &NoVars).unwrap().remove(0)
    }

    fn src(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    #[test]
    fn publish_forms() {
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, &'a str);
        let cases: &[Case] = &[
            ("8000", None, None, "8000", "tcp"),
            ("8000:8000", None, Some("8000"), "8000", "tcp"),
            (
                "127.0.0.1:8000:8000",
                Some("127.0.0.1"),
                Some("8000"),
                "8000",
                "tcp",
            ),
            ("127.0.0.1::8000", Some("127.0.0.1"), None, "8000", "tcp"),
            (
                "0.0.0.0:8000-8002:8000-8002/udp",
                Some("0.0.0.0"),
                Some("8000-8002"),
                "8000-8002",
                "udp",
            ),
            (
                "[::1]:8001:8001",
                Some("[::1]"),
                Some("8001"),
                "8001",
                "tcp",
            ),
        ];
        for (text, ip, host, container, proto) in cases {
            let p = parse_publish(&word(text)).unwrap();
            assert_eq!(p.host_ip.as_ref().map(|x| x.text.as_str()), *ip, "{text}");
            assert_eq!(
                p.host_port.as_ref().map(|x| x.text.as_str()),
                *host,
                "{text}"
            );
            assert_eq!(p.container_port.text, *container, "{text}");
            assert_eq!(p.protocol.as_str(), *proto, "{text}");
        }
        let p = parse_publish(&word("0.0.0.0:8000-8002:8000-8002/udp")).unwrap();
        assert_eq!(
            p.host_range,
            Some(PortRange {
                start: 8000,
                end: 8002
            })
        );
        assert_eq!(p.is_loopback_only(), Some(false));
        let p = parse_publish(&word("127.0.0.1:8002:8002")).unwrap();
        assert_eq!(p.is_loopback_only(), Some(true));
    }

    #[test]
    fn publish_parts_have_spans_and_unknowns() {
        let text = "${HOST_IP}:$PORT:8001";
        let p = parse_publish(&word(text)).unwrap();
        assert_eq!(src(text, p.host_ip.as_ref().unwrap().span), "${HOST_IP}");
        assert!(!p.host_port.as_ref().unwrap().resolved);
        assert_eq!(p.host_range, None);
        assert_eq!(src(text, p.container_port.span), "8001");
        assert_eq!(p.is_loopback_only(), None);
        assert!(parse_publish(&word("80a:80")).is_err());
        let error = parse_publish(&word("8000:99999")).unwrap_err();
        assert_eq!(error.message, "invalid port `99999`");
    }

    #[test]
    fn volumes_bind_named_anonymous_and_modes() {
        let text = "${PWD}/model_repository:/models:ro,z";
        let v = parse_volume(&word(text)).unwrap();
        assert_eq!(v.kind, MountKind::Bind);
        assert_eq!(v.target.as_ref().unwrap().text, "/models");
        assert_eq!(src(text, v.read_only.as_ref().unwrap().span), "ro");
        assert_eq!(v.options[0].text, "z");
        let v = parse_volume(&word("models:/models")).unwrap();
        assert_eq!(v.kind, MountKind::Volume);
        assert!(!v.is_read_only());
        let v = parse_volume(&word("/models:ro")).unwrap();
        assert!(v.source.is_none());
        assert_eq!(v.target.as_ref().unwrap().text, "/models");
        assert!(v.is_read_only());
        let v = parse_volume(&word("$(pwd)/m:/m")).unwrap();
        assert_eq!(v.kind, MountKind::Bind);
        let v = parse_volume(&word("$VOL:/m")).unwrap();
        assert_eq!(v.kind, MountKind::Unknown);
        assert!(parse_volume(&word("a:b:c:d")).is_err());
    }

    #[test]
    fn mount_fields() {
        let text = "type=bind,source=/srv/models,target=/models,readonly";
        let m = parse_mount(&word(text)).unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert_eq!(src(text, m.source.as_ref().unwrap().span), "/srv/models");
        assert_eq!(src(text, m.read_only.as_ref().unwrap().span), "readonly");
        let m = parse_mount(&word("type=volume,src=cache,dst=/c,ro=false")).unwrap();
        assert_eq!(m.read_only.as_ref().map(|r| r.value), Some(false));
        let text = r#"'type=bind,"source=/a,b",target=/t'"#;
        let m = parse_mount(&word(text)).unwrap();
        assert_eq!(m.source.as_ref().unwrap().text, "/a,b");
        assert_eq!(src(text, m.source.as_ref().unwrap().span), "/a,b");
        assert!(parse_mount(&word("type=bind,readonly=maybe")).is_err());
    }

    #[test]
    fn tmpfs_options() {
        let m = parse_tmpfs(&word("/run:rw,size=64m"));
        assert_eq!(m.target.as_ref().unwrap().text, "/run");
        assert_eq!(m.read_only.as_ref().map(|r| r.value), Some(false));
        assert_eq!(m.options[0].text, "size=64m");
    }

    #[test]
    fn gpu_requests() {
        let g = parse_gpus(&word("all")).unwrap();
        assert_eq!(g.count.map(|c| c.value), Some(GpuCount::All));
        let g = parse_gpus(&word("2")).unwrap();
        assert_eq!(g.count.map(|c| c.value), Some(GpuCount::Count(2)));
        let text = r#"'"device=0,1"'"#;
        let g = parse_gpus(&word(text)).unwrap();
        let devices: Vec<&str> = g.devices.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(devices, ["0", "1"]);
        assert_eq!(src(text, g.devices[1].span), "1");
        let g = parse_gpus(&word("device=0")).unwrap();
        assert_eq!(g.devices.len(), 1);
        let g = parse_gpus(&word(r#"'count=all,"capabilities=compute,utility"'"#)).unwrap();
        assert_eq!(g.count.map(|c| c.value), Some(GpuCount::All));
        assert_eq!(g.capabilities.len(), 2);
        // Unquoted, the comma splits the CSV: Docker refuses a count with devices.
        assert!(parse_gpus(&word("device=0,1")).is_err());
        assert!(parse_gpus(&word("bogus=1")).is_err());
        let g = parse_gpus(&word("$GPUS")).unwrap();
        assert!(!g.resolved);
        assert!(g.count.is_none());
    }

    #[test]
    fn users_and_ports() {
        let u = UserSpec::parse(&word("1000:1000"));
        assert_eq!(
            (u.uid(), u.gid(), u.is_root()),
            (Some(1000), Some(1000), Some(false))
        );
        assert_eq!(UserSpec::parse(&word("root")).is_root(), Some(true));
        assert_eq!(UserSpec::parse(&word("0:0")).is_root(), Some(true));
        assert_eq!(UserSpec::parse(&word("$UID")).is_root(), None);
        let p = parse_port_spec(&word("8000-8002/udp")).unwrap();
        assert_eq!(
            p.range,
            Some(PortRange {
                start: 8000,
                end: 8002
            })
        );
        assert_eq!(p.protocol, Protocol::Udp);
        assert!(parse_port_spec(&word("http")).is_err());
        assert!(parse_port_spec(&word("$PORT")).unwrap().range.is_none());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("64mb"), Some(64 << 20));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("1x"), None);
    }
}
