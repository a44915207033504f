//! Triton `config.pbtxt` files: protobuf text format of `inference.ModelConfig`, parsed into a
//! span-carrying [`Node`] tree and checked against the real schema (`proto/model_config.proto`)
//! on the way, with positioned errors.
//!
//! The text format accepted is what protobuf's C++ `TextFormat::Parser` accepts, since that is
//! what Triton reads config files with: `field: value`, `field { ... }`, `field: { ... }`,
//! `field < ... >`, lists `[a, b]` (also `input [ { ... } ]` without a colon before a message
//! list), `,`/`;` after a field, `#` comments, hex/octal integers, `inf`/`nan`, adjacent string
//! concatenation, C escapes. Errors do not stop the parse: an unknown field's value is skipped
//! structurally, a mistyped value is left out, and the rest of the file is still read.
//!
//! # The tree (what CEL policies see as `config`)
//!
//! * A message is a [`Value::Map`] with field names as keys, in source order. Fields that are
//!   not written are absent: no defaults are filled in.
//! * Every value node has `span` (the value as written: the literal, or the `{ ... }` block,
//!   or the `[ ... ]` list) and, for a field, `key_span` (the field name).
//! * A repeated field is one [`Value::List`] collecting every occurrence, whether written as
//!   `input [ {..}, {..} ]`, as repeated `input {..}` blocks, as `dims: [1, 2]` or as repeated
//!   `dims: 1` lines. The list's `key_span` is the first field name; its `span` covers all its
//!   occurrences. An item written as its own `input { .. }` block carries that block's field
//!   name as `key_span`; an item inside `[ ... ]` has none.
//! * A `map<K, V>` field (`parameters`, `input_map`, `priority_queue_policy`, ...) is a
//!   [`Value::Map`] keyed by the entry's key as text (integer and bool keys in decimal / `true`),
//!   each value node being the entry's `value` with `key_span` = the key literal. An entry
//!   without `value` gets the value type's default (empty string, empty message, 0), spanning
//!   the entry, because the key does exist in Triton's map. When a key repeats, the later
//!   entry wins, as in protobuf, and [`PbtxtErrorKind::DuplicateMapKey`] is reported.
//! * Enums are [`Value::Str`] of the value name; a numeric enum value is converted to its name.
//! * Integers are [`Value::Int`]. A `uint64` above `i64::MAX` (Triton's own tests write
//!   `18446744073709551615`) becomes the nearest [`Value::Float`], which still compares
//!   correctly with integers in CEL. `float`/`double` are [`Value::Float`] as written (not
//!   rounded to `f32`), `bool` is [`Value::Bool`], `string`/`bytes` are [`Value::Str`] with
//!   escapes decoded (invalid UTF-8 from byte escapes is replaced by U+FFFD).
//! * Both members of a violated oneof stay in the tree (Triton would refuse the file; the
//!   error says so). A non-repeated field set twice keeps its first value.
//! * A value that does not fit its field (wrong type, out of range, unknown enum value) is
//!   left out of the tree; its error says why.

mod lexer;
mod parser;
pub mod schema;

use crate::source::{FileId, Span};
use crate::tree::Node;

/// A parsed config.pbtxt: the tree (always present, possibly partial) and every error found.
#[derive(Clone, Debug, PartialEq)]
pub struct PbtxtDocument {
    pub root: Node,
    /// Sorted by position.
    pub errors: Vec<PbtxtError>,
}

impl PbtxtDocument {
    /// True when no error is worse than a repeated map key (which protobuf tolerates: the
    /// last entry wins). Two errors are stricter than protobuf's parser, on purpose: a
    /// non-repeated field set twice whose first value is the proto3 default (`count: 0`
    /// then `count: 2`), and an enum number the enum does not define (proto3 enums are open).
    pub fn is_valid(&self) -> bool {
        self.errors
            .iter()
            .all(|e| matches!(e.kind, PbtxtErrorKind::DuplicateMapKey))
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PbtxtError {
    /// What is wrong: the token, the field name, the value.
    pub span: Span,
    pub message: String,
    pub kind: PbtxtErrorKind,
    /// Where the conflicting earlier setting is, for [`PbtxtErrorKind::DuplicateField`],
    /// [`PbtxtErrorKind::OneofConflict`] and [`PbtxtErrorKind::DuplicateMapKey`]; for an
    /// unclosed `{`/`[`, the opening delimiter.
    pub related: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbtxtErrorKind {
    /// Not valid text format: bad token, unterminated string, missing `:` or `}`, stray symbol.
    Syntax,
    /// A field name the message type does not have.
    UnknownField { suggestion: Option<String> },
    /// A value of the wrong shape: a string for an integer, a scalar for a message, a list for
    /// a non-repeated field.
    WrongType,
    /// An integer that does not fit its field (`-1` for a `uint32`, 2^31 for an `int32`).
    OutOfRange,
    /// An enum value name or number the enum does not define.
    BadEnumValue { suggestion: Option<String> },
    /// A non-repeated field set more than once.
    DuplicateField,
    /// Two members of one oneof set (e.g. `dynamic_batching` and `sequence_batching`).
    OneofConflict,
    /// A map key given twice. Protobuf accepts this (the last entry wins), so it is the one
    /// error kind that Triton does not reject.
    DuplicateMapKey,
    /// Extension or `google.protobuf.Any` syntax (`[pkg.ext] { ... }`): ModelConfig has none.
    Unsupported,
}

/// Parses a config.pbtxt text as `inference.ModelConfig`. Never fails: errors are collected in
/// the document next to whatever part of the tree could be read. A UTF-8 BOM is skipped;
/// spans stay byte offsets into `text` as given.
pub fn parse_model_config(file: FileId, text: &str) -> PbtxtDocument {
    parser::parse(file, text, schema::MODEL_CONFIG)
}

#[cfg(test)]
mod tests;
