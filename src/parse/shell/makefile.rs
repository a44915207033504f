//! Container launches in Makefile recipes. Recipe lines (tab-indented, `@`/`-`/`+` prefixes
//! dropped) are read as shell with make's `$(VAR)` / `${VAR}` / `$V` references resolved from
//! the Makefile's own assignments (`=`, `:=`, `::=`, `?=`, `+=`; `!=` is unknown). Make
//! expands variables when a recipe runs, after reading the whole file, so a recipe sees the
//! last assignment in the file. `?=` values are defaults: the environment can replace them,
//! and any variable can be overridden on the make command line.

use std::collections::HashMap;

use crate::parse::words::{SplitOptions, VarLookup, VarValue};
use crate::source::{FileId, Span};

use super::{Env, Scanner, ShellScan};

/// How deeply variable references inside variable values are followed.
const EXPANSION_DEPTH: usize = 16;
/// Bytes and references one lookup may produce: `A = $(B)$(B)`, `B = $(C)$(C)`, ... would
/// otherwise grow exponentially.
const EXPANSION_BUDGET: usize = 256 * 1024;

struct MakeVar {
    value: String,
    span: Span,
    defaulted: bool,
    /// `!=`: the output of a shell command.
    from_shell: bool,
}

#[derive(Default)]
struct MakeVars(HashMap<String, MakeVar>);

impl MakeVars {
    fn expand(&self, name: &str, depth: usize, budget: &mut usize) -> Option<VarValue> {
        let var = self.0.get(name)?;
        *budget = budget.saturating_sub(1);
        if var.from_shell || depth > EXPANSION_DEPTH || *budget == 0 {
            return Some(VarValue {
                text: var.value.clone(),
                defined_at: Some(var.span),
                defaulted: var.defaulted,
                partial: true,
            });
        }
        let mut value = self.expand_refs(&var.value, depth + 1, budget);
        value.defined_at = Some(var.span);
        value.defaulted |= var.defaulted;
        Some(value)
    }

    /// `text` with the make references in it replaced where known.
    fn expand_refs(&self, text: &str, depth: usize, budget: &mut usize) -> VarValue {
        let mut out = VarValue::new(String::new());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            if *budget == 0 {
                out.partial = true;
                break;
            }
            out.text.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let (name, len) = match after.as_bytes().first() {
                Some(b'$') => {
                    out.text.push('$');
                    rest = &after[1..];
                    continue;
                }
                Some(&open @ (b'(' | b'{')) => {
                    let close = if open == b'(' { ')' } else { '}' };
                    match after.find(close) {
                        Some(end) => (&after[1..end], end + 1),
                        None => (after, after.len()),
                    }
                }
                Some(_) => {
                    let len = after.chars().next().map_or(0, char::len_utf8);
                    (&after[..len], len)
                }
                None => ("", 0),
            };
            match self
                .expand(name, depth, budget)
                .filter(|_| !name.is_empty())
            {
                Some(value) => {
                    *budget = budget.saturating_sub(value.text.len());
                    out.text.push_str(&value.text);
                    out.partial |= value.partial;
                    out.defaulted |= value.defaulted;
                }
                None => {
                    out.text.push_str(&rest[dollar..dollar + 1 + len]);
                    out.partial = true;
                }
            }
            rest = &after[len..];
        }
        out.text.push_str(rest);
        out
    }
}

impl VarLookup for MakeVars {
    fn lookup(&self, name: &str) -> Option<VarValue> {
        let mut budget = EXPANSION_BUDGET;
        self.expand(name, 0, &mut budget)
    }
}

/// Shell assignments inside recipes do not change make's variables.
impl Env for MakeVars {
    fn assign(&mut self, _name: &str, _value: VarValue) {}
    fn forget(&mut self, _name: &str) {}
}

/// A line with its backslash continuations: file offsets of its start and end.
struct LogicalLine {
    start: usize,
    end: usize,
}

fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line_start = start;
    while start < text.len() {
        let end = text
            .get(start..)
            .and_then(|rest| rest.find('\n'))
            .map_or(text.len(), |i| start + i);
        let content = text.get(start..end).unwrap_or("").trim_end_matches('\r');
        let backslashes = content.len() - content.trim_end_matches('\\').len();
        let next = (end + 1).min(text.len());
        if backslashes % 2 == 1 && end < text.len() {
            start = next;
            continue;
        }
        lines.push(LogicalLine {
            start: line_start,
            end: line_start.max(start + content.len()),
        });
        start = next;
        line_start = next;
    }
    lines
}

/// `[export|override] NAME op value` outside recipes.
fn assignment(line: &str) -> Option<(&str, &str, usize)> {
    let mut rest = line.trim_start();
    for prefix in ["export ", "override ", "private "] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
        }
    }
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    let name = rest.get(..name_len).filter(|n| !n.is_empty())?;
    let after = rest.get(name_len..)?.trim_start();
    let op = [":::=", "::=", ":=", "?=", "+=", "!=", "="]
        .into_iter()
        .find(|op| after.starts_with(op))?;
    let value = after.get(op.len()..)?;
    // Where the value starts in `line`.
    let value_start = line.len() - value.len();
    Some((name, op, value_start))
}

/// Parses a Makefile's recipes for container launches.
pub fn parse_makefile(file: FileId, text: &str) -> ShellScan {
    let lines = logical_lines(text);
    let mut vars = MakeVars::default();
    let mut in_define = false;
    for line in &lines {
        let content = text.get(line.start..line.end).unwrap_or("");
        if content.starts_with('\t') {
            continue;
        }
        let trimmed = content.trim_start();
        if in_define {
            in_define = !trimmed.starts_with("endef");
            continue;
        }
        if trimmed.starts_with("define ") {
            in_define = true;
            continue;
        }
        let Some((name, op, value_start)) = assignment(content) else {
            continue;
        };
        let raw = &content[value_start..];
        // A `#` starts a comment in a variable value unless escaped.
        let raw = match raw.find('#').filter(|&i| !raw[..i].ends_with('\\')) {
            Some(i) => &raw[..i],
            None => raw,
        };
        let value = raw.trim().replace("\\\n", " ");
        let span = Span::new(file, line.start, line.end);
        match op {
            "?=" if vars.0.contains_key(name) => {}
            "+=" => {
                if let Some(var) = vars.0.get_mut(name) {
                    var.value = format!("{} {value}", var.value).trim().to_string();
                    var.span = span;
                    continue;
                }
                vars.0.insert(
                    name.to_string(),
                    MakeVar {
                        value,
                        span,
                        defaulted: false,
                        from_shell: false,
                    },
                );
            }
            _ => {
                vars.0.insert(
                    name.to_string(),
                    MakeVar {
                        value,
                        span,
                        defaulted: op == "?=",
                        from_shell: op == "!=",
                    },
                );
            }
        }
    }

    let mut scanner = Scanner::new(file, text, SplitOptions::MAKE, vars);
    let mut in_define = false;
    for line in &lines {
        let content = text.get(line.start..line.end).unwrap_or("");
        let trimmed = content.trim_start();
        if in_define {
            in_define = !trimmed.starts_with("endef");
            continue;
        }
        if !content.starts_with('\t') {
            in_define = trimmed.starts_with("define ");
            // Make's own comments: a `#` outside a recipe, unless escaped.
            if let Some(i) = content.find('#').filter(|&i| !content[..i].ends_with('\\')) {
                scanner
                    .scan
                    .comments
                    .push(Span::new(file, line.start + i, line.end));
            }
            continue;
        }
        // Recipe prefixes: `@` (silent), `-` (ignore errors), `+` (always run).
        let body = content[1..].trim_start_matches(['@', '-', '+', ' ', '\t']);
        let start = line.end - body.len();
        scanner.scan_range(start, line.end);
    }
    scanner.scan
}
