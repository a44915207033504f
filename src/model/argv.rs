//! Finding the `tritonserver` invocation in a container's command line: directly, behind an
//! entrypoint wrapper, or inside a `sh -c "..."` script.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::model::server::ArgWord;
use crate::source::Span;

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
    let mut rest = words;
    loop {
        let first = rest.first()?;
        let name = basename(&first.text);
        if is_tritonserver(&first.text) {
            return Some(rest[1..].to_vec());
        }
        if SHELLS.contains(&name) {
            return from_shell(&rest[1..], env);
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
        // Anything else (a script, another program) may still pass through to tritonserver
        // later on its command line.
        let at = rest.iter().position(|w| is_tritonserver(&w.text))?;
        return Some(rest[at + 1..].to_vec());
    }
}

/// `sh [-opts] -c SCRIPT`: the tritonserver command inside SCRIPT.
fn from_shell(args: &[ArgWord], env: &BTreeMap<String, Option<String>>) -> Option<Vec<ArgWord>> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let t = arg.text.as_str();
        if t.starts_with('-') && !t.starts_with("--") && t.contains('c') {
            let script = args.get(i + 1)?;
            return script_invocation(script, env);
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

/// The tritonserver command inside a shell script held in one argv word; its words keep
/// exact spans where the script text is a literal copy of the source.
pub fn script_invocation(
    script: &ArgWord,
    env: &BTreeMap<String, Option<String>>,
) -> Option<Vec<ArgWord>> {
    for command in split_script(&script.text, env) {
        let words: Vec<ArgWord> = command
            .into_iter()
            .map(|w| {
                let span = script.subspan(w.raw.start, w.raw.end);
                let exact = !script.pieces.is_empty()
                    && (span != script.span || w.raw == (0..script.text.len()));
                ArgWord {
                    pieces: if exact && !w.unresolved && w.literal {
                        span.map(|s| vec![(0, s)]).unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    text: w.text,
                    span,
                    unresolved: w.unresolved || script.unresolved,
                    origin: None,
                }
            })
            .collect();
        if let Some(argv) = find_tritonserver(&words, env) {
            return Some(argv);
        }
    }
    None
}

/// A word of a shell script: its expanded text and where it is in the script text.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptWord {
    pub text: String,
    pub raw: Range<usize>,
    /// Depends on a variable or substitution the environment does not determine.
    pub unresolved: bool,
    /// The text equals the raw source (no quotes, escapes or expansions).
    pub literal: bool,
}

/// Splits a shell script into simple commands (at `;`, `&&`, `||`, `|`, `&` and newlines),
/// removing quotes and expanding `$VAR`/`${VAR}`/`${VAR:-default}` from `env`.
pub fn split_script(script: &str, env: &BTreeMap<String, Option<String>>) -> Vec<Vec<ScriptWord>> {
    let mut commands = Vec::new();
    let mut current: Vec<ScriptWord> = Vec::new();
    let mut word: Option<ScriptWord> = None;
    let chars: Vec<(usize, char)> = script.char_indices().collect();
    let mut i = 0;
    let end_of = |i: usize| chars.get(i).map(|(o, _)| *o).unwrap_or(script.len());
    macro_rules! start_word {
        ($at:expr) => {
            word.get_or_insert_with(|| ScriptWord {
                text: String::new(),
                raw: $at..$at,
                unresolved: false,
                literal: true,
            })
        };
    }
    while i < chars.len() {
        let (offset, c) = chars[i];
        match c {
            ' ' | '\t' | '\r' => {
                if let Some(w) = word.take() {
                    current.push(w);
                }
                i += 1;
            }
            '\n' | ';' | '&' | '|' => {
                if let Some(w) = word.take() {
                    current.push(w);
                }
                if !current.is_empty() {
                    commands.push(std::mem::take(&mut current));
                }
                i += 1;
            }
            '#' if word.is_none() => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '\\' => {
                let w = start_word!(offset);
                w.literal = false;
                if let Some((_, next)) = chars.get(i + 1)
                    && *next != '\n'
                {
                    w.text.push(*next);
                }
                i += 2;
                w.raw.end = end_of(i);
            }
            '\'' => {
                let w = start_word!(offset);
                w.literal = false;
                i += 1;
                while i < chars.len() && chars[i].1 != '\'' {
                    w.text.push(chars[i].1);
                    i += 1;
                }
                i += 1;
                w.raw.end = end_of(i).min(script.len());
            }
            '"' => {
                let w = start_word!(offset);
                w.literal = false;
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    let c = chars[i].1;
                    if c == '\\' && matches!(chars.get(i + 1), Some((_, '"' | '\\' | '$' | '`'))) {
                        w.text.push(chars[i + 1].1);
                        i += 2;
                    } else if c == '$' {
                        i = expand(&chars, i, script, env, w);
                    } else {
                        w.text.push(c);
                        i += 1;
                    }
                }
                i += 1;
                w.raw.end = end_of(i).min(script.len());
            }
            '$' => {
                let w = start_word!(offset);
                w.literal = false;
                i = expand(&chars, i, script, env, w);
                w.raw.end = end_of(i);
            }
            '`' => {
                let w = start_word!(offset);
                w.literal = false;
                w.unresolved = true;
                i += 1;
                while i < chars.len() && chars[i].1 != '`' {
                    i += 1;
                }
                i += 1;
                w.raw.end = end_of(i).min(script.len());
            }
            c => {
                let w = start_word!(offset);
                w.text.push(c);
                i += 1;
                w.raw.end = end_of(i);
            }
        }
    }
    if let Some(w) = word.take() {
        current.push(w);
    }
    if !current.is_empty() {
        commands.push(current);
    }
    commands
}

/// Expands the `$...` at `chars[i]` into `word`; returns the index after it.
fn expand(
    chars: &[(usize, char)],
    mut i: usize,
    script: &str,
    env: &BTreeMap<String, Option<String>>,
    word: &mut ScriptWord,
) -> usize {
    i += 1;
    let lookup = |name: &str| env.get(name).cloned().flatten();
    match chars.get(i).map(|(_, c)| *c) {
        Some('{') => {
            let start = i + 1;
            let mut depth = 1;
            i += 1;
            while i < chars.len() {
                match chars[i].1 {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            let body: String = chars
                .get(start..i.min(chars.len()))
                .unwrap_or(&[])
                .iter()
                .map(|(_, c)| *c)
                .collect();
            let (name, default) = match body.find([':', '-', '=', '+', '?']) {
                Some(p) => {
                    let rest = &body[p..];
                    let rest = rest.strip_prefix(':').unwrap_or(rest);
                    let default = rest
                        .strip_prefix('-')
                        .or_else(|| rest.strip_prefix('='))
                        .map(str::to_string);
                    (&body[..p], default)
                }
                None => (body.as_str(), None),
            };
            match lookup(name).filter(|v| !v.is_empty()).or(default) {
                Some(v) => word.text.push_str(&v),
                None => {
                    word.unresolved = true;
                    word.text.push_str("${");
                    word.text.push_str(&body);
                    word.text.push('}');
                }
            }
            i + 1
        }
        Some('(') => {
            word.unresolved = true;
            let mut depth = 0;
            while i < chars.len() {
                match chars[i].1 {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let start = chars[i].0;
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                i += 1;
            }
            let end = chars.get(i).map(|(o, _)| *o).unwrap_or(script.len());
            match lookup(&script[start..end]) {
                Some(v) => word.text.push_str(&v),
                None => {
                    word.unresolved = true;
                    word.text.push('$');
                    word.text.push_str(&script[start..end]);
                }
            }
            i
        }
        Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '$' | '!') => {
            word.unresolved = true;
            i + 1
        }
        _ => {
            word.text.push('$');
            i
        }
    }
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
        let commands = split_script(
            "tritonserver --model-control-mode=$MODE --x=${UNSET:-dflt} --y=\"$SECRET\" $(cat f)",
            &e,
        );
        let words = &commands[0];
        assert_eq!(words[1].text, "--model-control-mode=explicit");
        assert!(!words[1].unresolved);
        assert_eq!(words[2].text, "--x=dflt");
        assert!(words[3].unresolved);
        assert!(words[4].unresolved);
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
