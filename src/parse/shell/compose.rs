//! `docker compose` / `docker-compose` / `podman compose` commands that start a project
//! (`up`, `run`, `create`, `start`): the compose files they name with `-f`/`--file`, in order
//! (compose merges them in that order and then reads no default override file), and the
//! `--env-file`s that replace the project folder's `.env` for interpolation.

use crate::parse::words::Word;
use crate::source::Span;

/// One compose command that starts containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposeRun {
    /// `-f`/`--file` values in order; empty when the default files are used.
    pub files: Vec<Word>,
    /// `--env-file` values in order.
    pub env_files: Vec<Word>,
    /// `--project-directory`, when given.
    pub project_directory: Option<Word>,
    /// From the program word to the last word of the command.
    pub span: Span,
}

/// Compose's own options (before the subcommand) that take a value.
const VALUE_OPTIONS: &[&str] = &[
    "-f",
    "--file",
    "--env-file",
    "--project-directory",
    "-p",
    "--project-name",
    "--profile",
    "--ansi",
    "--progress",
    "--parallel",
];

/// Subcommands that create or start the project's containers.
const STARTS: &[&str] = &["up", "run", "create", "start", "restart"];

/// Reads `words[first..]` (after `docker compose` or `docker-compose`) as compose's options
/// and subcommand; `None` unless the subcommand starts containers.
pub fn parse(words: &[Word], program: usize, first: usize) -> Option<ComposeRun> {
    let program_word = words.get(program)?;
    let mut run = ComposeRun {
        files: Vec::new(),
        env_files: Vec::new(),
        project_directory: None,
        span: words
            .last()
            .map_or(program_word.span, |last| program_word.span.join(last.span)),
    };
    let mut i = first;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        if !text.starts_with('-') || text == "-" {
            return STARTS.contains(&text).then_some(run);
        }
        let (name, inline) = match text.split_once('=') {
            Some((name, _)) if name.starts_with("--") => (name, true),
            _ => match text
                .strip_prefix("-f")
                .filter(|v| !v.is_empty() && !text.starts_with("--"))
            {
                // `-fcompose.yaml`: pflag's attached short value.
                Some(_) => ("-f", true),
                None => (text, false),
            },
        };
        let value = if inline {
            let at = if name == "-f" { 2 } else { name.len() + 1 };
            Some(word.slice(at..word.text.len()))
        } else if VALUE_OPTIONS.contains(&name) {
            i += 1;
            words.get(i).cloned()
        } else {
            None
        };
        match (name, value) {
            ("-f" | "--file", Some(v)) => run.files.push(v),
            ("--env-file", Some(v)) => run.env_files.push(v),
            ("--project-directory", Some(v)) => run.project_directory = Some(v),
            _ => {}
        }
        i += 1;
    }
    None
}
