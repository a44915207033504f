//! One logical line to an [`Instruction`]: the keyword, BuildKit's `--flags`, and the
//! arguments read the way each instruction reads them.

use std::ops::Range;

use crate::parse::container::parse_port_spec;
use crate::parse::words::{Lexer, NoVars, SplitOptions, VarLookup, Word, WordsError};
use crate::source::Span;

use super::json::{Exec, parse_exec};
use super::lines::Logical;
use super::{
    ArgDecl, Body, CommandForm, DockerfileError, DockerfileErrorKind, Flag, Healthcheck,
    Instruction, KeyValue, Keyword, ShellCommand, Vars,
};

fn skip_blanks(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The keyword at `from` and the range it covers in the logical text.
pub(super) fn keyword(logical: &Logical, from: usize) -> (Keyword, Range<usize>) {
    let text = logical.text.as_str();
    let start = skip_blanks(text, from);
    let end = text
        .get(start..)
        .and_then(|rest| rest.find(|c: char| c.is_ascii_whitespace()))
        .map_or(text.len(), |i| start + i);
    (
        Keyword::parse(text.get(start..end).unwrap_or("")),
        start..end,
    )
}

struct Parser<'a> {
    logical: &'a Logical,
    escape: u8,
    vars: &'a Vars<'a>,
    errors: &'a mut Vec<DockerfileError>,
}

/// Parses the instruction starting at `from` of the logical text (`0`, or after `ONBUILD`).
pub(super) fn parse(
    logical: &Logical,
    from: usize,
    escape: u8,
    vars: &Vars<'_>,
    errors: &mut Vec<DockerfileError>,
) -> Instruction {
    let mut parser = Parser {
        logical,
        escape,
        vars,
        errors,
    };
    parser.instruction(from)
}

impl Parser<'_> {
    fn text(&self) -> &str {
        &self.logical.text
    }

    fn span(&self, range: Range<usize>) -> Span {
        self.logical.map.span(range)
    }

    fn error(&mut self, span: Span, kind: DockerfileErrorKind) {
        self.errors.push(DockerfileError { span, kind });
    }

    fn instruction(&mut self, from: usize) -> Instruction {
        let (keyword, range) = keyword(self.logical, from);
        let keyword_span = self.span(range.clone());
        let span = Span::new(keyword_span.file, keyword_span.start, self.logical.end);
        let (flags, args_start) = self.flags(range.end);
        let args_range = trimmed(self.text(), args_start..self.text().len());
        let args = self.logical.map.word(self.text(), args_range.clone());
        let body = self.body(&keyword, keyword_span, &args, args_range);
        Instruction {
            keyword,
            keyword_span,
            span,
            flags,
            args,
            body,
            heredocs: Vec::new(),
            stage: None,
        }
    }

    fn lexer(&self, opts: SplitOptions, at: usize) -> Lexer<'_> {
        let mut lexer = Lexer::with_map(&self.logical.text, self.logical.map.clone(), opts);
        lexer.seek(at);
        lexer
    }

    fn opts(&self) -> SplitOptions {
        SplitOptions::dockerfile(self.escape)
    }

    /// `--name=value` / `--name` words right after the keyword; returns them and where the
    /// arguments start. `--` ends the flags.
    fn flags(&mut self, after_keyword: usize) -> (Vec<Flag>, usize) {
        let mut flags = Vec::new();
        let mut at = skip_blanks(self.text(), after_keyword);
        let opts = self.opts().without_field_splitting();
        while self
            .text()
            .get(at..)
            .is_some_and(|rest| rest.starts_with("--"))
        {
            let mut lexer = self.lexer(opts, at);
            let word = match lexer.next_word(self.vars.build) {
                Some(Ok(word)) => word,
                Some(Err(error)) => {
                    self.words_error(error);
                    break;
                }
                None => break,
            };
            at = skip_blanks(self.text(), lexer.offset());
            if word.text == "--" {
                break;
            }
            let body = word.text.get(2..).unwrap_or("");
            let (name, value) = match body.find('=') {
                Some(eq) => (
                    body[..eq].to_string(),
                    Some(word.slice(2 + eq + 1..word.text.len())),
                ),
                None => (body.to_string(), None),
            };
            flags.push(Flag {
                name,
                value,
                span: word.span,
            });
        }
        (flags, at)
    }

    fn words_error(&mut self, error: WordsError) {
        self.error(error.span, DockerfileErrorKind::Syntax(error.kind));
    }

    /// Splits the arguments from `at` on.
    fn split(&mut self, opts: SplitOptions, at: usize, vars: &dyn VarLookup) -> Vec<Word> {
        let mut lexer = self.lexer(opts, at);
        let mut words = Vec::new();
        while let Some(item) = lexer.next_word(vars) {
            match item {
                Ok(word) => words.push(word),
                Err(error) => {
                    self.words_error(error);
                    break;
                }
            }
        }
        words
    }

    fn missing(&mut self, keyword: &Keyword, span: Span, expected: &'static str) -> Body {
        self.error(
            span,
            DockerfileErrorKind::MissingArguments {
                keyword: keyword.as_str().to_string(),
                expected,
            },
        );
        Body::Invalid
    }

    fn body(
        &mut self,
        keyword: &Keyword,
        keyword_span: Span,
        args: &Word,
        range: Range<usize>,
    ) -> Body {
        let build = self.vars.build;
        let opts = self.opts();
        if range.is_empty() && !matches!(keyword, Keyword::Unknown(_)) {
            return self.missing(keyword, keyword_span, "arguments");
        }
        match keyword {
            Keyword::From => {
                let words = self.split(opts, range.start, build);
                match words.as_slice() {
                    [image] => Body::From {
                        image: image.clone(),
                        name: None,
                    },
                    [image, as_word, name] if as_word.text.eq_ignore_ascii_case("as") => {
                        Body::From {
                            image: image.clone(),
                            name: Some(name.clone()),
                        }
                    }
                    _ => {
                        self.error(
                            args.span,
                            DockerfileErrorKind::InvalidArguments {
                                message: "FROM requires either one or three arguments \
                                          (image [AS name])"
                                    .into(),
                            },
                        );
                        Body::Invalid
                    }
                }
            }
            Keyword::Arg => {
                let words = self.split(opts.without_field_splitting(), range.start, build);
                Body::Arg(words.iter().map(arg_decl).collect())
            }
            Keyword::Env | Keyword::Label => self.key_values(keyword, args, range),
            Keyword::User | Keyword::Workdir | Keyword::StopSignal => {
                let word = self
                    .split(opts.as_whole(), range.start, build)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| args.clone());
                match keyword {
                    Keyword::User => Body::User(word),
                    Keyword::Workdir => Body::Workdir(word),
                    _ => Body::StopSignal(word),
                }
            }
            Keyword::Maintainer => Body::Maintainer(args.clone()),
            Keyword::Expose => {
                let words = self.split(opts, range.start, build);
                for word in &words {
                    if let Err(error) = parse_port_spec(word) {
                        self.error(
                            error.span,
                            DockerfileErrorKind::InvalidArguments {
                                message: error.message,
                            },
                        );
                    }
                }
                Body::Expose(words)
            }
            Keyword::Volume => match self.exec(keyword, range.clone()) {
                Some(Exec::Strings(words)) => Body::Volume(words),
                Some(_) => Body::Invalid,
                None => Body::Volume(self.split(opts, range.start, build)),
            },
            Keyword::Copy | Keyword::Add => {
                let words = match self.exec(keyword, range.clone()) {
                    Some(Exec::Strings(words)) => words,
                    Some(_) => return Body::Invalid,
                    None => self.split(opts, range.start, build),
                };
                match words.split_last() {
                    Some((dest, sources)) if !sources.is_empty() => Body::Copy {
                        sources: sources.to_vec(),
                        dest: dest.clone(),
                    },
                    _ => self.missing(keyword, args.span, "a source and a destination"),
                }
            }
            Keyword::Run | Keyword::Cmd | Keyword::Entrypoint => {
                match self.command(keyword, args, range) {
                    Some(form) => Body::Command(form),
                    None => Body::Invalid,
                }
            }
            Keyword::Shell => match self.exec(keyword, range) {
                Some(Exec::Strings(words)) if !words.is_empty() => {
                    Body::Command(CommandForm::Exec(words))
                }
                Some(Exec::Strings(_)) => self.missing(keyword, args.span, "a shell"),
                Some(_) => Body::Invalid,
                None => {
                    self.error(
                        args.span,
                        DockerfileErrorKind::JsonRequired {
                            keyword: keyword.as_str().to_string(),
                        },
                    );
                    Body::Invalid
                }
            },
            Keyword::Healthcheck => self.healthcheck(keyword, args, range),
            Keyword::Onbuild => self.onbuild(range),
            Keyword::Unknown(name) => {
                self.error(
                    keyword_span,
                    DockerfileErrorKind::UnknownInstruction {
                        name: crate::escape::excerpt(name),
                    },
                );
                Body::Invalid
            }
        }
    }

    /// The exec form if the arguments are a JSON array (`None`: shell form). A JSON array
    /// that holds anything but strings is an error, as in Docker.
    fn exec(&mut self, keyword: &Keyword, range: Range<usize>) -> Option<Exec> {
        match parse_exec(&self.logical.text, range.clone(), &self.logical.map) {
            Exec::NotJson => None,
            Exec::NotStrings => {
                let span = self.span(range);
                self.error(
                    span,
                    DockerfileErrorKind::NotStringArray {
                        keyword: keyword.as_str().to_string(),
                    },
                );
                Some(Exec::NotStrings)
            }
            strings => Some(strings),
        }
    }

    fn command(
        &mut self,
        keyword: &Keyword,
        args: &Word,
        range: Range<usize>,
    ) -> Option<CommandForm> {
        match self.exec(keyword, range) {
            Some(Exec::Strings(words)) => Some(CommandForm::Exec(words)),
            Some(_) => None,
            None => Some(CommandForm::Shell(Box::new(shell_command(
                args.clone(),
                self.vars.shell,
            )))),
        }
    }

    /// `ENV`/`LABEL`: `key=value ...`, or the legacy `key value` (the rest of the line).
    fn key_values(&mut self, keyword: &Keyword, args: &Word, range: Range<usize>) -> Body {
        let opts = self.opts().without_field_splitting();
        let build = self.vars.build;
        let words = self.split(opts, range.start, build);
        let wrap = |pairs| match keyword {
            Keyword::Env => Body::Env(pairs),
            _ => Body::Label(pairs),
        };
        let Some(first) = words.first() else {
            return Body::Invalid;
        };
        if !first.text.contains('=') {
            // Legacy form: the first word is the key, everything after it the value.
            let text = self.text();
            let key_end = text
                .get(range.clone())
                .and_then(|s| s.find(|c: char| c.is_ascii_whitespace()))
                .map_or(range.end, |i| range.start + i);
            let value_start = skip_blanks(text, key_end);
            if value_start >= range.end {
                return self.missing(keyword, args.span, "a name and a value");
            }
            let key = text.get(range.start..key_end).unwrap_or("").to_string();
            let key_span = self.span(range.start..key_end);
            let value = self
                .split(self.opts().as_whole(), value_start, build)
                .into_iter()
                .next()
                .unwrap_or_else(|| {
                    self.logical
                        .map
                        .word(&self.logical.text, value_start..range.end)
                });
            return wrap(vec![KeyValue {
                key,
                key_span,
                span: key_span.join(value.span),
                value,
            }]);
        }
        let mut pairs = Vec::new();
        for word in &words {
            let Some(eq) = word.text.find('=') else {
                self.error(
                    word.span,
                    DockerfileErrorKind::InvalidArguments {
                        message: format!(
                            "can't find = in `{}`: {} takes name=value",
                            word.text,
                            keyword.as_str()
                        ),
                    },
                );
                continue;
            };
            pairs.push(KeyValue {
                key: word.text[..eq].to_string(),
                key_span: word.subspan(0..eq),
                value: word.slice(eq + 1..word.text.len()),
                span: word.span,
            });
        }
        wrap(pairs)
    }

    /// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD command`.
    fn healthcheck(&mut self, keyword: &Keyword, args: &Word, range: Range<usize>) -> Body {
        let text = self.text();
        let kind_end = text
            .get(range.clone())
            .and_then(|s| s.find(|c: char| c.is_ascii_whitespace()))
            .map_or(range.end, |i| range.start + i);
        let kind = text
            .get(range.start..kind_end)
            .unwrap_or("")
            .to_ascii_uppercase();
        let rest = skip_blanks(text, kind_end)..range.end;
        match kind.as_str() {
            "NONE" if rest.is_empty() => Body::Healthcheck(Healthcheck::None),
            "NONE" => {
                let span = self.span(rest);
                self.error(
                    span,
                    DockerfileErrorKind::InvalidArguments {
                        message: "HEALTHCHECK NONE takes no other arguments".into(),
                    },
                );
                Body::Healthcheck(Healthcheck::None)
            }
            "CMD" if rest.is_empty() => self.missing(keyword, args.span, "a command after CMD"),
            "CMD" => {
                let script = self.logical.map.word(&self.logical.text, rest.clone());
                match self.command(keyword, &script, rest) {
                    Some(form) => Body::Healthcheck(Healthcheck::Cmd(form)),
                    None => Body::Invalid,
                }
            }
            _ => {
                let span = self.span(range.start..kind_end);
                self.error(
                    span,
                    DockerfileErrorKind::InvalidArguments {
                        message: format!(
                            "unknown HEALTHCHECK type `{}`: use CMD or NONE",
                            crate::escape::excerpt(&kind)
                        ),
                    },
                );
                Body::Invalid
            }
        }
    }

    fn onbuild(&mut self, range: Range<usize>) -> Body {
        let (inner, _) = keyword(self.logical, range.start);
        if matches!(
            inner,
            Keyword::Onbuild | Keyword::From | Keyword::Maintainer
        ) {
            let (_, inner_range) = keyword(self.logical, range.start);
            let span = self.span(inner_range);
            self.error(
                span,
                DockerfileErrorKind::InvalidOnbuild {
                    keyword: inner.as_str().to_string(),
                },
            );
            return Body::Invalid;
        }
        Body::Onbuild(Box::new(self.instruction(range.start)))
    }
}

/// A shell-form script and its words as sh splits them with `vars` in the environment
/// (the words before any syntax error).
pub(super) fn shell_command(script: Word, vars: &dyn VarLookup) -> ShellCommand {
    let map = script.source_map();
    let mut lexer = Lexer::with_map(&script.text, map, SplitOptions::SHELL);
    let mut words = Vec::new();
    let mut split_error = None;
    while let Some(item) = lexer.next_word(vars) {
        match item {
            Ok(word) => words.push(word),
            Err(error) => {
                split_error = Some(error);
                break;
            }
        }
    }
    ShellCommand {
        looks_like_json: script
            .text
            .strip_prefix('[')
            .is_some_and(|rest| rest.trim_start().starts_with('"')),
        script,
        words,
        split_error,
    }
}

/// `name` or `name=default`.
fn arg_decl(word: &Word) -> ArgDecl {
    match word.text.find('=') {
        Some(eq) => ArgDecl {
            name: word.text[..eq].to_string(),
            name_span: word.subspan(0..eq),
            default: Some(word.slice(eq + 1..word.text.len())),
            span: word.span,
        },
        None => ArgDecl {
            name: word.text.clone(),
            name_span: word.span,
            default: None,
            span: word.span,
        },
    }
}

/// A heredoc marker among an instruction's arguments.
pub(super) struct Marker {
    pub name: String,
    pub expand: bool,
    pub strip_tabs: bool,
    pub fd: Option<u32>,
    pub span: Span,
}

/// The `[n]<<[-]NAME` words of the arguments, as BuildKit finds them: a word whose unquoted
/// start is `<<`, with a non-empty name that holds no `<`. A quoted name turns expansion off.
pub(super) fn heredoc_markers(args: &Word, escape: u8) -> Vec<Marker> {
    let opts = SplitOptions::dockerfile(escape).without_field_splitting();
    let Ok(words) = args.split_with(opts, &NoVars) else {
        return Vec::new();
    };
    words
        .iter()
        .filter_map(|word| {
            let text = word.text.as_str();
            let digits = text.bytes().take_while(u8::is_ascii_digit).count();
            let rest = text.get(digits..)?.strip_prefix("<<")?;
            // The `<<` must be written unquoted at the start of the word.
            if word.subspan(0..digits + 2)
                != Span::new(
                    word.span.file,
                    word.span.start,
                    word.span.start + digits + 2,
                )
            {
                return None;
            }
            let (strip_tabs, name) = match rest.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, rest),
            };
            if name.is_empty() || name.contains('<') {
                return None;
            }
            Some(Marker {
                name: name.to_string(),
                expand: !word.quoted,
                strip_tabs,
                fd: text.get(..digits).and_then(|d| d.parse().ok()),
                span: word.span,
            })
        })
        .collect()
}

/// `range` without its leading and trailing blanks.
pub(super) fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let slice = text.get(range.clone()).unwrap_or("");
    let start = range.start + (slice.len() - slice.trim_start().len());
    let end = range.start + slice.trim_end().len();
    start..end.max(start)
}
