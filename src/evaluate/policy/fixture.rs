//! Model repositories written inline in a policy test, for rules about files on disk (the
//! `repo audit` rules): binary content, permissions and symbolic links that a text input
//! cannot express.
//!
//! ```yaml
//! input:
//!   repo:
//!     - {path: ".", dir: true, mode: "0777"}           # the repository root itself
//!     - {path: resnet/config.pbtxt, text: "name: \"resnet\"\n"}
//!     - {path: resnet/1/model.pkl, hex: "80 04 95 ..."}  # bytes, whitespace ignored
//!     - {path: resnet/2, symlink: /mnt/elsewhere}
//!     - {path: tritonguard.lock, text: "..."}         # used as the lock, as on the CLI
//! ```
//!
//! Parent directories are created as needed (mode 0755); files default to mode 0644. The
//! test runner writes the repository into a fresh private temporary directory. Paths must
//! stay inside it: relative, no `..`, and never through a symbolic link of the fixture
//! (a later entry under an earlier `symlink` would write wherever the link points).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::source::Span;
use crate::tree::{Node, Value};

/// What one fixture entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixtureContent {
    Bytes(Vec<u8>),
    Dir,
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureEntry {
    /// Relative to the repository root, `/`-separated; `.` is the root.
    pub path: String,
    pub content: FixtureContent,
    /// Permission bits; default 0644 for files, 0755 for directories.
    pub mode: Option<u32>,
}

/// An inline model repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoFixture {
    pub entries: Vec<FixtureEntry>,
}

/// A mistake in a fixture, at the YAML node that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureError {
    pub span: Option<Span>,
    pub message: String,
}

fn error(node: &Node, message: impl Into<String>) -> FixtureError {
    FixtureError {
        span: node.label_span(),
        message: message.into(),
    }
}

const ENTRY_KEYS: &[&str] = &["path", "text", "hex", "dir", "symlink", "mode"];

/// Reads `repo: [...]` from a test input.
pub fn read(node: &Node) -> Result<RepoFixture, Vec<FixtureError>> {
    let Value::List(items) = &node.value else {
        return Err(vec![error(
            node,
            "'repo' is a list of entries: {path, text | hex | dir | symlink, mode}",
        )]);
    };
    let mut errors = Vec::new();
    let mut fixture = RepoFixture::default();
    for item in items {
        match read_entry(item, &fixture) {
            Ok(entry) => fixture.entries.push(entry),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(fixture)
    } else {
        Err(errors)
    }
}

fn read_entry(item: &Node, so_far: &RepoFixture) -> Result<FixtureEntry, FixtureError> {
    for (key, value) in item.as_map() {
        if !ENTRY_KEYS.contains(&key.as_str()) {
            return Err(FixtureError {
                span: value.key_span,
                message: format!(
                    "unknown field '{key}' in a repo entry (path, text, hex, dir, symlink, mode)"
                ),
            });
        }
    }
    let path_node = item
        .get("path")
        .ok_or_else(|| error(item, "a repo entry needs 'path'"))?;
    let path = path_node
        .as_str()
        .ok_or_else(|| error(path_node, "'path' must be text"))?
        .to_string();
    check_path(&path).map_err(|m| error(path_node, m))?;
    if so_far.entries.iter().any(|e| e.path == path) {
        return Err(error(path_node, format!("{path:?} is listed twice")));
    }
    if let Some(link) = so_far.entries.iter().find(|e| {
        matches!(e.content, FixtureContent::Symlink(_))
            && (e.path == "." || path.starts_with(&format!("{}/", e.path)))
    }) {
        return Err(error(
            path_node,
            format!(
                "{path:?} is inside the symbolic link {:?}; entries may not be written through links",
                link.path
            ),
        ));
    }
    let mut kinds = Vec::new();
    if let Some(text) = item.get("text") {
        let t = text
            .as_str()
            .ok_or_else(|| error(text, "'text' must be text"))?;
        kinds.push(FixtureContent::Bytes(t.as_bytes().to_vec()));
    }
    if let Some(hex) = item.get("hex") {
        let h = hex
            .as_str()
            .ok_or_else(|| error(hex, "'hex' must be text (hexadecimal bytes)"))?;
        kinds.push(FixtureContent::Bytes(
            decode_hex(h).map_err(|m| error(hex, m))?,
        ));
    }
    if let Some(dir) = item.get("dir") {
        match dir.as_bool() {
            Some(true) => kinds.push(FixtureContent::Dir),
            Some(false) => {}
            None => return Err(error(dir, "'dir' must be true or false")),
        }
    }
    if let Some(link) = item.get("symlink") {
        let target = link
            .as_str()
            .ok_or_else(|| error(link, "'symlink' must be the link's target path"))?;
        if path == "." {
            return Err(error(link, "the repository root cannot be a symbolic link"));
        }
        kinds.push(FixtureContent::Symlink(target.to_string()));
    }
    let content = match kinds.len() {
        1 => kinds.remove(0),
        0 if path == "." => FixtureContent::Dir,
        0 => {
            return Err(error(
                item,
                "a repo entry needs one of 'text', 'hex', 'dir: true' or 'symlink'",
            ));
        }
        _ => {
            return Err(error(
                item,
                "a repo entry has only one of 'text', 'hex', 'dir' and 'symlink'",
            ));
        }
    };
    if path == "." && content != FixtureContent::Dir {
        return Err(error(path_node, "'.' is the repository root, a directory"));
    }
    let mode = match item.get("mode") {
        None => None,
        Some(node) => Some(parse_mode(node)?),
    };
    if mode.is_some() && matches!(content, FixtureContent::Symlink(_)) {
        return Err(error(
            item,
            "a symbolic link has no mode of its own on Linux; drop 'mode'",
        ));
    }
    Ok(FixtureEntry {
        path,
        content,
        mode,
    })
}

fn check_path(path: &str) -> Result<(), String> {
    if path == "." {
        return Ok(());
    }
    if path.is_empty() || path.starts_with('/') {
        return Err(format!(
            "{path:?} must be a relative path inside the repository"
        ));
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!(
            "{path:?} must be a plain relative path (no empty, '.' or '..' parts)"
        ));
    }
    Ok(())
}

/// Modes are quoted octal strings (`"0644"`, `"0o777"`): an unquoted `0644` means 644 in
/// YAML 1.2 and 420 in YAML 1.1, so numbers are refused.
fn parse_mode(node: &Node) -> Result<u32, FixtureError> {
    let text = match &node.value {
        Value::Str(s) => s.as_str(),
        _ => {
            return Err(error(
                node,
                "'mode' must be a quoted octal string such as \"0644\"",
            ));
        }
    };
    let digits = text.strip_prefix("0o").unwrap_or(text);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| error(node, format!("{text:?} is not an octal file mode")))
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("'hex' has an odd number of digits".to_string());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| {
                    format!(
                        "'hex' holds {:?}, which is not a hexadecimal byte",
                        String::from_utf8_lossy(pair)
                    )
                })
        })
        .collect()
}

impl RepoFixture {
    /// The entries for documentation: a text file that ends in a newline is shown as its
    /// lines, other content as an escaped string or as hexadecimal bytes.
    pub fn listing(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let mode = e
                .mode
                .map(|m| format!(" (mode {m:04o})"))
                .unwrap_or_default();
            match &e.content {
                FixtureContent::Dir => out.push_str(&format!("{}/{mode}\n", e.path)),
                FixtureContent::Symlink(target) => {
                    out.push_str(&format!("{} -> {target}\n", e.path));
                }
                FixtureContent::Bytes(bytes) => match std::str::from_utf8(bytes)
                    .ok()
                    .filter(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
                {
                    Some(text) if text.ends_with('\n') => {
                        out.push_str(&format!("{}{mode}:\n", e.path));
                        for line in text.lines() {
                            out.push_str(&format!("    {line}\n"));
                        }
                    }
                    Some(text) => out.push_str(&format!("{}{mode}: {text:?}\n", e.path)),
                    None => {
                        let hex: Vec<String> =
                            bytes.iter().take(24).map(|b| format!("{b:02x}")).collect();
                        let more = if bytes.len() > 24 { " …" } else { "" };
                        out.push_str(&format!(
                            "{}{mode}: {} bytes: {}{more}\n",
                            e.path,
                            bytes.len(),
                            hex.join(" ")
                        ));
                    }
                },
            }
        }
        out
    }

    /// Writes the repository into `root`, an existing empty directory.
    pub fn write(&self, root: &Path) -> std::io::Result<()> {
        let mut root_mode = 0o755;
        // Directories first get a writable mode; their own modes are set last, so that a
        // read-only directory can still be filled.
        let mut dir_modes: Vec<(std::path::PathBuf, u32)> = Vec::new();
        for entry in &self.entries {
            if entry.path == "." {
                root_mode = entry.mode.unwrap_or(0o755);
                continue;
            }
            let path = root.join(&entry.path);
            if let Some(parent) = path.parent() {
                create_dirs(root, parent)?;
            }
            match &entry.content {
                FixtureContent::Bytes(bytes) => {
                    // create_new: never follows or replaces an existing file or link.
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path)?;
                    file.write_all(bytes)?;
                    std::fs::set_permissions(
                        &path,
                        std::fs::Permissions::from_mode(entry.mode.unwrap_or(0o644)),
                    )?;
                }
                FixtureContent::Dir => {
                    create_dirs(root, &path)?;
                    dir_modes.push((path, entry.mode.unwrap_or(0o755)));
                }
                FixtureContent::Symlink(target) => {
                    std::os::unix::fs::symlink(target, &path)?;
                }
            }
        }
        // Deepest first, so that a parent's mode cannot stop setting its children's.
        dir_modes.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        for (path, mode) in dir_modes {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(root_mode))
    }
}

/// `create_dir_all` with mode 0755, for directories below `root` only.
fn create_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    if dir == root || dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(root, parent)?;
    }
    std::fs::create_dir(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_stream;
    use crate::source::FileId;

    fn fixture(yaml: &str) -> Result<RepoFixture, Vec<FixtureError>> {
        let stream = parse_stream(FileId(0), yaml);
        let root = stream
            .documents
            .first()
            .map(|d| d.root.clone())
            .unwrap_or_else(Node::null);
        read(&root)
    }

    fn messages(yaml: &str) -> Vec<String> {
        match fixture(yaml) {
            Ok(f) => panic!("expected an error, got {f:?}"),
            Err(e) => e.into_iter().map(|e| e.message).collect(),
        }
    }

    #[test]
    fn entries_of_every_kind() {
        let f = fixture(
            "- {path: '.', mode: '0777'}\n- {path: m/1/model.pkl, hex: '80 04 2e'}\n- {path: m/config.pbtxt, text: 'name: \"m\"'}\n- {path: m/2, symlink: /etc}\n- {path: m/3, dir: true, mode: '0o775'}\n",
        )
        .unwrap_or_default();
        assert_eq!(f.entries.len(), 5);
        assert_eq!(f.entries[0].content, FixtureContent::Dir);
        assert_eq!(f.entries[0].mode, Some(0o777));
        assert_eq!(
            f.entries[1].content,
            FixtureContent::Bytes(vec![0x80, 0x04, 0x2e])
        );
        assert_eq!(
            f.entries[3].content,
            FixtureContent::Symlink("/etc".to_string())
        );
        assert_eq!(f.entries[4].mode, Some(0o775));
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        assert!(messages("- {path: ../x, text: a}")[0].contains("plain relative path"));
        assert!(messages("- {path: /etc/passwd, text: a}")[0].contains("relative path"));
        let through = messages("- {path: m, symlink: /etc}\n- {path: m/passwd, text: a}");
        assert!(
            through[0].contains("inside the symbolic link"),
            "{through:?}"
        );
        assert!(messages("- {path: a, text: a}\n- {path: a, text: b}")[0].contains("twice"));
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(messages("- {path: a, text: a, mode: 0644}")[0].contains("quoted octal"));
        assert!(messages("- {path: a, text: a, mode: '0999'}")[0].contains("not an octal"));
        assert!(messages("- {path: a, hex: '8'}")[0].contains("odd number"));
        assert!(messages("- {path: a, hex: 'zz'}")[0].contains("not a hexadecimal"));
        assert!(messages("- {path: a}")[0].contains("needs one of"));
        assert!(messages("- {path: a, text: a, dir: true}")[0].contains("only one"));
        assert!(messages("- {path: a, txt: a}")[0].contains("unknown field 'txt'"));
    }

    #[test]
    fn written_repository_has_the_modes_and_links() {
        let f = fixture(
            "- {path: '.', mode: '0777'}\n- {path: m/1/model.pkl, text: x, mode: '0666'}\n- {path: m/2, symlink: ../../elsewhere}\n- {path: m/ro, dir: true, mode: '0555'}\n- {path: m/ro/inner.txt, text: y}\n",
        )
        .unwrap_or_default();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).unwrap_or_else(|e| panic!("{e}"));
        f.write(&root).unwrap_or_else(|e| panic!("{e}"));
        let mode = |p: &str| {
            std::fs::symlink_metadata(root.join(p))
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0)
        };
        assert_eq!(mode("."), 0o777);
        assert_eq!(mode("m"), 0o755);
        assert_eq!(mode("m/1/model.pkl"), 0o666);
        assert_eq!(mode("m/ro"), 0o555);
        assert_eq!(mode("m/ro/inner.txt"), 0o644);
        assert_eq!(
            std::fs::read_link(root.join("m/2")).ok(),
            Some(std::path::PathBuf::from("../../elsewhere"))
        );
    }
}
