//! Container launches in shell scripts and Makefile recipes: every `docker|podman|nerdctl
//! run` and `create` (also behind `sudo`, `exec`, `env`, `"$DOCKER"`, `docker container
//! run`, inside `$(...)` and `sh -c "..."`), and every `docker build` so that a run can be
//! linked to the Dockerfile it builds.
//!
//! The script is read in order, tracking simple variable assignments (`IMG=...`,
//! `export X=...`, `X=${X:-default}`, `: "${X:=default}"`) so that words resolve where the
//! script determines them. Control flow is not followed: the last assignment written before
//! a command wins, whichever branch it is in. Anything else (the environment, `$1`,
//! `$(pwd)`) stays unresolved in the words.
//!
//! A syntax error (an unterminated quote) is reported at its position and drops only the
//! command it is in; scanning resumes at the next line.

mod branches;
pub mod compose;
mod flags;
mod makefile;
mod run;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::parse::words::{
    ExpansionKind, Lexer, MAX_VALUE_LEN, SplitOptions, VarLookup, VarValue, Word, WordKind,
    WordsErrorKind, is_name,
};
use crate::source::{FileId, Span};

pub use makefile::parse_makefile;
pub use run::{ContainerRun, Engine, EnvSetting, ImageBuild, RunOption, Subcommand};

/// How deeply `$(...)` and `sh -c` are followed.
const NESTING_LIMIT: usize = 8;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellScan {
    pub runs: Vec<ContainerRun>,
    pub builds: Vec<ImageBuild>,
    /// `docker compose ... up` (and `docker-compose`): the files and env files named.
    pub composes: Vec<compose::ComposeRun>,
    pub errors: Vec<ShellError>,
    /// `#` comments of the script itself (not of `sh -c` strings or heredocs).
    pub comments: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ShellError {
    pub span: Span,
    pub kind: ShellErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShellErrorKind {
    #[error("{0}")]
    Syntax(WordsErrorKind),
    /// A malformed option value (`-p 80a:80`, `--gpus bogus=1`).
    #[error("{message}")]
    InvalidValue { message: String },
    #[error("`{subcommand}` without an image")]
    MissingImage { subcommand: String },
}

/// Parses a shell script (`*.sh`, `*.bash`, a file with a shell shebang).
pub fn parse_script(file: FileId, text: &str) -> ShellScan {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut scanner = Scanner::new(file, text, SplitOptions::SHELL, ScriptVars::default());
    scanner.scan_range(start, text.len());
    scanner.scan
}

/// The variables a scan knows; a script's change as it goes, a Makefile's are fixed.
trait Env: VarLookup {
    fn assign(&mut self, name: &str, value: VarValue);
    fn forget(&mut self, name: &str);
}

#[derive(Default)]
struct ScriptVars(HashMap<String, VarValue>);

impl VarLookup for ScriptVars {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        self.0.get(name).cloned()
    }
}

impl Env for ScriptVars {
    fn assign(&mut self, name: &str, value: VarValue) {
        // A value grown past the limit (`X=$X$X` repeated) is not kept.
        if value.text.len() > MAX_VALUE_LEN {
            self.0.remove(name);
            return;
        }
        self.0.insert(name.to_string(), value);
    }

    fn forget(&mut self, name: &str) {
        self.0.remove(name);
    }
}

struct Scanner<'t, E> {
    file: FileId,
    text: &'t str,
    opts: SplitOptions,
    env: E,
    scan: ShellScan,
    depth: usize,
    branches: branches::Branches,
    /// Reading a command again for one candidate value of a branch-assigned variable.
    in_candidate: bool,
}

impl<'t, E: Env> Scanner<'t, E> {
    fn new(file: FileId, text: &'t str, opts: SplitOptions, env: E) -> Scanner<'t, E> {
        Scanner {
            file,
            text,
            opts,
            env,
            scan: ShellScan::default(),
            depth: 0,
            branches: branches::Branches::default(),
            in_candidate: false,
        }
    }

    fn error(&mut self, span: Span, kind: ShellErrorKind) {
        self.scan.errors.push(ShellError { span, kind });
    }

    /// Scans `text[start..end]` as a sequence of commands.
    fn scan_range(&mut self, start: usize, end: usize) {
        let text = self.text;
        let Some(slice) = text.get(start..end) else {
            return;
        };
        let mut lexer = Lexer::new(self.file, slice, start, self.opts);
        self.drive(&mut lexer);
        self.scan.comments.extend(lexer.take_comments());
    }

    /// Splits the lexer's tokens into simple commands and looks at each.
    fn drive(&mut self, lexer: &mut Lexer<'_>) {
        let mut command: Vec<Word> = Vec::new();
        let mut redirect_target = false;
        loop {
            let Some(item) = lexer.next_word(&self.env) else {
                self.flow_and_command(command, None);
                return;
            };
            match item {
                Ok(word) => match word.kind {
                    // The word after a redirection is its target, not an argument.
                    WordKind::Word if redirect_target => redirect_target = false,
                    WordKind::Word => command.push(word),
                    WordKind::Redirect(_) => redirect_target = true,
                    WordKind::HeredocBody => {}
                    WordKind::Operator(op) => {
                        redirect_target = false;
                        self.flow_and_command(std::mem::take(&mut command), Some(op));
                    }
                },
                Err(error) => {
                    let complete = error.kind.is_recoverable();
                    self.error(error.span, ShellErrorKind::Syntax(error.kind));
                    if complete {
                        self.command(std::mem::take(&mut command));
                    } else {
                        command.clear();
                    }
                    redirect_target = false;
                }
            }
        }
    }

    /// A command with the `if`/`case` block structure around it tracked (top level only:
    /// the blocks of `sh -c` scripts and `$(...)` are not followed).
    fn flow_and_command(&mut self, words: Vec<Word>, op: Option<crate::parse::words::Operator>) {
        if self.depth > 0 {
            self.command(words);
            return;
        }
        if let Some(ended) = self.branches.before_command(&words)
            && self.branches.in_block()
        {
            let env = &self.env;
            ended.propagate(&mut self.branches, |name| env.lookup(name));
        }
        let last = words.last().cloned();
        self.command(words);
        self.branches.after_command(last.as_ref(), op);
    }

    /// Assigns a variable, noting it in the enclosing `if`/`case` branch.
    fn assign(&mut self, name: &str, value: VarValue) {
        if self.depth == 0 {
            let prior = self.env.lookup(name);
            self.branches.assigned(name, &value, prior);
        }
        self.env.assign(name, value);
    }

    fn forget(&mut self, name: &str) {
        if self.depth == 0 {
            self.branches.forget(name);
        }
        self.env.forget(name);
    }

    fn command(&mut self, words: Vec<Word>) {
        // `then IMG=x`, `else IMG=y`, `do X=1`: the command starts after the reserved word.
        let reserved = words
            .iter()
            .take_while(|w| w.is_plain() && matches!(w.text.as_str(), "then" | "else" | "do" | "{"))
            .count();
        let words: Vec<Word> = words.into_iter().skip(reserved).collect();
        if words.is_empty() {
            return;
        }
        for word in &words {
            for assignment in &word.assignments {
                self.assign(&assignment.name, assignment.value.clone());
            }
        }
        // Command substitutions run before the command they are part of.
        self.nested(&words);
        let assignments = words
            .iter()
            .take_while(|w| w.assignment().is_some())
            .count();
        if assignments == words.len() {
            for word in &words {
                self.assign_word(word);
            }
            return;
        }
        let Some(start) = skip_prefixes(&words, assignments) else {
            return;
        };
        let Some(program) = words.get(start) else {
            return;
        };
        let rest = words.get(start + 1..).unwrap_or(&[]);
        let name = program.text.rsplit('/').next().unwrap_or("");
        match name {
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for word in rest {
                    if word.assignment().is_some() {
                        self.assign_word(word);
                    } else if name == "local" && is_name(&word.text) {
                        self.forget(&word.text);
                    }
                }
            }
            "unset" | "read" | "mapfile" | "readarray" => {
                for word in rest.iter().filter(|w| is_name(&w.text)) {
                    self.forget(&word.text);
                }
            }
            "for" | "select" => {
                if let Some(var) = rest.first() {
                    self.forget(&var.text);
                }
            }
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" => self.shell_c(rest),
            "docker-compose" | "podman-compose" if program.is_resolved() => {
                self.scan
                    .composes
                    .extend(compose::parse(&words, start, start + 1));
            }
            _ => {
                if program.is_resolved()
                    && let Some(engine) = Engine::from_program(&program.text)
                {
                    self.engine_command(engine, &words, start);
                }
            }
        }
    }

    fn assign_word(&mut self, word: &Word) {
        if let Some((name, range)) = word.assignment() {
            let value = word.slice(range);
            self.assign(name, VarValue::from_word(&value));
        }
    }

    /// Runs inside `$(...)` and backticks.
    fn nested(&mut self, words: &[Word]) {
        if self.depth >= NESTING_LIMIT {
            return;
        }
        let mut seen = HashSet::new();
        for word in words {
            for expansion in &word.expansions {
                if let ExpansionKind::Command { body } = &expansion.kind
                    && body.file == self.file
                    && seen.insert((body.start, body.end))
                {
                    self.depth += 1;
                    self.scan_range(body.start, body.end);
                    self.depth -= 1;
                }
            }
        }
    }

    /// `sh -c "script"`, `bash -lc '...'`: the script is scanned too.
    fn shell_c(&mut self, args: &[Word]) {
        if self.depth >= NESTING_LIMIT {
            return;
        }
        let mut script = None;
        for (i, word) in args.iter().enumerate() {
            let text = word.text.as_str();
            if !text.starts_with('-') || text.starts_with("--") {
                break;
            }
            if text.contains('c') {
                script = args.get(i + 1);
                break;
            }
        }
        let Some(script) = script.cloned() else {
            return;
        };
        let mut lexer = Lexer::with_map(&script.text, script.source_map(), self.opts);
        self.depth += 1;
        self.drive(&mut lexer);
        self.depth -= 1;
    }

    /// `docker [global options] run|create|container run|build|buildx build ...`.
    fn engine_command(&mut self, engine: Engine, words: &[Word], start: usize) {
        let mut i = start + 1;
        while let Some(word) = words.get(i) {
            let text = word.text.as_str();
            if text.len() > 1 && text.starts_with('-') {
                i += 1;
                if !text.contains('=') && global_takes_value(text) {
                    i += 1;
                }
            } else if run::is_opaque(word) && words.get(i + 1).is_some_and(is_subcommand) {
                // `docker $DOCKER_OPTS run`: unknown global options.
                i += 1;
            } else {
                break;
            }
        }
        let sub = |k: usize| words.get(k).map(|w| w.text.as_str());
        match (sub(i), sub(i + 1)) {
            (Some("run"), _) => self.run(engine, words, start, i, Subcommand::Run),
            (Some("create"), _) => self.run(engine, words, start, i, Subcommand::Create),
            (Some("container"), Some("run")) => {
                self.run(engine, words, start, i + 1, Subcommand::Run);
            }
            (Some("container"), Some("create")) => {
                self.run(engine, words, start, i + 1, Subcommand::Create);
            }
            (Some("build"), _) => self.build(engine, words, start, i),
            (Some("compose"), _) => {
                self.scan
                    .composes
                    .extend(compose::parse(words, start, i + 1));
            }
            (Some("buildx" | "image" | "builder"), Some("build")) => {
                self.build(engine, words, start, i + 1);
            }
            _ => {}
        }
    }

    fn run(
        &mut self,
        engine: Engine,
        words: &[Word],
        program: usize,
        sub: usize,
        subcommand: Subcommand,
    ) {
        let (Some(program_word), Some(sub_word)) = (words.get(program), words.get(sub)) else {
            return;
        };
        let parsed = run::parse_options(flags::RUN_FLAGS, words.get(sub + 1..).unwrap_or(&[]));
        let span = words
            .last()
            .map_or(program_word.span, |last| program_word.span.join(last.span));
        let run = ContainerRun {
            engine,
            program: program_word.clone(),
            subcommand,
            subcommand_span: sub_word.span,
            options: parsed.options,
            unresolved_options: parsed.unresolved_options,
            image: parsed.positional,
            args: parsed.rest,
            span,
            identity: None,
        };
        for error in parsed.errors.into_iter().chain(run::validate(&run)) {
            self.error(
                error.span,
                ShellErrorKind::InvalidValue {
                    message: error.message,
                },
            );
        }
        if run.image.is_none() && run.unresolved_options.is_empty() {
            self.error(
                sub_word.span,
                ShellErrorKind::MissingImage {
                    subcommand: sub_word.text.clone(),
                },
            );
        }
        self.scan.runs.push(run);
        if !self.in_candidate && self.depth == 0 {
            self.candidate_runs(words, program);
        }
    }

    /// The command read again once per candidate value of the branch-assigned variables it
    /// uses (see [`branches`]): one run per image the script may start.
    fn candidate_runs(&mut self, words: &[Word], program: usize) {
        let Some(first_run) = self.scan.runs.len().checked_sub(1) else {
            return;
        };
        let mut names: Vec<String> = Vec::new();
        for word in words.get(program..).unwrap_or(&[]) {
            for e in &word.expansions {
                if let ExpansionKind::Variable { name } = &e.kind
                    && self.branches.candidates(name).is_some()
                    && !names.contains(name)
                {
                    names.push(name.clone());
                }
            }
        }
        if names.is_empty() {
            return;
        }
        // Every combination of candidate values, the one already read excepted.
        let mut combos: Vec<Vec<(String, VarValue)>> = vec![Vec::new()];
        for name in &names {
            let values = self.branches.candidates(name).unwrap_or(&[]).to_vec();
            combos = combos
                .into_iter()
                .flat_map(|combo| {
                    values.iter().map(move |v| {
                        let mut c = combo.clone();
                        c.push((name.clone(), v.clone()));
                        c
                    })
                })
                .take(branches::MAX_CANDIDATES)
                .collect();
        }
        let current: Vec<Option<String>> = names
            .iter()
            .map(|n| self.env.lookup(n).map(|v| v.text))
            .collect();
        let (Some(first), Some(last)) = (words.get(program), words.last()) else {
            return;
        };
        let (start, end) = (first.span.start, last.span.end);
        if first.span.file != self.file || self.text.get(start..end).is_none() {
            return;
        }
        self.in_candidate = true;
        for combo in combos {
            let same = combo
                .iter()
                .zip(&current)
                .all(|((_, v), c)| c.as_deref() == Some(v.text.as_str()));
            if same {
                continue;
            }
            let overrides: HashMap<String, VarValue> = combo.into_iter().collect();
            let text = self.text;
            let env = &self.env;
            let lookup = crate::parse::words::FnLookup(|name: &str| {
                overrides.get(name).cloned().or_else(|| env.lookup(name))
            });
            let mut lexer = Lexer::new(self.file, &text[start..end], start, self.opts);
            let mut again = Vec::new();
            let mut redirect_target = false;
            while let Some(Ok(word)) = lexer.next_word(&lookup) {
                match word.kind {
                    WordKind::Word if redirect_target => redirect_target = false,
                    WordKind::Word => again.push(word),
                    WordKind::Redirect(_) => redirect_target = true,
                    _ => {}
                }
            }
            if let Some(engine) = again.first().and_then(|p| Engine::from_program(&p.text)) {
                self.engine_command(engine, &again, 0);
            }
        }
        self.in_candidate = false;
        // The runs of one command share its identity; an image that is exactly a candidate
        // variable points at the assignment that gives it.
        for run in self.scan.runs.get_mut(first_run..).unwrap_or(&mut []) {
            run.identity = run.image.as_ref().map(|i| {
                self.text
                    .get(i.span.start..i.span.end)
                    .unwrap_or(&i.text)
                    .to_string()
            });
            if let Some(image) = &run.image
                && let [e] = image.expansions.as_slice()
                && e.text == (0..image.text.len())
                && let ExpansionKind::Variable { name } = &e.kind
                && names.contains(name)
                && let crate::parse::words::Resolution::Resolved {
                    defined_at: Some(at),
                } = e.resolution
            {
                run.image = Some(Word::literal_at(image.text.clone(), at));
            }
        }
    }

    fn build(&mut self, engine: Engine, words: &[Word], program: usize, sub: usize) {
        let Some(program_word) = words.get(program) else {
            return;
        };
        let parsed = run::parse_options(flags::BUILD_FLAGS, words.get(sub + 1..).unwrap_or(&[]));
        for error in parsed.errors {
            self.error(
                error.span,
                ShellErrorKind::InvalidValue {
                    message: error.message,
                },
            );
        }
        let span = words
            .last()
            .map_or(program_word.span, |last| program_word.span.join(last.span));
        self.scan.builds.push(ImageBuild {
            engine,
            program: program_word.clone(),
            options: parsed.options,
            unresolved_options: parsed.unresolved_options,
            context: parsed.positional,
            span,
        });
    }
}

fn is_subcommand(word: &Word) -> bool {
    matches!(
        word.text.as_str(),
        "run" | "create" | "container" | "build" | "buildx" | "image" | "builder"
    )
}

fn global_takes_value(text: &str) -> bool {
    let spec = match text.strip_prefix("--") {
        Some(long) => flags::long(flags::GLOBAL_FLAGS, long),
        None => text
            .strip_prefix('-')
            .filter(|s| s.chars().count() == 1)
            .and_then(|s| s.chars().next())
            .and_then(|c| flags::short(flags::GLOBAL_FLAGS, c)),
    };
    matches!(spec, Some((_, _, flags::Arity::Value)))
}

/// The index of the word that names the command, past reserved words (`then`, `do`, `!`)
/// and wrappers that run their arguments as a command (`sudo`, `exec`, `env`, `nohup`,
/// `time`, `nice`, `timeout`, `command`). `None` when it is no command (`command -v`).
fn skip_prefixes(words: &[Word], mut i: usize) -> Option<usize> {
    let text = |k: usize| words.get(k).map_or("", |w| w.text.as_str());
    loop {
        match text(i) {
            "if" | "then" | "elif" | "else" | "do" | "while" | "until" | "!" | "{" | "time"
            | "coproc" | "nohup" | "builtin" => i += 1,
            "exec" => {
                i += 1;
                while text(i).starts_with('-') {
                    i += if text(i) == "-a" { 2 } else { 1 };
                }
            }
            "command" => {
                i += 1;
                match text(i) {
                    "-v" | "-V" => return None,
                    "-p" => i += 1,
                    _ => {}
                }
            }
            "sudo" | "doas" => {
                i += 1;
                loop {
                    let option = text(i);
                    if option == "--" {
                        i += 1;
                        break;
                    }
                    if !option.starts_with('-') {
                        break;
                    }
                    let with_value = matches!(
                        option,
                        "-u" | "-g"
                            | "-C"
                            | "-D"
                            | "-h"
                            | "-p"
                            | "-r"
                            | "-t"
                            | "-U"
                            | "-T"
                            | "--user"
                            | "--group"
                            | "--chdir"
                            | "--prompt"
                    );
                    i += if with_value { 2 } else { 1 };
                }
                while words.get(i).is_some_and(|w| w.assignment().is_some()) {
                    i += 1;
                }
            }
            "env" => {
                i += 1;
                loop {
                    let option = text(i);
                    if matches!(option, "-u" | "-C" | "--unset" | "--chdir") {
                        i += 2;
                    } else if option.starts_with('-')
                        || words.get(i).is_some_and(|w| w.assignment().is_some())
                    {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            "nice" => {
                i += 1;
                if text(i) == "-n" {
                    i += 2;
                } else if text(i).starts_with('-') {
                    i += 1;
                }
            }
            "timeout" => {
                i += 1;
                while text(i).starts_with('-') {
                    i += if matches!(text(i), "-s" | "-k" | "--signal" | "--kill-after") {
                        2
                    } else {
                        1
                    };
                }
                // The duration.
                i += 1;
            }
            _ => return words.get(i).map(|_| i),
        }
    }
}
