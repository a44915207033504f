//! Schema-directed text-format parser: reads tokens message by message, checks each field
//! against the descriptor tables, builds the [`Node`] tree and collects errors. It follows the
//! C++ `TextFormat::Parser` grammar (`ConsumeField`), but where the C++ parser stops at the
//! first error this one reports it and moves on.

use std::collections::HashMap;

use super::lexer::{self, Token, TokenKind};
use super::schema::{EnumDesc, FieldDesc, FieldType, MessageDesc, Scalar};
use super::{PbtxtDocument, PbtxtError, PbtxtErrorKind};
use crate::escape::excerpt;
use crate::source::{FileId, Span};
use crate::tree::{Node, Value};

/// Message nesting limit, the same as protobuf's default recursion limit. The schema-directed
/// parse cannot nest deeper than the schema does; unknown content is skipped without recursion.
const MAX_DEPTH: usize = 100;

/// After this many errors the file is clearly not a config.pbtxt; stop reporting.
const MAX_ERRORS: usize = 200;

pub(super) fn parse(file: FileId, text: &str, root: &'static MessageDesc) -> PbtxtDocument {
    let from = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let (tokens, lex_errors) = lexer::tokenize(text, from);
    let mut parser = Parser {
        text,
        file,
        tokens,
        pos: 0,
        errors: Vec::new(),
        depth: 0,
        gave_up: false,
    };
    for e in lex_errors {
        parser.error(
            Span::new(file, e.start, e.end),
            PbtxtErrorKind::Syntax,
            e.message,
        );
    }
    let (entries, _) = parser.message_body(root, None);
    let mut root_node = Node::map(entries);
    root_node.span = Some(Span::new(file, 0, text.len()));
    let mut errors = parser.errors;
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    PbtxtDocument {
        root: root_node,
        errors,
    }
}

struct Parser<'a> {
    text: &'a str,
    file: FileId,
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<PbtxtError>,
    depth: usize,
    gave_up: bool,
}

/// The fields of one message being read.
struct Fields {
    entries: Vec<(String, Node)>,
    /// First occurrence (field-name span) of every field seen, including ones whose value was
    /// rejected, to report non-repeated fields set twice.
    seen: Vec<(&'static str, Span)>,
    /// Per oneof of the message: the member set first, and where.
    oneof_set: Vec<Option<(&'static str, Span)>>,
    /// Per map field: key → position in the map's entries, so that a map of many keys is
    /// built in linear time.
    map_keys: HashMap<&'static str, HashMap<String, usize>>,
}

/// One occurrence of a field's value(s) in the text.
enum Occurrence {
    /// `field: value` or `field { ... }`.
    Single(Node),
    /// `field: [ ... ]`; the span is the bracketed list.
    List(Vec<Node>, Span),
}

impl Parser<'_> {
    // ---- tokens ------------------------------------------------------------------------

    fn peek(&self) -> Option<Token> {
        if self.gave_up {
            return None;
        }
        self.tokens.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.peek()?;
        self.pos += 1;
        Some(token)
    }

    fn is_symbol(&self, c: char) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Symbol(s), .. }) if s == c)
    }

    fn eat_symbol(&mut self, c: char) -> Option<Token> {
        if self.is_symbol(c) { self.bump() } else { None }
    }

    fn at_opener(&self) -> bool {
        self.is_symbol('{') || self.is_symbol('<')
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn token_span(&self, token: Token) -> Span {
        self.span(token.start, token.end)
    }

    fn token_text(&self, token: Token) -> &str {
        self.text.get(token.start..token.end).unwrap_or("")
    }

    /// End of the last consumed token, for spans of what was just read.
    fn last_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.end)
    }

    /// A short description of the next token for "found ..." messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "end of file".to_string(),
            Some(t) => format!("`{}`", excerpt(self.token_text(t))),
        }
    }

    /// Span of the next token, or an empty span at the end of the text.
    fn next_span(&self) -> Span {
        match self.peek() {
            Some(t) => self.token_span(t),
            None => self.span(self.text.len(), self.text.len()),
        }
    }

    // ---- errors ------------------------------------------------------------------------

    fn error(&mut self, span: Span, kind: PbtxtErrorKind, message: impl Into<String>) {
        self.error_related(span, kind, message, None);
    }

    fn error_related(
        &mut self,
        span: Span,
        kind: PbtxtErrorKind,
        message: impl Into<String>,
        related: Option<Span>,
    ) {
        if self.gave_up {
            return;
        }
        if self.errors.len() >= MAX_ERRORS {
            self.errors.push(PbtxtError {
                span,
                message: format!(
                    "too many errors ({MAX_ERRORS}); the rest of the file was not checked"
                ),
                kind: PbtxtErrorKind::Syntax,
                related: None,
            });
            self.gave_up = true;
            return;
        }
        self.errors.push(PbtxtError {
            span,
            message: message.into(),
            kind,
            related,
        });
    }

    // ---- messages ----------------------------------------------------------------------

    /// Reads fields until the closing delimiter `close` (consumed) or, at top level, the end.
    /// Returns the fields and the end offset of the closing delimiter.
    fn message_body(
        &mut self,
        desc: &'static MessageDesc,
        close: Option<Closing>,
    ) -> (Vec<(String, Node)>, usize) {
        let mut fields = Fields {
            entries: Vec::new(),
            seen: Vec::new(),
            oneof_set: vec![None; desc.oneofs.len()],
            map_keys: HashMap::new(),
        };
        loop {
            let Some(token) = self.peek() else {
                if let Some(closing) = close {
                    self.error_related(
                        self.token_span(closing.open),
                        PbtxtErrorKind::Syntax,
                        format!(
                            "`{}` of `{}` is never closed: expected `{}` before the end of the file",
                            self.token_text(closing.open),
                            closing.field,
                            closing.closer
                        ),
                        Some(self.next_span()),
                    );
                }
                return (fields.entries, self.text.len());
            };
            if let TokenKind::Symbol(c @ ('}' | '>')) = token.kind {
                match close {
                    Some(closing) if closing.closer == c => {
                        self.bump();
                        return (fields.entries, token.end);
                    }
                    Some(closing) => {
                        // `{ ... >`: report, and take it as the end of this message anyway.
                        self.error_related(
                            self.token_span(token),
                            PbtxtErrorKind::Syntax,
                            format!(
                                "expected `{}` to close `{}`, found `{c}`",
                                closing.closer, closing.field
                            ),
                            Some(self.token_span(closing.open)),
                        );
                        self.bump();
                        return (fields.entries, token.end);
                    }
                    None => {
                        self.error(
                            self.token_span(token),
                            PbtxtErrorKind::Syntax,
                            format!("unexpected `{c}`: no message is open here"),
                        );
                        self.bump();
                        continue;
                    }
                }
            }
            self.field(desc, &mut fields);
        }
    }

    /// One `name: value` / `name { ... }` / `name: [ ... ]` field, with its optional `;` or `,`.
    /// Always consumes at least one token.
    fn field(&mut self, desc: &'static MessageDesc, fields: &mut Fields) {
        let Some(name_token) = self.peek() else {
            return;
        };
        match name_token.kind {
            TokenKind::Ident => {}
            TokenKind::Symbol('[') => {
                self.extension();
                self.eat_separator();
                return;
            }
            TokenKind::Invalid => {
                // Already reported by the tokenizer.
                self.bump();
                return;
            }
            _ => {
                self.error(
                    self.token_span(name_token),
                    PbtxtErrorKind::Syntax,
                    format!("expected a field name, found {}", self.found()),
                );
                self.recover();
                return;
            }
        }
        self.bump();
        let name = self.token_text(name_token).to_string();
        let key_span = self.token_span(name_token);
        let Some(field) = desc.field(&name) else {
            self.unknown_field(desc, &name, key_span);
            self.skip_field_value(&name);
            self.eat_separator();
            return;
        };

        // Checked before the value, as protobuf does, so the value is still read (and checked).
        let duplicate = !field.repeated && fields.seen.iter().any(|(n, _)| *n == field.name);
        if duplicate {
            let first = fields
                .seen
                .iter()
                .find(|(n, _)| *n == field.name)
                .map(|(_, s)| *s);
            self.error_related(
                key_span,
                PbtxtErrorKind::DuplicateField,
                format!(
                    "field `{}` is not repeated but is set more than once",
                    field.name
                ),
                first,
            );
        } else if !fields.seen.iter().any(|(n, _)| *n == field.name) {
            // One entry per field name (the schema bounds how many), however often a
            // repeated field occurs.
            fields.seen.push((field.name, key_span));
        }
        if let Some(index) = field.oneof {
            match fields.oneof_set.get(index).copied().flatten() {
                Some((other, other_span)) if other != field.name => {
                    let oneof = desc.oneofs.get(index).copied().unwrap_or("?");
                    self.error_related(
                        key_span,
                        PbtxtErrorKind::OneofConflict,
                        format!(
                            "`{}` and `{other}` are both members of oneof `{oneof}` in {}; only one may be set",
                            field.name, desc.full_name
                        ),
                        Some(other_span),
                    );
                }
                Some(_) => {}
                None => {
                    if let Some(slot) = fields.oneof_set.get_mut(index) {
                        *slot = Some((field.name, key_span));
                    }
                }
            }
        }

        let colon = self.eat_symbol(':');
        let is_message = matches!(field.ty, FieldType::Message(_));
        if colon.is_none() && !is_message && !self.at_opener() {
            self.error(
                self.next_span(),
                PbtxtErrorKind::Syntax,
                format!(
                    "expected `:` after field name `{}`, found {}",
                    field.name,
                    self.found()
                ),
            );
        }

        let occurrence = if self.is_symbol('[') {
            if field.repeated {
                let (items, span) = self.list(field);
                Some(Occurrence::List(items, span))
            } else {
                let span = self.skip_balanced();
                self.error(
                    span,
                    PbtxtErrorKind::WrongType,
                    format!(
                        "field `{}` is not repeated: it takes one {}, not a list",
                        field.name,
                        field.ty.name()
                    ),
                );
                None
            }
        } else {
            self.single(field).map(Occurrence::Single)
        };
        if let (Some(occurrence), false) = (occurrence, duplicate) {
            self.insert(fields, field, key_span, occurrence);
        }
        self.eat_separator();
    }

    fn eat_separator(&mut self) {
        if self.eat_symbol(';').is_none() {
            self.eat_symbol(',');
        }
    }

    fn unknown_field(&mut self, desc: &'static MessageDesc, name: &str, span: Span) {
        let suggestion = suggest(name, desc.field_names());
        let mut message = if desc.map_entry {
            format!(
                "unknown field `{}` in a map entry: entries have only `key` and `value`",
                excerpt(name)
            )
        } else {
            format!("unknown field `{}` in {}", excerpt(name), desc.full_name)
        };
        if let Some(s) = &suggestion {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        self.error(span, PbtxtErrorKind::UnknownField { suggestion }, message);
    }

    /// `[pkg.ext]` or `[type.googleapis.com/pkg.Type]` field names: reported and skipped.
    fn extension(&mut self) {
        let Some(open) = self.bump() else {
            return;
        };
        while let Some(t) = self.peek() {
            match t.kind {
                TokenKind::Ident | TokenKind::Symbol('.' | '/') => {
                    self.bump();
                }
                _ => break,
            }
        }
        let close = self.eat_symbol(']');
        let end = close.map_or(self.last_end(), |t| t.end);
        let span = self.span(open.start, end);
        if close.is_none() {
            self.error(
                self.next_span(),
                PbtxtErrorKind::Syntax,
                format!(
                    "expected `]` to end the extension name, found {}",
                    self.found()
                ),
            );
            self.recover();
            return;
        }
        let name = self.text.get(open.start..end).unwrap_or("[]").to_string();
        self.error(
            span,
            PbtxtErrorKind::Unsupported,
            format!(
                "extension or Any field `{name}` is not supported: inference.ModelConfig declares no extensions"
            ),
        );
        self.skip_field_value(&name);
    }

    /// Skips the value of a field that is not in the schema, the way protobuf's `SkipField`
    /// guesses its shape: after `:` a scalar or list unless a message follows; without `:` a
    /// message.
    fn skip_field_value(&mut self, name: &str) {
        if self.eat_symbol(':').is_some() && !self.at_opener() {
            self.skip_value();
        } else if self.at_opener() {
            self.skip_balanced();
        } else {
            self.error(
                self.next_span(),
                PbtxtErrorKind::Syntax,
                format!(
                    "expected `:` or `{{` after field name `{name}`, found {}",
                    self.found()
                ),
            );
        }
    }

    /// Skips one scalar value (strings, an optionally negative number or identifier) or a
    /// bracketed list, without interpreting it.
    fn skip_value(&mut self) {
        match self.peek().map(|t| t.kind) {
            Some(TokenKind::Str) => {
                while matches!(self.peek().map(|t| t.kind), Some(TokenKind::Str)) {
                    self.bump();
                }
            }
            Some(TokenKind::Symbol('[')) => {
                self.skip_balanced();
            }
            Some(TokenKind::Symbol('-')) => {
                self.bump();
                if matches!(
                    self.peek().map(|t| t.kind),
                    Some(TokenKind::Int | TokenKind::Float | TokenKind::Ident | TokenKind::Invalid)
                ) {
                    self.bump();
                } else {
                    self.error(
                        self.next_span(),
                        PbtxtErrorKind::Syntax,
                        format!("expected a number after `-`, found {}", self.found()),
                    );
                }
            }
            Some(TokenKind::Int | TokenKind::Float | TokenKind::Ident | TokenKind::Invalid) => {
                self.bump();
            }
            _ => {
                self.error(
                    self.next_span(),
                    PbtxtErrorKind::Syntax,
                    format!("expected a value, found {}", self.found()),
                );
            }
        }
    }

    /// Skips from an opening `{`, `<` or `[` to its matching closer, iteratively (so that no
    /// nesting depth can exhaust the stack). Returns the span skipped.
    fn skip_balanced(&mut self) -> Span {
        let Some(open) = self.bump() else {
            return self.next_span();
        };
        let mut stack: Vec<char> = vec![closer_of(open.kind)];
        while let Some(t) = self.bump() {
            match t.kind {
                TokenKind::Symbol(c @ ('{' | '<' | '[')) => stack.push(closer_of_char(c)),
                TokenKind::Symbol(c @ ('}' | '>' | ']')) => {
                    if stack.last() == Some(&c) {
                        stack.pop();
                    } else {
                        self.error(
                            self.token_span(t),
                            PbtxtErrorKind::Syntax,
                            format!(
                                "expected `{}`, found `{c}`",
                                stack.last().copied().unwrap_or('}')
                            ),
                        );
                        // Take it as closing the innermost open delimiter.
                        stack.pop();
                    }
                    if stack.is_empty() {
                        return self.span(open.start, t.end);
                    }
                }
                _ => {}
            }
        }
        let closer = stack.last().copied().unwrap_or('}');
        self.error_related(
            self.token_span(open),
            PbtxtErrorKind::Syntax,
            format!(
                "`{}` is never closed: expected `{closer}` before the end of the file",
                self.token_text(open)
            ),
            Some(self.next_span()),
        );
        self.span(open.start, self.text.len())
    }

    /// After a token that cannot start a field: skip to the next plausible field name or to
    /// the end of the enclosing message. Consumes at least one token.
    fn recover(&mut self) {
        if self.at_opener() || self.is_symbol('[') {
            self.skip_balanced();
        } else {
            self.bump();
        }
        while let Some(t) = self.peek() {
            match t.kind {
                TokenKind::Ident | TokenKind::Symbol('}' | '>') => return,
                TokenKind::Symbol('{' | '<' | '[') => {
                    self.skip_balanced();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// A bracketed list of values of a repeated field; the `[` is next.
    fn list(&mut self, field: &'static FieldDesc) -> (Vec<Node>, Span) {
        let mut items = Vec::new();
        let Some(open) = self.bump() else {
            return (items, self.next_span());
        };
        if let Some(close) = self.eat_symbol(']') {
            return (items, self.span(open.start, close.end));
        }
        loop {
            if let Some(node) = self.single(field) {
                items.push(node);
            }
            if let Some(close) = self.eat_symbol(']') {
                return (items, self.span(open.start, close.end));
            }
            if self.eat_symbol(',').is_some() {
                continue;
            }
            match self.peek().map(|t| t.kind) {
                None | Some(TokenKind::Symbol('}' | '>')) => {
                    self.error_related(
                        self.token_span(open),
                        PbtxtErrorKind::Syntax,
                        format!(
                            "the list of `{}` is never closed: expected `]` before {}",
                            field.name,
                            self.found()
                        ),
                        Some(self.next_span()),
                    );
                    let end = self.last_end();
                    return (items, self.span(open.start, end));
                }
                Some(kind) => {
                    self.error(
                        self.next_span(),
                        PbtxtErrorKind::Syntax,
                        format!(
                            "expected `,` or `]` in the list of `{}`, found {}",
                            field.name,
                            self.found()
                        ),
                    );
                    // A value right after a value is a missing comma: read it. Anything else
                    // is skipped so the loop always moves on.
                    if !starts_value(kind) {
                        self.bump();
                    }
                }
            }
        }
    }

    /// One value of `field`: a message block or a scalar. `None` when it was rejected (an
    /// error has been reported and the value skipped).
    fn single(&mut self, field: &'static FieldDesc) -> Option<Node> {
        match field.ty {
            FieldType::Message(message) => {
                if self.at_opener() {
                    self.message(message, field.name)
                } else {
                    let span = self.next_span();
                    let found = self.found();
                    let mut text = if message.map_entry {
                        format!(
                            "field `{}` is a map: expected `{{ key: ... value: ... }}`, found {found}",
                            field.name
                        )
                    } else {
                        format!(
                            "field `{}` is a message ({}): expected `{{`, found {found}",
                            field.name, message.full_name
                        )
                    };
                    // `value: "x"` for a ModelParameter, the most common slip in Triton configs.
                    if let ([only], Some(token)) = (message.fields, self.peek())
                        && token.kind == TokenKind::Str
                        && matches!(only.ty, FieldType::Scalar(Scalar::String))
                    {
                        let literal = self.token_text(token);
                        text.push_str(&format!("; write `{{ {}: {literal} }}`", only.name));
                    }
                    self.skip_scalar_for_recovery();
                    self.error(span, PbtxtErrorKind::WrongType, text);
                    None
                }
            }
            FieldType::Scalar(_) | FieldType::Enum(_) if self.at_opener() => {
                let span = self.skip_balanced();
                self.error(
                    span,
                    PbtxtErrorKind::WrongType,
                    format!(
                        "field `{}` takes {}, not a message",
                        field.name,
                        with_article(field.ty.name())
                    ),
                );
                None
            }
            FieldType::Scalar(scalar) => {
                let raw = self.raw_scalar(field)?;
                self.convert_scalar(field, scalar, raw)
            }
            FieldType::Enum(e) => {
                let raw = self.raw_scalar(field)?;
                self.convert_enum(field, e, raw)
            }
        }
    }

    /// Skips what stands where a message was expected, unless it is structure that the
    /// enclosing parse must see.
    fn skip_scalar_for_recovery(&mut self) {
        if self.peek().is_some_and(|t| starts_value(t.kind)) {
            self.skip_value();
        }
    }

    /// A `{ ... }` or `< ... >` message block; the opener is next.
    fn message(&mut self, desc: &'static MessageDesc, field: &'static str) -> Option<Node> {
        let open = self.peek()?;
        if self.depth >= MAX_DEPTH {
            let span = self.skip_balanced();
            self.error(
                span,
                PbtxtErrorKind::Syntax,
                format!("messages nested deeper than {MAX_DEPTH} levels"),
            );
            return None;
        }
        self.bump();
        let closer = closer_of(open.kind);
        self.depth += 1;
        let closing = Closing {
            closer,
            open,
            field,
        };
        let (entries, end) = self.message_body(desc, Some(closing));
        self.depth -= 1;
        Some(Node::spanned(
            Value::Map(entries),
            Some(self.span(open.start, end)),
        ))
    }

    // ---- scalars -----------------------------------------------------------------------

    /// Reads the tokens of one scalar value. `None` if there is none (reported, unless the
    /// tokenizer already did).
    fn raw_scalar(&mut self, field: &FieldDesc) -> Option<RawScalar> {
        let token = self.peek();
        match token.map(|t| t.kind) {
            Some(TokenKind::Str) => {
                let first = token?;
                let mut bytes = Vec::new();
                let mut end = first.end;
                while let Some(t) = self.peek().filter(|t| t.kind == TokenKind::Str) {
                    lexer::decode_string(self.token_text(t), &mut bytes);
                    end = t.end;
                    self.bump();
                }
                Some(RawScalar {
                    span: self.span(first.start, end),
                    negative: false,
                    kind: RawKind::Str(bytes),
                })
            }
            Some(TokenKind::Symbol('-')) => {
                let minus = self.bump()?;
                let next = self.peek();
                match next.map(|t| t.kind) {
                    Some(TokenKind::Int | TokenKind::Float | TokenKind::Ident) => {
                        let t = self.bump()?;
                        Some(RawScalar {
                            span: self.span(minus.start, t.end),
                            negative: true,
                            kind: self.raw_kind(t),
                        })
                    }
                    Some(TokenKind::Invalid) => {
                        self.bump();
                        None
                    }
                    _ => {
                        self.error(
                            self.next_span(),
                            PbtxtErrorKind::Syntax,
                            format!("expected a number after `-`, found {}", self.found()),
                        );
                        None
                    }
                }
            }
            Some(TokenKind::Int | TokenKind::Float | TokenKind::Ident) => {
                let t = self.bump()?;
                Some(RawScalar {
                    span: self.token_span(t),
                    negative: false,
                    kind: self.raw_kind(t),
                })
            }
            Some(TokenKind::Invalid) => {
                self.bump();
                None
            }
            Some(TokenKind::Symbol(c)) => {
                self.error(
                    self.next_span(),
                    PbtxtErrorKind::Syntax,
                    format!(
                        "expected a value for field `{}`, found {}",
                        field.name,
                        self.found()
                    ),
                );
                // Leave structure and separators to the enclosing parse.
                if !matches!(c, '}' | '>' | ']' | ',' | ';' | '[') {
                    self.bump();
                }
                None
            }
            None => {
                self.error(
                    self.next_span(),
                    PbtxtErrorKind::Syntax,
                    format!(
                        "expected a value for field `{}`, found end of file",
                        field.name
                    ),
                );
                None
            }
        }
    }

    fn raw_kind(&self, token: Token) -> RawKind {
        let text = self.token_text(token).to_string();
        match token.kind {
            TokenKind::Int => RawKind::Int(text),
            TokenKind::Float => RawKind::Float(text),
            _ => RawKind::Ident(text),
        }
    }

    fn convert_scalar(
        &mut self,
        field: &FieldDesc,
        scalar: Scalar,
        raw: RawScalar,
    ) -> Option<Node> {
        let span = raw.span;
        let value = match scalar {
            Scalar::String | Scalar::Bytes => match raw.kind {
                RawKind::Str(bytes) => Value::Str(String::from_utf8_lossy(&bytes).into_owned()),
                _ => return self.wrong_type(field, &raw.span, "a quoted string"),
            },
            Scalar::Bool => match (&raw.kind, raw.negative) {
                (RawKind::Ident(word), false) => match word.as_str() {
                    "true" | "True" | "t" => Value::Bool(true),
                    "false" | "False" | "f" => Value::Bool(false),
                    _ => return self.wrong_type(field, &raw.span, "`true` or `false`"),
                },
                (RawKind::Int(digits), false) => match parse_integer(digits) {
                    Some(0) => Value::Bool(false),
                    Some(1) => Value::Bool(true),
                    _ => return self.wrong_type(field, &raw.span, "`true` or `false`"),
                },
                _ => return self.wrong_type(field, &raw.span, "`true` or `false`"),
            },
            Scalar::Float | Scalar::Double => match &raw.kind {
                RawKind::Int(digits) => {
                    if is_hex_or_octal(digits) {
                        return self.wrong_type(field, &raw.span, "a decimal number");
                    }
                    let v: f64 = digits.parse().unwrap_or(f64::INFINITY);
                    Value::Float(if raw.negative { -v } else { v })
                }
                RawKind::Float(text) => {
                    let trimmed = text.trim_end_matches(['f', 'F']);
                    match trimmed.parse::<f64>() {
                        Ok(v) => Value::Float(if raw.negative { -v } else { v }),
                        Err(_) => return self.wrong_type(field, &raw.span, "a number"),
                    }
                }
                RawKind::Ident(word) => match word.to_ascii_lowercase().as_str() {
                    "inf" | "infinity" => Value::Float(if raw.negative {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }),
                    "nan" => Value::Float(f64::NAN),
                    _ => return self.wrong_type(field, &raw.span, "a number"),
                },
                RawKind::Str(_) => return self.wrong_type(field, &raw.span, "a number"),
            },
            integer => {
                let Some(range) = integer.integer_range() else {
                    return self.wrong_type(field, &raw.span, "a value");
                };
                let RawKind::Int(digits) = &raw.kind else {
                    return self.wrong_type(field, &raw.span, "an integer");
                };
                let Some(magnitude) = parse_integer(digits) else {
                    return self.out_of_range(field, span);
                };
                if raw.negative && !range.signed {
                    self.error(
                        span,
                        PbtxtErrorKind::OutOfRange,
                        format!(
                            "field `{}` is {} and cannot be negative",
                            field.name,
                            with_article(field.ty.name())
                        ),
                    );
                    return None;
                }
                let limit = if raw.negative {
                    range.max.saturating_add(1)
                } else {
                    range.max
                };
                if magnitude > limit {
                    return self.out_of_range(field, span);
                }
                if raw.negative {
                    // magnitude <= i64::MAX + 1 here, so this is exact.
                    Value::Int(0i64.wrapping_sub_unsigned(magnitude))
                } else {
                    match i64::try_from(magnitude) {
                        Ok(v) => Value::Int(v),
                        // uint64 beyond i64: the nearest float (see the module docs).
                        Err(_) => Value::Float(magnitude as f64),
                    }
                }
            }
        };
        Some(Node::spanned(value, Some(span)))
    }

    fn convert_enum(
        &mut self,
        field: &FieldDesc,
        desc: &'static EnumDesc,
        raw: RawScalar,
    ) -> Option<Node> {
        let span = raw.span;
        match &raw.kind {
            RawKind::Ident(word) if !raw.negative => {
                if desc.by_name(word).is_some() {
                    return Some(Node::spanned(Value::Str(word.clone()), Some(span)));
                }
                let suggestion = suggest(word, desc.values.iter().map(|(n, _)| *n));
                let mut message = format!(
                    "`{}` is not a value of enum {}",
                    excerpt(word),
                    desc.full_name
                );
                match &suggestion {
                    Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
                    None => message.push_str(&format!(" (values: {})", value_list(desc))),
                }
                self.error(span, PbtxtErrorKind::BadEnumValue { suggestion }, message);
                None
            }
            RawKind::Int(digits) => {
                let number = parse_integer(digits)
                    .and_then(|m| i64::try_from(m).ok())
                    .map(|m| if raw.negative { -m } else { m });
                if let Some(name) = number.and_then(|n| desc.by_number(n)) {
                    return Some(Node::spanned(Value::Str(name.to_string()), Some(span)));
                }
                let text = self
                    .text
                    .get(span.start..span.end)
                    .unwrap_or(digits)
                    .to_string();
                self.error(
                    span,
                    PbtxtErrorKind::BadEnumValue { suggestion: None },
                    format!(
                        "enum {} has no value numbered {} (values: {})",
                        desc.full_name,
                        excerpt(&text),
                        value_list(desc)
                    ),
                );
                None
            }
            RawKind::Str(bytes) => {
                let inner = String::from_utf8_lossy(bytes);
                let mut message = format!(
                    "field `{}` is an enum ({}): expected a value name without quotes",
                    field.name, desc.full_name
                );
                if desc.by_name(&inner).is_some() {
                    message.push_str(&format!(", write `{inner}`"));
                }
                self.error(span, PbtxtErrorKind::WrongType, message);
                None
            }
            _ => self.wrong_type(field, &span, "an enum value name"),
        }
    }

    fn wrong_type(&mut self, field: &FieldDesc, span: &Span, expected: &str) -> Option<Node> {
        let found = self
            .text
            .get(span.start..span.end)
            .unwrap_or("")
            .to_string();
        self.error(
            *span,
            PbtxtErrorKind::WrongType,
            format!(
                "field `{}` is {}: expected {expected}, found `{found}`",
                field.name,
                with_article(field.ty.name())
            ),
        );
        None
    }

    fn out_of_range(&mut self, field: &FieldDesc, span: Span) -> Option<Node> {
        let found = self
            .text
            .get(span.start..span.end)
            .unwrap_or("")
            .to_string();
        self.error(
            span,
            PbtxtErrorKind::OutOfRange,
            format!(
                "`{found}` is out of range for field `{}` ({})",
                field.name,
                field.ty.name()
            ),
        );
        None
    }

    // ---- building the tree -------------------------------------------------------------

    fn insert(
        &mut self,
        fields: &mut Fields,
        field: &'static FieldDesc,
        key_span: Span,
        occurrence: Occurrence,
    ) {
        if let Some(entry) = field.map_entry() {
            self.insert_map(fields, field, entry, key_span, occurrence);
            return;
        }
        if !field.repeated {
            if let Occurrence::Single(mut node) = occurrence {
                node.key_span = Some(key_span);
                fields.entries.push((field.name.to_string(), node));
            }
            return;
        }
        let (items, span) = match occurrence {
            Occurrence::Single(mut node) => {
                node.key_span = Some(key_span);
                let span = node.span;
                (vec![node], span)
            }
            Occurrence::List(items, span) => (items, Some(span)),
        };
        let Some(list) = entry_node(fields, field.name, key_span, || Value::List(Vec::new()))
        else {
            return;
        };
        list.span = join(list.span, span);
        if let Value::List(existing) = &mut list.value {
            existing.extend(items);
        }
    }

    /// Adds `map<K, V>` entries, each parsed as its entry message `{ key: .. value: .. }`.
    fn insert_map(
        &mut self,
        fields: &mut Fields,
        field: &'static FieldDesc,
        entry: &'static MessageDesc,
        key_span: Span,
        occurrence: Occurrence,
    ) {
        let (entries, span) = match occurrence {
            Occurrence::Single(node) => {
                let span = node.span;
                (vec![node], span)
            }
            Occurrence::List(items, span) => (items, Some(span)),
        };
        let mut duplicates = Vec::new();
        {
            let mut keys = fields.map_keys.remove(field.name).unwrap_or_default();
            let Some(map) = entry_node(fields, field.name, key_span, || Value::Map(Vec::new()))
            else {
                return;
            };
            map.span = join(map.span, span);
            let Value::Map(existing) = &mut map.value else {
                return;
            };
            for entry_node in entries {
                let (key, key_node_span, value) = self.map_entry_parts(entry, entry_node);
                match keys.get(&key).and_then(|&i| existing.get_mut(i)) {
                    Some((_, slot)) => {
                        duplicates.push((key, key_node_span, slot.key_span));
                        // As in protobuf, the later entry wins.
                        *slot = value;
                    }
                    None => {
                        keys.insert(key.clone(), existing.len());
                        existing.push((key, value));
                    }
                }
            }
            fields.map_keys.insert(field.name, keys);
        }
        for (key, span, first) in duplicates {
            self.error_related(
                span,
                PbtxtErrorKind::DuplicateMapKey,
                format!(
                    "key \"{}\" appears more than once in map `{}`; the last entry wins",
                    excerpt(&key),
                    field.name
                ),
                first,
            );
        }
    }

    /// The key text, the key's span and the value node of one parsed map entry. Missing parts
    /// take the proto default (see the module docs).
    fn map_entry_parts(&self, entry: &'static MessageDesc, node: Node) -> (String, Span, Node) {
        let entry_span = node.span.unwrap_or_else(|| self.span(0, 0));
        let mut key: Option<Node> = None;
        let mut value: Option<Node> = None;
        if let Value::Map(parts) = node.value {
            for (name, part) in parts {
                match name.as_str() {
                    "key" => key = Some(part),
                    "value" => value = Some(part),
                    _ => {}
                }
            }
        }
        let key_span = key.as_ref().and_then(|k| k.span).unwrap_or(entry_span);
        let key_text = match key.map(|k| k.value) {
            Some(Value::Str(s)) => s,
            Some(Value::Int(i)) => i.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            // A uint64 key above i64::MAX: re-read the digits rather than print a float.
            Some(Value::Float(f)) => self
                .text
                .get(key_span.start..key_span.end)
                .and_then(parse_integer)
                .map_or_else(|| f.to_string(), |v| v.to_string()),
            Some(_) | None => default_key(entry),
        };
        let mut value = value.unwrap_or_else(|| default_value(entry, entry_span));
        value.key_span = Some(key_span);
        (key_text, key_span, value)
    }
}

/// The end a message body is waiting for.
#[derive(Clone, Copy)]
struct Closing {
    closer: char,
    open: Token,
    /// The field whose value the message is, for messages.
    field: &'static str,
}

/// A scalar as read, before it is checked against its field's type.
struct RawScalar {
    span: Span,
    negative: bool,
    kind: RawKind,
}

enum RawKind {
    Int(String),
    Float(String),
    Ident(String),
    Str(Vec<u8>),
}

fn closer_of(kind: TokenKind) -> char {
    match kind {
        TokenKind::Symbol(c) => closer_of_char(c),
        _ => '}',
    }
}

fn closer_of_char(c: char) -> char {
    match c {
        '<' => '>',
        '[' => ']',
        _ => '}',
    }
}

fn starts_value(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Str
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Ident
            | TokenKind::Invalid
            | TokenKind::Symbol('-' | '{' | '<')
    )
}

fn join(a: Option<Span>, b: Option<Span>) -> Option<Span> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.join(b)),
        (a, b) => a.or(b),
    }
}

/// The node under `name` in the message being read, created (with `key_span`) on first use.
fn entry_node<'f>(
    fields: &'f mut Fields,
    name: &str,
    key_span: Span,
    empty: impl FnOnce() -> Value,
) -> Option<&'f mut Node> {
    if !fields.entries.iter().any(|(k, _)| k == name) {
        let mut node = Node::new(empty());
        node.key_span = Some(key_span);
        fields.entries.push((name.to_string(), node));
    }
    fields
        .entries
        .iter_mut()
        .find(|(k, _)| k == name)
        .map(|(_, node)| node)
}

fn default_key(entry: &MessageDesc) -> String {
    match entry.field("key").map(|f| f.ty) {
        Some(FieldType::Scalar(Scalar::Bool)) => "false".to_string(),
        Some(FieldType::Scalar(Scalar::String | Scalar::Bytes)) | None => String::new(),
        Some(_) => "0".to_string(),
    }
}

fn default_value(entry: &MessageDesc, span: Span) -> Node {
    let value = match entry.field("value").map(|f| f.ty) {
        Some(FieldType::Message(_)) | None => Value::Map(Vec::new()),
        Some(FieldType::Enum(e)) => Value::Str(e.by_number(0).unwrap_or_default().to_string()),
        Some(FieldType::Scalar(s)) => match s {
            Scalar::String | Scalar::Bytes => Value::Str(String::new()),
            Scalar::Bool => Value::Bool(false),
            Scalar::Float | Scalar::Double => Value::Float(0.0),
            _ => Value::Int(0),
        },
    };
    Node::spanned(value, Some(span))
}

/// Parses the digits of an integer token: `0x` hex, leading-zero octal, or decimal. `None`
/// if it does not fit in a u64.
fn parse_integer(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(text.get(1..)?, 8).ok()
    } else {
        text.parse().ok()
    }
}

fn is_hex_or_octal(text: &str) -> bool {
    text.len() > 1 && text.starts_with('0')
}

/// "an int32", "a uint32", "a string".
fn with_article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

fn value_list(desc: &EnumDesc) -> String {
    desc.values
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word` (case-insensitively, counting a swap of neighbours as one
/// edit), if it is within a third of the word's length: `dynamic_batchin` → `dynamic_batching`,
/// `KIND_CPUU` → `KIND_CPU`, `platfrom` → `platform`, but nothing for `mode`.
fn suggest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<String> {
    let word = word.to_ascii_lowercase();
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.to_string())
}
