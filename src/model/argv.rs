//! Finding the `tritonserver` invocation in a container's command line: directly, behind an
//! entrypoint wrapper, or inside a `sh -c "..."` script.

use std::collections::BTreeMap;

pub use crate::model::invocation::{Invocation, Program, Worker};
use crate::model::launch::{Fact, InvalidFlag};
use crate::model::launchers;
use crate::model::openai_frontend;
use crate::model::server::ArgWord;
use crate::parse::words::{FnLookup, Lexer, Operator, SplitOptions, Word, WordKind};
use crate::source::{FileId, Span};

/// Programs that run their arguments as a command (`exec tritonserver ...`).
const WRAPPERS: &[&str] = &[
    "exec",
    "env",
    "tini",
    "dumb-init",
    "nvidia_entrypoint.sh",
    "catatonit",
    "nohup",
    "stdbuf",
    "taskset",
    "numactl",
    "gosu",
    "su-exec",
    "--",
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

pub fn is_tritonserver(word: &str) -> bool {
    basename(word) == "tritonserver"
}

/// The argv after `tritonserver`, if `words` (command and args together) start it.
pub fn find_tritonserver(
    words: &[ArgWord],
    env: &BTreeMap<String, Option<String>>,
) -> Option<Vec<ArgWord>> {
    find_invocation(words, env).map(|i| i.argv)
}

/// How `words` (command and args together) start Triton, if they do.
pub fn find_invocation(
    words: &[ArgWord],
    env: &BTreeMap<String, Option<String>>,
) -> Option<Invocation> {
    let mut rest = words;
    loop {
        let first = rest.first()?;
        let name = basename(&first.text);
        if is_tritonserver(&first.text) {
            return Some(Invocation::tritonserver(rest[1..].to_vec()));
        }
        if SHELLS.contains(&name) {
            return from_shell(&rest[1..], env);
        }
        if launchers::MPI_LAUNCHERS.contains(&name) {
            return from_mpi(&rest[1..], env);
        }
        if WRAPPERS.contains(&name)
            || name.contains('=') && name != "=" && !first.text.starts_with('-')
        {
            rest = &rest[1..];
            // gosu/su-exec take a user before the command; env takes assignments.
            if matches!(name, "gosu" | "su-exec") {
                rest = rest.get(1..).unwrap_or(&[]);
            }
            continue;
        }
        // A launcher script (`python3 .../launch_triton_server.py ...`) builds the command.
        if let Some(at) = rest
            .iter()
            .position(|w| basename(&w.text) == launchers::LAUNCH_SCRIPT)
        {
            let launch = launchers::launch_script(&rest[at], &rest[at + 1..]);
            return Some(Invocation {
                program: Program::Tritonserver,
                argv: launch.argv,
                workers: launch.workers,
                launcher_errors: launch.errors,
            });
        }
        if let Some(at) = rest
            .iter()
            .position(|w| openai_frontend::is_frontend(&w.text))
        {
            return Some(Invocation {
                program: Program::OpenAiFrontend,
                argv: rest[at + 1..].to_vec(),
                workers: Vec::new(),
                launcher_errors: Vec::new(),
            });
        }
        // Anything else (a script, another program) may still pass through to tritonserver
        // later on its command line.
        let at = rest.iter().position(|w| is_tritonserver(&w.text))?;
        return Some(Invocation::tritonserver(rest[at + 1..].to_vec()));
    }
}

/// `mpirun ... : ...`: rank 0's tritonserver is the launch; the other segments that run
/// tritonserver are its workers.
fn from_mpi(args: &[ArgWord], env: &BTreeMap<String, Option<String>>) -> Option<Invocation> {
    let mut found: Option<Invocation> = None;
    for (rank, segment) in launchers::mpi_segments(args) {
        let start = segment
            .iter()
            .position(|w| !w.text.starts_with('-') && !is_mpi_option_value(&segment, w));
        let Some(invocation) = start.and_then(|s| find_invocation(&segment[s..], env)) else {
            continue;
        };
        match &mut found {
            None => found = Some(invocation),
            Some(main) => {
                main.workers.push(Worker {
                    rank,
                    argv: invocation.argv,
                });
                main.workers.extend(invocation.workers);
                main.launcher_errors.extend(invocation.launcher_errors);
            }
        }
    }
    found
}

/// Whether `word` is the value of the mpirun option before it (`-n 1`, `-x VAR`).
fn is_mpi_option_value(segment: &[ArgWord], word: &ArgWord) -> bool {
    let Some(at) = segment.iter().position(|w| std::ptr::eq(w, word)) else {
        return false;
    };
    at.checked_sub(1)
        .and_then(|p| segment.get(p))
        .is_some_and(|prev| MPI_VALUE_OPTIONS.contains(&prev.text.as_str()))
        || at
            .checked_sub(2)
            .and_then(|p| segment.get(p))
            .is_some_and(|prev| MPI_TWO_VALUE_OPTIONS.contains(&prev.text.as_str()))
}

/// Open MPI and MPICH (Hydra) options that take a value.
const MPI_VALUE_OPTIONS: &[&str] = &[
    "-n",
    "-np",
    "--np",
    "--n",
    "-c",
    "-N",
    "-H",
    "-host",
    "--host",
    "-hosts",
    "--hostfile",
    "-hostfile",
    "--machinefile",
    "-machinefile",
    "-f",
    "-x",
    "--map-by",
    "-map-by",
    "--bind-to",
    "-bind-to",
    "--rank-by",
    "-wdir",
    "--wdir",
    "-path",
    "--path",
    "--prefix",
    "--output-filename",
    "-output-filename",
    "-ppn",
    "-envlist",
    "--tag-output-format",
];

/// Options that take two values (`--mca name value`, `-genv NAME value`).
const MPI_TWO_VALUE_OPTIONS: &[&str] = &["--mca", "-mca", "--gmca", "-gmca", "-genv", "-env"];

/// `sh [-opts] -c SCRIPT`: the tritonserver command inside SCRIPT.
fn from_shell(args: &[ArgWord], env: &BTreeMap<String, Option<String>>) -> Option<Invocation> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let t = arg.text.as_str();
        if t.starts_with('-') && !t.starts_with("--") && t.contains('c') {
            let script = args.get(i + 1)?;
            return script_command_invocation(script, env);
        }
        if t.starts_with('-') {
            i += 1;
            continue;
        }
        // `sh script.sh`: a file we cannot see here.
        return None;
    }
    None
}

/// The tritonserver command inside a shell script held in one argv word (`sh -c SCRIPT`),
/// read with the shell's own rules (quotes, escapes, `\`-newline continuations, variables
/// from `env`); its words keep exact spans wherever the script text maps to the source.
pub fn script_invocation(
    script: &ArgWord,
    env: &BTreeMap<String, Option<String>>,
) -> Option<Vec<ArgWord>> {
    script_command_invocation(script, env).map(|i| i.argv)
}

fn script_command_invocation(
    script: &ArgWord,
    env: &BTreeMap<String, Option<String>>,
) -> Option<Invocation> {
    let commands = script_commands(script, env);
    let (at, mut invocation) = commands
        .iter()
        .enumerate()
        .find_map(|(i, command)| find_invocation(&command.words, env).map(|inv| (i, inv)))?;
    // Flags on the next line after a command that ended at its line end are a command of
    // their own: tritonserver starts without them.
    // (Unless the command's last word already explains why it ended: one cause, one finding.)
    if invocation.program == Program::Tritonserver
        && commands[at].ended_by_line_break
        && commands[at].words.last().is_some_and(|w| w.note.is_none())
        && let Some(next) = commands.get(at + 1).and_then(|c| c.words.first())
        && next.text.starts_with("--")
    {
        let last = commands[at].words.last().map_or("", |w| w.text.as_str());
        invocation.launcher_errors.push(Fact::known(
            InvalidFlag {
                arg: next.text.clone(),
                reason: "split-command".to_string(),
                message: format!(
                    "the tritonserver command ends at the line end after `{last}`: `{}` on the \
                     next line runs as a command of its own, and tritonserver starts without it",
                    next.text.trim()
                ),
                suggestion: None,
            },
            next.span,
        ));
    }
    Some(invocation)
}

/// One simple command of a script.
pub struct ScriptCommand {
    pub words: Vec<ArgWord>,
    /// The command ended at a line end (not at `;`, `&&`, `|`...).
    pub ended_by_line_break: bool,
}

/// The simple commands of a script (split at `;`, `&&`, `||`, `|`, `&` and line ends), each
/// as argv words; redirections and their targets are left out.
pub fn script_commands(
    script: &ArgWord,
    env: &BTreeMap<String, Option<String>>,
) -> Vec<ScriptCommand> {
    let source_word = script
        .to_word()
        .unwrap_or_else(|| Word::synthetic(script.text.clone(), Span::new(FileId(0), 0, 0)));
    let lookup = FnLookup(|name: &str| match env.get(name) {
        Some(Some(value)) => Some(crate::parse::words::VarValue::new(value.clone())),
        // Set to a value not known here (a Secret, an env file that was not read): not the
        // default of `${NAME:-default}`.
        Some(None) => Some(crate::parse::words::VarValue {
            partial: true,
            ..crate::parse::words::VarValue::new(format!("${{{name}}}"))
        }),
        None => None,
    });
    let mut lexer = Lexer::with_map(&script.text, source_word.source_map(), SplitOptions::SHELL);
    let mut commands: Vec<ScriptCommand> = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    let mut redirect_target = false;
    let mut finish = |current: &mut Vec<Word>, ended_by_line_break: bool| {
        let words = std::mem::take(current);
        if words.is_empty() {
            return;
        }
        let last = words.len() - 1;
        let argv = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut word = ArgWord::from(w);
                word.unresolved |= script.unresolved;
                word.note = continuation_note(w, i == last && ended_by_line_break);
                if script.span.is_none() {
                    word.span = None;
                    word.origin = None;
                }
                word
            })
            .collect();
        commands.push(ScriptCommand {
            words: argv,
            ended_by_line_break,
        });
    };
    while let Some(item) = lexer.next_word(&lookup) {
        match item {
            Ok(word) => match word.kind {
                WordKind::Word if redirect_target => redirect_target = false,
                WordKind::Word => current.push(word),
                WordKind::Redirect(_) => redirect_target = true,
                WordKind::HeredocBody => {}
                WordKind::Operator(op) => {
                    redirect_target = false;
                    finish(&mut current, op == Operator::Newline);
                }
            },
            // A syntax error drops the command it is in, as the shell would not run it.
            Err(_) => {
                current.clear();
                redirect_target = false;
            }
        }
    }
    finish(&mut current, false);
    commands
}

/// Why a word of a script starts with a blank the author likely did not mean: a `\` whose
/// line end YAML folded into a space (a `>` block or a multi-line flow scalar), or a `\`
/// followed by a space rather than by the line end.
fn continuation_note(word: &Word, before_line_break: bool) -> Option<String> {
    let first = word.text.chars().next()?;
    if !first.is_whitespace() || !word.quoted {
        return None;
    }
    if word.is_produced_at(0) {
        return Some(
            "a folded YAML scalar turned the line end after `\\` into a space, which the `\\` \
             escapes: the argument starts with a space"
                .to_string(),
        );
    }
    (before_line_break && word.text.trim().is_empty()).then(|| {
        "the `\\` escapes the space after it, not the line end: the space is an argument and \
         the line end ends the command"
            .to_string()
    })
}

/// Kubernetes' own `$(VAR)` expansion in command and args, from the container's env.
/// Returns the text and whether any reference could not be resolved.
pub fn expand_k8s_refs(text: &str, env: &BTreeMap<String, Option<String>>) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut unresolved = false;
    let mut rest = text;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('(') {
            match body.find(')') {
                Some(close) => {
                    let name = &body[..close];
                    match env.get(name) {
                        Some(Some(v)) => out.push_str(v),
                        // From a Secret or ConfigMap: unknown here; keep the reference visible.
                        Some(None) => {
                            unresolved = true;
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                        // An undefined reference stays as written.
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &body[close + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    (out, unresolved)
}

/// The span of the whole argv, for findings about flags that were left out.
pub fn argv_anchor(words: &[ArgWord]) -> Option<Span> {
    let mut spans = words.iter().filter_map(|w| w.span);
    let first = spans.next()?;
    Some(spans.fold(first, Span::join))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn env(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    fn texts(words: &[ArgWord]) -> Vec<&str> {
        words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn direct_and_wrapped_invocations() {
        let w = |t: &[&str]| t.iter().map(|s| ArgWord::new(*s, None)).collect::<Vec<_>>();
        let e = env(&[]);
        assert_eq!(
            find_tritonserver(&w(&["/opt/tritonserver/bin/tritonserver", "--a=b"]), &e)
                .map(|a| texts(&a).join(" ")),
            Some("--a=b".to_string())
        );
        assert_eq!(
            find_tritonserver(
                &w(&[
                    "/opt/nvidia/nvidia_entrypoint.sh",
                    "exec",
                    "tritonserver",
                    "--x"
                ]),
                &e
            )
            .map(|a| a.len()),
            Some(1)
        );
        assert_eq!(find_tritonserver(&w(&["python", "serve.py"]), &e), None);
    }

    #[test]
    fn shell_scripts_are_searched_with_exact_spans() {
        let source =
            "tritonserver --model-repository=/m --model-control-mode=explicit && echo done";
        let script = ArgWord::literal(source, Span::new(FileId(0), 100, 100 + source.len()));
        let words = vec![
            ArgWord::new("/bin/sh", None),
            ArgWord::new("-ec", None),
            script,
        ];
        let argv = find_tritonserver(&words, &env(&[])).unwrap_or_default();
        assert_eq!(
            texts(&argv),
            ["--model-repository=/m", "--model-control-mode=explicit"]
        );
        let span = argv[1].span.unwrap_or(Span::new(FileId(0), 0, 0));
        assert_eq!(
            &source[span.start - 100..span.end - 100],
            "--model-control-mode=explicit"
        );
    }

    #[test]
    fn shell_variables_expand_from_the_environment_or_stay_unresolved() {
        let e = env(&[("MODE", Some("explicit")), ("SECRET", None)]);
        let script = ArgWord::new(
            "tritonserver --model-control-mode=$MODE --x=${UNSET:-dflt} --y=\"$SECRET\" $(cat f)",
            Some(Span::new(FileId(0), 0, 0)),
        );
        let commands = script_commands(&script, &e);
        let words = &commands[0].words;
        assert_eq!(words[1].text, "--model-control-mode=explicit");
        assert!(!words[1].unresolved);
        assert_eq!(words[2].text, "--x=dflt");
        assert!(words[3].unresolved);
        assert!(words[4].unresolved);
    }

    #[test]
    fn continuations_join_lines_and_an_escaped_space_ends_the_command() {
        let source = "tritonserver \\\n  --a=1 \\ \n  --b=2";
        let script = ArgWord::literal(source, Span::new(FileId(0), 0, source.len()));
        let commands = script_commands(&script, &env(&[]));
        assert_eq!(texts(&commands[0].words), ["tritonserver", "--a=1", " "]);
        assert!(
            commands[0].words[2].note.is_some(),
            "the escaped space is explained"
        );
        assert_eq!(texts(&commands[1].words), ["--b=2"]);
    }

    #[test]
    fn kubernetes_references_expand_like_the_kubelet() {
        let e = env(&[("MODE", Some("poll")), ("TOKEN", None)]);
        assert_eq!(
            expand_k8s_refs("--model-control-mode=$(MODE)", &e),
            ("--model-control-mode=poll".to_string(), false)
        );
        assert_eq!(
            expand_k8s_refs("$$(MODE) $(UNDEFINED)", &e),
            ("$(MODE) $(UNDEFINED)".to_string(), false)
        );
        assert_eq!(
            expand_k8s_refs("--t=$(TOKEN)", &e),
            ("--t=$(TOKEN)".to_string(), true)
        );
    }
}
