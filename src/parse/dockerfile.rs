//! Dockerfiles and Containerfiles to instructions with exact spans.
//!
//! The reading follows BuildKit: parser directives (`# escape=`, `# syntax=`, `# check=`)
//! only at the top; the active escape character for line continuations; comment and blank
//! lines inside continuations dropped; heredocs on `RUN`, `COPY` and `ADD`; keywords in any
//! case; the exec form when the arguments are a JSON array of strings, the shell form
//! otherwise; and build-time variable substitution in the instructions Docker substitutes
//! (`FROM` with the ARGs declared before the first `FROM`; `ENV`, `ARG`, `LABEL`, `USER`,
//! `WORKDIR`, `EXPOSE`, `VOLUME`, `COPY`, `ADD`, `STOPSIGNAL` and flags with the stage's ARGs
//! and ENV). A variable the file does not determine stays unresolved in the word; an ARG's
//! default resolves as [`Resolution::Defaulted`](crate::parse::words::Resolution), since a
//! build argument can replace it.
//!
//! Problems are collected in [`Dockerfile::errors`] with their spans; parsing always goes on.
//! [`effective_config`] then computes what the final image runs.

mod config;
mod instruction;
mod json;
mod lines;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::rc::Rc;

use crate::parse::words::{MAX_VALUE_LEN, VarLookup, VarValue, Word, WordsError};
use crate::source::{FileId, Span};

pub use config::{ConfigCommand, EnvVar, ImageConfig, Setting, effective_config, stage_config};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dockerfile {
    pub file: FileId,
    /// The escape character in effect (`\` unless `# escape=` says otherwise).
    pub escape: u8,
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub errors: Vec<DockerfileError>,
    /// Whole-line comments (parser directives included), for suppressions.
    pub comments: Vec<Span>,
}

impl Dockerfile {
    /// A stage by its `AS` name (case-insensitive) or its index, as `COPY --from=` finds it.
    pub fn stage(&self, name_or_index: &str) -> Option<&Stage> {
        self.stage_by_name(name_or_index).or_else(|| {
            name_or_index
                .parse::<usize>()
                .ok()
                .and_then(|i| self.stages.get(i))
        })
    }

    fn stage_by_name(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().rev().find(|s| {
            s.name
                .as_ref()
                .is_some_and(|n| n.text.eq_ignore_ascii_case(name))
        })
    }

    /// The instructions of a stage, its `FROM` first.
    pub fn stage_instructions(&self, stage: usize) -> &[Instruction] {
        self.stages
            .get(stage)
            .and_then(|s| self.instructions.get(s.from..s.end))
            .unwrap_or(&[])
    }
}

/// `# name=value` at the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Lowercase: `syntax`, `escape` or `check`.
    pub name: String,
    pub value: String,
    pub span: Span,
    pub value_span: Span,
}

/// A build stage: a `FROM` and the instructions up to the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// `AS name`.
    pub name: Option<Word>,
    /// The image after ARG substitution (`nvcr.io/nvidia/tritonserver:24.05-py3`), or the
    /// name of an earlier stage.
    pub base: Word,
    /// The earlier stage `base` names, whose image this stage builds on.
    pub base_stage: Option<usize>,
    pub platform: Option<Word>,
    /// Index of the `FROM` instruction in [`Dockerfile::instructions`].
    pub from: usize,
    /// Index after the stage's last instruction.
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keyword {
    From,
    Arg,
    Env,
    Label,
    User,
    Workdir,
    Expose,
    Volume,
    Copy,
    Add,
    Run,
    Cmd,
    Entrypoint,
    Shell,
    Healthcheck,
    Onbuild,
    StopSignal,
    Maintainer,
    /// Not a Dockerfile instruction (an error); the text as written.
    Unknown(String),
}

impl Keyword {
    pub fn parse(text: &str) -> Keyword {
        match text.to_ascii_lowercase().as_str() {
            "from" => Keyword::From,
            "arg" => Keyword::Arg,
            "env" => Keyword::Env,
            "label" => Keyword::Label,
            "user" => Keyword::User,
            "workdir" => Keyword::Workdir,
            "expose" => Keyword::Expose,
            "volume" => Keyword::Volume,
            "copy" => Keyword::Copy,
            "add" => Keyword::Add,
            "run" => Keyword::Run,
            "cmd" => Keyword::Cmd,
            "entrypoint" => Keyword::Entrypoint,
            "shell" => Keyword::Shell,
            "healthcheck" => Keyword::Healthcheck,
            "onbuild" => Keyword::Onbuild,
            "stopsignal" => Keyword::StopSignal,
            "maintainer" => Keyword::Maintainer,
            _ => Keyword::Unknown(text.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Keyword::From => "FROM",
            Keyword::Arg => "ARG",
            Keyword::Env => "ENV",
            Keyword::Label => "LABEL",
            Keyword::User => "USER",
            Keyword::Workdir => "WORKDIR",
            Keyword::Expose => "EXPOSE",
            Keyword::Volume => "VOLUME",
            Keyword::Copy => "COPY",
            Keyword::Add => "ADD",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Shell => "SHELL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Onbuild => "ONBUILD",
            Keyword::StopSignal => "STOPSIGNAL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Unknown(text) => text,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: Keyword,
    pub keyword_span: Span,
    /// The whole instruction: continuation lines and heredoc bodies included.
    pub span: Span,
    /// BuildKit flags before the arguments (`--platform=`, `--from=`, `--chown=`, `--mount=`).
    pub flags: Vec<Flag>,
    /// The argument text as Docker reads it (continuations joined), before any processing.
    pub args: Word,
    pub body: Body,
    pub heredocs: Vec<Heredoc>,
    /// The stage it belongs to; `None` before the first `FROM`.
    pub stage: Option<usize>,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    /// After `=`; `None` for a bare `--link`.
    pub value: Option<Word>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    From {
        image: Word,
        name: Option<Word>,
    },
    Arg(Vec<ArgDecl>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    User(Word),
    Workdir(Word),
    StopSignal(Word),
    Maintainer(Word),
    Expose(Vec<Word>),
    Volume(Vec<Word>),
    /// `COPY`/`ADD`: sources (heredoc markers included, as written) and the destination.
    Copy {
        sources: Vec<Word>,
        dest: Word,
    },
    /// `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`.
    Command(CommandForm),
    Healthcheck(Healthcheck),
    Onbuild(Box<Instruction>),
    /// The arguments could not be read (see [`Dockerfile::errors`]), or the keyword is
    /// unknown.
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub name_span: Span,
    pub default: Option<Word>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub key_span: Span,
    pub value: Word,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandForm {
    /// `["tritonserver", "--model-repository=/models"]`: each string with its span.
    Exec(Vec<Word>),
    Shell(Box<ShellCommand>),
}

impl CommandForm {
    pub fn is_exec(&self) -> bool {
        matches!(self, CommandForm::Exec(_))
    }
}

/// A shell-form command: the text Docker hands to `/bin/sh -c`, and that text split the
/// way the shell will split it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellCommand {
    /// The script, mapped back to the source lines it was joined from.
    pub script: Word,
    /// The script's words and operators as sh reads them, with the variables known to be
    /// in the environment when it runs resolved (up to any split error).
    pub words: Vec<Word>,
    pub split_error: Option<WordsError>,
    /// The text starts like a JSON array of strings (`["`) but is not valid JSON: Docker
    /// runs it through the shell, which is rarely what was meant. (`[ -f x ]`, the shell's
    /// test command, does not count.)
    pub looks_like_json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disables any check inherited from the base image.
    None,
    Cmd(CommandForm),
}

/// A heredoc attached to `RUN`, `COPY` or `ADD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// The delimiter was unquoted: variables in the body are expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped (already stripped from `content`).
    pub strip_tabs: bool,
    /// `3<<EOF`.
    pub fd: Option<u32>,
    pub content: String,
    /// The `<<EOF` marker in the instruction.
    pub marker: Span,
    /// The body lines, terminator excluded.
    pub body: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct DockerfileError {
    pub span: Span,
    pub kind: DockerfileErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileErrorKind {
    #[error("the file has no instructions")]
    Empty,
    #[error("the file has no FROM instruction")]
    NoFrom,
    #[error("{keyword} before the first FROM: only ARG may come before FROM")]
    InstructionBeforeFrom { keyword: String },
    #[error("unknown instruction `{name}`")]
    UnknownInstruction { name: String },
    #[error("only one `{name}` parser directive can be used")]
    DuplicateDirective { name: String },
    #[error("invalid escape character `{value}`: it must be \\ or `")]
    InvalidEscape { value: String },
    #[error("heredoc `{name}` is not terminated before the end of the file")]
    UnterminatedHeredoc { name: String },
    #[error("line continuation at the end of the file: the instruction may be cut short")]
    DanglingContinuation,
    #[error("{keyword} requires {expected}")]
    MissingArguments {
        keyword: String,
        expected: &'static str,
    },
    #[error("{message}")]
    InvalidArguments { message: String },
    #[error("a JSON array in {keyword} must hold only strings")]
    NotStringArray { keyword: String },
    #[error("{keyword} requires its arguments in JSON form")]
    JsonRequired { keyword: String },
    #[error("{0}")]
    Syntax(#[from] crate::parse::words::WordsErrorKind),
    #[error("{keyword} is not allowed as an ONBUILD trigger")]
    InvalidOnbuild { keyword: String },
}

/// Variables in scope at one point of the file. A stage built on an earlier one starts
/// from that stage's tables, shared until it changes them (copy on write).
#[derive(Clone, Debug, Default)]
struct Scope {
    /// ENV set in the stage (or inherited from an earlier stage it builds on).
    env: Rc<HashMap<String, VarValue>>,
    /// ARGs declared; `None` when the value is only known at build time.
    args: Rc<HashMap<String, Option<VarValue>>>,
}

impl Scope {
    fn set_env(&mut self, name: &str, value: VarValue) {
        let env = Rc::make_mut(&mut self.env);
        // A value grown past the limit (`ENV A=$A$A` repeated) is not kept.
        if value.text.len() <= MAX_VALUE_LEN {
            env.insert(name.to_string(), value);
        } else {
            env.remove(name);
        }
    }

    fn set_arg(&mut self, name: &str, value: Option<VarValue>) {
        let value = value.filter(|v| v.text.len() <= MAX_VALUE_LEN);
        Rc::make_mut(&mut self.args).insert(name.to_string(), value);
    }

    fn arg(&self, name: &str) -> Option<&Option<VarValue>> {
        self.args.get(name)
    }

    /// Entries a stage copies if it changes an inherited scope.
    fn len(&self) -> usize {
        self.env.len() + self.args.len()
    }
}

/// Most variable entries that stages may inherit from earlier stages in one file: each
/// inheriting stage may copy its base's tables once, so a file of many stages, each built
/// on the last, would otherwise cost stages × variables.
const INHERITED_VARIABLES_LIMIT: usize = 1 << 20;

/// Build-time substitution: ENV wins over ARG of the same name, as in Docker.
struct BuildVars<'a>(&'a Scope);

impl VarLookup for BuildVars<'_> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        if let Some(v) = self.0.env.get(name) {
            return Some(v.clone());
        }
        self.0.arg(name).cloned().flatten()
    }
}

/// What a command sees at run time: only ENV (ARGs are gone).
struct RunVars<'a>(&'a Scope);

impl VarLookup for RunVars<'_> {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.0.env.get(name).cloned()
    }
}

pub(crate) struct Vars<'a> {
    /// Build-time substitution in the instruction's arguments and flags.
    pub build: &'a dyn VarLookup,
    /// The environment a shell-form command runs with.
    pub shell: &'a dyn VarLookup,
}

/// Parses a Dockerfile or Containerfile.
pub fn parse_dockerfile(file: FileId, text: &str) -> Dockerfile {
    let mut reader = lines::Reader::new(file, text);
    let (directives, errors, escape) = reader.directives();
    let mut df = Dockerfile {
        file,
        escape,
        directives,
        instructions: Vec::new(),
        stages: Vec::new(),
        errors,
        comments: Vec::new(),
    };
    let mut global = Scope::default();
    // The scope of each stage, as it stands after its last instruction so far.
    let mut scopes: Vec<Scope> = Vec::new();
    // Stage names (lower case) → the last stage of that name, for `FROM <stage>`.
    let mut stage_names: HashMap<String, usize> = HashMap::new();
    let mut inherited = 0usize;
    while let Some(logical) = reader.next_instruction(escape) {
        if let Some(at) = logical.dangling {
            df.errors.push(DockerfileError {
                span: Span::new(file, at, at + 1),
                kind: DockerfileErrorKind::DanglingContinuation,
            });
        }
        let (keyword, _) = instruction::keyword(&logical, 0);
        let stage = df.stages.len().checked_sub(1);
        let scope = match (&keyword, scopes.last()) {
            (Keyword::From, _) | (_, None) => &global,
            (_, Some(scope)) => scope,
        };
        let build = BuildVars(scope);
        let run_env = RunVars(scope);
        let shell: &dyn VarLookup = if keyword == Keyword::Run {
            &build
        } else {
            &run_env
        };
        let vars = Vars {
            build: &build,
            shell,
        };
        let mut instr = instruction::parse(&logical, 0, escape, &vars, &mut df.errors);
        instr.stage = stage;
        read_heredocs(&mut reader, &mut instr, escape, &mut df.errors);

        if instr.keyword == Keyword::From {
            // A malformed FROM still opens a stage, so what follows is not "before FROM".
            let (image, name) = match &instr.body {
                Body::From { image, name } => (image.clone(), name.clone()),
                _ => (instr.args.clone(), None),
            };
            let base_stage = stage_names.get(&image.text.to_ascii_lowercase()).copied();
            if let Some(last) = df.stages.last_mut() {
                last.end = df.instructions.len();
            }
            let index = df.stages.len();
            // A stage built on an earlier one inherits its ENV (in the image) and, in
            // BuildKit, its declared ARGs.
            let mut scope = base_stage
                .and_then(|b| scopes.get(b).cloned())
                .unwrap_or_default();
            inherited += scope.len();
            if inherited > INHERITED_VARIABLES_LIMIT {
                df.errors.push(DockerfileError {
                    span: instr.keyword_span,
                    kind: DockerfileErrorKind::InvalidArguments {
                        message: format!(
                            "stages inherit more than {INHERITED_VARIABLES_LIMIT} variables in this file; this stage's inherited ENV and ARG values are treated as unknown"
                        ),
                    },
                });
                scope = Scope::default();
            }
            scopes.push(scope);
            if let Some(name) = &name {
                stage_names.insert(name.text.to_ascii_lowercase(), index);
            }
            df.stages.push(Stage {
                index,
                name,
                base: image,
                base_stage,
                platform: instr.flag("platform").and_then(|f| f.value.clone()),
                from: df.instructions.len(),
                end: df.instructions.len() + 1,
            });
            instr.stage = Some(index);
        }
        match (&instr.body, stage) {
            _ if instr.keyword == Keyword::From => {}
            (Body::Arg(decls), None) => {
                for decl in decls {
                    let value = decl
                        .default
                        .as_ref()
                        .map(|w| VarValue::from_word(w).defaulted());
                    global.set_arg(&decl.name, value);
                }
            }
            (Body::Arg(decls), Some(_)) => {
                if let Some(scope) = scopes.last_mut() {
                    for decl in decls {
                        // `ARG NAME` in a stage brings in the global ARG's default.
                        let value = match &decl.default {
                            Some(w) => Some(VarValue::from_word(w).defaulted()),
                            None => global.arg(&decl.name).cloned().flatten(),
                        };
                        scope.set_arg(&decl.name, value);
                    }
                }
            }
            (Body::Env(pairs), Some(_)) => {
                if let Some(scope) = scopes.last_mut() {
                    for pair in pairs {
                        scope.set_env(&pair.key, VarValue::from_word(&pair.value));
                    }
                }
            }
            (_, None) => df.errors.push(DockerfileError {
                span: instr.keyword_span,
                kind: DockerfileErrorKind::InstructionBeforeFrom {
                    keyword: instr.keyword.as_str().to_string(),
                },
            }),
            _ => {}
        }
        df.instructions.push(instr);
        if let Some(last) = df.stages.last_mut() {
            last.end = df.instructions.len();
        }
    }
    if df.instructions.is_empty() {
        df.errors.push(DockerfileError {
            span: Span::new(file, 0, text.len()),
            kind: DockerfileErrorKind::Empty,
        });
    } else if df.stages.is_empty() {
        let span = df
            .instructions
            .first()
            .map_or(Span::new(file, 0, 0), |i| i.keyword_span);
        df.errors.push(DockerfileError {
            span,
            kind: DockerfileErrorKind::NoFrom,
        });
    }
    df.comments = std::mem::take(&mut reader.comments);
    df
}

/// Reads the bodies of the heredocs an instruction opens (`RUN`, `COPY` and `ADD` in shell
/// form), in order, from the lines after it.
fn read_heredocs(
    reader: &mut lines::Reader<'_>,
    instr: &mut Instruction,
    escape: u8,
    errors: &mut Vec<DockerfileError>,
) {
    let takes_heredocs = match (&instr.keyword, &instr.body) {
        (Keyword::Run, Body::Command(CommandForm::Exec(_))) => false,
        (Keyword::Run | Keyword::Copy | Keyword::Add, _) => true,
        _ => false,
    };
    if !takes_heredocs || !instr.args.text.contains("<<") {
        return;
    }
    for marker in instruction::heredoc_markers(&instr.args, escape) {
        match reader.heredoc(&marker.name, marker.strip_tabs) {
            Some(lines) => {
                instr.span =
                    instr
                        .span
                        .join(Span::new(instr.span.file, lines.body.start, lines.end));
                instr.heredocs.push(Heredoc {
                    name: marker.name,
                    expand: marker.expand,
                    strip_tabs: marker.strip_tabs,
                    fd: marker.fd,
                    content: lines.content,
                    marker: marker.span,
                    body: lines.body,
                });
            }
            None => {
                errors.push(DockerfileError {
                    span: marker.span,
                    kind: DockerfileErrorKind::UnterminatedHeredoc { name: marker.name },
                });
                return;
            }
        }
    }
    // The heredoc bodies are not part of the shell text, so a shell-form RUN's `<<EOF`
    // is not an unterminated heredoc.
    if !instr.heredocs.is_empty()
        && let Body::Command(CommandForm::Shell(shell)) = &mut instr.body
        && matches!(
            shell.split_error.as_ref().map(|e| &e.kind),
            Some(crate::parse::words::WordsErrorKind::UnterminatedHeredoc { .. })
        )
    {
        shell.split_error = None;
    }
}
