//! A pickle opcode scanner that never executes anything.
//!
//! It decodes every opcode of CPython's `pickletools` (protocols 0-5) and runs a small
//! abstract machine beside the stream: a stack and memo that hold only what matters for
//! security — strings (which become module and attribute names for `STACK_GLOBAL`), imported
//! globals (so that a later `REDUCE` knows what it calls), and an opaque "other" for
//! everything else. Each imported global is reported with its opcode, byte offset and
//! [`Class`].
//!
//! Stack and memo checks follow CPython's C unpickler (`Modules/_pickle.c`): where it raises
//! "unpickling stack underflow", "could not find MARK" or "Memo value not found", so does
//! this scanner, at the offset of the opcode. Every length read from the input is checked
//! against the bytes that remain (when known) and payloads are skipped without allocation;
//! the [`Limits`] bound the stack, the memo and the strings kept.

use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use serde::Serialize;

use super::classify::{Class, Verdict, classify};
use super::input::{Input, InputError};

macro_rules! opcodes {
    ($($name:ident = $byte:literal,)*) => {
        /// Every pickle opcode in CPython's `pickletools.opcodes`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[expect(
            non_camel_case_types,
            reason = "the variants carry pickletools' opcode names, as reports show them"
        )]
        pub enum Opcode { $($name,)* }

        impl Opcode {
            pub fn from_byte(b: u8) -> Option<Opcode> {
                match b { $($byte => Some(Opcode::$name),)* _ => None }
            }

            pub fn byte(self) -> u8 {
                match self { $(Opcode::$name => $byte,)* }
            }

            /// The name `pickletools` uses.
            pub fn name(self) -> &'static str {
                match self { $(Opcode::$name => stringify!($name),)* }
            }

            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];
        }
    };
}

opcodes! {
    MARK = b'(',
    STOP = b'.',
    POP = b'0',
    POP_MARK = b'1',
    DUP = b'2',
    FLOAT = b'F',
    INT = b'I',
    BININT = b'J',
    BININT1 = b'K',
    LONG = b'L',
    BININT2 = b'M',
    NONE = b'N',
    PERSID = b'P',
    BINPERSID = b'Q',
    REDUCE = b'R',
    STRING = b'S',
    BINSTRING = b'T',
    SHORT_BINSTRING = b'U',
    UNICODE = b'V',
    BINUNICODE = b'X',
    APPEND = b'a',
    BUILD = b'b',
    GLOBAL = b'c',
    DICT = b'd',
    EMPTY_DICT = b'}',
    APPENDS = b'e',
    GET = b'g',
    BINGET = b'h',
    INST = b'i',
    LONG_BINGET = b'j',
    LIST = b'l',
    EMPTY_LIST = b']',
    OBJ = b'o',
    PUT = b'p',
    BINPUT = b'q',
    LONG_BINPUT = b'r',
    SETITEM = b's',
    TUPLE = b't',
    EMPTY_TUPLE = b')',
    SETITEMS = b'u',
    BINFLOAT = b'G',
    BINBYTES = b'B',
    SHORT_BINBYTES = b'C',
    PROTO = 0x80,
    NEWOBJ = 0x81,
    EXT1 = 0x82,
    EXT2 = 0x83,
    EXT4 = 0x84,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    LONG4 = 0x8b,
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    BINBYTES8 = 0x8e,
    EMPTY_SET = 0x8f,
    ADDITEMS = 0x90,
    FROZENSET = 0x91,
    NEWOBJ_EX = 0x92,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
    BYTEARRAY8 = 0x96,
    NEXT_BUFFER = 0x97,
    READONLY_BUFFER = 0x98,
}

/// The highest protocol CPython writes and reads (`pickle.HIGHEST_PROTOCOL`).
pub const HIGHEST_PROTOCOL: u8 = 5;

/// `torch.serialization.MAGIC_NUMBER`, the first pickle of a legacy (non-zip) `torch.save`
/// file, as the little-endian two's-complement bytes of a `LONG1` and as the decimal text of
/// a protocol 0/1 `LONG`.
const TORCH_MAGIC_LE: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const TORCH_MAGIC_DECIMAL: &[u8] = b"119547037146038801333356";

/// Bounds on what the scanner keeps in memory. Exceeding one stops the scan with
/// [`PickleErrorKind::LimitExceeded`]; what was found so far is kept.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_stack: usize,
    pub max_memo: usize,
    pub max_globals: usize,
    /// Strings longer than this are not tracked: module and attribute names are short.
    pub max_tracked_string: usize,
    /// Total bytes of tracked strings alive on the stack and in the memo; beyond it new
    /// strings are no longer tracked (a `STACK_GLOBAL` on them is then reported unresolved).
    pub max_live_string_bytes: usize,
    /// Longest `GLOBAL`/`INST` module or name line, and longest memo index line.
    pub max_name_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stack: 1 << 20,
            max_memo: 1 << 21,
            max_globals: 1 << 16,
            max_tracked_string: 256,
            max_live_string_bytes: 64 << 20,
            max_name_line: 4096,
        }
    }
}

/// Longest module or name kept in a [`Global`] (in bytes, before the `…` that marks a cut).
pub const MAX_KEPT_NAME: usize = 256;

/// `text` cut to at most `max` bytes at a character boundary, with `…` when cut.
fn kept_name(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Where and how to scan.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Added to every reported offset: the position of the stream in its file.
    pub base_offset: u64,
    /// Bytes available in the stream, when known: a length field beyond it is an error at
    /// once instead of a long skip to the end.
    pub len: Option<u64>,
    /// Scan consecutive pickles (legacy `torch.save`, `pickle.dump` called repeatedly)
    /// rather than stopping after the first.
    pub multiple: bool,
    pub limits: Limits,
}

/// One imported global.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Global {
    /// `None` when the pickle computes it at load time (a `STACK_GLOBAL` operand that is not
    /// a string constant) or for an extension code.
    pub module: Option<String>,
    pub name: Option<String>,
    /// For `EXT1`/`EXT2`/`EXT4`: the `copyreg` extension code. The registry is empty in a
    /// stock interpreter, so the target cannot be known statically.
    pub ext_code: Option<i64>,
    pub opcode: Opcode,
    /// Offset of the opcode byte.
    pub offset: u64,
    /// Bytes the opcode and its argument occupy (`GLOBAL`/`INST` carry `module\nname\n`).
    pub length: u64,
    pub class: Class,
    pub reason: &'static str,
}

impl Global {
    /// `module.name`, with `?` for a part that is not known.
    pub fn qualified(&self) -> String {
        match self.ext_code {
            Some(code) => format!("<copyreg extension {code}>"),
            None => format!(
                "{}.{}",
                self.module.as_deref().unwrap_or("?"),
                self.name.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// A global applied by an opcode that calls or mutates it: `REDUCE` (call), `NEWOBJ` /
/// `NEWOBJ_EX` / `OBJ` / `INST` (instantiate), `BUILD` (set state on the global itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Call {
    /// Index into [`PickleScan::globals`].
    pub global: usize,
    pub opcode: Opcode,
    pub offset: u64,
}

/// One pickle of the stream, from its first opcode to its `STOP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PickleInfo {
    pub start: u64,
    /// Offset just after `STOP`.
    pub end: u64,
    /// The `PROTO` argument, if there was one (protocol 0 and 1 pickles have none).
    pub protocol: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PickleErrorKind {
    /// The input ended inside an opcode or before `STOP`.
    Truncated,
    UnknownOpcode {
        byte: u8,
    },
    StackUnderflow {
        opcode: Opcode,
    },
    MarkNotFound {
        opcode: Opcode,
    },
    MemoMissing {
        index: u64,
    },
    /// A length or size field that cannot be right.
    BadLength {
        opcode: Opcode,
        len: i128,
    },
    UnsupportedProtocol {
        protocol: u8,
    },
    /// An argument CPython would reject (bad memo index, unquoted STRING, non-UTF-8 name).
    BadArgument {
        opcode: Opcode,
        message: String,
    },
    LimitExceeded {
        what: &'static str,
        limit: usize,
    },
    /// A read error of the underlying file.
    Io {
        message: String,
    },
}

/// Why decoding stopped early; `offset` is the opcode (or byte) where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PickleError {
    pub offset: u64,
    #[serde(flatten)]
    pub kind: PickleErrorKind,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            PickleErrorKind::Truncated => write!(f, "pickle data was truncated"),
            PickleErrorKind::UnknownOpcode { byte } => {
                write!(f, "invalid pickle opcode 0x{byte:02x}")
            }
            PickleErrorKind::StackUnderflow { opcode } => {
                write!(f, "unpickling stack underflow at {}", opcode.name())
            }
            PickleErrorKind::MarkNotFound { opcode } => {
                write!(f, "{} could not find MARK", opcode.name())
            }
            PickleErrorKind::MemoMissing { index } => {
                write!(f, "memo value not found at index {index}")
            }
            PickleErrorKind::BadLength { opcode, len } => {
                write!(f, "{} has an impossible length {len}", opcode.name())
            }
            PickleErrorKind::UnsupportedProtocol { protocol } => {
                write!(f, "unsupported pickle protocol: {protocol}")
            }
            PickleErrorKind::BadArgument { opcode, message } => {
                write!(f, "bad {} argument: {message}", opcode.name())
            }
            PickleErrorKind::LimitExceeded { what, limit } => {
                write!(f, "scan stopped: more than {limit} {what}")
            }
            PickleErrorKind::Io { message } => write!(f, "read error: {message}"),
        }
    }
}

impl std::error::Error for PickleError {}

/// What a scan found. On an error, everything found before it is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PickleScan {
    pub globals: Vec<Global>,
    pub calls: Vec<Call>,
    pub pickles: Vec<PickleInfo>,
    /// Persistent ids (`PERSID`/`BINPERSID`): references the loader resolves itself, such as
    /// torch storages.
    pub persistent_ids: u64,
    /// The first pickle is `torch.serialization.MAGIC_NUMBER`: a legacy `torch.save` file,
    /// whose five pickles are followed by raw tensor bytes (not scanned).
    pub legacy_torch: bool,
    /// Bytes follow the last pickle that were not scanned as pickles.
    pub trailing_data: bool,
    pub opcodes: u64,
    pub error: Option<PickleError>,
}

impl PickleScan {
    /// The most severe class among the globals (`None` if there are none).
    pub fn worst(&self) -> Option<Class> {
        self.globals.iter().map(|g| g.class).max()
    }
}

/// Scan a pickle stream read from `reader`. Reading stops after `STOP` (or, with
/// `multiple`, after the last consecutive pickle), so trailing data is never read.
pub fn scan<R: Read>(reader: R, options: &ScanOptions) -> PickleScan {
    let mut input = Input::new(reader);
    let mut out = PickleScan::default();
    let mut count = 0usize;
    loop {
        let start = input.offset();
        let result = Machine::new(&mut input, &mut out, options).run();
        match result {
            Err(error) => {
                out.error = Some(error);
                break;
            }
            Ok(stop) => {
                out.pickles.push(PickleInfo {
                    start: options.base_offset + start,
                    end: options.base_offset + input.offset(),
                    protocol: stop.protocol,
                });
                count += 1;
                if count == 1 && stop.torch_magic {
                    out.legacy_torch = true;
                }
            }
        }
        if !options.multiple {
            break;
        }
        // A legacy torch file is exactly five pickles (magic number, protocol version,
        // system info, the object, the storage keys); what follows is tensor data that may
        // begin with any byte, so it is not probed.
        if out.legacy_torch && count >= 5 {
            break;
        }
        match next_is_pickle(&mut input, out.legacy_torch) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                out.error = Some(error.at(options.base_offset + input.offset()));
                break;
            }
        }
    }
    if out.error.is_none() {
        // Probe one byte: is there anything after the pickles?
        out.trailing_data = matches!(input.at_eof(), Ok(false));
    }
    out
}

/// Does another pickle start here? Only a `PROTO` opcode with a valid protocol counts:
/// protocol 0/1 pickles have no header to recognise. Inside a legacy torch file the next
/// pickle must exist, so anything but the end of input is scanned (and fails loudly).
fn next_is_pickle<R: Read>(input: &mut Input<R>, required: bool) -> Result<bool, Failure> {
    let head = input.peek(2).map_err(Failure::Io)?;
    if required {
        return if head.is_empty() {
            Err(Failure::Kind(PickleErrorKind::Truncated))
        } else {
            Ok(true)
        };
    }
    Ok(matches!(head, [0x80, p] if *p <= HIGHEST_PROTOCOL))
}

/// A value on the abstract stack or in the memo.
#[derive(Clone, Debug)]
enum Val {
    Str(Rc<str>),
    /// Index into the scan's globals.
    Global(usize),
    /// A string too long (or beyond the budget) to track.
    UntrackedStr,
    TorchMagic,
    Other,
}

struct Stop {
    protocol: Option<u8>,
    torch_magic: bool,
}

enum Failure {
    Kind(PickleErrorKind),
    Io(std::io::Error),
}

impl Failure {
    fn at(self, offset: u64) -> PickleError {
        let kind = match self {
            Failure::Kind(kind) => kind,
            // A zip member longer than the scan inflates: a limit, not a broken file.
            Failure::Io(e) => match super::archive::InflateLimit::of(&e) {
                Some(limit) => PickleErrorKind::LimitExceeded {
                    what: "bytes inflated from one zip member",
                    limit: usize::try_from(limit.limit).unwrap_or(usize::MAX),
                },
                None => PickleErrorKind::Io {
                    message: e.to_string(),
                },
            },
        };
        PickleError { offset, kind }
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Eof => Failure::Kind(PickleErrorKind::Truncated),
            InputError::Io(e) => Failure::Io(e),
        }
    }
}

type Step<T> = Result<T, Failure>;

fn fail<T>(kind: PickleErrorKind) -> Step<T> {
    Err(Failure::Kind(kind))
}

struct Machine<'a, R> {
    input: &'a mut Input<R>,
    out: &'a mut PickleScan,
    options: &'a ScanOptions,
    stack: Vec<Val>,
    /// Stack heights at each MARK (CPython's metastack); the last one is the "fence" below
    /// which opcodes may not pop.
    marks: Vec<usize>,
    memo: HashMap<u64, Val>,
    live_string_bytes: usize,
    protocol: Option<u8>,
}

impl<'a, R: Read> Machine<'a, R> {
    fn new(input: &'a mut Input<R>, out: &'a mut PickleScan, options: &'a ScanOptions) -> Self {
        Machine {
            input,
            out,
            options,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            live_string_bytes: 0,
            protocol: None,
        }
    }

    fn limits(&self) -> &Limits {
        &self.options.limits
    }

    fn run(mut self) -> Result<Stop, PickleError> {
        loop {
            let at = self.input.offset();
            let byte = match self.input.byte() {
                Ok(b) => b,
                Err(e) => return Err(Failure::from(e).at(self.options.base_offset + at)),
            };
            let Some(op) = Opcode::from_byte(byte) else {
                return Err(PickleError {
                    offset: self.options.base_offset + at,
                    kind: PickleErrorKind::UnknownOpcode { byte },
                });
            };
            self.out.opcodes += 1;
            match self.step(op, self.options.base_offset + at) {
                Ok(Some(stop)) => return Ok(stop),
                Ok(None) => {}
                Err(f) => return Err(f.at(self.options.base_offset + at)),
            }
        }
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    /// Require `n` items above the fence, as CPython's `Pdata_pop` does.
    fn need(&self, op: Opcode, n: usize) -> Step<()> {
        if self.stack.len() < self.fence() + n {
            return fail(PickleErrorKind::StackUnderflow { opcode: op });
        }
        Ok(())
    }

    fn push(&mut self, v: Val) -> Step<()> {
        if self.stack.len() >= self.limits().max_stack {
            return fail(PickleErrorKind::LimitExceeded {
                what: "stack entries",
                limit: self.limits().max_stack,
            });
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self, op: Opcode) -> Step<Val> {
        self.need(op, 1)?;
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => fail(PickleErrorKind::StackUnderflow { opcode: op }),
        }
    }

    /// Account for a value leaving the stack or memo, so the live-string budget stays exact.
    fn release(&mut self, v: Val) {
        if let Val::Str(s) = v
            && Rc::strong_count(&s) == 1
        {
            self.live_string_bytes = self.live_string_bytes.saturating_sub(s.len());
        }
    }

    fn truncate(&mut self, height: usize) {
        while self.stack.len() > height {
            if let Some(v) = self.stack.pop() {
                self.release(v);
            }
        }
    }

    /// Pop the last MARK; returns the stack height at that mark.
    fn pop_mark(&mut self, op: Opcode) -> Step<usize> {
        match self.marks.pop() {
            Some(h) => Ok(h),
            None => fail(PickleErrorKind::MarkNotFound { opcode: op }),
        }
    }

    /// Pop everything down to the last MARK, and the mark itself; returns the items.
    fn pop_to_mark(&mut self, op: Opcode) -> Step<Vec<Val>> {
        let h = self.pop_mark(op)?;
        Ok(self.stack.split_off(h.min(self.stack.len())))
    }

    fn top(&self, op: Opcode) -> Step<&Val> {
        self.need(op, 1)?;
        match self.stack.last() {
            Some(v) => Ok(v),
            None => fail(PickleErrorKind::StackUnderflow { opcode: op }),
        }
    }

    fn string_val(&mut self, bytes: Option<Vec<u8>>, latin1_fallback: bool) -> Val {
        let Some(bytes) = bytes else {
            return Val::UntrackedStr;
        };
        if bytes.len() > self.limits().max_tracked_string
            || self.live_string_bytes + bytes.len() > self.limits().max_live_string_bytes
        {
            return Val::UntrackedStr;
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            // BINSTRING/STRING decode with the loader's `encoding`; torch uses UTF-8, numpy
            // may use latin-1. Latin-1 maps every byte, so it is the conservative reading.
            Err(e) if latin1_fallback => e.into_bytes().iter().map(|&b| b as char).collect(),
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        self.live_string_bytes += text.len();
        Val::Str(Rc::from(text))
    }

    fn memo_put(&mut self, index: u64, v: Val) -> Step<()> {
        if !self.memo.contains_key(&index) && self.memo.len() >= self.limits().max_memo {
            return fail(PickleErrorKind::LimitExceeded {
                what: "memo entries",
                limit: self.limits().max_memo,
            });
        }
        if let Some(old) = self.memo.insert(index, v) {
            self.release(old);
        }
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Step<()> {
        match self.memo.get(&index) {
            Some(v) => {
                let v = v.clone();
                self.push(v)
            }
            None => fail(PickleErrorKind::MemoMissing { index }),
        }
    }

    /// A length field: checked against the bytes left in the stream when that is known.
    fn checked_len(&self, op: Opcode, len: i128) -> Step<u64> {
        let remaining = self
            .options
            .len
            .map(|total| total.saturating_sub(self.input.offset()));
        match u64::try_from(len) {
            Ok(n) if remaining.is_none_or(|r| n <= r) => Ok(n),
            _ => fail(PickleErrorKind::BadLength { opcode: op, len }),
        }
    }

    fn payload(&mut self, op: Opcode, len: i128, keep: usize) -> Step<Option<Vec<u8>>> {
        let len = self.checked_len(op, len)?;
        Ok(self.input.payload(len, keep)?)
    }

    fn record_global(
        &mut self,
        module: Option<String>,
        name: Option<String>,
        ext_code: Option<i64>,
        opcode: Opcode,
        offset: u64,
    ) -> Step<usize> {
        if self.out.globals.len() >= self.limits().max_globals {
            return fail(PickleErrorKind::LimitExceeded {
                what: "imported globals",
                limit: self.limits().max_globals,
            });
        }
        let verdict = match (&module, &name, ext_code) {
            (Some(m), Some(n), None) => classify(m, n),
            (_, _, Some(_)) => Verdict {
                class: Class::Unknown,
                reason: "copyreg extension code: the target is registered at run time",
            },
            _ => Verdict {
                class: Class::Dangerous,
                reason: "import name computed at load time, which hides what is imported",
            },
        };
        let length = match (opcode, &module, &name) {
            (Opcode::GLOBAL | Opcode::INST, Some(m), Some(n)) => {
                3 + m.len() as u64 + n.len() as u64
            }
            (Opcode::EXT1, ..) => 2,
            (Opcode::EXT2, ..) => 3,
            (Opcode::EXT4, ..) => 5,
            _ => 1,
        };
        // Classified on the whole name; only the start of a long one is kept for the report.
        self.out.globals.push(Global {
            length,
            module: module.map(|m| kept_name(m, MAX_KEPT_NAME)),
            name: name.map(|n| kept_name(n, MAX_KEPT_NAME)),
            ext_code,
            opcode,
            offset,
            class: verdict.class,
            reason: verdict.reason,
        });
        Ok(self.out.globals.len() - 1)
    }

    fn record_call(&mut self, callee: &Val, opcode: Opcode, offset: u64) {
        if let Val::Global(index) = callee {
            self.out.calls.push(Call {
                global: *index,
                opcode,
                offset,
            });
        }
    }

    /// The `module\nname\n` argument of GLOBAL and INST.
    fn name_lines(&mut self, op: Opcode) -> Step<(String, String)> {
        let module = self.name_line(op)?;
        let name = self.name_line(op)?;
        Ok((module, name))
    }

    fn name_line(&mut self, op: Opcode) -> Step<String> {
        let max = self.limits().max_name_line;
        let line = self.input.line(max)?;
        // Python would read a longer name; the scan cannot classify it, so it stops at
        // a limit (which the report treats as "may import anything").
        let Some(bytes) = line.bytes else {
            return fail(PickleErrorKind::LimitExceeded {
                what: "bytes in a GLOBAL or INST name",
                limit: max,
            });
        };
        String::from_utf8(bytes).or_else(|_| {
            fail(PickleErrorKind::BadArgument {
                opcode: op,
                message: "name is not UTF-8".into(),
            })
        })
    }

    /// A decimal memo index line (GET, PUT).
    fn index_line(&mut self, op: Opcode) -> Step<u64> {
        let line = self.input.line(self.limits().max_name_line)?;
        let text = line
            .bytes
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let trimmed = text.trim();
        match trimmed.parse::<i128>() {
            Ok(i) if i < 0 => fail(PickleErrorKind::BadArgument {
                opcode: op,
                message: format!("negative index {i}"),
            }),
            Ok(i) => u64::try_from(i).or_else(|_| {
                fail(PickleErrorKind::BadArgument {
                    opcode: op,
                    message: format!("index {i} is too large"),
                })
            }),
            Err(_) => fail(PickleErrorKind::BadArgument {
                opcode: op,
                message: format!("\"{}\" is not an integer", crate::escape::excerpt(trimmed)),
            }),
        }
    }

    /// Execute one opcode on the abstract machine; `Some` at STOP.
    fn step(&mut self, op: Opcode, at: u64) -> Step<Option<Stop>> {
        use Opcode::*;
        let keep = self.limits().max_tracked_string;
        match op {
            MARK => {
                if self.marks.len() >= self.limits().max_stack {
                    return fail(PickleErrorKind::LimitExceeded {
                        what: "marks",
                        limit: self.limits().max_stack,
                    });
                }
                self.marks.push(self.stack.len());
            }
            STOP => {
                let v = self.pop(op)?;
                return Ok(Some(Stop {
                    protocol: self.protocol,
                    torch_magic: matches!(v, Val::TorchMagic),
                }));
            }
            POP => {
                // CPython pops a MARK instead when the stack is empty above the fence.
                if self.stack.len() > self.fence() {
                    let v = self.pop(op)?;
                    self.release(v);
                } else if self.marks.pop().is_none() {
                    return fail(PickleErrorKind::StackUnderflow { opcode: op });
                }
            }
            POP_MARK => {
                let items = self.pop_to_mark(op)?;
                items.into_iter().for_each(|v| self.release(v));
            }
            DUP => {
                let v = self.top(op)?.clone();
                self.push(v)?;
            }
            FLOAT | INT => {
                self.input.line(0)?;
                self.push(Val::Other)?;
            }
            LONG => {
                let line = self.input.line(TORCH_MAGIC_DECIMAL.len() + 1)?;
                let magic = line
                    .bytes
                    .as_deref()
                    .is_some_and(|b| b.strip_suffix(b"L").unwrap_or(b) == TORCH_MAGIC_DECIMAL);
                self.push(if magic { Val::TorchMagic } else { Val::Other })?;
            }
            BININT => {
                self.input.array::<4>()?;
                self.push(Val::Other)?;
            }
            BININT1 => {
                self.input.array::<1>()?;
                self.push(Val::Other)?;
            }
            BININT2 => {
                self.input.array::<2>()?;
                self.push(Val::Other)?;
            }
            BINFLOAT => {
                self.input.array::<8>()?;
                self.push(Val::Other)?;
            }
            LONG1 => {
                let n = self.input.array::<1>()?[0];
                let bytes = self.payload(op, n.into(), TORCH_MAGIC_LE.len())?;
                let magic = bytes.as_deref() == Some(&TORCH_MAGIC_LE[..]);
                self.push(if magic { Val::TorchMagic } else { Val::Other })?;
            }
            LONG4 => {
                let n = i32::from_le_bytes(self.input.array::<4>()?);
                self.payload(op, n.into(), 0)?;
                self.push(Val::Other)?;
            }
            NONE | NEWTRUE | NEWFALSE | EMPTY_LIST | EMPTY_TUPLE | EMPTY_DICT | EMPTY_SET => {
                self.push(Val::Other)?;
            }
            STRING => {
                let line = self.input.line(keep.saturating_mul(4) + 2)?;
                let v = match line.bytes {
                    Some(raw) => {
                        let inner = match raw.as_slice() {
                            [q, inner @ .., q2] if q == q2 && (*q == b'\'' || *q == b'"') => {
                                inner.to_vec()
                            }
                            _ => {
                                return fail(PickleErrorKind::BadArgument {
                                    opcode: op,
                                    message: "the STRING opcode argument must be quoted".into(),
                                });
                            }
                        };
                        let decoded = escape_decode(&inner);
                        self.string_val(Some(decoded), true)
                    }
                    None => Val::UntrackedStr,
                };
                self.push(v)?;
            }
            BINSTRING => {
                let n = i32::from_le_bytes(self.input.array::<4>()?);
                let bytes = self.payload(op, n.into(), keep)?;
                let v = self.string_val(bytes, true);
                self.push(v)?;
            }
            SHORT_BINSTRING => {
                let n = self.input.array::<1>()?[0];
                let bytes = self.payload(op, n.into(), keep)?;
                let v = self.string_val(bytes, true);
                self.push(v)?;
            }
            UNICODE => {
                let line = self.input.line(keep.saturating_mul(10))?;
                let v = match line.bytes {
                    Some(raw) => {
                        let text = raw_unicode_escape_decode(&raw);
                        self.string_val(Some(text.into_bytes()), false)
                    }
                    None => Val::UntrackedStr,
                };
                self.push(v)?;
            }
            SHORT_BINUNICODE => {
                let n = self.input.array::<1>()?[0];
                let bytes = self.payload(op, n.into(), keep)?;
                let v = self.string_val(bytes, false);
                self.push(v)?;
            }
            BINUNICODE => {
                let n = u32::from_le_bytes(self.input.array::<4>()?);
                let bytes = self.payload(op, n.into(), keep)?;
                let v = self.string_val(bytes, false);
                self.push(v)?;
            }
            BINUNICODE8 => {
                let n = u64::from_le_bytes(self.input.array::<8>()?);
                let bytes = self.payload(op, n.into(), keep)?;
                let v = self.string_val(bytes, false);
                self.push(v)?;
            }
            BINBYTES => {
                let n = u32::from_le_bytes(self.input.array::<4>()?);
                self.payload(op, n.into(), 0)?;
                self.push(Val::Other)?;
            }
            SHORT_BINBYTES => {
                let n = self.input.array::<1>()?[0];
                self.payload(op, n.into(), 0)?;
                self.push(Val::Other)?;
            }
            BINBYTES8 | BYTEARRAY8 => {
                let n = u64::from_le_bytes(self.input.array::<8>()?);
                self.payload(op, n.into(), 0)?;
                self.push(Val::Other)?;
            }
            NEXT_BUFFER => self.push(Val::Other)?,
            READONLY_BUFFER => {
                self.top(op)?;
            }
            APPEND => {
                // The value and the list below it.
                self.need(op, 2)?;
                let v = self.pop(op)?;
                self.release(v);
            }
            APPENDS | SETITEMS | ADDITEMS => {
                let h = self.pop_mark(op)?;
                // The container must sit below the mark, above the enclosing fence.
                if h == 0 || h <= self.fence() || h > self.stack.len() {
                    return fail(PickleErrorKind::StackUnderflow { opcode: op });
                }
                if op == SETITEMS && !(self.stack.len() - h).is_multiple_of(2) {
                    return fail(PickleErrorKind::BadArgument {
                        opcode: op,
                        message: "odd number of items for SETITEMS".into(),
                    });
                }
                self.truncate(h);
            }
            SETITEM => {
                self.need(op, 3)?;
                let h = self.stack.len() - 2;
                self.truncate(h);
            }
            LIST | TUPLE | FROZENSET => {
                let items = self.pop_to_mark(op)?;
                items.into_iter().for_each(|v| self.release(v));
                self.push(Val::Other)?;
            }
            DICT => {
                let items = self.pop_to_mark(op)?;
                if !items.len().is_multiple_of(2) {
                    return fail(PickleErrorKind::BadArgument {
                        opcode: op,
                        message: "odd number of items for DICT".into(),
                    });
                }
                items.into_iter().for_each(|v| self.release(v));
                self.push(Val::Other)?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = match op {
                    TUPLE1 => 1,
                    TUPLE2 => 2,
                    _ => 3,
                };
                self.need(op, n)?;
                let h = self.stack.len() - n;
                self.truncate(h);
                self.push(Val::Other)?;
            }
            GET => {
                let i = self.index_line(op)?;
                self.memo_get(i)?;
            }
            BINGET => {
                let i = self.input.array::<1>()?[0];
                self.memo_get(i.into())?;
            }
            LONG_BINGET => {
                let i = u32::from_le_bytes(self.input.array::<4>()?);
                self.memo_get(i.into())?;
            }
            PUT => {
                let i = self.index_line(op)?;
                let v = self.top(op)?.clone();
                self.memo_put(i, v)?;
            }
            BINPUT => {
                let i = self.input.array::<1>()?[0];
                let v = self.top(op)?.clone();
                self.memo_put(i.into(), v)?;
            }
            LONG_BINPUT => {
                let i = u32::from_le_bytes(self.input.array::<4>()?);
                let v = self.top(op)?.clone();
                self.memo_put(i.into(), v)?;
            }
            MEMOIZE => {
                let v = self.top(op)?.clone();
                let i = self.memo.len() as u64;
                self.memo_put(i, v)?;
            }
            EXT1 | EXT2 | EXT4 => {
                let code: i64 = match op {
                    EXT1 => self.input.array::<1>()?[0].into(),
                    EXT2 => u16::from_le_bytes(self.input.array::<2>()?).into(),
                    _ => i32::from_le_bytes(self.input.array::<4>()?).into(),
                };
                if code <= 0 {
                    return fail(PickleErrorKind::BadArgument {
                        opcode: op,
                        message: "EXT specifies code <= 0".into(),
                    });
                }
                let g = self.record_global(None, None, Some(code), op, at)?;
                self.push(Val::Global(g))?;
            }
            GLOBAL => {
                let (module, name) = self.name_lines(op)?;
                let g = self.record_global(Some(module), Some(name), None, op, at)?;
                self.push(Val::Global(g))?;
            }
            STACK_GLOBAL => {
                self.need(op, 2)?;
                let name = self.pop(op)?;
                let module = self.pop(op)?;
                let as_string = |v: &Val| match v {
                    Val::Str(s) => Some(s.to_string()),
                    _ => None,
                };
                let (m, n) = (as_string(&module), as_string(&name));
                self.release(module);
                self.release(name);
                let g = self.record_global(m, n, None, op, at)?;
                self.push(Val::Global(g))?;
            }
            INST => {
                let (module, name) = self.name_lines(op)?;
                let args = self.pop_to_mark(op)?;
                args.into_iter().for_each(|v| self.release(v));
                let g = self.record_global(Some(module), Some(name), None, op, at)?;
                self.record_call(&Val::Global(g), op, at);
                self.push(Val::Other)?;
            }
            OBJ => {
                let mut items = self.pop_to_mark(op)?;
                if items.is_empty() {
                    return fail(PickleErrorKind::StackUnderflow { opcode: op });
                }
                let cls = items.remove(0);
                self.record_call(&cls, op, at);
                items.into_iter().for_each(|v| self.release(v));
                self.release(cls);
                self.push(Val::Other)?;
            }
            REDUCE => {
                self.need(op, 2)?;
                let args = self.pop(op)?;
                self.release(args);
                let callee = self.pop(op)?;
                self.record_call(&callee, op, at);
                self.release(callee);
                self.push(Val::Other)?;
            }
            NEWOBJ => {
                self.need(op, 2)?;
                let args = self.pop(op)?;
                self.release(args);
                let cls = self.pop(op)?;
                self.record_call(&cls, op, at);
                self.release(cls);
                self.push(Val::Other)?;
            }
            NEWOBJ_EX => {
                self.need(op, 3)?;
                for _ in 0..2 {
                    let v = self.pop(op)?;
                    self.release(v);
                }
                let cls = self.pop(op)?;
                self.record_call(&cls, op, at);
                self.release(cls);
                self.push(Val::Other)?;
            }
            BUILD => {
                self.need(op, 2)?;
                let state = self.pop(op)?;
                self.release(state);
                // The object stays; BUILD on a global itself rewrites that class or function.
                let target = self.top(op)?.clone();
                self.record_call(&target, op, at);
            }
            PROTO => {
                let p = self.input.array::<1>()?[0];
                if p > HIGHEST_PROTOCOL {
                    return fail(PickleErrorKind::UnsupportedProtocol { protocol: p });
                }
                self.protocol = Some(p);
            }
            FRAME => {
                // Frames only group opcodes for buffering; CPython checks that the frame's
                // bytes exist, which the remaining-length check mirrors.
                let n = u64::from_le_bytes(self.input.array::<8>()?);
                self.checked_len(op, n.into())?;
            }
            PERSID => {
                self.input.line(0)?;
                self.out.persistent_ids += 1;
                self.push(Val::Other)?;
            }
            BINPERSID => {
                let pid = self.pop(op)?;
                self.release(pid);
                self.out.persistent_ids += 1;
                self.push(Val::Other)?;
            }
        }
        Ok(None)
    }
}

/// Python's `codecs.escape_decode`, used for protocol 0 `STRING` arguments.
fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hex = s.get(i..i + 2).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// Python's `raw-unicode-escape` decoding, used for protocol 0 `UNICODE` arguments: `\uXXXX`
/// and `\UXXXXXXXX` escapes, every other byte is Latin-1.
fn raw_unicode_escape_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let digits = match (c, s.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => 0,
        };
        let escaped = (digits > 0)
            .then(|| s.get(i + 2..i + 2 + digits))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match escaped {
            Some(ch) => {
                out.push(ch);
                i += 2 + digits;
            }
            None => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_bytes(data: &[u8]) -> PickleScan {
        scan(
            data,
            &ScanOptions {
                len: Some(data.len() as u64),
                ..ScanOptions::default()
            },
        )
    }

    #[test]
    fn opcode_table_is_a_bijection() {
        assert_eq!(Opcode::ALL.len(), 68);
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_byte(op.byte()), Some(*op));
        }
    }

    #[test]
    fn global_and_reduce() {
        let s = scan_bytes(b"cos\nsystem\n(S'id'\ntR.");
        assert_eq!(s.error, None);
        assert_eq!(s.globals.len(), 1);
        let g = &s.globals[0];
        assert_eq!(g.qualified(), "os.system");
        assert_eq!(
            (g.offset, g.opcode, g.class),
            (0, Opcode::GLOBAL, Class::Dangerous)
        );
        assert_eq!(
            s.calls,
            vec![Call {
                global: 0,
                opcode: Opcode::REDUCE,
                offset: 19
            }]
        );
    }

    #[test]
    fn stack_global_from_memo() {
        // "os" and "system" are memoized, popped, and fetched back with BINGET.
        let data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x30\x30h\x00h\x01\x93.";
        let s = scan_bytes(data);
        assert_eq!(s.error, None);
        assert_eq!(s.globals[0].qualified(), "os.system");
        assert_eq!(s.globals[0].offset, 22);
    }

    #[test]
    fn stack_global_of_computed_names_is_dangerous() {
        let s = scan_bytes(b"\x80\x04NN\x93.");
        assert_eq!(s.globals[0].module, None);
        assert_eq!(s.globals[0].class, Class::Dangerous);
    }

    #[test]
    fn errors_keep_what_came_before() {
        let s = scan_bytes(b"cos\nsystem\n(S'id'\nt");
        assert_eq!(s.globals.len(), 1);
        assert_eq!(
            s.error,
            Some(PickleError {
                offset: 19,
                kind: PickleErrorKind::Truncated
            })
        );
        let s = scan_bytes(b"\x80\x02}q\x00Z");
        assert_eq!(
            s.error.unwrap().kind,
            PickleErrorKind::UnknownOpcode { byte: b'Z' }
        );
        let s = scan_bytes(b"\x80\x02R.");
        assert_eq!(
            s.error,
            Some(PickleError {
                offset: 2,
                kind: PickleErrorKind::StackUnderflow {
                    opcode: Opcode::REDUCE
                }
            })
        );
        let s = scan_bytes(b"\x80\x02h\x05.");
        assert_eq!(
            s.error.unwrap().kind,
            PickleErrorKind::MemoMissing { index: 5 }
        );
        let s = scan_bytes(b"\x80\x09N.");
        assert_eq!(
            s.error.unwrap().kind,
            PickleErrorKind::UnsupportedProtocol { protocol: 9 }
        );
    }

    #[test]
    fn absurd_lengths_fail_without_allocating() {
        let s = scan_bytes(b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.");
        assert_eq!(
            s.error,
            Some(PickleError {
                offset: 2,
                kind: PickleErrorKind::BadLength {
                    opcode: Opcode::BINUNICODE8,
                    len: i64::MAX as i128
                }
            })
        );
        let s = scan_bytes(b"\x80\x02T\xff\xff\xff\xff.");
        assert!(matches!(
            s.error.unwrap().kind,
            PickleErrorKind::BadLength { len: -1, .. }
        ));
        // Without a known length the payload is skipped to the end: truncated, no allocation.
        let data = b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.";
        let s = scan(&data[..], &ScanOptions::default());
        assert_eq!(s.error.unwrap().kind, PickleErrorKind::Truncated);
    }

    #[test]
    fn limits_stop_the_scan() {
        let options = ScanOptions {
            limits: Limits {
                max_stack: 3,
                ..Limits::default()
            },
            ..ScanOptions::default()
        };
        let s = scan(&b"NNNN."[..], &options);
        assert_eq!(
            s.error,
            Some(PickleError {
                offset: 3,
                kind: PickleErrorKind::LimitExceeded {
                    what: "stack entries",
                    limit: 3
                }
            })
        );
    }

    #[test]
    fn pop_with_empty_stack_pops_a_mark_like_cpython() {
        assert_eq!(scan_bytes(b"(0N.").error, None);
        assert!(scan_bytes(b"0N.").error.is_some());
    }

    #[test]
    fn escape_decoding() {
        assert_eq!(escape_decode(br"o\x73\n\\\101"), b"os\n\\A");
        assert_eq!(raw_unicode_escape_decode(br"\u006fs"), "os");
    }
}
