//! The tokenizer behind [`super::split_words`]: one source word at a time, so that a caller
//! (the shell scanner) can update the variables it passes between commands.

use std::collections::VecDeque;

use super::assemble::{Piece, assemble, flatten, resolution_of};
use super::{
    DefaultAssignment, Dialect, ExpansionKind, NoVars, Operator, Redirect, RedirectOp, Resolution,
    SourceMap, SplitOptions, VarLookup, VarValue, Word, WordKind, WordsError, WordsErrorKind,
    is_name,
};

/// How deeply `${X:-${Y:-...}}` may nest before the input is rejected.
const DEPTH_LIMIT: usize = 64;
/// After this many errors the text is taken as garbage: each error may have scanned to the
/// end of the text, so going on would be quadratic.
const ERROR_LIMIT: usize = 64;

/// Splits a text into words and operators, one at a time.
///
/// After an error, lexing resumes at the line after the construct that was left open, so a
/// caller can report it and go on with the rest of a script.
pub struct Lexer<'t> {
    text: &'t str,
    map: SourceMap,
    opts: SplitOptions,
    pos: usize,
    queue: VecDeque<Word>,
    heredocs: Vec<PendingHeredoc>,
    /// The previous token was `<<` / `<<-`: the next word is its delimiter.
    delimiter_next: Option<(bool, usize, usize)>,
    /// A `\`-newline continuation ended the text (offset of the backslash).
    dangling: Option<usize>,
    resume_at: usize,
    /// Where the token being read started (lexing always resumes after it).
    token_start: usize,
    depth: usize,
    errors: usize,
    /// The `#` comments passed over, in file spans.
    comments: Vec<crate::source::Span>,
}

struct PendingHeredoc {
    delimiter: String,
    strip_tabs: bool,
    op: (usize, usize),
}

#[derive(Clone, Copy)]
enum Ctx {
    /// A word at the top level: ends at a blank or an operator.
    Top,
    /// The word after the operator in `${X:-word}`: ends at the unquoted `}`. `split`: the
    /// expansion is unquoted, so its blanks and values split fields.
    Brace { split: bool, open: usize },
}

fn char_len(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(1, char::len_utf8)
}

fn is_special_param(b: u8) -> bool {
    matches!(b, b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!' | b'0')
}

impl<'t> Lexer<'t> {
    /// `text` is the bytes of `file` from offset `base` on.
    pub fn new(
        file: crate::source::FileId,
        text: &'t str,
        base: usize,
        opts: SplitOptions,
    ) -> Lexer<'t> {
        Lexer::with_map(text, SourceMap::identity(file, base, text.len()), opts)
    }

    pub fn with_map(text: &'t str, map: SourceMap, opts: SplitOptions) -> Lexer<'t> {
        Lexer {
            text,
            map,
            opts,
            pos: 0,
            queue: VecDeque::new(),
            heredocs: Vec::new(),
            delimiter_next: None,
            dangling: None,
            resume_at: 0,
            comments: Vec::new(),
            token_start: 0,
            depth: 0,
            errors: 0,
        }
    }

    /// Offset in the text where the next token would start (after any queued fields).
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Continues lexing at `offset` of the text (dropping any queued fields).
    pub fn seek(&mut self, offset: usize) {
        self.pos = offset.min(self.text.len());
        self.queue.clear();
        self.heredocs.clear();
        self.delimiter_next = None;
    }

    pub fn map(&self) -> &SourceMap {
        &self.map
    }

    /// The comments passed over so far, handed over once.
    pub fn take_comments(&mut self) -> Vec<crate::source::Span> {
        std::mem::take(&mut self.comments)
    }

    pub fn text(&self) -> &'t str {
        self.text
    }

    /// The next word or operator; `None` at the end of the text.
    pub fn next_word(&mut self, vars: &dyn VarLookup) -> Option<Result<Word, WordsError>> {
        loop {
            if let Some(word) = self.queue.pop_front() {
                return Some(Ok(word));
            }
            self.skip_blanks();
            let Some(c) = self.byte(self.pos) else {
                return self.at_end();
            };
            self.token_start = self.pos;
            if self.shellish() {
                match c {
                    b'#' => {
                        let end = self.line_end(self.pos);
                        let body = self.text.get(self.pos..end).unwrap_or("");
                        let body_end = self.pos + body.trim_end_matches('\r').len();
                        self.comments.push(self.map.span(self.pos..body_end));
                        self.pos = end;
                        continue;
                    }
                    b'\n' | b'\r' => {
                        let len = if c == b'\n' { 1 } else { 2 };
                        if c == b'\n' || self.byte(self.pos + 1) == Some(b'\n') {
                            if let Err(error) = self.newline(len) {
                                return Some(Err(error));
                            }
                            continue;
                        }
                    }
                    b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => {
                        return Some(Ok(self.operator(self.pos)));
                    }
                    b'0'..=b'9' => {
                        if let Some(word) = self.numbered_redirect() {
                            return Some(Ok(word));
                        }
                    }
                    _ => {}
                }
            }
            let mut pieces = Vec::new();
            if let Err(error) = self.pieces(vars, Ctx::Top, &mut pieces) {
                return Some(Err(self.failed(error)));
            }
            let words = assemble(pieces, self.text, &self.map, self.opts.field_splitting);
            if let Some((strip_tabs, start, end)) = self.delimiter_next.take()
                && let Some(first) = words.first()
            {
                self.heredocs.push(PendingHeredoc {
                    delimiter: first.text.clone(),
                    strip_tabs,
                    op: (start, end),
                });
            }
            self.queue.extend(words);
        }
    }

    fn at_end(&mut self) -> Option<Result<Word, WordsError>> {
        if let Some(at) = self.dangling.take() {
            return Some(Err(self.error(
                at,
                at + 1,
                WordsErrorKind::DanglingContinuation,
            )));
        }
        if let Some(heredoc) = self.heredocs.first() {
            let (start, end) = heredoc.op;
            let kind = WordsErrorKind::UnterminatedHeredoc {
                delimiter: heredoc.delimiter.clone(),
            };
            self.heredocs.clear();
            return Some(Err(self.error(start, end, kind)));
        }
        None
    }

    /// Resets the state after an error and moves to where lexing resumes.
    fn failed(&mut self, error: WordsError) -> WordsError {
        self.pos = self
            .resume_at
            .max(self.token_start + 1)
            .min(self.text.len());
        self.errors += 1;
        if self.errors >= ERROR_LIMIT {
            let at = self.pos;
            self.pos = self.text.len();
            self.resume_at = self.text.len();
            self.queue.clear();
            self.heredocs.clear();
            self.delimiter_next = None;
            self.depth = 0;
            return WordsError {
                span: self.map.span(at..at),
                kind: WordsErrorKind::TooManyErrors,
            };
        }
        self.queue.clear();
        self.heredocs.clear();
        self.delimiter_next = None;
        self.depth = 0;
        error
    }

    fn shellish(&self) -> bool {
        matches!(self.opts.dialect, Dialect::Shell | Dialect::Make)
    }

    fn escape(&self) -> u8 {
        match self.opts.dialect {
            Dialect::Dockerfile { escape } => escape,
            _ => b'\\',
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    fn line_end(&self, from: usize) -> usize {
        self.text
            .get(from..)
            .and_then(|rest| rest.find('\n'))
            .map_or(self.text.len(), |i| from + i)
    }

    /// The error for `start..end` of the text; lexing resumes at the next line.
    fn error(&mut self, start: usize, end: usize, kind: WordsErrorKind) -> WordsError {
        let line_end = self.line_end(start);
        self.resume_at = (line_end + 1).min(self.text.len());
        WordsError {
            span: self.map.span(start..end.min(self.text.len())),
            kind,
        }
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.byte(self.pos) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(c) if !self.shellish() && !self.opts.whole && c.is_ascii_whitespace() => {
                    self.pos += 1;
                }
                Some(b'\\') if self.shellish() => {
                    if !self.continuation() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// At a backslash: consumes a `\`-newline (or `\`-CRLF, or a `\` ending the text) and says
    /// whether it did.
    fn continuation(&mut self) -> bool {
        let at = self.pos;
        let len = match (self.byte(at + 1), self.byte(at + 2)) {
            (None, _) => 1,
            (Some(b'\n'), _) => 2,
            (Some(b'\r'), Some(b'\n')) => 3,
            _ => return false,
        };
        self.pos = at + len;
        if self.pos >= self.text.len() {
            self.dangling = Some(at);
        }
        true
    }

    /// Queues a newline operator, preceded by the bodies of the heredocs its line opened.
    fn newline(&mut self, len: usize) -> Result<(), WordsError> {
        let start = self.pos;
        let mut newline = self.map.word(self.text, start..start + len);
        newline.kind = WordKind::Operator(Operator::Newline);
        self.pos = start + len;
        self.delimiter_next = None;
        for heredoc in std::mem::take(&mut self.heredocs) {
            match self.heredoc_body(&heredoc) {
                Ok(body) => self.queue.push_back(body),
                Err(error) => {
                    let error = self.failed(error);
                    // The body runs to the end of the file, as bash reads it.
                    self.pos = self.text.len();
                    return Err(error);
                }
            }
        }
        self.queue.push_back(newline);
        Ok(())
    }

    /// Reads a heredoc's lines up to its delimiter line, from the current position.
    fn heredoc_body(&mut self, heredoc: &PendingHeredoc) -> Result<Word, WordsError> {
        let start = self.pos;
        let mut at = start;
        while at < self.text.len() {
            let end = self.line_end(at);
            let line = self.text.get(at..end).unwrap_or("");
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = if heredoc.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            let next = (end + 1).min(self.text.len());
            if line == heredoc.delimiter {
                self.pos = next;
                let mut body = self.map.word(self.text, start..at);
                body.kind = WordKind::HeredocBody;
                return Ok(body);
            }
            at = next;
        }
        let (op_start, op_end) = heredoc.op;
        Err(self.error(
            op_start,
            op_end,
            WordsErrorKind::UnterminatedHeredoc {
                delimiter: heredoc.delimiter.clone(),
            },
        ))
    }

    /// `2>`, `0<&`: a redirection with a file descriptor, if the digits at the current
    /// position are followed by `<` or `>`.
    fn numbered_redirect(&mut self) -> Option<Word> {
        let start = self.pos;
        let digits = self
            .text
            .get(start..)?
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let after = start + digits;
        if !matches!(self.byte(after), Some(b'<' | b'>')) {
            return None;
        }
        let fd: u32 = self.text.get(start..after)?.parse().ok()?;
        let mut word = self.operator(after);
        if let WordKind::Redirect(redirect) = &mut word.kind {
            redirect.fd = Some(fd);
        }
        let end = after + word.text.len();
        let kind = word.kind;
        let mut word = self.map.word(self.text, start..end);
        word.kind = kind;
        Some(word)
    }

    /// An operator or redirection starting at `at`.
    fn operator(&mut self, at: usize) -> Word {
        use Operator as O;
        use RedirectOp as R;
        let rest = self.text.as_bytes().get(at..).unwrap_or(&[]);
        let op = |o| WordKind::Operator(o);
        let redirect = |r| WordKind::Redirect(Redirect { fd: None, op: r });
        let (len, kind) = match rest {
            [b';', b';', b'&', ..] => (3, op(O::CaseEnd)),
            [b';', b';' | b'&', ..] => (2, op(O::CaseEnd)),
            [b';', ..] => (1, op(O::Semi)),
            [b'&', b'&', ..] => (2, op(O::And)),
            [b'&', b'>', b'>', ..] => (3, redirect(R::AppendOutErr)),
            [b'&', b'>', ..] => (2, redirect(R::OutErr)),
            [b'&', ..] => (1, op(O::Background)),
            [b'|', b'|', ..] => (2, op(O::Or)),
            [b'|', b'&', ..] => (2, op(O::PipeAll)),
            [b'|', ..] => (1, op(O::Pipe)),
            [b'(', ..] => (1, op(O::OpenParen)),
            [b')', ..] => (1, op(O::CloseParen)),
            [b'<', b'<', b'<', ..] => (3, redirect(R::HereString)),
            [b'<', b'<', b'-', ..] => (3, redirect(R::Heredoc { strip_tabs: true })),
            [b'<', b'<', ..] => (2, redirect(R::Heredoc { strip_tabs: false })),
            [b'<', b'&', ..] => (2, redirect(R::DupIn)),
            [b'<', b'>', ..] => (2, redirect(R::ReadWrite)),
            [b'>', b'>', ..] => (2, redirect(R::Append)),
            [b'>', b'&', ..] => (2, redirect(R::DupOut)),
            [b'>', b'|', ..] => (2, redirect(R::Clobber)),
            [b'>' | b'<', ..] => (
                1,
                redirect(if rest.first() == Some(&b'<') {
                    R::In
                } else {
                    R::Out
                }),
            ),
            // Only called at one of the bytes above; anything else reads as a word.
            _ => (1, WordKind::Word),
        };
        self.delimiter_next = match kind {
            WordKind::Redirect(Redirect {
                op: R::Heredoc { strip_tabs },
                ..
            }) => Some((strip_tabs, at, at + len)),
            _ => None,
        };
        self.pos = at + len;
        let mut word = self.map.word(self.text, at..at + len);
        word.kind = kind;
        word
    }

    fn ends_word(&self, c: u8, at: usize) -> bool {
        match self.opts.dialect {
            Dialect::Shell | Dialect::Make => match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => true,
                b'\r' => self.byte(at + 1) == Some(b'\n'),
                _ => false,
            },
            Dialect::Dockerfile { .. } => !self.opts.whole && c.is_ascii_whitespace(),
        }
    }

    /// Bytes that end a run of plain text.
    fn special(&self, c: u8, at: usize, ctx: Ctx) -> bool {
        if c == self.escape() || matches!(c, b'\'' | b'"' | b'$') {
            return true;
        }
        match ctx {
            Ctx::Top => self.ends_word(c, at) || (self.shellish() && c == b'`'),
            Ctx::Brace { .. } => c == b'}' || (self.shellish() && c == b'`'),
        }
    }

    /// Reads one source word (or the rest of a `${X:-word}`) into `out`.
    fn pieces(
        &mut self,
        vars: &dyn VarLookup,
        ctx: Ctx,
        out: &mut Vec<Piece>,
    ) -> Result<(), WordsError> {
        let split = match ctx {
            Ctx::Top => false,
            Ctx::Brace { split, .. } => split,
        };
        loop {
            let Some(c) = self.byte(self.pos) else {
                return match ctx {
                    Ctx::Top => Ok(()),
                    Ctx::Brace { open, .. } => {
                        Err(self.error(open, open + 2, WordsErrorKind::UnterminatedBrace))
                    }
                };
            };
            match ctx {
                Ctx::Top if self.ends_word(c, self.pos) => return Ok(()),
                Ctx::Brace { .. } if c == b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {}
            }
            if c == self.escape() {
                self.unquoted_escape(out);
                continue;
            }
            match c {
                b'\'' => self.single_quote(vars, out)?,
                b'"' => self.double_quote(vars, out)?,
                b'$' => {
                    let unquoted_split = matches!(ctx, Ctx::Top) || split;
                    self.dollar(vars, out, unquoted_split)?;
                }
                b'`' if self.shellish() => self.backtick(out)?,
                _ => {
                    let start = self.pos;
                    let mut end = start + 1;
                    while let Some(b) = self.byte(end) {
                        if self.special(b, end, ctx) {
                            break;
                        }
                        end += 1;
                    }
                    out.push(Piece::Lit { start, end, split });
                    self.pos = end;
                }
            }
        }
    }

    /// An escape character outside quotes: the next character is literal, a newline after
    /// it is a line continuation.
    fn unquoted_escape(&mut self, out: &mut Vec<Piece>) {
        let at = self.pos;
        if self.shellish() && self.continuation() {
            return;
        }
        match self.byte(at + 1) {
            // BuildKit drops an escape character that ends the text.
            None => self.pos = at + 1,
            Some(_) => {
                let len = char_len(self.text, at + 1);
                self.take_quote(out, at);
                self.take_literal(out, at + 1, at + 1 + len);
            }
        }
    }

    fn single_quote(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
    ) -> Result<(), WordsError> {
        let open = self.pos;
        self.take_quote(out, open);
        loop {
            let start = self.pos;
            let Some(c) = self.byte(start) else {
                return Err(self.error(open, open + 1, WordsErrorKind::UnterminatedSingleQuote));
            };
            match c {
                b'\'' => {
                    self.take_quote(out, start);
                    return Ok(());
                }
                // make expands its variables even inside the shell's single quotes.
                b'$' if self.opts.dialect == Dialect::Make => self.dollar(vars, out, false)?,
                _ => {
                    let stop: &[u8] = if self.opts.dialect == Dialect::Make {
                        b"'$"
                    } else {
                        b"'"
                    };
                    let len = self
                        .text
                        .get(start..)
                        .and_then(|rest| rest.bytes().position(|b| stop.contains(&b)))
                        .unwrap_or(self.text.len() - start);
                    self.take_literal(out, start, start + len);
                }
            }
        }
    }

    fn double_quote(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
    ) -> Result<(), WordsError> {
        let open = self.pos;
        self.take_quote(out, open);
        let escape = self.escape();
        loop {
            let at = self.pos;
            let Some(c) = self.byte(at) else {
                return Err(self.error(open, open + 1, WordsErrorKind::UnterminatedDoubleQuote));
            };
            match c {
                b'"' => {
                    self.take_quote(out, at);
                    return Ok(());
                }
                _ if c == escape => self.quoted_escape(out),
                b'$' => self.dollar(vars, out, false)?,
                b'`' if self.shellish() => self.backtick(out)?,
                _ => {
                    let mut end = at + 1;
                    while let Some(b) = self.byte(end) {
                        if b == b'"' || b == escape || b == b'$' || (b == b'`' && self.shellish()) {
                            break;
                        }
                        end += 1;
                    }
                    self.take_literal(out, at, end);
                }
            }
        }
    }

    /// The escape character inside double quotes escapes only a few characters; before any
    /// other it is literal.
    fn quoted_escape(&mut self, out: &mut Vec<Piece>) {
        let at = self.pos;
        let escape = self.escape();
        let next = self.byte(at + 1);
        if self.shellish() {
            match next {
                Some(b'\n') => {
                    self.pos = at + 2;
                    return;
                }
                Some(b'\r') if self.byte(at + 2) == Some(b'\n') => {
                    self.pos = at + 3;
                    return;
                }
                _ => {}
            }
        }
        let escapable = match next {
            Some(b'"' | b'$') => true,
            Some(b'`' | b'\\') => self.shellish(),
            Some(b) => b == escape,
            None => false,
        };
        if escapable {
            self.take_quote(out, at);
            self.take_literal(out, at + 1, at + 2);
        } else {
            self.take_literal(out, at, at + 1);
        }
    }

    fn dollar(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
        split: bool,
    ) -> Result<(), WordsError> {
        if self.opts.dialect == Dialect::Make {
            return self.make_dollar(vars, out, split);
        }
        self.shell_dollar(vars, out, split)
    }

    /// `$` in shell or Dockerfile text.
    fn shell_dollar(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
        split: bool,
    ) -> Result<(), WordsError> {
        let at = self.pos;
        let shell = self.shellish();
        match self.byte(at + 1) {
            Some(b'{') => self.braced(vars, out, split),
            Some(b'(') if shell => self.command_substitution(out),
            Some(b'\'') if shell => self.ansi_c(out),
            Some(b'"') if shell => {
                // $"..." (locale translation) reads as "...".
                self.pos = at + 1;
                self.double_quote(vars, out)
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let end = at
                    + 1
                    + self
                        .text
                        .get(at + 1..)
                        .unwrap_or("")
                        .bytes()
                        .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                        .count();
                let name = self.text.get(at + 1..end).unwrap_or("").to_string();
                self.variable(vars, out, name, at, end, split);
                Ok(())
            }
            Some(c) if c.is_ascii_digit() => {
                // A shell reads one digit ($10 is $1 then 0); BuildKit reads them all.
                let digits = if shell {
                    1
                } else {
                    self.text
                        .get(at + 1..)
                        .unwrap_or("")
                        .bytes()
                        .take_while(u8::is_ascii_digit)
                        .count()
                };
                let name = self
                    .text
                    .get(at + 1..at + 1 + digits)
                    .unwrap_or("")
                    .to_string();
                self.variable(vars, out, name, at, at + 1 + digits, split);
                Ok(())
            }
            Some(c) if is_special_param(c) => {
                self.variable(vars, out, char::from(c).to_string(), at, at + 2, split);
                Ok(())
            }
            _ => {
                self.literal_dollar(out);
                Ok(())
            }
        }
    }

    /// `$(NAME)`, `${NAME}`, `$X` are make variables; `$$` is the shell's `$`.
    fn make_dollar(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
        split: bool,
    ) -> Result<(), WordsError> {
        let at = self.pos;
        match self.byte(at + 1) {
            Some(b'$') => {
                self.take_quote(out, at);
                // What follows is for the shell at run time: nothing here is known.
                self.shell_dollar(&NoVars, out, split)
            }
            Some(b'(' | b'{') => {
                let Some(end) = self.skip_balanced(at + 1) else {
                    return Err(self.error(
                        at,
                        at + 2,
                        WordsErrorKind::UnterminatedCommandSubstitution,
                    ));
                };
                let inner = self.text.get(at + 2..end - 1).unwrap_or("").to_string();
                if is_name(&inner) {
                    self.variable(vars, out, inner, at, end, split);
                } else {
                    // A make function (`$(shell pwd)`, `$(abspath ...)`).
                    self.unresolved(out, ExpansionKind::Variable { name: inner }, at, end);
                }
                Ok(())
            }
            Some(c) if !c.is_ascii_whitespace() && c.is_ascii() => {
                self.variable(vars, out, char::from(c).to_string(), at, at + 2, split);
                Ok(())
            }
            _ => {
                self.literal_dollar(out);
                Ok(())
            }
        }
    }

    /// A `$` that starts no expansion.
    fn literal_dollar(&mut self, out: &mut Vec<Piece>) {
        let at = self.pos;
        self.take_literal(out, at, at + 1);
    }

    /// A one-byte quote or escape character at `at`, continuing after it.
    fn take_quote(&mut self, out: &mut Vec<Piece>, at: usize) {
        out.push(Piece::Quote {
            start: at,
            end: at + 1,
        });
        self.pos = at + 1;
    }

    /// Text taken as written (never split into words), continuing after it.
    fn take_literal(&mut self, out: &mut Vec<Piece>, start: usize, end: usize) {
        out.push(Piece::Lit {
            start,
            end,
            split: false,
        });
        self.pos = end;
    }

    /// A variable reference at `start..end`, replaced by its value when known.
    fn variable(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
        name: String,
        start: usize,
        end: usize,
        split: bool,
    ) {
        let span = self.map.span(start..end);
        let value = vars.lookup(&name);
        out.push(Piece::Open {
            kind: ExpansionKind::Variable { name },
            span,
        });
        match value {
            Some(value) => {
                let resolution = value.resolution();
                out.push(Piece::Val {
                    text: value.text,
                    cover: (span.start, span.end),
                    split,
                });
                out.push(Piece::Close(resolution));
            }
            None => {
                out.push(Piece::Lit {
                    start,
                    end,
                    split: false,
                });
                out.push(Piece::Close(Resolution::Unresolved));
            }
        }
        self.pos = end;
    }

    /// An expansion kept as written.
    fn unresolved(&mut self, out: &mut Vec<Piece>, kind: ExpansionKind, start: usize, end: usize) {
        out.push(Piece::Open {
            kind,
            span: self.map.span(start..end),
        });
        out.push(Piece::Lit {
            start,
            end,
            split: false,
        });
        out.push(Piece::Close(Resolution::Unresolved));
        self.pos = end;
    }

    /// `${...}`.
    fn braced(
        &mut self,
        vars: &dyn VarLookup,
        out: &mut Vec<Piece>,
        split: bool,
    ) -> Result<(), WordsError> {
        let at = self.pos;
        let mut name_start = at + 2;
        let length = self.byte(name_start) == Some(b'#')
            && self
                .byte(name_start + 1)
                .is_some_and(|b| b == b'_' || b.is_ascii_alphanumeric() || is_special_param(b));
        if length {
            name_start += 1;
        }
        let rest = self.text.get(name_start..).unwrap_or("");
        let name_len = match rest.bytes().next() {
            Some(b) if b == b'_' || b.is_ascii_alphabetic() => rest
                .bytes()
                .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                .count(),
            Some(b) if b.is_ascii_digit() => rest.bytes().take_while(u8::is_ascii_digit).count(),
            Some(b) if is_special_param(b) => 1,
            _ => 0,
        };
        let name_end = name_start + name_len;
        let name = self
            .text
            .get(name_start..name_end)
            .unwrap_or("")
            .to_string();
        let (colon, op) = match (self.byte(name_end), self.byte(name_end + 1)) {
            (Some(b'}'), _) => (false, b'}'),
            (Some(b':'), Some(op @ (b'-' | b'=' | b'+' | b'?'))) => (true, op),
            (Some(op @ (b'-' | b'=' | b'+' | b'?')), _) => (false, op),
            _ => (false, 0),
        };
        if name.is_empty() || op == 0 || (length && op != b'}') {
            // Pattern removal, substitution, substrings...: not evaluated.
            let Some(end) = self.skip_balanced(at + 1) else {
                return Err(self.error(at, at + 2, WordsErrorKind::UnterminatedBrace));
            };
            self.unresolved(out, ExpansionKind::Variable { name }, at, end);
            return Ok(());
        }
        if op == b'}' {
            if !length {
                self.variable(vars, out, name, at, name_end + 1, split);
                return Ok(());
            }
            let end = name_end + 1;
            match vars.lookup(&name).filter(|v| !v.partial) {
                Some(value) => {
                    let span = self.map.span(at..end);
                    out.push(Piece::Open {
                        kind: ExpansionKind::Variable { name },
                        span,
                    });
                    out.push(Piece::Val {
                        text: value.text.chars().count().to_string(),
                        cover: (span.start, span.end),
                        split,
                    });
                    out.push(Piece::Close(value.resolution()));
                    self.pos = end;
                }
                None => self.unresolved(out, ExpansionKind::Variable { name }, at, end),
            }
            return Ok(());
        }

        // ${NAME<op>word}: read the word, then decide whether it is used.
        self.pos = name_end + if colon { 2 } else { 1 };
        self.depth += 1;
        if self.depth > DEPTH_LIMIT {
            return Err(self.error(at, at + 2, WordsErrorKind::TooDeep));
        }
        let mut inner = Vec::new();
        let read = self.pieces(vars, Ctx::Brace { split, open: at }, &mut inner);
        self.depth -= 1;
        read?;
        let end = self.pos;
        let span = self.map.span(at..end);
        let inner_resolution = resolution_of(&inner);
        let value = vars.lookup(&name);
        let kind = ExpansionKind::Variable { name: name.clone() };
        let is_set = |v: &VarValue| !colon || !v.text.is_empty();
        match (op, value) {
            (b'-' | b'=', Some(value)) if is_set(&value) => {
                let resolution = value.resolution();
                out.push(Piece::Open { kind, span });
                out.push(Piece::Val {
                    text: value.text,
                    cover: (span.start, span.end),
                    split,
                });
                out.push(Piece::Close(resolution));
            }
            (b'-' | b'=', value) => {
                // Unknown: the default applies unless the environment sets the variable.
                // Known but unset/empty: the default applies for certain.
                let resolution = match &value {
                    None => Resolution::Defaulted {
                        defined_at: Some(span),
                    },
                    Some(v) => v.resolution(),
                }
                .weakest(inner_resolution);
                if op == b'=' {
                    out.push(Piece::Assign(DefaultAssignment {
                        name,
                        value: VarValue {
                            text: flatten(&inner, self.text),
                            defined_at: Some(span),
                            defaulted: value.as_ref().is_none_or(|v| v.defaulted),
                            partial: inner_resolution.is_unresolved(),
                        },
                    }));
                }
                out.push(Piece::Open { kind, span });
                out.extend(inner);
                out.push(Piece::Close(resolution));
            }
            (b'+', Some(value)) => {
                let resolution = value.resolution();
                out.push(Piece::Open { kind, span });
                if is_set(&value) {
                    out.extend(inner);
                    out.push(Piece::Close(resolution.weakest(inner_resolution)));
                } else {
                    out.push(Piece::Close(resolution));
                }
            }
            (b'?', Some(value)) if is_set(&value) => {
                let resolution = value.resolution();
                out.push(Piece::Open { kind, span });
                out.push(Piece::Val {
                    text: value.text,
                    cover: (span.start, span.end),
                    split,
                });
                out.push(Piece::Close(resolution));
            }
            // ${X+word} / ${X?msg} of an unknown variable: cannot tell.
            _ => self.unresolved(out, kind, at, end),
        }
        Ok(())
    }

    fn command_substitution(&mut self, out: &mut Vec<Piece>) -> Result<(), WordsError> {
        let at = self.pos;
        let Some(end) = self.skip_balanced(at + 1) else {
            return Err(self.error(at, at + 2, WordsErrorKind::UnterminatedCommandSubstitution));
        };
        let arithmetic = self.byte(at + 2) == Some(b'(') && self.byte(end - 2) == Some(b')');
        let kind = if arithmetic {
            ExpansionKind::Arithmetic
        } else {
            ExpansionKind::Command {
                body: self.map.span(at + 2..end - 1),
            }
        };
        self.unresolved(out, kind, at, end);
        Ok(())
    }

    fn backtick(&mut self, out: &mut Vec<Piece>) -> Result<(), WordsError> {
        let at = self.pos;
        let mut p = at + 1;
        loop {
            match self.byte(p) {
                None => {
                    return Err(self.error(at, at + 1, WordsErrorKind::UnterminatedBacktick));
                }
                Some(b'\\') => p += 2,
                Some(b'`') => break,
                Some(_) => p += 1,
            }
        }
        let end = p + 1;
        let body = self.map.span(at + 1..p);
        self.unresolved(out, ExpansionKind::Command { body }, at, end);
        Ok(())
    }

    /// bash's `$'...'`, with C escapes.
    fn ansi_c(&mut self, out: &mut Vec<Piece>) -> Result<(), WordsError> {
        let open = self.pos;
        out.push(Piece::Quote {
            start: open,
            end: open + 2,
        });
        let mut p = open + 2;
        loop {
            match self.byte(p) {
                None => {
                    return Err(self.error(open, open + 2, WordsErrorKind::UnterminatedAnsiQuote));
                }
                Some(b'\'') => {
                    self.take_quote(out, p);
                    return Ok(());
                }
                Some(b'\\') => {
                    let Some((text, len)) = self.c_escape(p) else {
                        return Err(self.error(
                            open,
                            open + 2,
                            WordsErrorKind::UnterminatedAnsiQuote,
                        ));
                    };
                    let span = self.map.span(p..p + len);
                    out.push(Piece::Val {
                        text,
                        cover: (span.start, span.end),
                        split: false,
                    });
                    p += len;
                }
                Some(_) => {
                    let len = self
                        .text
                        .get(p..)
                        .unwrap_or("")
                        .bytes()
                        .position(|b| b == b'\'' || b == b'\\')
                        .unwrap_or(self.text.len() - p);
                    out.push(Piece::Lit {
                        start: p,
                        end: p + len,
                        split: false,
                    });
                    p += len;
                }
            }
        }
    }

    /// The C escape at `at` (a backslash): its text and source length.
    fn c_escape(&self, at: usize) -> Option<(String, usize)> {
        let c = self.byte(at + 1)?;
        let simple = match c {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b'e' | b'E' => Some('\u{1b}'),
            b'f' => Some('\u{c}'),
            b'v' => Some('\u{b}'),
            b'\\' | b'\'' | b'"' | b'?' => Some(char::from(c)),
            _ => None,
        };
        if let Some(ch) = simple {
            return Some((ch.to_string(), 2));
        }
        let digits = |from: usize, max: usize, radix: u32| -> (u32, usize) {
            let mut value = 0u32;
            let mut count = 0;
            while count < max {
                match self
                    .byte(from + count)
                    .and_then(|b| char::from(b).to_digit(radix))
                {
                    Some(d) => {
                        value = value.saturating_mul(radix).saturating_add(d);
                        count += 1;
                    }
                    None => break,
                }
            }
            (value, count)
        };
        let (value, len) = match c {
            b'0'..=b'7' => {
                let (v, n) = digits(at + 1, 3, 8);
                (v, 1 + n)
            }
            b'x' => {
                let (v, n) = digits(at + 2, 2, 16);
                (v, 2 + n)
            }
            b'u' => {
                let (v, n) = digits(at + 2, 4, 16);
                (v, 2 + n)
            }
            b'U' => {
                let (v, n) = digits(at + 2, 8, 16);
                (v, 2 + n)
            }
            _ => {
                // Unknown escapes keep their backslash.
                let len = 1 + char_len(self.text, at + 1);
                return Some((self.text.get(at..at + len)?.to_string(), len));
            }
        };
        let ch = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
        Some((ch.to_string(), len))
    }

    /// The offset after the bracket that closes the one at `open` (`(` or `{`), skipping
    /// quoted text and nested `$(`/`${`.
    fn skip_balanced(&self, open: usize) -> Option<usize> {
        let first = match self.byte(open)? {
            b'(' => b')',
            b'{' => b'}',
            _ => return None,
        };
        let escape = self.escape();
        let mut stack = vec![first];
        let mut p = open + 1;
        while let Some(c) = self.byte(p) {
            let top = *stack.last()?;
            if top == b'"' {
                match c {
                    b'"' => {
                        stack.pop();
                    }
                    b'$' if let Some(close) = self.nested_opener(p) => {
                        stack.push(close);
                        p += 1;
                    }
                    b'`' => p = self.backtick_end(p)?,
                    _ if c == escape => p += 1,
                    _ => {}
                }
            } else {
                match c {
                    _ if c == top => {
                        stack.pop();
                        if stack.is_empty() {
                            return Some(p + 1);
                        }
                    }
                    b'(' if top == b')' => stack.push(b')'),
                    b'$' if let Some(close) = self.nested_opener(p) => {
                        stack.push(close);
                        p += 1;
                    }
                    b'\'' => {
                        p += 1 + self.text.get(p + 1..)?.find('\'')?;
                    }
                    b'"' => stack.push(b'"'),
                    b'`' if self.shellish() => p = self.backtick_end(p)?,
                    _ if c == escape => p += 1,
                    _ => {}
                }
            }
            p += 1;
        }
        None
    }

    /// At a `$`: the bracket that closes the `$(` or `${` it starts.
    fn nested_opener(&self, at: usize) -> Option<u8> {
        match self.byte(at + 1)? {
            b'(' => Some(b')'),
            b'{' => Some(b'}'),
            _ => None,
        }
    }

    /// The offset of the backtick closing the one at `open`.
    fn backtick_end(&self, open: usize) -> Option<usize> {
        let mut p = open + 1;
        loop {
            match self.byte(p)? {
                b'\\' => p += 2,
                b'`' => return Some(p),
                _ => p += 1,
            }
        }
    }
}
