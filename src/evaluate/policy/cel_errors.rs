//! Mistakes in a policy's CEL, said the way a compiler says them. The CEL parser reports
//! ANTLR's view (`mismatched input '<EOF>' expecting {'[', '{', '(', ..., IDENTIFIER}`);
//! this module turns that into what went wrong (`` `(` is never closed ``), finds calls of
//! functions CEL does not have (`startswith` → did you mean `startsWith`?), and suggests the
//! closest field for an unknown one (`launch.image.digset` → `digest`).

use std::sync::Arc;

use cel::{Context, Env, ExecutionError, Program};

use crate::tree::Node;

/// A syntax error rewritten: the message, the label under the span, and where in the
/// expression (1-based line and column) to point when that is not where the parser stopped.
#[derive(Debug, PartialEq, Eq)]
pub struct Syntax {
    pub message: String,
    pub label: String,
    pub position: Option<(isize, isize)>,
}

/// Tokens that start an operand: when the parser expected one of these, it expected an
/// expression.
const OPERAND_TOKENS: &[&str] = &[
    "IDENTIFIER",
    "NUM_INT",
    "NUM_UINT",
    "NUM_FLOAT",
    "STRING",
    "BYTES",
    "'true'",
    "'false'",
    "'null'",
];

/// `{'[', ')', IDENTIFIER}` or `')'`: what the parser expected, in words.
fn expected(set: &str) -> String {
    let set = set.trim();
    let items: Vec<&str> = set
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(", ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().any(|i| OPERAND_TOKENS.contains(i)) {
        return "an expression".to_string();
    }
    let tokens: Vec<String> = items
        .iter()
        .map(|i| format!("`{}`", i.trim_matches('\'')))
        .collect();
    match tokens.as_slice() {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// `'<EOF>'` → the end of the expression; `''b''` → `'b'`.
fn token(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .unwrap_or(quoted);
    if inner == "<EOF>" {
        "the end of the expression".to_string()
    } else {
        format!("`{inner}`")
    }
}

/// A bracket opened and never closed, outside string literals: (bracket, line, column).
fn unclosed_bracket(text: &str) -> Option<(char, isize, isize)> {
    let mut stack: Vec<(char, isize, isize)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let (mut line, mut column) = (1isize, 0isize);
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => stack.push((c, line, column)),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// The last token of the expression, if it is an operator (`||`, `==`, `+`, ...).
fn trailing_operator(text: &str) -> Option<&str> {
    let text = text.trim_end();
    [
        "||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "?", ":", "!", " in",
    ]
    .into_iter()
    .find(|op| text.ends_with(op))
    .map(str::trim)
}

/// Rewrites the parser's message for a syntax error in `text`.
pub fn syntax(text: &str, raw: &str) -> Syntax {
    let raw = raw.trim();
    let raw = raw.strip_prefix("Syntax error: ").unwrap_or(raw);
    let plain = |message: String, label: &str| Syntax {
        message,
        label: label.to_string(),
        position: None,
    };
    let (head, set) = match raw.split_once(" expecting ") {
        Some((head, set)) => (head, Some(set)),
        None => (raw, None),
    };
    let wanted = set.map(expected);
    if let Some(input) = head
        .strip_prefix("mismatched input ")
        .or_else(|| head.strip_prefix("extraneous input "))
    {
        if input == "'<EOF>'" {
            if let Some((bracket, l, c)) = unclosed_bracket(text) {
                return Syntax {
                    message: format!("`{bracket}` is never closed"),
                    label: "opened here".to_string(),
                    position: Some((l, c)),
                };
            }
            let after = trailing_operator(text)
                .map(|op| format!(" after `{op}`"))
                .unwrap_or_default();
            return plain(
                format!(
                    "the expression ends too early{after}: expected {}",
                    wanted.as_deref().unwrap_or("more")
                ),
                "expected more here",
            );
        }
        return plain(
            match &wanted {
                Some(w) => format!("unexpected {}: expected {w}", token(input)),
                None => format!("unexpected {}", token(input)),
            },
            "unexpected",
        );
    }
    if let Some(rest) = head.strip_prefix("token recognition error at: ") {
        let bad = rest
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .unwrap_or(rest)
            .trim_end();
        if bad.starts_with('=') {
            return plain(
                "`=` is not a CEL operator: compare with `==`".to_string(),
                "use `==`",
            );
        }
        if let Some(q) = bad.chars().next().filter(|c| *c == '\'' || *c == '"') {
            return plain(
                format!("the string `{bad}` is never closed: end it with `{q}`"),
                "string starts here",
            );
        }
        return plain(
            format!("`{bad}` is not part of CEL's syntax"),
            "unexpected character",
        );
    }
    if let Some(rest) = head.strip_prefix("no viable alternative at input ") {
        return plain(format!("cannot parse {}", token(rest)), "here");
    }
    if let Some(rest) = head.strip_prefix("missing ")
        && let Some((what, at)) = rest.split_once(" at ")
    {
        return plain(
            format!("expected {} before {}", token(what), token(at)),
            "expected before this",
        );
    }
    plain(raw.to_string(), "here")
}

/// Functions and macros of CEL's standard library and of the extensions tritonguard loads
/// (strings, lists, math): the names a misspelt call is compared with.
const KNOWN_FUNCTIONS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "type",
    "dyn",
    "duration",
    "timestamp",
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "trim",
    "replace",
    "split",
    "substring",
    "join",
    "format",
    "reverse",
    "slice",
    "flatten",
    "distinct",
    "sort",
    "sortBy",
];

/// Names that are macros: expanded by the parser, never looked up as functions.
const MACROS: &[&str] = &[
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "sortBy",
];

/// Whether `env` has a function or method called `name`: a call of it fails for its
/// arguments, not because the name is unknown.
fn defined(env: &Arc<Env>, name: &str) -> bool {
    MACROS.contains(&name)
        || callable(env, &[format!("{name}()"), format!("x.{name}()")], name)
        // Extension functions are called by their qualified name (`lists.range(3)`).
        || crate::evaluate::metering::NAMESPACES
            .iter()
            .any(|namespace| qualified(env, namespace, name))
}

fn qualified(env: &Arc<Env>, namespace: &str, name: &str) -> bool {
    let Ok(program) = env.compile(&format!("{namespace}.{name}()")) else {
        return false;
    };
    !matches!(
        program.execute(&Context::with_env(Arc::clone(env))),
        Err(ExecutionError::UndeclaredReference(ref n))
            if n.as_str() == name || n.as_str() == namespace || n.as_str() == format!("{namespace}.{name}")
    )
}

/// Whether `name` can be called as a function (`name(x)`), not only as a method.
fn global(env: &Arc<Env>, name: &str) -> bool {
    callable(env, &[format!("{name}()")], name)
}

fn callable(env: &Arc<Env>, probes: &[String], name: &str) -> bool {
    let mut ctx = Context::with_env(Arc::clone(env));
    ctx.add_variable_from_value("x", "");
    probes
        .iter()
        .filter_map(|probe| env.compile(probe).ok())
        .any(|program| {
            !matches!(
                program.execute(&ctx),
                Err(ExecutionError::UndeclaredReference(ref n)) if n.as_str() == name
            )
        })
}

/// The candidate closest to `name`: the same name in another case first, else one at most
/// a third of its length away.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(same) = candidates.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(c, name), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// An unknown function the program calls, with the closest known one.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownFunction {
    pub name: String,
    pub suggestion: Option<String>,
    /// The suggestion is a method (`text.lowerAscii()`), not a function.
    pub method: bool,
}

impl UnknownFunction {
    /// `unknown function 'startswith' (did you mean 'startsWith'?)`, saying how to call
    /// the suggestion when it is a method written as a function.
    pub fn message(&self, text: &str) -> String {
        let name = &self.name;
        match &self.suggestion {
            Some(s) if self.method && !called_as_method(text, name) => {
                format!("unknown function '{name}' (did you mean the method '{s}'? `value.{s}()`)")
            }
            Some(s) => format!("unknown function '{name}' (did you mean '{s}'?)"),
            None => format!("unknown function '{name}'"),
        }
    }
}

/// The functions `program` calls that `env` does not define.
pub fn unknown_functions(env: &Arc<Env>, program: &Program) -> Vec<UnknownFunction> {
    let references = program.references();
    let mut names: Vec<&str> = references
        .functions()
        .into_iter()
        .filter(|n| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    names.sort_unstable();
    names
        .into_iter()
        .filter(|n| !defined(env, n))
        .map(|name| {
            let suggestion = closest(
                name,
                KNOWN_FUNCTIONS.iter().copied().filter(|k| defined(env, k)),
            );
            UnknownFunction {
                name: name.to_string(),
                suggestion: suggestion.map(str::to_string),
                method: suggestion.is_some_and(|s| !MACROS.contains(&s) && !global(env, s)),
            }
        })
        .collect()
}

/// `text.startsWith(...)` or `startsWith(...)`: how the expression calls `name`.
pub fn called_as_method(text: &str, name: &str) -> bool {
    text.match_indices(&format!("{name}("))
        .any(|(at, _)| text[..at].ends_with('.'))
}

/// The dotted path written before `.name` in the expression (`launch.image` for
/// `launch.image.digset`), split in segments.
fn path_before(text: &str, name: &str) -> Option<Vec<String>> {
    let needle = format!(".{name}");
    text.match_indices(&needle).find_map(|(at, _)| {
        let after = text[at + needle.len()..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let start = text[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let path = &text[start..at];
        (!path.is_empty()).then(|| path.split('.').map(str::to_string).collect())
    })
}

/// The node a path of the expression names: from a root variable in `roots`, or from a
/// comprehension variable (`m` in `launch.mounts.exists(m, m.read_only)`), whose node is the
/// first element of the list it ranges over.
fn resolve<'a>(
    text: &str,
    path: &[String],
    roots: &[(&str, &'a Node)],
    depth: usize,
) -> Option<&'a Node> {
    let (first, rest) = path.split_first()?;
    let base = match roots.iter().find(|(name, _)| name == first) {
        Some((_, node)) => *node,
        None if depth < 4 => {
            // `<list path>.<macro>(first,`
            let list = ["all", "exists", "exists_one", "map", "filter"]
                .iter()
                .find_map(|m| {
                    let pattern = format!(".{m}({first},");
                    let at = text.find(&pattern)?;
                    let start = text[..at]
                        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    let segments: Vec<String> =
                        text[start..at].split('.').map(str::to_string).collect();
                    resolve(text, &segments, roots, depth + 1)
                })?;
            list.as_list()
                .first()
                .or_else(|| list.as_map().first().map(|(_, v)| v))?
        }
        None => return None,
    };
    rest.iter().try_fold(base, |node, key| node.get(key))
}

/// For an unknown field `name` of the expression: the closest field of the object it was
/// looked up on, in the sample `roots` (`launch`, `item`) where every field exists.
pub fn field_suggestion(text: &str, name: &str, roots: &[(&str, &Node)]) -> Option<String> {
    let parent = path_before(text, name).and_then(|path| resolve(text, &path, roots, 0))?;
    let keys: Vec<&str> = parent.as_map().iter().map(|(k, _)| k.as_str()).collect();
    closest(name, keys).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_error(text: &str) -> Syntax {
        let env = crate::evaluate::policy::cel_env();
        let Err(errors) = env.compile(text) else {
            panic!("{text} compiles");
        };
        let first = &errors.errors[0];
        syntax(text, &first.msg)
    }

    #[test]
    fn syntax_errors_say_what_is_wrong_without_a_token_list() {
        let cases = [
            ("a != null && (", "`(` is never closed", Some((1, 14))),
            ("x in ['a', 'b'", "`[` is never closed", Some((1, 6))),
            (
                "a == 'x' ||",
                "the expression ends too early after `||`: expected an expression",
                None,
            ),
            (
                "a.contains('a' 'b')",
                "unexpected `'b'`: expected `)`",
                None,
            ),
            (
                "a = 'x'",
                "`=` is not a CEL operator: compare with `==`",
                None,
            ),
            (
                "a == 'abc",
                "the string `'abc` is never closed: end it with `'`",
                None,
            ),
        ];
        for (text, message, position) in cases {
            let got = compile_error(text);
            assert_eq!(got.message, message, "{text}");
            assert_eq!(got.position, position, "{text}");
            for noise in ["IDENTIFIER", "NUM_FLOAT", "<EOF>", "expecting"] {
                assert!(!got.message.contains(noise), "{text}: {}", got.message);
            }
        }
    }

    #[test]
    fn extension_functions_called_by_their_qualified_name_are_known() {
        let env = crate::evaluate::policy::cel_env();
        for text in [
            "size(lists.range(3)) == 3",
            "math.greatest(1, 2) == 2",
            "strings.quote('a') != ''",
        ] {
            let Ok(program) = env.compile(text) else {
                panic!("{text} compiles");
            };
            assert_eq!(unknown_functions(&env, &program), [], "{text}");
        }
    }

    #[test]
    fn a_misspelt_function_gets_the_real_name() {
        let env = crate::evaluate::policy::cel_env();
        let program = |text: &str| env.compile(text).unwrap();
        let unknown = unknown_functions(&env, &program("x.startswith('a') && size(x) > 0"));
        assert_eq!(
            unknown,
            [UnknownFunction {
                name: "startswith".into(),
                suggestion: Some("startsWith".into()),
                method: true,
            }]
        );
        assert_eq!(
            unknown[0].message("x.startswith('a')"),
            "unknown function 'startswith' (did you mean 'startsWith'?)"
        );
        let unknown = unknown_functions(&env, &program("lowerascii(x) == 'a'"));
        assert_eq!(
            unknown[0].message("lowerascii(x) == 'a'"),
            "unknown function 'lowerascii' (did you mean the method 'lowerAscii'? `value.lowerAscii()`)"
        );
        let unknown = unknown_functions(&env, &program("sise(x) == 1"));
        assert_eq!(
            unknown[0].message("sise(x) == 1"),
            "unknown function 'sise' (did you mean 'size'?)"
        );
        assert!(
            unknown_functions(
                &env,
                &program("x.lowerAscii().split('/').exists(p, p == 'a')")
            )
            .is_empty()
        );
        let unknown = unknown_functions(&env, &program("frobnicate(x)"));
        assert_eq!(unknown[0].suggestion, None);
        assert!(called_as_method("x.startswith('a')", "startswith"));
        assert!(!called_as_method("lowerascii(x)", "lowerascii"));
    }

    #[test]
    fn an_unknown_field_gets_the_closest_one() {
        let launch = Node::map(vec![
            (
                "image".into(),
                Node::map(vec![
                    ("digest".into(), Node::null()),
                    ("reference".into(), Node::str("r")),
                ]),
            ),
            (
                "mounts".into(),
                Node::list(vec![Node::map(vec![("read_only".into(), Node::null())])]),
            ),
        ]);
        let roots = [("launch", &launch)];
        let suggest = |text: &str, name: &str| field_suggestion(text, name, &roots);
        assert_eq!(
            suggest("launch.image.digset != null", "digset").as_deref(),
            Some("digest")
        );
        assert_eq!(
            suggest("launch.imag.reference != null", "imag").as_deref(),
            Some("image")
        );
        assert_eq!(
            suggest("launch.mounts.exists(m, m.readonly)", "readonly").as_deref(),
            Some("read_only")
        );
        assert_eq!(suggest("launch.image.zzzzzz", "zzzzzz"), None);
    }
}
