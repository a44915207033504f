//! The CEL cost budget: a deterministic bound on the work one policy may do on one subject,
//! so that a `--policy-dir` policy cannot run forever or exhaust memory
//! (`objects.all(a, objects.all(b, true))` on a large scan, `lists.range(1000000000)`,
//! `s.replace('', s)` in a chain).
//!
//! The `cel` crate has no cost tracker and its `Program` is opaque, but its parser expands
//! macros bottom-up: every policy expression is compiled as `@metered(EXPR)` — a global macro
//! that receives the whole expanded expression and returns it rewritten so that the values
//! whose size decides the cost of an operation pass through a charging function first:
//!
//! - a comprehension (`all`, `exists`, `exists_one`, `map`, `filter`, `sortBy`, ...) charges
//!   the size of its range before it iterates, so nested comprehensions are charged their
//!   total iterations before they run; a `map` also charges the size of each value it adds;
//! - every call whose cost grows with its operands (`+`, `in`, `contains`, `matches`,
//!   comparisons of two computed values, `size`, ...) charges the size of each computed
//!   operand (one unit per list element, map entry or string byte, at least one per call);
//! - the functions that build large values from small inputs are charged their result before
//!   they build it: `lists.range(n)` charges `n`, `join` and `replace` the result's bytes,
//!   `flatten` the elements it yields;
//! - `matches` charges the text and the pattern, and compiles each pattern once per thread
//!   (the `cel` crate compiles it on every call: a policy that matches the 200,000 keys of a
//!   hostile config.pbtxt spent 30 s compiling one regular expression).
//!
//! The charge is kept in a thread-local counter: a policy runs on one subject on one thread
//! (the evaluation is parallel across subjects, never within one), and [`Meter::start`] resets
//! it for each policy and subject. Once the budget is exceeded every further charge fails, so
//! the evaluation ends promptly; the caller then reports the budget, whatever the expression
//! returned (an `all` can absorb an error into `false`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use regex::Regex;

use cel::common::ast::{CallExpr, Expr, IdedExpr, ListExpr, operators};
use cel::common::types::{CelBool, CelBytes, CelInt, CelString};
use cel::common::value::{CowVal, Val};
use cel::parser::{Macro, MacroExprHelper, ParseError, ParseErrors};
use cel::{DeclarationError, Env, ExecutionError, Program};

/// The units one policy may spend on one subject. One unit is a comprehension iteration, a
/// list element, a map entry or a string byte an operation reads or builds. The built-in
/// policies spend at most 1,137 on a subject (of examples/ and of a generated 10,000-file
/// scan, see docs/policies.md): a million leaves custom policies room for dozens of passes
/// over every object of a large scan, and bounds a runaway policy to well under a second of
/// work and tens of MB per thread.
pub const BUDGET: u64 = 1_000_000;

/// The global macro every policy expression is wrapped in (see [`wrap`]). A user can write it
/// too: it only meters what it encloses.
const METERED: &str = "__tg_metered";
/// Charges the size of its argument and returns it unchanged.
const CHARGE: &str = "@tg_charge";
/// Charges its integer argument (the length of the list `lists.range` builds).
const COUNT: &str = "@tg_count";
/// Charges the elements `flatten` yields.
const NESTED: &str = "@tg_nested";
/// `list.join(sep)` and `text.replace(from, to, n)`, charged before they build their result.
const JOIN: &str = "@tg_join";
const REPLACE: &str = "@tg_replace";
/// `text.matches(pattern)` / `matches(text, pattern)`, with compiled patterns cached.
const MATCHES: &str = "@tg_matches";
/// Patterns kept compiled per thread; the cache starts over when full.
const CACHED_PATTERNS: usize = 256;

thread_local! {
    /// The id of the expression the outermost metering macro returned, to check that the
    /// whole policy expression was metered (see [`compile`]).
    static METERED_ROOT: Cell<u64> = const { Cell::new(u64::MAX) };
    static SPENT: Cell<u64> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static PATTERNS: RefCell<HashMap<String, Result<Regex, String>>> =
        RefCell::new(HashMap::new());
}

/// The message of a policy that exceeded the budget.
pub fn exceeded_message() -> String {
    format!(
        "{EXCEEDED} {} units on one subject (comprehension iterations, and list elements, map entries and string bytes read or built; see the custom policies section of docs/policies.md)",
        group_thousands(BUDGET)
    )
}

/// Whether an evaluation error's message is the budget's.
pub fn is_exceeded(message: &str) -> bool {
    message.contains(EXCEEDED)
}

const EXCEEDED: &str = "exceeded the evaluation budget of";

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Meters the evaluations on this thread from its start to its drop.
pub struct Meter {
    outer: (u64, bool),
}

impl Meter {
    pub fn start() -> Meter {
        let outer = (SPENT.get(), ARMED.get());
        SPENT.set(0);
        ARMED.set(true);
        Meter { outer }
    }

    /// The units spent since the start.
    pub fn spent(&self) -> u64 {
        SPENT.get()
    }

    pub fn exceeded(&self) -> bool {
        SPENT.get() > BUDGET
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        SPENT.set(self.outer.0);
        ARMED.set(self.outer.1);
    }
}

fn charge(units: u64) -> Result<(), ExecutionError> {
    if !ARMED.get() {
        return Ok(());
    }
    let spent = SPENT.get().saturating_add(units.max(1));
    SPENT.set(spent);
    if spent > BUDGET {
        Err(ExecutionError::function_error("budget", exceeded_message()))
    } else {
        Ok(())
    }
}

/// One unit per list element, map entry, or string or bytes byte.
fn size(value: &dyn Val) -> u64 {
    if let Some(s) = value.downcast_ref::<CelString>() {
        return s.inner().len() as u64;
    }
    if let Some(b) = value.downcast_ref::<CelBytes>() {
        return b.inner().len() as u64;
    }
    value
        .as_sizer()
        .map(|s| u64::try_from(*s.size().inner()).unwrap_or(0))
        .unwrap_or(0)
}

/// The elements of `value` and of the lists in it, counted until `limit`.
fn nested_size(value: &dyn Val, limit: u64) -> u64 {
    let Some(iterable) = value.as_iterable() else {
        return 1;
    };
    let mut total = 0u64;
    let mut items = iterable.iter();
    while let Some(item) = items.next() {
        total = total.saturating_add(if item.as_iterable().is_some() {
            nested_size(item, limit.saturating_sub(total))
        } else {
            1
        });
        if total > limit {
            break;
        }
    }
    total
}

fn charge_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = args
        .pop()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    charge(size(value.as_ref()))?;
    Ok(value)
}

fn count_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = args
        .pop()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    if let Some(n) = value.downcast_ref::<CelInt>() {
        charge(u64::try_from(*n.inner()).unwrap_or(0))?;
    }
    Ok(value)
}

fn nested_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = args
        .pop()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    let left = BUDGET.saturating_sub(SPENT.get());
    charge(nested_size(value.as_ref(), left))?;
    Ok(value)
}

fn type_names(args: &[CowVal<'_, '_>]) -> Vec<String> {
    args.iter()
        .map(|a| a.get_type().name().to_owned())
        .collect()
}

/// `list.join()` / `list.join(sep)`, as the strings extension does it, charged first.
fn join_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let no_overload = || ExecutionError::no_such_member_overload("join", type_names(&args));
    let (list, sep) = match args.as_slice() {
        [list] => (list, ""),
        [list, sep] => (
            list,
            sep.downcast_ref::<CelString>()
                .map(|s| s.inner())
                .ok_or_else(no_overload)?,
        ),
        _ => return Err(no_overload()),
    };
    let iterable = list.as_iterable().ok_or_else(no_overload)?;
    let mut parts: Vec<&str> = Vec::new();
    let mut items = iterable.iter();
    let mut bytes = 0u64;
    while let Some(item) = items.next() {
        let part = item
            .downcast_ref::<CelString>()
            .ok_or_else(|| ExecutionError::UnexpectedType {
                got: item.get_type().name().to_owned(),
                want: "string".to_owned(),
            })?
            .inner();
        bytes = bytes.saturating_add(part.len() as u64 + sep.len() as u64);
        parts.push(part);
    }
    charge(bytes)?;
    Ok(CowVal::owned(CelString::from(parts.join(sep))))
}

/// The `i`th argument as a string, or the no-such-overload error of the function.
fn string_arg<'a>(
    args: &'a [CowVal<'_, '_>],
    i: usize,
    no_overload: impl Fn() -> ExecutionError,
) -> Result<&'a str, ExecutionError> {
    args.get(i)
        .and_then(|a| a.downcast_ref::<CelString>())
        .map(|s| s.inner())
        .ok_or_else(no_overload)
}

/// `text.replace(from, to)` / `text.replace(from, to, n)`, as the strings extension does it,
/// charged the result's bytes before it is built.
fn replace_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let no_overload = || ExecutionError::no_such_member_overload("replace", type_names(&args));
    let text = |i: usize| string_arg(&args, i, no_overload);
    let (this, from, to) = (text(0)?, text(1)?, text(2)?);
    let limit = match args.get(3) {
        None => None,
        Some(n) => {
            let n = n.downcast_ref::<CelInt>().ok_or_else(no_overload)?;
            usize::try_from(*n.inner()).ok()
        }
    };
    if args.len() > 4 {
        return Err(no_overload());
    }
    let occurrences = if from.is_empty() {
        this.chars().count() + 1
    } else {
        this.matches(from).count()
    };
    let replaced = limit.map_or(occurrences, |n| n.min(occurrences)) as u64;
    let grows = (to.len() as u64).saturating_sub(from.len() as u64);
    charge((this.len() as u64).saturating_add(replaced.saturating_mul(grows)))?;
    let out = match limit {
        Some(n) => this.replacen(from, to, n),
        None => this.replace(from, to),
    };
    Ok(CowVal::owned(CelString::from(out)))
}

/// `text.matches(pattern)`, as the `cel` crate does it (the same regular expression engine
/// and error), charged the text and the pattern, with the pattern compiled once per thread.
fn matches_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let no_overload = || ExecutionError::no_such_member_overload("matches", type_names(&args));
    if args.len() != 2 {
        return Err(no_overload());
    }
    let (this, pattern) = (
        string_arg(&args, 0, no_overload)?,
        string_arg(&args, 1, no_overload)?,
    );
    charge((this.len() as u64).saturating_add(pattern.len() as u64))?;
    let run = |compiled: &Result<Regex, String>| {
        compiled
            .as_ref()
            .map(|re| re.is_match(this))
            .map_err(Clone::clone)
    };
    let matched = PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(compiled) = cache.get(pattern) {
            return run(compiled);
        }
        if cache.len() >= CACHED_PATTERNS {
            cache.clear();
        }
        let compiled = Regex::new(pattern).map_err(|e| e.to_string());
        let matched = run(&compiled);
        cache.insert(pattern.to_string(), compiled);
        matched
    });
    match matched {
        Ok(m) => Ok(CowVal::owned(CelBool::from(m))),
        Err(err) => Err(ExecutionError::FunctionError {
            function: "matches".to_string(),
            message: format!("'{pattern}' not a valid regex:\n{err}"),
        }),
    }
}

/// Registers the charging functions and the metering macro on `env`.
pub fn install(env: &mut Env) -> Result<(), DeclarationError> {
    use cel::common::types::DYN_TYPE as DYN;
    env.add_overload(CHARGE, "@tg_charge_dyn", vec![DYN], charge_fn)?;
    env.add_overload(COUNT, "@tg_count_dyn", vec![DYN], count_fn)?;
    env.add_overload(NESTED, "@tg_nested_dyn", vec![DYN], nested_fn)?;
    env.add_overload(JOIN, "@tg_join_1", vec![DYN], join_fn)?;
    env.add_overload(JOIN, "@tg_join_2", vec![DYN, DYN], join_fn)?;
    env.add_overload(REPLACE, "@tg_replace_3", vec![DYN, DYN, DYN], replace_fn)?;
    env.add_overload(
        REPLACE,
        "@tg_replace_4",
        vec![DYN, DYN, DYN, DYN],
        replace_fn,
    )?;
    env.add_overload(MATCHES, "@tg_matches_2", vec![DYN, DYN], matches_fn)?;
    env.add_macro(Macro::global(METERED, 1, |helper, _target, args| {
        let expr = args
            .pop()
            .ok_or_else(|| helper.new_error(0, "no expression"))?;
        let metered = rewrite(helper, expr);
        METERED_ROOT.set(metered.id);
        Ok(Some(metered))
    }))
}

/// Compiles a policy expression metered: as `__tg_metered(TEXT\n)` (the parenthesis on a line
/// of its own, after any `//` comment the text ends with). A text that closes the parenthesis
/// itself (`a) || (b`) would leave part of it unmetered: the program is kept only when its
/// root is what the macro returned, and otherwise the text is compiled as written for its
/// syntax error.
pub fn compile(env: &Env, text: &str) -> Result<Program, ParseErrors> {
    METERED_ROOT.set(u64::MAX);
    if let Ok(program) = env.compile(&wrap(text))
        && program.expression().id == METERED_ROOT.get()
    {
        return Ok(program);
    }
    env.compile(text)?;
    Err(ParseErrors {
        errors: vec![ParseError {
            source: None,
            pos: (1, 1),
            msg: "the expression cannot be metered (unbalanced parentheses?)".to_string(),
            expr_id: 0,
            source_info: None,
        }],
    })
}

fn wrap(text: &str) -> String {
    format!("{METERED}({text}\n)")
}

/// The namespaces of qualified functions (`lists.range`): a call on one is not a method call
/// on a value, so its target is left as written.
pub const NAMESPACES: &[&str] = &["lists", "math", "strings", "base64", "optional"];

/// Calls whose cost does not grow with their operands' size: their operands are not charged.
const CONSTANT_COST: &[&str] = &[
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::CONDITIONAL,
    operators::NEGATE,
    operators::SUBSTRACT,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::NOT_STRICTLY_FALSE,
    operators::OPT_SELECT,
    "int",
    "uint",
    "double",
    "bool",
    "type",
    "dyn",
    "hasValue",
    "value",
    "orValue",
    "or",
    "optional.of",
    "optional.none",
    "optional.ofNonZeroValue",
    CHARGE,
    COUNT,
    NESTED,
    JOIN,
    REPLACE,
    MATCHES,
];

const COMPARISONS: &[&str] = &[
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::LESS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::GREATER_EQUALS,
];

fn is_literal(e: &IdedExpr) -> bool {
    match &e.expr {
        Expr::Literal(_) => true,
        Expr::List(list) => list.elements.iter().all(is_literal),
        _ => false,
    }
}

/// A variable a macro introduced (`@result`, `@__sortBy_input__`): a user cannot write one.
fn is_internal(e: &IdedExpr) -> bool {
    matches!(&e.expr, Expr::Ident(name) if name.starts_with('@'))
}

fn is_namespace(e: &IdedExpr) -> bool {
    matches!(&e.expr, Expr::Ident(name) if NAMESPACES.contains(&name.as_str()))
}

fn call(helper: &mut MacroExprHelper<'_>, function: &str, args: Vec<IdedExpr>) -> IdedExpr {
    helper.next_expr(Expr::Call(CallExpr {
        func_name: function.to_string(),
        target: None,
        args,
    }))
}

/// `e` passed through the charging `function`, unless charging it is pointless.
fn charged(helper: &mut MacroExprHelper<'_>, function: &str, e: IdedExpr) -> IdedExpr {
    if is_literal(&e) || is_internal(&e) {
        e
    } else {
        call(helper, function, vec![e])
    }
}

/// The expression with every operand whose size decides the cost charged (see the module
/// documentation), recursively.
fn rewrite(helper: &mut MacroExprHelper<'_>, mut e: IdedExpr) -> IdedExpr {
    e.expr = match std::mem::take(&mut e.expr) {
        Expr::Call(c) => return rewrite_call(helper, e.id, c),
        Expr::Comprehension(mut c) => {
            let range = rewrite(helper, std::mem::take(&mut c.iter_range));
            // A comprehension over `[]` is a binding (`sortBy`, `optMap`): nothing to charge.
            c.iter_range = match &range.expr {
                Expr::List(list) if list.elements.is_empty() => range,
                _ => call(helper, CHARGE, vec![range]),
            };
            c.accu_init = rewrite(helper, std::mem::take(&mut c.accu_init));
            c.loop_cond = rewrite(helper, std::mem::take(&mut c.loop_cond));
            c.loop_step = rewrite(helper, std::mem::take(&mut c.loop_step));
            c.result = rewrite(helper, std::mem::take(&mut c.result));
            Expr::Comprehension(c)
        }
        Expr::List(mut list) => {
            list.elements = std::mem::take(&mut list.elements)
                .into_iter()
                .map(|x| rewrite(helper, x))
                .collect();
            Expr::List(list)
        }
        Expr::Map(mut map) => {
            for entry in &mut map.entries {
                if let cel::common::ast::EntryExpr::MapEntry(m) = &mut entry.expr {
                    m.key = rewrite(helper, std::mem::take(&mut m.key));
                    m.value = rewrite(helper, std::mem::take(&mut m.value));
                }
            }
            Expr::Map(map)
        }
        Expr::Struct(mut s) => {
            for entry in &mut s.entries {
                if let cel::common::ast::EntryExpr::StructField(f) = &mut entry.expr {
                    f.value = rewrite(helper, std::mem::take(&mut f.value));
                }
            }
            Expr::Struct(s)
        }
        Expr::Select(mut s) => {
            *s.operand = rewrite(helper, std::mem::take(&mut *s.operand));
            Expr::Select(s)
        }
        other => other,
    };
    e
}

fn rewrite_call(helper: &mut MacroExprHelper<'_>, id: u64, c: CallExpr) -> IdedExpr {
    let CallExpr {
        func_name,
        target,
        args,
    } = c;
    let target = target.map(|t| rewrite(helper, *t));
    let args: Vec<IdedExpr> = args.into_iter().map(|a| rewrite(helper, a)).collect();
    let rebuilt = |func_name: String, target: Option<IdedExpr>, args: Vec<IdedExpr>| {
        Expr::Call(CallExpr {
            func_name,
            target: target.map(Box::new),
            args,
        })
    };
    let out = |expr: Expr| IdedExpr { id, expr };
    let name = func_name.as_str();
    let on_value = target.as_ref().filter(|t| !is_namespace(t));
    let qualified = match target.as_ref() {
        Some(t) if is_namespace(t) => match &t.expr {
            Expr::Ident(ns) => format!("{ns}.{name}"),
            _ => name.to_string(),
        },
        _ => name.to_string(),
    };
    // A macro's own step (`@result + [x]`, `@result + 1`): the comprehension's range is
    // charged; a `map`'s added value is charged below, the list shape kept for the fast path.
    if args.iter().any(is_internal) || target.as_ref().is_some_and(is_internal) {
        let args = args
            .into_iter()
            .map(|a| match a.expr {
                Expr::List(list) if name == operators::ADD => {
                    let elements = list
                        .elements
                        .into_iter()
                        .map(|x| match x.expr {
                            Expr::Ident(_) => x,
                            _ => charged(helper, CHARGE, x),
                        })
                        .collect();
                    IdedExpr {
                        id: a.id,
                        expr: Expr::List(ListExpr {
                            elements,
                            optional_indices: list.optional_indices,
                        }),
                    }
                }
                _ => a,
            })
            .collect();
        return out(rebuilt(func_name, target, args));
    }
    if CONSTANT_COST.contains(&name) || CONSTANT_COST.contains(&qualified.as_str()) {
        return out(rebuilt(func_name, target, args));
    }
    if COMPARISONS.contains(&name) && args.iter().any(is_literal) {
        return out(rebuilt(func_name, target, args));
    }
    // `text.matches(p)` or `matches(text, p)`: charged and cached by the function itself.
    if name == "matches"
        && (on_value.is_some() && args.len() == 1 || target.is_none() && args.len() == 2)
    {
        let mut all = Vec::with_capacity(2);
        all.extend(target);
        all.extend(args);
        return out(Expr::Call(CallExpr {
            func_name: MATCHES.to_string(),
            target: None,
            args: all,
        }));
    }
    if on_value.is_some() && (name == "join" || name == "replace") {
        let function = if name == "join" { JOIN } else { REPLACE };
        let mut all = Vec::with_capacity(args.len() + 1);
        all.extend(target);
        all.extend(args);
        return out(Expr::Call(CallExpr {
            func_name: function.to_string(),
            target: None,
            args: all,
        }));
    }
    if qualified == "lists.range" {
        let args = args
            .into_iter()
            .map(|a| call(helper, COUNT, vec![a]))
            .collect();
        return out(rebuilt(func_name, target, args));
    }
    if name == "flatten" && on_value.is_some() {
        let target = target.map(|t| charged(helper, NESTED, t));
        return out(rebuilt(func_name, target, args));
    }
    if name == operators::INDEX || name == operators::OPT_INDEX {
        // The container is looked up, not read: only the key's size counts.
        let mut args = args.into_iter();
        let container = args.next();
        let rest: Vec<IdedExpr> = args.map(|a| charged(helper, CHARGE, a)).collect();
        return out(rebuilt(
            func_name,
            target,
            container.into_iter().chain(rest).collect(),
        ));
    }
    let target = target.map(|t| {
        if is_namespace(&t) {
            t
        } else {
            charged(helper, CHARGE, t)
        }
    });
    let args = args
        .into_iter()
        .map(|a| charged(helper, CHARGE, a))
        .collect();
    out(rebuilt(func_name, target, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn env() -> Arc<Env> {
        crate::evaluate::policy::cel_env()
    }

    fn run(text: &str) -> (Result<cel::Value, String>, u64, bool) {
        let env = env();
        let program = compile(&env, text).expect("compiles");
        let mut ctx = cel::Context::with_env(Arc::clone(&env));
        ctx.add_variable_from_value(
            "objects",
            cel::Value::List(Arc::new((0..1000).map(cel::Value::Int).collect())),
        );
        let meter = Meter::start();
        let result = program.execute(&ctx).map_err(|e| e.to_string());
        (result, meter.spent(), meter.exceeded())
    }

    fn same_as_unmetered(text: &str) {
        let env = env();
        let plain = env.compile(text).expect("compiles");
        let mut ctx = cel::Context::with_env(Arc::clone(&env));
        ctx.add_variable_from_value(
            "objects",
            cel::Value::List(Arc::new((0..1000).map(cel::Value::Int).collect())),
        );
        let expected = plain.execute(&ctx).map_err(|e| e.to_string());
        let (got, _, exceeded) = run(text);
        assert!(!exceeded, "{text}");
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn metering_keeps_the_meaning() {
        for text in [
            "[1, 2, 3].all(x, x > 0)",
            "[1, 2, 3].exists(x, x > 2)",
            "[1, 2, 3].exists_one(x, x > 2)",
            "[1, 2, 3].existsOne(x, x > 2)",
            "[1, 2, 3].map(x, x * 2)",
            "[1, 2, 3].map(x, x > 1, [x, x])",
            "[1, 2, 3].filter(x, x > 1)",
            "{'a': 1, 'b': 2}.map(k, k + k).size()",
            "has({'a': 1}.a) && !has({'a': 1}.b)",
            "'a,b,c'.split(',').join('-')",
            "['a', 'b'].join()",
            "'banana'.replace('a', 'o')",
            "'banana'.replace('a', 'o', 2)",
            "'banana'.replace('', '-')",
            "'banana'.replace('a', 'o', -1)",
            "lists.range(5)",
            "[[1, 2], [3, [4]]].flatten()",
            "[3, 1, 2].sortBy(x, -x)",
            "math.greatest(1, 2, 3)",
            "'x' in {'x': 1} && 2 in [1, 2]",
            "objects.filter(o, o % 7 == 0).size()",
            "size('héllo') == 5 && 'abc'.contains('b')",
            "optional.of(2).optMap(x, x + 1).value()",
            "[1].join()",
            "'a'.replace(1, 2)",
            "1.join()",
            "'secret_key'.matches('(?i)(secret|token)') && !'name'.matches('^secret')",
            "matches('abc', 'b+')",
            "objects.filter(o, string(o).matches('^[0-9]*7$')).size()",
            "'a'.matches('(')",
            "'a'.matches(1)",
        ] {
            same_as_unmetered(text);
        }
    }

    #[test]
    fn nested_comprehensions_are_charged_before_they_iterate() {
        let (result, spent, exceeded) = run("objects.all(a, objects.all(b, objects.all(c, true)))");
        assert!(exceeded, "spent {spent}");
        assert!(result.is_err() || result == Ok(cel::Value::Bool(false)));
        // The first inner loops are charged in full before any innermost loop runs.
        assert!(spent < BUDGET + 2_000_000, "spent {spent}");
    }

    #[test]
    fn building_large_values_is_charged_before_building() {
        for text in [
            "lists.range(1000000000).size() > 0",
            "size('x'.replace('', 'y'.replace('', 'zzzzzzzzzz'.replace('', lists.range(100000).map(i, 'w').join())))) > 0",
            "lists.range(5000).map(i, lists.range(5000)).flatten().size() > 0",
            "lists.range(3000).map(i, lists.range(3000).map(j, 'a').join()).join().size() > 0",
        ] {
            let (_, spent, exceeded) = run(text);
            assert!(exceeded, "{text}: spent {spent}");
        }
    }

    #[test]
    fn doubling_a_value_is_charged_at_each_step() {
        // Deep nesting needs a deep stack in the (recursive) parser of a debug build.
        let child = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| {
                let mut text = "'0123456789'".to_string();
                for _ in 0..40 {
                    text = format!("[{text}].map(x, x + x)[0]");
                }
                run(&format!("size({text}) > 0"))
            })
            .unwrap();
        let (_, spent, exceeded) = child.join().unwrap();
        assert!(exceeded, "spent {spent}");
    }

    #[test]
    fn a_pattern_is_compiled_once_per_thread_and_the_text_is_charged() {
        PATTERNS.with(|c| c.borrow_mut().clear());
        let (result, spent, exceeded) = run("objects.all(o, !string(o).matches('^x[a-z]+$'))");
        assert_eq!(result, Ok(cel::Value::Bool(true)));
        assert!(!exceeded);
        // 1,000 iterations, each charged its text and its 10-byte pattern.
        assert!(spent > 11_000, "spent {spent}");
        PATTERNS.with(|c| assert_eq!(c.borrow().len(), 1));
    }

    #[test]
    fn only_a_metered_thread_is_charged() {
        assert!(charge(BUDGET * 2).is_ok());
        let meter = Meter::start();
        assert!(charge(BUDGET).is_ok());
        assert!(charge(1).is_err());
        assert!(meter.exceeded());
        drop(meter);
        assert!(charge(BUDGET * 2).is_ok());
    }

    #[test]
    fn a_text_that_closes_the_wrapper_is_refused() {
        let env = env();
        for text in [
            "true) || (lists.range(5).size() > 0",
            "1) + (2",
            "true) || __tg_metered(true",
        ] {
            assert!(compile(&env, text).is_err(), "{text}");
        }
        assert!(compile(&env, "__tg_metered(true) // a comment").is_ok());
        assert!(compile(&env, "true // a comment").is_ok());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(10_000_000), "10,000,000");
        assert_eq!(group_thousands(999), "999");
    }
}
