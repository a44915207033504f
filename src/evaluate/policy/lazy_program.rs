//! A policy expression and its CEL syntax tree, obtained once, when it is first needed.
//!
//! Parsing CEL is most of a small scan's time: about 0.2 ms per expression, 30 ms for the
//! built-in catalogue, against a few milliseconds to check one manifest. Team policies are
//! compiled and checked when they load, so their mistakes are reported before the scan. The
//! built-in ones, which the test suite compiles and checks (`Catalogue::check_builtin`), were
//! parsed at build time ([`super::precompiled`]) and are decoded by the first subject that
//! evaluates them, so a scan decodes only what it runs: no model-config rule without model
//! configurations, no message of a rule that passes. All are metered (see
//! [`crate::evaluate::budget`]).

use std::sync::{Arc, OnceLock};

use cel::parser::Expression;
use cel::{Context, Env, Program, Value};

pub struct LazyProgram {
    env: Arc<Env>,
    text: String,
    program: OnceLock<Result<Expression, String>>,
}

impl LazyProgram {
    /// An expression already compiled (and checked) at load.
    pub fn compiled(env: &Arc<Env>, text: &str, program: Program) -> LazyProgram {
        let cell = OnceLock::new();
        let _ = cell.set(Ok(program.expression().clone()));
        LazyProgram {
            env: Arc::clone(env),
            text: text.to_string(),
            program: cell,
        }
    }

    /// An expression compiled when first evaluated.
    pub fn lazy(env: &Arc<Env>, text: &str) -> LazyProgram {
        LazyProgram {
            env: Arc::clone(env),
            text: text.to_string(),
            program: OnceLock::new(),
        }
    }

    /// The syntax tree: built at build time for a built-in expression, else compiled on
    /// first use. A built-in expression that does not compile is a bug the test suite
    /// catches; it is reported as an evaluation error, not a panic.
    pub fn program(&self) -> Result<&Expression, String> {
        self.program
            .get_or_init(|| match super::precompiled::lookup(&self.text) {
                Some(expression) => Ok(expression),
                None => crate::evaluate::metering::compile(&self.env, &self.text)
                    .map(|program| program.expression().clone())
                    .map_err(|e| format!("CEL syntax error: {e}")),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn execute(&self, ctx: &Context) -> Result<cel::Value, String> {
        Value::resolve(self.program()?, ctx).map_err(|e| e.to_string())
    }

    /// Whether the expression reads the variable `name`. Before compilation this is decided
    /// on the text (an identifier `name` not after a `.`): a string that contains the word
    /// only costs binding the variable, never a wrong verdict.
    pub fn reads_variable(&self, name: &str) -> bool {
        if let Some(Ok(expression)) = self.program.get() {
            return expression.references().has_variable(name);
        }
        mentions_identifier(&self.text, name)
    }
}

fn mentions_identifier(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_program_compiles_when_first_run_and_reports_a_syntax_error_as_an_error() {
        let env = crate::evaluate::policy::cel_env();
        let ok = LazyProgram::lazy(&env, "1 + 2 == 3");
        assert_eq!(
            ok.execute(&Context::with_env(Arc::clone(&env))),
            Ok(cel::Value::Bool(true))
        );
        let broken = LazyProgram::lazy(&env, "1 +");
        let error = broken
            .execute(&Context::with_env(Arc::clone(&env)))
            .err()
            .unwrap_or_default();
        assert!(error.starts_with("CEL syntax error"), "{error}");
    }

    #[test]
    fn the_variable_objects_is_found_in_the_text_but_not_a_field_or_longer_name() {
        let env = crate::evaluate::policy::cel_env();
        let reads = |text: &str| LazyProgram::lazy(&env, text).reads_variable("objects");
        assert!(reads("objects.exists(o, o.kind == 'Service')"));
        assert!(reads("size(objects) > 0"));
        assert!(!reads("launch.objects == null"));
        assert!(!reads("my_objects == 1"));
        assert!(!reads("objectsX == 1"));
    }
}
