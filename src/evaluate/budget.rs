//! The CEL cost budget: a deterministic bound on the work one policy may do on one subject,
//! so that a `--policy-dir` policy cannot run forever or exhaust memory
//! (`objects.all(a, objects.all(b, true))` on a large scan, `lists.range(1000000000)`,
//! `s.replace('', s)` in a chain).
//!
//! The `cel` crate has no cost tracker and its `Program` is opaque, but its parser expands
//! macros bottom-up: every policy expression is compiled as `@metered(EXPR)` — a global macro
//! that receives the whole expanded expression and returns it rewritten so that the values
//! whose size decides the cost of an operation pass through a charging function first
//! ([`crate::evaluate::metering`]):
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

use cel::common::types::{CelBool, CelBytes, CelInt, CelString};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

use crate::evaluate::metering::{self, CHARGE, COUNT, JOIN, MATCHES, NESTED, REPLACE};

/// The units one policy may spend on one subject. One unit is a comprehension iteration, a
/// list element, a map entry or a string byte an operation reads or builds. The built-in
/// policies spend at most 1,137 on a subject (of examples/ and of a generated 10,000-file
/// scan, see docs/policies.md): a million leaves custom policies room for dozens of passes
/// over every object of a large scan, and bounds a runaway policy to well under a second of
/// work and tens of MB per thread.
pub const BUDGET: u64 = 1_000_000;

/// Patterns kept compiled per thread; the cache starts over when full.
const CACHED_PATTERNS: usize = 256;

thread_local! {
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
    metering::add_macro(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::metering::compile;
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
