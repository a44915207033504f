//! A `docker run`/`create` (or `build`) command's words to options, image and command,
//! with pflag's rules: `--flag=value`, `--flag value`, `-p8000:8000`, `-p=8000:8000`,
//! combined short booleans (`-dit`, `-itp 8000:8000`), `--` ending the options, and the
//! first other word being the image.

use crate::parse::container::{
    GpuRequest, MountSpec, Part, PublishedPort, Spanned, SpecError, UserSpec, parse_bytes,
    parse_gpus, parse_mount, parse_publish, parse_tmpfs, parse_volume,
};
use crate::parse::words::{ExpansionKind, Word};
use crate::source::Span;

use super::flags::{self, Arity, FlagSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
    Nerdctl,
}

impl Engine {
    pub fn from_program(text: &str) -> Option<Engine> {
        let name = text.rsplit('/').next().unwrap_or(text);
        match name {
            "docker" | "docker.exe" => Some(Engine::Docker),
            "podman" | "podman-remote" => Some(Engine::Podman),
            "nerdctl" => Some(Engine::Nerdctl),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subcommand {
    Run,
    Create,
}

/// One option as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOption {
    /// The long name without dashes (`publish` for `-p`); for an unknown flag, its name as
    /// written.
    pub name: String,
    pub known: bool,
    /// The flag as written: `--publish`, `-p`, or the letter inside a cluster like `-it`.
    pub flag: Span,
    /// The value; for a boolean only when written with `=` (`--rm=false`).
    pub value: Option<Word>,
    /// Flag and value.
    pub span: Span,
}

/// A `docker|podman|nerdctl run` or `create`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRun {
    pub engine: Engine,
    /// The program word (`docker`, `"$DOCKER"`).
    pub program: Word,
    pub subcommand: Subcommand,
    pub subcommand_span: Span,
    pub options: Vec<RunOption>,
    /// Words in option position whose meaning is unknown: unresolved expansions such as
    /// `$DOCKER_ARGS` that may hold any number of options.
    pub unresolved_options: Vec<Word>,
    pub image: Option<Word>,
    /// The command and its arguments after the image.
    pub args: Vec<Word>,
    /// From the program word to the last word of the command.
    pub span: Span,
    /// The identity shared by the runs a script's branches make of one command (one per
    /// candidate image): the image word as written (`$IMAGE`). `None` for a plain run.
    pub identity: Option<String>,
}

/// A `docker build` (or `buildx build`, `podman build`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageBuild {
    pub engine: Engine,
    pub program: Word,
    pub options: Vec<RunOption>,
    pub unresolved_options: Vec<Word>,
    /// The build context (a directory, a URL, or `-`).
    pub context: Option<Word>,
    pub span: Span,
}

impl ImageBuild {
    /// `-t/--tag` values.
    pub fn tags(&self) -> Vec<&Word> {
        values(&self.options, "tag").collect()
    }

    /// `-f/--file`.
    pub fn file(&self) -> Option<&Word> {
        values(&self.options, "file").last()
    }

    pub fn target(&self) -> Option<&Word> {
        values(&self.options, "target").last()
    }

    pub fn build_args(&self) -> Vec<&Word> {
        values(&self.options, "build-arg").collect()
    }

    /// The Dockerfiles this build may read, relative to the directory the command runs in:
    /// `-f` as given, or the default name(s) in the context (`Containerfile` first for
    /// podman). Empty when unresolved, read from stdin, or the context is a URL.
    pub fn dockerfile_candidates(&self) -> Vec<String> {
        if let Some(file) = self.file() {
            if !file.is_resolved() || file.text == "-" {
                return Vec::new();
            }
            return vec![file.text.clone()];
        }
        let Some(context) = self.context.as_ref().filter(|c| c.is_resolved()) else {
            return Vec::new();
        };
        let dir = context.text.trim_end_matches('/');
        if dir == "-" || dir.contains("://") || dir.starts_with("git@") {
            return Vec::new();
        }
        let join = |name: &str| {
            if dir.is_empty() || dir == "." {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            }
        };
        match self.engine {
            Engine::Podman => vec![join("Containerfile"), join("Dockerfile")],
            _ => vec![join("Dockerfile")],
        }
    }
}

fn values<'a>(options: &'a [RunOption], name: &'a str) -> impl Iterator<Item = &'a Word> + 'a {
    options
        .iter()
        .filter(move |o| o.name == name)
        .filter_map(|o| o.value.as_ref())
}

/// Options, then the first positional word and the rest.
pub(super) struct Parsed {
    pub options: Vec<RunOption>,
    pub unresolved_options: Vec<Word>,
    pub positional: Option<Word>,
    pub rest: Vec<Word>,
    pub errors: Vec<SpecError>,
}

/// A word that is one unquoted, unresolved expansion (`$DOCKER_ARGS`): it may stand for any
/// number of words.
pub(super) fn is_opaque(word: &Word) -> bool {
    !word.quoted
        && word.expansions.len() == 1
        && word.expansions.iter().all(|e| {
            e.resolution.is_unresolved() && e.text.start == 0 && e.text.end == word.text.len()
        })
}

/// Variable names that conventionally hold options rather than an image.
fn names_options(word: &Word) -> bool {
    word.expansions.iter().any(|e| match &e.kind {
        ExpansionKind::Variable { name } => name.split('_').any(|part| {
            matches!(
                part.to_ascii_uppercase().as_str(),
                "ARG" | "ARGS" | "OPT" | "OPTS" | "OPTIONS" | "FLAGS" | "PARAMS" | "EXTRA"
            )
        }),
        _ => false,
    })
}

fn is_known_flag(table: &[FlagSpec], text: &str) -> bool {
    if let Some(long) = text.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        return flags::long(table, name).is_some();
    }
    text.strip_prefix('-')
        .and_then(|s| s.chars().next())
        .is_some_and(|c| flags::short(table, c).is_some())
}

/// Parses options from `table` until the first positional word.
pub(super) fn parse_options(table: &[FlagSpec], words: &[Word]) -> Parsed {
    let mut parsed = Parsed {
        options: Vec::new(),
        unresolved_options: Vec::new(),
        positional: None,
        rest: Vec::new(),
        errors: Vec::new(),
    };
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        i += 1;
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, eq) = match long.find('=') {
                Some(eq) => (&long[..eq], Some(2 + eq)),
                None => (long, None),
            };
            let spec = flags::long(table, name);
            let flag = word.subspan(0..2 + name.len());
            let mut value = eq.map(|eq| word.slice(eq + 1..text.len()));
            if value.is_none() && matches!(spec, Some((_, _, Arity::Value))) {
                value = words.get(i).cloned();
                i += 1;
                if value.is_none() {
                    parsed.errors.push(SpecError {
                        span: flag,
                        message: format!("--{name} needs a value"),
                    });
                }
            }
            let span = value.as_ref().map_or(word.span, |v| word.span.join(v.span));
            parsed.options.push(RunOption {
                name: spec.map_or(name, |(long, _, _)| long).to_string(),
                known: spec.is_some(),
                flag,
                value,
                span,
            });
            continue;
        }
        if text.len() > 1 && text.starts_with('-') {
            short_cluster(table, word, words, &mut i, &mut parsed);
            continue;
        }
        if is_opaque(word) {
            let next_is_flag = words
                .get(i)
                .is_some_and(|next| is_known_flag(table, &next.text));
            if next_is_flag || names_options(word) {
                parsed.unresolved_options.push(word.clone());
                continue;
            }
        }
        parsed.positional = Some(word.clone());
        break;
    }
    parsed.rest = words.get(i..).unwrap_or(&[]).to_vec();
    if parsed.positional.is_none()
        && let Some((first, rest)) = parsed.rest.split_first()
    {
        // After `--`, the next word is the positional one.
        parsed.positional = Some(first.clone());
        parsed.rest = rest.to_vec();
    }
    parsed
}

/// `-it`, `-p8000:8000`, `-itp 8000:8000`, `-e=A=1`.
fn short_cluster(
    table: &[FlagSpec],
    word: &Word,
    words: &[Word],
    next: &mut usize,
    parsed: &mut Parsed,
) {
    let text = word.text.as_str();
    for (k, letter) in text.char_indices().skip(1) {
        let letter_end = k + letter.len_utf8();
        let flag = if k == 1 {
            word.subspan(0..letter_end)
        } else {
            word.subspan(k..letter_end)
        };
        let spec = flags::short(table, letter);
        let name = spec.map_or_else(|| letter.to_string(), |(long, _, _)| long.to_string());
        if let Some((_, _, Arity::Value)) = spec {
            let rest = &text[letter_end..];
            let value = if rest.is_empty() {
                let value = words.get(*next).cloned();
                *next += 1;
                if value.is_none() {
                    parsed.errors.push(SpecError {
                        span: flag,
                        message: format!("-{letter} needs a value"),
                    });
                }
                value
            } else {
                let start = letter_end + usize::from(rest.starts_with('='));
                Some(word.slice(start..text.len()))
            };
            let span = value.as_ref().map_or(flag, |v| flag.join(v.span));
            parsed.options.push(RunOption {
                name,
                known: true,
                flag,
                value,
                span,
            });
            return;
        }
        parsed.options.push(RunOption {
            name,
            known: spec.is_some(),
            flag,
            value: None,
            span: flag,
        });
    }
}

/// A port, mount or other value that does not parse, as an error.
fn check<T>(result: Result<T, SpecError>, errors: &mut Vec<SpecError>) {
    if let Err(error) = result {
        errors.push(error);
    }
}

/// Checks the values the accessors interpret, so that malformed ones are reported once.
pub(super) fn validate(run: &ContainerRun) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for option in &run.options {
        let Some(value) = option.value.as_ref().filter(|v| v.is_resolved()) else {
            continue;
        };
        match option.name.as_str() {
            "publish" => check(parse_publish(value), &mut errors),
            "volume" => check(parse_volume(value), &mut errors),
            "mount" => check(parse_mount(value), &mut errors),
            "gpus" => check(parse_gpus(value), &mut errors),
            "memory" | "shm-size" if parse_bytes(&value.text).is_none() => {
                errors.push(SpecError {
                    span: value.span,
                    message: format!(
                        "invalid size `{}` for --{}",
                        crate::escape::excerpt(&value.text),
                        option.name
                    ),
                });
            }
            _ => {}
        }
    }
    errors
}

/// A boolean flag's value: `--rm` is true, `--rm=false` false.
fn flag_value(option: &RunOption) -> Option<Spanned<bool>> {
    let value = match &option.value {
        None => true,
        Some(word) if !word.is_resolved() => return None,
        Some(word) => match word.text.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
            _ => return None,
        },
    };
    Some(Spanned {
        value,
        span: option.span,
    })
}

/// An environment variable set with `-e`/`--env`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSetting {
    pub name: Part,
    /// `None` for `-e NAME`, which passes the caller's value through.
    pub value: Option<Part>,
    pub span: Span,
}

impl ContainerRun {
    pub fn options_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RunOption> + 'a {
        self.options.iter().filter(move |o| o.name == name)
    }

    /// The last value given for an option (later options win in Docker).
    pub fn value(&self, name: &str) -> Option<&Word> {
        self.options
            .iter()
            .rev()
            .filter(|o| o.name == name)
            .find_map(|o| o.value.as_ref())
    }

    /// A boolean flag: `Some(true)` for `--privileged` or `--privileged=true`, with the
    /// flag's span; `None` when absent or not determinable.
    pub fn flag(&self, name: &str) -> Option<Spanned<bool>> {
        self.options_named(name).last().and_then(flag_value)
    }

    pub fn published_ports(&self) -> Vec<PublishedPort> {
        values(&self.options, "publish")
            .filter_map(|w| parse_publish(w).ok())
            .collect()
    }

    /// `-P/--publish-all`: every EXPOSEd port on an ephemeral host port.
    pub fn publish_all(&self) -> Option<Spanned<bool>> {
        self.flag("publish-all")
    }

    /// `-v`, `--mount` and `--tmpfs`, in order.
    pub fn mounts(&self) -> Vec<MountSpec> {
        self.options
            .iter()
            .filter_map(|o| {
                let value = o.value.as_ref()?;
                match o.name.as_str() {
                    "volume" => parse_volume(value).ok(),
                    "mount" => parse_mount(value).ok(),
                    "tmpfs" => Some(parse_tmpfs(value)),
                    _ => None,
                }
            })
            .collect()
    }

    pub fn user(&self) -> Option<UserSpec> {
        self.value("user").map(UserSpec::parse)
    }

    /// `--cap-add` values, comma-separated lists split.
    pub fn cap_add(&self) -> Vec<Part> {
        self.list("cap-add")
    }

    pub fn cap_drop(&self) -> Vec<Part> {
        self.list("cap-drop")
    }

    fn list(&self, name: &str) -> Vec<Part> {
        values(&self.options, name)
            .flat_map(|word| {
                let mut start = 0;
                let mut parts = Vec::new();
                for (i, _) in word.text.match_indices(',').chain([(word.text.len(), "")]) {
                    if i > start {
                        parts.push(Part::of(word, start..i));
                    }
                    start = i + 1;
                }
                parts
            })
            .collect()
    }

    pub fn privileged(&self) -> Option<Spanned<bool>> {
        self.flag("privileged")
    }

    pub fn read_only(&self) -> Option<Spanned<bool>> {
        self.flag("read-only")
    }

    pub fn security_opts(&self) -> Vec<&Word> {
        values(&self.options, "security-opt").collect()
    }

    /// `--security-opt no-new-privileges[:true|=true|:false]`, the last one.
    pub fn no_new_privileges(&self) -> Option<Spanned<bool>> {
        self.security_opts().into_iter().rev().find_map(|word| {
            let rest = word.text.strip_prefix("no-new-privileges")?;
            let value = match rest.trim_start_matches([':', '=']) {
                "" | "true" => true,
                "false" => false,
                _ => return None,
            };
            Some(Spanned {
                value,
                span: word.span,
            })
        })
    }

    /// `--network`/`--net` (the last one).
    pub fn network(&self) -> Option<&Word> {
        self.options
            .iter()
            .rev()
            .filter(|o| o.name == "network" || o.name == "net")
            .find_map(|o| o.value.as_ref())
    }

    pub fn ipc(&self) -> Option<&Word> {
        self.value("ipc")
    }

    pub fn pid(&self) -> Option<&Word> {
        self.value("pid")
    }

    /// Whether a namespace option (`network`, `ipc`, `pid`, `uts`, `userns`) is `host`.
    pub fn uses_host(&self, namespace: &str) -> Option<Spanned<bool>> {
        let word = match namespace {
            "network" | "net" => self.network(),
            other => self.value(other),
        }?;
        word.is_resolved().then(|| Spanned {
            value: word.text == "host",
            span: word.span,
        })
    }

    /// `-m/--memory` in bytes; `value: None` when unresolved or malformed.
    pub fn memory(&self) -> Option<Spanned<Option<u64>>> {
        self.bytes("memory")
    }

    pub fn shm_size(&self) -> Option<Spanned<Option<u64>>> {
        self.bytes("shm-size")
    }

    fn bytes(&self, name: &str) -> Option<Spanned<Option<u64>>> {
        let word = self.value(name)?;
        Some(Spanned {
            value: word
                .is_resolved()
                .then(|| parse_bytes(&word.text))
                .flatten(),
            span: word.span,
        })
    }

    pub fn gpus(&self) -> Option<GpuRequest> {
        self.value("gpus").and_then(|w| parse_gpus(w).ok())
    }

    pub fn entrypoint(&self) -> Option<&Word> {
        self.value("entrypoint")
    }

    pub fn name(&self) -> Option<&Word> {
        self.value("name")
    }

    /// `-e NAME=value` and `-e NAME`.
    pub fn env(&self) -> Vec<EnvSetting> {
        values(&self.options, "env")
            .map(|word| match word.text.find('=') {
                Some(eq) => EnvSetting {
                    name: Part::of(word, 0..eq),
                    value: Some(Part::of(word, eq + 1..word.text.len())),
                    span: word.span,
                },
                None => EnvSetting {
                    name: Part::whole(word),
                    value: None,
                    span: word.span,
                },
            })
            .collect()
    }

    pub fn env_files(&self) -> Vec<&Word> {
        values(&self.options, "env-file").collect()
    }

    /// The program of the command after the image (`tritonserver`), if any.
    pub fn command(&self) -> Option<&Word> {
        self.args.first()
    }
}
