//! How a policy expression is compiled metered (see [`crate::evaluate::budget`] for what is
//! charged and why): the expression is wrapped in the global macro [`METERED`], which receives
//! the whole expanded expression and returns it rewritten so that the values whose size
//! decides the cost of an operation pass through a charging function first.
//!
//! This module depends on the `cel` crate alone: `build.rs` compiles the built-in policies
//! with it (see [`crate::evaluate::policy::precompiled`]), so that a scan does not parse their
//! CEL again, and the run-time compiler of team policies is the same code.

use std::cell::Cell;

use cel::common::ast::{CallExpr, Expr, IdedExpr, ListExpr, operators};
use cel::parser::{Macro, MacroExprHelper, ParseError, ParseErrors};
use cel::{DeclarationError, Env, Program};

/// The global macro every policy expression is wrapped in (see [`wrap`]). A user can write it
/// too: it only meters what it encloses.
pub const METERED: &str = "__tg_metered";
/// Charges the size of its argument and returns it unchanged.
pub const CHARGE: &str = "@tg_charge";
/// Charges its integer argument (the length of the list `lists.range` builds).
pub const COUNT: &str = "@tg_count";
/// Charges the elements `flatten` yields.
pub const NESTED: &str = "@tg_nested";
/// `list.join(sep)` and `text.replace(from, to, n)`, charged before they build their result.
pub const JOIN: &str = "@tg_join";
pub const REPLACE: &str = "@tg_replace";
/// `text.matches(pattern)` / `matches(text, pattern)`, with compiled patterns cached.
pub const MATCHES: &str = "@tg_matches";

thread_local! {
    /// The id of the expression the outermost metering macro returned, to check that the
    /// whole policy expression was metered (see [`compile`]).
    static METERED_ROOT: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// Registers the metering macro on `env`.
pub fn add_macro(env: &mut Env) -> Result<(), DeclarationError> {
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
