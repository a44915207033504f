//! Command lines of Python programs that start Triton, read as Python's `argparse` reads them
//! (`--opt value`, `--opt=value`, a unique prefix of a long option, `-x` short options,
//! options that take several values), so their options can be mapped onto Triton settings.

use crate::model::launch::{Fact, InvalidFlag};
use crate::model::server::ArgWord;
use crate::source::Span;

/// One option of a parser.
pub struct Opt {
    /// The long name without `--`.
    pub name: &'static str,
    pub short: Option<&'static str>,
    /// How many values follow it (0 for a flag).
    pub nargs: usize,
}

impl Opt {
    pub const fn flag(name: &'static str) -> Opt {
        Opt {
            name,
            short: None,
            nargs: 0,
        }
    }

    pub const fn value(name: &'static str) -> Opt {
        Opt {
            name,
            short: None,
            nargs: 1,
        }
    }
}

/// An option as given: its values and where it is written (the option and its values).
#[derive(Clone, Debug)]
pub struct Given {
    pub name: &'static str,
    pub values: Vec<ArgWord>,
    pub span: Option<Span>,
}

/// The options given, in order, and the arguments the parser rejects (it prints `program:
/// error: ...` and exits with status 2). `program` names the program in messages.
pub fn parse(
    opts: &'static [Opt],
    args: &[ArgWord],
    program: &str,
) -> (Vec<Given>, Vec<Fact<InvalidFlag>>) {
    let mut given = Vec::new();
    let mut errors = Vec::new();
    // argparse reports every argument it could not use in one message.
    let mut unrecognized: Vec<&ArgWord> = Vec::new();
    let mut i = 0;
    while let Some(word) = args.get(i) {
        i += 1;
        let text = word.text.as_str();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (text, None),
        };
        let opt = if let Some(long) = name.strip_prefix("--") {
            match resolve(opts, long) {
                Ok(o) => o,
                Err(message) if message.starts_with("unrecognized") => {
                    unrecognized.push(word);
                    continue;
                }
                Err(message) => {
                    // argparse exits at its first error of this kind.
                    errors.push(error(word, program, message));
                    return (given, errors);
                }
            }
        } else if let Some(o) = opts.iter().find(|o| o.short == Some(name)) {
            o
        } else {
            // A word the program cannot read (`$EXTRA_ARGS`) may be anything.
            if !word.unresolved {
                unrecognized.push(word);
            }
            continue;
        };
        let mut values = Vec::new();
        if let Some(v) = inline.filter(|_| opt.nargs > 0) {
            let start = word.text.len() - v.len();
            let mut value = ArgWord::new(v, word.subspan(start, word.text.len()));
            value.unresolved = word.unresolved;
            values.push(value);
        } else if inline.is_some() {
            errors.push(error(
                word,
                program,
                format!(
                    "argument --{}: ignored explicit argument '{}'",
                    opt.name,
                    inline.unwrap_or_default()
                ),
            ));
            return (given, errors);
        }
        while values.len() < opt.nargs {
            match args.get(i) {
                Some(next) if !next.text.starts_with("--") || next.unresolved => {
                    values.push(next.clone());
                    i += 1;
                }
                _ => break,
            }
        }
        if values.len() < opt.nargs {
            let expected = if opt.nargs == 1 {
                "expected one argument".to_string()
            } else {
                format!("expected {} arguments", opt.nargs)
            };
            errors.push(error(
                word,
                program,
                format!("argument --{}: {expected}", opt.name),
            ));
            return (given, errors);
        }
        let span = values
            .iter()
            .filter_map(|v| v.span)
            .fold(word.span, |acc, s| match acc {
                Some(a) if a.file == s.file && s.start >= a.start => Some(a.join(s)),
                other => other,
            });
        given.push(Given {
            name: opt.name,
            values,
            span,
        });
    }
    if let Some(first) = unrecognized.first() {
        let mut flag = error(
            first,
            program,
            format!(
                "unrecognized arguments: {}",
                unrecognized
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
        flag.span =
            unrecognized
                .iter()
                .filter_map(|w| w.span)
                .fold(first.span, |acc, s| match acc {
                    Some(a)
                        if a.file == s.file
                            && s.start >= a.start
                            && s.start.saturating_sub(a.end) < 200 =>
                    {
                        Some(a.join(s))
                    }
                    other => other,
                });
        errors.push(flag);
    }
    (given, errors)
}

/// `--name` as argparse resolves it: an exact option, or the one option it is a prefix of.
fn resolve(opts: &'static [Opt], long: &str) -> Result<&'static Opt, String> {
    if let Some(o) = opts.iter().find(|o| o.name == long) {
        return Ok(o);
    }
    let matches: Vec<&Opt> = opts
        .iter()
        .filter(|o| !long.is_empty() && o.name.starts_with(long))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("unrecognized arguments: --{long}")),
        many => Err(format!(
            "ambiguous option: --{long} could match {}",
            many.iter()
                .map(|o| format!("--{}", o.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A rejected argument, reported like a rejected tritonserver flag (Triton never starts).
pub fn error(word: &ArgWord, program: &str, message: String) -> Fact<InvalidFlag> {
    Fact::known(
        InvalidFlag {
            arg: word.text.clone(),
            reason: "launcher-argument".to_string(),
            message: format!("{program}: error: {message}"),
            suggestion: None,
        },
        word.span,
    )
}

/// The last use of an option.
pub fn last<'g>(given: &'g [Given], name: &str) -> Option<&'g Given> {
    given.iter().rev().find(|g| g.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::value("model-repository"),
        Opt::value("model-control-mode"),
        Opt::flag("enable-kserve-frontends"),
        Opt {
            name: "openai-restricted-api",
            short: None,
            nargs: 3,
        },
    ];

    fn words(line: &str) -> Vec<ArgWord> {
        line.split(' ').map(|w| ArgWord::new(w, None)).collect()
    }

    #[test]
    fn prefixes_inline_values_and_several_values() {
        let (given, errors) = parse(
            OPTS,
            &words(
                "--model-repo=/m --enable-kserve --openai-restricted-api inference k v --model x",
            ),
            "main.py",
        );
        assert_eq!(given.len(), 3);
        assert_eq!(given[0].name, "model-repository");
        assert_eq!(given[0].values[0].text, "/m");
        assert_eq!(given[2].values.len(), 3);
        assert_eq!(
            errors.len(),
            1,
            "--model is ambiguous, and argparse stops there"
        );
        let message = errors[0]
            .value
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(message.starts_with("main.py: error: ambiguous option: --model"));
    }
}
