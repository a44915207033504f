//! The syntax trees of the built-in policies' CEL, parsed by `build.rs` with the parser and
//! environment the scan uses: parsing CEL costs about 0.2 ms per expression, which was most of
//! a one-file scan. An expression is found by its text, so a text that is not built-in (a
//! team policy) or not found for any reason is compiled as before.

use std::collections::HashMap;
use std::sync::OnceLock;

use cel::parser::Expression;

use crate::evaluate::ast_codec;

static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/precompiled_policies.bin"));

/// Each expression's text and its encoded tree.
fn index() -> &'static HashMap<&'static str, &'static [u8]> {
    static INDEX: OnceLock<HashMap<&'static str, &'static [u8]>> = OnceLock::new();
    INDEX.get_or_init(|| read_index(TABLE).unwrap_or_default())
}

fn read_index(table: &'static [u8]) -> Option<HashMap<&'static str, &'static [u8]>> {
    let mut at = 0usize;
    let count = number(table, &mut at)?;
    let mut index = HashMap::with_capacity(count.min(table.len()));
    for _ in 0..count {
        let text_len = number(table, &mut at)?;
        let text = std::str::from_utf8(take(table, &mut at, text_len)?).ok()?;
        let ast_len = number(table, &mut at)?;
        index.insert(text, take(table, &mut at, ast_len)?);
    }
    Some(index)
}

fn take(table: &'static [u8], at: &mut usize, n: usize) -> Option<&'static [u8]> {
    let slice = table.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(slice)
}

fn number(table: &'static [u8], at: &mut usize) -> Option<usize> {
    Some(u32::from_le_bytes(take(table, at, 4)?.try_into().ok()?) as usize)
}

/// The tree of the built-in expression `text`, metered as [`crate::evaluate::metering::compile`]
/// would compile it.
pub fn lookup(text: &str) -> Option<Expression> {
    ast_codec::decode(index().get(text)?)
}

/// How many expressions the table holds.
pub fn len() -> usize {
    index().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::policy::Catalogue;

    /// Every CEL text of the built-in policies, as the catalogue reads it.
    fn builtin_texts() -> Vec<String> {
        let catalogue = Catalogue::load(&[], true).unwrap_or_else(|_| Catalogue::empty());
        let mut texts = Vec::new();
        for policy in &catalogue.policies {
            let spec = &policy.spec;
            let exprs = [&spec.match_expr, &spec.assert, &spec.message, &spec.label]
                .into_iter()
                .flatten()
                .chain(spec.variables.iter().map(|v| &v.expr))
                .chain(spec.at.iter().filter_map(|c| c.when.as_ref()))
                .chain(spec.related.iter().filter_map(|r| r.when.as_ref()))
                .chain(spec.related.iter().filter_map(|r| r.label.as_ref()));
            texts.extend(exprs.map(|e| e.text.clone()));
        }
        texts
    }

    #[test]
    fn every_builtin_expression_is_precompiled_as_the_scan_would_compile_it() {
        let env = crate::evaluate::policy::cel_env();
        let texts = builtin_texts();
        assert!(texts.len() > 100, "{} texts", texts.len());
        for text in &texts {
            let built = lookup(text);
            assert!(built.is_some(), "not precompiled: {text}");
            let compiled = crate::evaluate::metering::compile(&env, text)
                .map(|p| p.expression().clone())
                .ok();
            assert_eq!(built, compiled, "{text}");
        }
        assert!(
            len()
                >= texts
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
        );
    }

    #[test]
    fn a_text_that_is_not_builtin_is_not_found() {
        assert_eq!(lookup("1 + 1 == 2 && 'team policy' != ''"), None);
    }
}
