//! A compact binary form of a parsed CEL expression (the `cel` crate's AST), so that
//! `build.rs` can parse the built-in policies once and a scan decode them in microseconds
//! instead of parsing them again (the crate's parser takes about 0.2 ms per expression: most
//! of the time of a one-file scan).
//!
//! Depends on the `cel` crate alone: `build.rs` includes this file. Decoding never panics;
//! bytes that are not what [`encode`] wrote decode to `None`.

use cel::common::ast::{
    CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedEntryExpr, IdedExpr, ListExpr, LiteralValue,
    MapEntryExpr, MapExpr, SelectExpr, StructExpr, StructFieldExpr,
};
use cel::common::types::{CelBool, CelBytes, CelDouble, CelInt, CelString, CelUInt};

/// Deeper expressions are refused when decoding, as the parser refuses them.
const MAX_DEPTH: usize = 500;

/// Appends the encoding of `expr` to `out`.
pub fn encode(expr: &IdedExpr, out: &mut Vec<u8>) {
    u64_to(out, expr.id);
    match &expr.expr {
        Expr::Unspecified => out.push(0),
        Expr::Call(call) => {
            out.push(1);
            str_to(out, &call.func_name);
            match &call.target {
                Some(target) => {
                    out.push(1);
                    encode(target, out);
                }
                None => out.push(0),
            }
            exprs_to(out, &call.args);
        }
        Expr::Comprehension(c) => {
            out.push(2);
            encode(&c.iter_range, out);
            str_to(out, &c.iter_var);
            match &c.iter_var2 {
                Some(var) => {
                    out.push(1);
                    str_to(out, var);
                }
                None => out.push(0),
            }
            str_to(out, &c.accu_var);
            encode(&c.accu_init, out);
            encode(&c.loop_cond, out);
            encode(&c.loop_step, out);
            encode(&c.result, out);
        }
        Expr::Ident(name) => {
            out.push(3);
            str_to(out, name);
        }
        Expr::List(list) => {
            out.push(4);
            exprs_to(out, &list.elements);
            len_to(out, list.optional_indices.len());
            for &i in &list.optional_indices {
                len_to(out, i);
            }
        }
        Expr::Literal(literal) => {
            out.push(5);
            match literal {
                LiteralValue::Boolean(b) => {
                    out.push(0);
                    out.push(u8::from(*b.inner()));
                }
                LiteralValue::Bytes(b) => {
                    out.push(1);
                    bytes_to(out, b.inner());
                }
                LiteralValue::Double(d) => {
                    out.push(2);
                    u64_to(out, d.inner().to_bits());
                }
                LiteralValue::Int(i) => {
                    out.push(3);
                    u64_to(out, *i.inner() as u64);
                }
                LiteralValue::Null => out.push(4),
                LiteralValue::String(s) => {
                    out.push(5);
                    str_to(out, s.inner());
                }
                LiteralValue::UInt(u) => {
                    out.push(6);
                    u64_to(out, *u.inner());
                }
            }
        }
        Expr::Map(map) => {
            out.push(6);
            entries_to(out, &map.entries);
        }
        Expr::Select(select) => {
            out.push(7);
            encode(&select.operand, out);
            str_to(out, &select.field);
            out.push(u8::from(select.test));
        }
        Expr::Struct(s) => {
            out.push(8);
            str_to(out, &s.type_name);
            entries_to(out, &s.entries);
        }
    }
}

/// The expression [`encode`] wrote at the start of `bytes`, if all of `bytes` is one.
pub fn decode(bytes: &[u8]) -> Option<IdedExpr> {
    let mut reader = Reader { bytes, at: 0 };
    let expr = reader.expr(0)?;
    (reader.at == bytes.len()).then_some(expr)
}

fn u64_to(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn len_to(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn bytes_to(out: &mut Vec<u8>, b: &[u8]) {
    len_to(out, b.len());
    out.extend_from_slice(b);
}

fn str_to(out: &mut Vec<u8>, s: &str) {
    bytes_to(out, s.as_bytes());
}

fn exprs_to(out: &mut Vec<u8>, exprs: &[IdedExpr]) {
    len_to(out, exprs.len());
    for e in exprs {
        encode(e, out);
    }
}

fn entries_to(out: &mut Vec<u8>, entries: &[IdedEntryExpr]) {
    len_to(out, entries.len());
    for entry in entries {
        u64_to(out, entry.id);
        match &entry.expr {
            EntryExpr::StructField(f) => {
                out.push(0);
                str_to(out, &f.field);
                encode(&f.value, out);
                out.push(u8::from(f.optional));
            }
            EntryExpr::MapEntry(m) => {
                out.push(1);
                encode(&m.key, out);
                encode(&m.value, out);
                out.push(u8::from(m.optional));
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        // A length can never exceed the bytes left: refuse it before allocating for it.
        (n <= self.bytes.len() - self.at).then_some(n)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.len()?;
        Some(self.take(n)?.to_vec())
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }

    fn exprs(&mut self, depth: usize) -> Option<Vec<IdedExpr>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.expr(depth)?);
        }
        Some(out)
    }

    fn entries(&mut self, depth: usize) -> Option<Vec<IdedEntryExpr>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.u64()?;
            let expr = match self.byte()? {
                0 => EntryExpr::StructField(StructFieldExpr {
                    field: self.string()?,
                    value: self.expr(depth)?,
                    optional: self.flag()?,
                }),
                1 => EntryExpr::MapEntry(MapEntryExpr {
                    key: self.expr(depth)?,
                    value: self.expr(depth)?,
                    optional: self.flag()?,
                }),
                _ => return None,
            };
            out.push(IdedEntryExpr { id, expr });
        }
        Some(out)
    }

    fn expr(&mut self, depth: usize) -> Option<IdedExpr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let depth = depth + 1;
        let id = self.u64()?;
        let expr = match self.byte()? {
            0 => Expr::Unspecified,
            1 => {
                let func_name = self.string()?;
                let target = match self.flag()? {
                    true => Some(Box::new(self.expr(depth)?)),
                    false => None,
                };
                Expr::Call(CallExpr {
                    func_name,
                    target,
                    args: self.exprs(depth)?,
                })
            }
            2 => {
                let iter_range = self.expr(depth)?;
                let iter_var = self.string()?;
                let iter_var2 = match self.flag()? {
                    true => Some(self.string()?),
                    false => None,
                };
                Expr::Comprehension(Box::new(ComprehensionExpr {
                    iter_range,
                    iter_var,
                    iter_var2,
                    accu_var: self.string()?,
                    accu_init: self.expr(depth)?,
                    loop_cond: self.expr(depth)?,
                    loop_step: self.expr(depth)?,
                    result: self.expr(depth)?,
                }))
            }
            3 => Expr::Ident(self.string()?),
            4 => {
                let elements = self.exprs(depth)?;
                let n = self.len()?;
                let mut optional_indices = Vec::with_capacity(n);
                for _ in 0..n {
                    optional_indices.push(self.len_value()?);
                }
                Expr::List(ListExpr {
                    elements,
                    optional_indices,
                })
            }
            5 => Expr::Literal(match self.byte()? {
                0 => LiteralValue::Boolean(CelBool::from(self.flag()?)),
                1 => LiteralValue::Bytes(CelBytes::from(self.bytes()?)),
                2 => LiteralValue::Double(CelDouble::from(f64::from_bits(self.u64()?))),
                3 => LiteralValue::Int(CelInt::from(self.u64()? as i64)),
                4 => LiteralValue::Null,
                5 => LiteralValue::String(CelString::from(self.string()?)),
                6 => LiteralValue::UInt(CelUInt::from(self.u64()?)),
                _ => return None,
            }),
            6 => Expr::Map(MapExpr {
                entries: self.entries(depth)?,
            }),
            7 => {
                let operand = Box::new(self.expr(depth)?);
                Expr::Select(SelectExpr {
                    operand,
                    field: self.string()?,
                    test: self.flag()?,
                })
            }
            8 => Expr::Struct(StructExpr {
                type_name: self.string()?,
                entries: self.entries(depth)?,
            }),
            _ => return None,
        };
        Some(IdedExpr { id, expr })
    }

    /// A number written by `len_to` that is a value (an index), not a length of what follows.
    fn len_value(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> IdedExpr {
        let env = crate::evaluate::policy::cel_env();
        crate::evaluate::metering::compile(&env, text)
            .map(|p| p.expression().clone())
            .unwrap_or_default()
    }

    #[test]
    fn every_kind_of_expression_decodes_to_what_was_encoded() {
        for text in [
            "a.b.c == 1 && has(x.y) || !z",
            "[1, 2u, 3.5, -4, 'text', b'bytes', null, true, false]",
            "{'k': [1, 2], 'v': {'w': x}}.k.exists(e, e > 1)",
            "items.map(i, i.name).filter(n, n.startsWith('t')).size() > 0 ? 'a' : 'b'",
            "lists.range(3).all(i, i < 3) && m.?field.orValue(0) == 0",
            "[?x.?y, 1]",
            "{?'a': x.?b}",
        ] {
            let expr = parsed(text);
            assert_ne!(expr, IdedExpr::default(), "{text}");
            let mut bytes = Vec::new();
            encode(&expr, &mut bytes);
            assert_eq!(decode(&bytes), Some(expr), "{text}");
        }
    }

    #[test]
    fn truncated_or_extended_bytes_decode_to_nothing() {
        let mut bytes = Vec::new();
        encode(&parsed("a.b + [1, 'x'] == c"), &mut bytes);
        for end in 0..bytes.len() {
            assert_eq!(decode(bytes.get(..end).unwrap_or_default()), None, "{end}");
        }
        bytes.push(0);
        assert_eq!(decode(&bytes), None);
    }

    #[test]
    fn a_length_beyond_the_bytes_is_refused_before_allocating() {
        // id, then a call whose name claims 4 GiB.
        let mut bytes = vec![0u8; 8];
        bytes.push(1);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bytes), None);
    }
}
