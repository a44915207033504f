//! Which imported globals in a pickle are dangerous, known safe, or unknown.
//!
//! Unpickling imports `module.name` and may call it, so the set of imported globals is what a
//! pickle can do. The lists below are conservative: a name is `Safe` only when it is a data
//! constructor that the standard loaders themselves trust, and everything not listed is
//! `Unknown`, never `Safe`.
//!
//! Sources (read 2026-11-27):
//! * `Dangerous`: picklescan (`mmaitre314/picklescan`, `src/picklescan/scanner.py`,
//!   `_unsafe_globals`), fickling (`trailofbits/fickling`, `fickling/fickle.py`,
//!   `UNSAFE_IMPORTS`), and PyTorch's `_weights_only_unpickler.py` (`_blocklisted_modules`).
//! * `Safe`: PyTorch's `_weights_only_unpickler._get_allowed_globals()` (what
//!   `torch.load(weights_only=True)` accepts), picklescan's `_safe_globals` and fickling's
//!   `ML_ALLOWLIST`, cut down to plain constructors.
//! * Python 2 names: CPython 3.11 `Lib/_compat_pickle.py`, which the unpickler applies to
//!   protocol 0-2 pickles (`fix_imports=True`), so `commands.getoutput` really is
//!   `subprocess.getoutput`.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

/// How much an imported global is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A known-safe reconstructor (tensor, storage, ndarray, builtin container).
    Safe,
    /// Not known either way: the loader imports arbitrary code from that module.
    Unknown,
    /// Known to run commands, code, imports, file or network I/O, or to reach such things.
    Dangerous,
}

/// A classification with the reason a reader sees next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    pub reason: &'static str,
}

const PROCESS: &str = "runs operating-system commands or processes";
const CODE: &str = "executes or compiles Python code";
const IMPORTS: &str = "imports or loads arbitrary modules or native code";
const ATTR: &str = "reaches arbitrary attributes or calls arbitrary functions";
const NESTED: &str = "deserialises nested data (another pickle) that is not scanned";
const FILES: &str = "reads, writes or deletes files";
const NET: &str = "opens network connections";
const INTERP: &str = "changes interpreter state (modules, threads, signals, debugger)";
const SAFE: &str = "allow-listed data reconstructor";
const UNKNOWN: &str = "not on the allow-list: the loader imports and may run this";
const DOTTED: &str = "dotted name walks attributes to a dangerous object";

/// Modules that are dangerous as a whole, submodules included (`os.path` is `os`).
const DANGEROUS_MODULES: &[(&str, &str)] = &[
    ("os", PROCESS),
    ("posix", PROCESS),
    ("nt", PROCESS),
    ("_posixsubprocess", PROCESS),
    ("subprocess", PROCESS),
    ("commands", PROCESS),
    ("popen2", PROCESS),
    ("pty", PROCESS),
    ("pexpect", PROCESS),
    ("pipes", PROCESS),
    ("platform", PROCESS),
    ("_osx_support", PROCESS),
    ("_aix_support", PROCESS),
    ("multiprocessing", PROCESS),
    ("_multiprocessing", PROCESS),
    ("asyncio", PROCESS),
    ("sys", INTERP),
    ("gc", INTERP),
    ("inspect", INTERP),
    ("site", INTERP),
    ("signal", INTERP),
    ("_signal", INTERP),
    ("threading", INTERP),
    ("_thread", INTERP),
    ("atexit", INTERP),
    ("pdb", INTERP),
    ("bdb", INTERP),
    ("_interpreters", CODE),
    ("_xxsubinterpreters", CODE),
    ("code", CODE),
    ("codeop", CODE),
    ("runpy", CODE),
    ("marshal", CODE),
    ("timeit", CODE),
    ("trace", CODE),
    ("profile", CODE),
    ("cProfile", CODE),
    ("doctest", CODE),
    ("pydoc", CODE),
    ("idlelib", CODE),
    ("lib2to3", CODE),
    ("compileall", CODE),
    ("py_compile", CODE),
    ("numpy.f2py", CODE),
    ("numpy.testing._private.utils", CODE),
    ("torch._inductor.codecache", CODE),
    ("torch.utils._config_module", NESTED),
    ("torch.utils.bottleneck", CODE),
    ("torch.utils.cpp_extension", IMPORTS),
    ("torch.hub", IMPORTS),
    ("importlib", IMPORTS),
    ("_frozen_importlib", IMPORTS),
    ("_frozen_importlib_external", IMPORTS),
    ("_imp", IMPORTS),
    ("imp", IMPORTS),
    ("zipimport", IMPORTS),
    ("pkgutil", IMPORTS),
    ("ctypes", IMPORTS),
    ("_ctypes", IMPORTS),
    ("numpy.ctypeslib", IMPORTS),
    ("numpy.distutils", IMPORTS),
    ("distutils", IMPORTS),
    ("setuptools", IMPORTS),
    ("venv", IMPORTS),
    ("ensurepip", IMPORTS),
    ("pip", IMPORTS),
    ("pickle", NESTED),
    ("_pickle", NESTED),
    ("cPickle", NESTED),
    ("dill", NESTED),
    ("cloudpickle", NESTED),
    ("shelve", NESTED),
    ("shutil", FILES),
    ("tempfile", FILES),
    ("fileinput", FILES),
    ("linecache", FILES),
    ("mmap", FILES),
    ("tarfile", FILES),
    ("zipfile", FILES),
    ("sqlite3", FILES),
    ("_sqlite3", FILES),
    ("logging.config", CODE),
    ("logging.handlers", FILES),
    ("socket", NET),
    ("_socket", NET),
    ("ssl", NET),
    ("_ssl", NET),
    ("select", NET),
    ("selectors", NET),
    ("socketserver", NET),
    ("SocketServer", NET),
    ("http", NET),
    ("httplib", NET),
    ("urllib", NET),
    ("urllib2", NET),
    ("urllib3", NET),
    ("requests", NET),
    ("aiohttp", NET),
    ("smtplib", NET),
    ("imaplib", NET),
    ("ftplib", NET),
    ("poplib", NET),
    ("telnetlib", NET),
    ("nntplib", NET),
    ("xmlrpc", NET),
    ("xmlrpclib", NET),
    ("webbrowser", NET),
];

/// Modules under which Python's builtins are reachable (`__builtin__` is Python 2's name).
const BUILTIN_MODULES: &[&str] = &["builtins", "__builtin__", "__builtins__"];

/// Dangerous builtins.
const DANGEROUS_BUILTINS: &[(&str, &str)] = &[
    ("eval", CODE),
    ("exec", CODE),
    ("execfile", CODE),
    ("compile", CODE),
    ("breakpoint", CODE),
    ("input", CODE),
    ("raw_input", CODE),
    ("help", CODE),
    ("__import__", IMPORTS),
    ("reload", IMPORTS),
    ("__loader__", IMPORTS),
    ("getattr", ATTR),
    ("setattr", ATTR),
    ("delattr", ATTR),
    ("globals", ATTR),
    ("locals", ATTR),
    ("vars", ATTR),
    ("apply", ATTR),
    ("open", FILES),
    ("file", FILES),
    ("exit", INTERP),
    ("quit", INTERP),
];

/// Single dangerous names in otherwise ordinary modules. A dotted name is matched whole.
const DANGEROUS_NAMES: &[(&str, &str, &str)] = &[
    ("functools", "partial", ATTR),
    ("functools", "partialmethod", ATTR),
    ("functools", "reduce", ATTR),
    ("operator", "attrgetter", ATTR),
    ("operator", "itemgetter", ATTR),
    ("operator", "methodcaller", ATTR),
    ("_operator", "attrgetter", ATTR),
    ("_operator", "itemgetter", ATTR),
    ("_operator", "methodcaller", ATTR),
    ("types", "FunctionType", CODE),
    ("types", "LambdaType", CODE),
    ("types", "CodeType", CODE),
    ("types", "MethodType", CODE),
    ("types", "ModuleType", IMPORTS),
    ("types", "new_class", CODE),
    ("io", "open", FILES),
    ("io", "open_code", FILES),
    ("io", "FileIO", FILES),
    ("_io", "open", FILES),
    ("_io", "open_code", FILES),
    ("_io", "FileIO", FILES),
    ("codecs", "open", FILES),
    ("uuid", "_get_command_stdout", PROCESS),
    ("uuid", "_popen", PROCESS),
    ("numpy", "load", NESTED),
    ("numpy", "loads", NESTED),
    ("numpy", "fromfile", FILES),
    ("numpy.lib.npyio", "load", NESTED),
    ("numpy.lib.format", "read_array", NESTED),
    ("pandas", "read_pickle", NESTED),
    ("pandas", "eval", CODE),
    ("pandas.io.pickle", "read_pickle", NESTED),
    ("pandas.core.computation.eval", "eval", CODE),
    ("joblib", "load", NESTED),
    ("joblib.numpy_pickle", "load", NESTED),
    ("yaml", "load", NESTED),
    ("yaml", "load_all", NESTED),
    ("yaml", "unsafe_load", NESTED),
    ("yaml", "unsafe_load_all", NESTED),
    ("yaml", "full_load", NESTED),
    ("yaml", "full_load_all", NESTED),
    ("torch", "load", NESTED),
    ("torch", "save", FILES),
    ("torch.serialization", "load", NESTED),
    ("torch.serialization", "_load", NESTED),
    ("torch.serialization", "save", FILES),
    ("torch.storage", "_load_from_bytes", NESTED),
    ("torch.jit", "load", IMPORTS),
    ("torch.jit._serialization", "load", IMPORTS),
    ("torch.ops", "load_library", IMPORTS),
    ("torch._ops", "load_library", IMPORTS),
    ("torch.classes", "load_library", IMPORTS),
    ("torch.utils.collect_env", "run", PROCESS),
    ("torch.utils.collect_env", "run_and_read_all", PROCESS),
    (
        "torch.utils.collect_env",
        "run_and_parse_first_match",
        PROCESS,
    ),
    ("torch.jit.unsupported_tensor_ops", "execWrapper", CODE),
    (
        "torch.utils.data.datapipes.utils.decoder",
        "basichandlers",
        NESTED,
    ),
    ("torch._dynamo.guards", "GuardBuilder.get", CODE),
    (
        "torch.fx.experimental.symbolic_shapes",
        "ShapeEnv.evaluate_guards_expression",
        CODE,
    ),
];

/// Attribute names that, inside a dotted name, reach interpreter internals.
const DANGEROUS_ATTRIBUTES: &[&str] = &[
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__getattribute__",
    "__getattr__",
    "__setattr__",
    "__import__",
    "__code__",
    "__class__",
    "__bases__",
    "__base__",
    "__mro__",
    "__dict__",
    "__self__",
    "__func__",
    "__module__",
    "__loader__",
    "__spec__",
    "__reduce__",
    "__reduce_ex__",
    "__setstate__",
    "__init_subclass__",
];

/// Builtins that only construct plain data.
const SAFE_BUILTINS: &[&str] = &[
    "set",
    "frozenset",
    "slice",
    "complex",
    "bytearray",
    "bytes",
    "range",
    "bool",
    "int",
    "float",
    "str",
    "list",
    "tuple",
    "dict",
    "object",
];

/// Torch dtype objects, pickled as `torch.<dtype>` (PyTorch's allow-list adds every dtype).
const TORCH_DTYPES: &[&str] = &[
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "complex32",
    "complex64",
    "complex128",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "quint8",
    "qint8",
    "qint32",
    "quint4x2",
    "quint2x4",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "bits8",
    "bits16",
    "uint1",
    "uint2",
    "uint3",
    "uint4",
    "uint5",
    "uint6",
    "uint7",
    "int1",
    "int2",
    "int3",
    "int4",
    "int5",
    "int6",
    "int7",
];

/// Legacy typed storage classes, `torch.<Type>Storage` and `torch.cuda.<Type>Storage`.
const TORCH_STORAGES: &[&str] = &[
    "DoubleStorage",
    "FloatStorage",
    "HalfStorage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "BFloat16Storage",
    "ComplexDoubleStorage",
    "ComplexFloatStorage",
    "QUInt8Storage",
    "QInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
];

/// Legacy tensor type classes, `torch.<Type>Tensor` and `torch.cuda.<Type>Tensor`.
const TORCH_TENSOR_TYPES: &[&str] = &[
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
];

/// Other exact safe globals.
const SAFE_NAMES: &[(&str, &str)] = &[
    ("collections", "OrderedDict"),
    ("collections", "Counter"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("torch", "Size"),
    ("torch", "Tensor"),
    ("torch", "device"),
    ("torch", "per_tensor_affine"),
    ("torch", "per_tensor_symmetric"),
    ("torch", "per_channel_affine"),
    ("torch", "per_channel_symmetric"),
    ("torch", "per_channel_affine_float_qparams"),
    ("torch", "UntypedStorage"),
    ("torch", "TypedStorage"),
    ("torch.storage", "UntypedStorage"),
    ("torch.storage", "TypedStorage"),
    ("torch.serialization", "_get_layout"),
    ("torch.nn.parameter", "Parameter"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"),
];

/// CPython 3.11 `_compat_pickle.IMPORT_MAPPING`: Python 2 module names the unpickler renames.
pub const IMPORT_MAPPING: &[(&str, &str)] = &[
    ("BaseHTTPServer", "http.server"),
    ("CGIHTTPServer", "http.server"),
    ("ConfigParser", "configparser"),
    ("Cookie", "http.cookies"),
    ("Dialog", "tkinter.dialog"),
    ("DocXMLRPCServer", "xmlrpc.server"),
    ("FileDialog", "tkinter.filedialog"),
    ("HTMLParser", "html.parser"),
    ("Queue", "queue"),
    ("ScrolledText", "tkinter.scrolledtext"),
    ("SimpleDialog", "tkinter.simpledialog"),
    ("SimpleHTTPServer", "http.server"),
    ("SimpleXMLRPCServer", "xmlrpc.server"),
    ("SocketServer", "socketserver"),
    ("StringIO", "io"),
    ("Tix", "tkinter.tix"),
    ("Tkconstants", "tkinter.constants"),
    ("Tkdnd", "tkinter.dnd"),
    ("Tkinter", "tkinter"),
    ("UserDict", "collections"),
    ("UserList", "collections"),
    ("UserString", "collections"),
    ("__builtin__", "builtins"),
    ("_abcoll", "collections.abc"),
    ("_elementtree", "xml.etree.ElementTree"),
    ("_winreg", "winreg"),
    ("anydbm", "dbm"),
    ("cPickle", "pickle"),
    ("cStringIO", "io"),
    ("commands", "subprocess"),
    ("cookielib", "http.cookiejar"),
    ("copy_reg", "copyreg"),
    ("dbhash", "dbm.bsd"),
    ("dbm", "dbm.ndbm"),
    ("dumbdbm", "dbm.dumb"),
    ("dummy_thread", "_dummy_thread"),
    ("gdbm", "dbm.gnu"),
    ("htmlentitydefs", "html.entities"),
    ("httplib", "http.client"),
    ("markupbase", "_markupbase"),
    ("repr", "reprlib"),
    ("robotparser", "urllib.robotparser"),
    ("test.test_support", "test.support"),
    ("thread", "_thread"),
    ("tkColorChooser", "tkinter.colorchooser"),
    ("tkCommonDialog", "tkinter.commondialog"),
    ("tkFileDialog", "tkinter.filedialog"),
    ("tkFont", "tkinter.font"),
    ("tkMessageBox", "tkinter.messagebox"),
    ("tkSimpleDialog", "tkinter.simpledialog"),
    ("ttk", "tkinter.ttk"),
    ("urllib2", "urllib.request"),
    ("urlparse", "urllib.parse"),
    ("whichdb", "dbm"),
    ("xmlrpclib", "xmlrpc.client"),
];

/// CPython 3.11 `_compat_pickle.NAME_MAPPING`: Python 2 (module, name) pairs the unpickler
/// renames. Only the pairs that move to another module matter for classification, but the
/// table is kept whole so that a test can compare it with the running Python.
/// A `(module, name)` pair.
pub type Name = (&'static str, &'static str);

pub const NAME_MAPPING: &[(Name, Name)] = &[
    (
        ("UserDict", "IterableUserDict"),
        ("collections", "UserDict"),
    ),
    (("UserDict", "UserDict"), ("collections", "UserDict")),
    (("UserList", "UserList"), ("collections", "UserList")),
    (("UserString", "UserString"), ("collections", "UserString")),
    (("__builtin__", "basestring"), ("builtins", "str")),
    (("__builtin__", "intern"), ("sys", "intern")),
    (("__builtin__", "long"), ("builtins", "int")),
    (("__builtin__", "reduce"), ("functools", "reduce")),
    (("__builtin__", "unichr"), ("builtins", "chr")),
    (("__builtin__", "unicode"), ("builtins", "str")),
    (("__builtin__", "xrange"), ("builtins", "range")),
    (
        ("_multiprocessing", "Connection"),
        ("multiprocessing.connection", "Connection"),
    ),
    (("_socket", "fromfd"), ("socket", "fromfd")),
    (
        ("exceptions", "ArithmeticError"),
        ("builtins", "ArithmeticError"),
    ),
    (
        ("exceptions", "AssertionError"),
        ("builtins", "AssertionError"),
    ),
    (
        ("exceptions", "AttributeError"),
        ("builtins", "AttributeError"),
    ),
    (
        ("exceptions", "BaseException"),
        ("builtins", "BaseException"),
    ),
    (("exceptions", "BufferError"), ("builtins", "BufferError")),
    (("exceptions", "BytesWarning"), ("builtins", "BytesWarning")),
    (
        ("exceptions", "DeprecationWarning"),
        ("builtins", "DeprecationWarning"),
    ),
    (("exceptions", "EOFError"), ("builtins", "EOFError")),
    (
        ("exceptions", "EnvironmentError"),
        ("builtins", "EnvironmentError"),
    ),
    (("exceptions", "Exception"), ("builtins", "Exception")),
    (
        ("exceptions", "FloatingPointError"),
        ("builtins", "FloatingPointError"),
    ),
    (
        ("exceptions", "FutureWarning"),
        ("builtins", "FutureWarning"),
    ),
    (
        ("exceptions", "GeneratorExit"),
        ("builtins", "GeneratorExit"),
    ),
    (("exceptions", "IOError"), ("builtins", "IOError")),
    (("exceptions", "ImportError"), ("builtins", "ImportError")),
    (
        ("exceptions", "ImportWarning"),
        ("builtins", "ImportWarning"),
    ),
    (
        ("exceptions", "IndentationError"),
        ("builtins", "IndentationError"),
    ),
    (("exceptions", "IndexError"), ("builtins", "IndexError")),
    (("exceptions", "KeyError"), ("builtins", "KeyError")),
    (
        ("exceptions", "KeyboardInterrupt"),
        ("builtins", "KeyboardInterrupt"),
    ),
    (("exceptions", "LookupError"), ("builtins", "LookupError")),
    (("exceptions", "MemoryError"), ("builtins", "MemoryError")),
    (("exceptions", "NameError"), ("builtins", "NameError")),
    (
        ("exceptions", "NotImplementedError"),
        ("builtins", "NotImplementedError"),
    ),
    (("exceptions", "OSError"), ("builtins", "OSError")),
    (
        ("exceptions", "OverflowError"),
        ("builtins", "OverflowError"),
    ),
    (
        ("exceptions", "PendingDeprecationWarning"),
        ("builtins", "PendingDeprecationWarning"),
    ),
    (
        ("exceptions", "ReferenceError"),
        ("builtins", "ReferenceError"),
    ),
    (("exceptions", "RuntimeError"), ("builtins", "RuntimeError")),
    (
        ("exceptions", "RuntimeWarning"),
        ("builtins", "RuntimeWarning"),
    ),
    (("exceptions", "StandardError"), ("builtins", "Exception")),
    (
        ("exceptions", "StopIteration"),
        ("builtins", "StopIteration"),
    ),
    (("exceptions", "SyntaxError"), ("builtins", "SyntaxError")),
    (
        ("exceptions", "SyntaxWarning"),
        ("builtins", "SyntaxWarning"),
    ),
    (("exceptions", "SystemError"), ("builtins", "SystemError")),
    (("exceptions", "SystemExit"), ("builtins", "SystemExit")),
    (("exceptions", "TabError"), ("builtins", "TabError")),
    (("exceptions", "TypeError"), ("builtins", "TypeError")),
    (
        ("exceptions", "UnboundLocalError"),
        ("builtins", "UnboundLocalError"),
    ),
    (
        ("exceptions", "UnicodeDecodeError"),
        ("builtins", "UnicodeDecodeError"),
    ),
    (
        ("exceptions", "UnicodeEncodeError"),
        ("builtins", "UnicodeEncodeError"),
    ),
    (("exceptions", "UnicodeError"), ("builtins", "UnicodeError")),
    (
        ("exceptions", "UnicodeTranslateError"),
        ("builtins", "UnicodeTranslateError"),
    ),
    (
        ("exceptions", "UnicodeWarning"),
        ("builtins", "UnicodeWarning"),
    ),
    (("exceptions", "UserWarning"), ("builtins", "UserWarning")),
    (("exceptions", "ValueError"), ("builtins", "ValueError")),
    (("exceptions", "Warning"), ("builtins", "Warning")),
    (
        ("exceptions", "ZeroDivisionError"),
        ("builtins", "ZeroDivisionError"),
    ),
    (("itertools", "ifilter"), ("builtins", "filter")),
    (("itertools", "ifilterfalse"), ("itertools", "filterfalse")),
    (("itertools", "imap"), ("builtins", "map")),
    (("itertools", "izip"), ("builtins", "zip")),
    (("itertools", "izip_longest"), ("itertools", "zip_longest")),
    (
        ("multiprocessing", "AuthenticationError"),
        ("multiprocessing.context", "AuthenticationError"),
    ),
    (
        ("multiprocessing", "BufferTooShort"),
        ("multiprocessing.context", "BufferTooShort"),
    ),
    (
        ("multiprocessing", "ProcessError"),
        ("multiprocessing.context", "ProcessError"),
    ),
    (
        ("multiprocessing", "TimeoutError"),
        ("multiprocessing.context", "TimeoutError"),
    ),
    (
        ("multiprocessing.forking", "Popen"),
        ("multiprocessing.popen_fork", "Popen"),
    ),
    (
        ("multiprocessing.process", "Process"),
        ("multiprocessing.context", "Process"),
    ),
    (("socket", "_socketobject"), ("socket", "SocketType")),
    (
        ("urllib", "ContentTooShortError"),
        ("urllib.error", "ContentTooShortError"),
    ),
    (("urllib", "getproxies"), ("urllib.request", "getproxies")),
    (
        ("urllib", "pathname2url"),
        ("urllib.request", "pathname2url"),
    ),
    (("urllib", "quote"), ("urllib.parse", "quote")),
    (("urllib", "quote_plus"), ("urllib.parse", "quote_plus")),
    (("urllib", "unquote"), ("urllib.parse", "unquote")),
    (("urllib", "unquote_plus"), ("urllib.parse", "unquote_plus")),
    (
        ("urllib", "url2pathname"),
        ("urllib.request", "url2pathname"),
    ),
    (("urllib", "urlcleanup"), ("urllib.request", "urlcleanup")),
    (("urllib", "urlencode"), ("urllib.parse", "urlencode")),
    (("urllib", "urlopen"), ("urllib.request", "urlopen")),
    (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
    (("urllib2", "HTTPError"), ("urllib.error", "HTTPError")),
    (("urllib2", "URLError"), ("urllib.error", "URLError")),
    (("whichdb", "whichdb"), ("dbm", "whichdb")),
];

/// The (module, name) the Python 3 unpickler really imports for a protocol 0-2 pickle.
pub fn compat_name<'a>(module: &'a str, name: &'a str) -> (&'a str, &'a str) {
    if let Some((_, to)) = NAME_MAPPING
        .iter()
        .find(|((m, n), _)| *m == module && *n == name)
    {
        return *to;
    }
    if let Some((_, to)) = IMPORT_MAPPING.iter().find(|(m, _)| *m == module) {
        return (to, name);
    }
    (module, name)
}

/// Classify an imported global. Both the name as written and its Python 3 rename are
/// checked: either being dangerous makes it dangerous; it is safe only if the name Python 3
/// imports is allow-listed.
pub fn classify(module: &str, name: &str) -> Verdict {
    let (m3, n3) = compat_name(module, name);
    if let Some(reason) = dangerous(module, name).or_else(|| dangerous(m3, n3)) {
        return Verdict {
            class: Class::Dangerous,
            reason,
        };
    }
    if is_safe(m3, n3) {
        return Verdict {
            class: Class::Safe,
            reason: SAFE,
        };
    }
    Verdict {
        class: Class::Unknown,
        reason: UNKNOWN,
    }
}

/// Why a global is dangerous, if it is. Protocol 4 resolves a dotted `name` attribute by
/// attribute, so `("torch", "hub.load")` is `torch.hub.load`: every split of the dotted path
/// into module and attribute is checked, and any step through a dangerous module or a dunder
/// attribute makes the whole name dangerous.
///
/// The work is linear in the length of the name: the module paths are prefixes of one
/// string, and only paths short enough to be in a table are looked up.
fn dangerous(module: &str, name: &str) -> Option<&'static str> {
    let tables = tables();
    let full = format!("{module}.{name}");
    let dotted = name.contains('.');
    let mut offset = 0;
    for part in name.split('.') {
        // `module.parts[..i]` and `parts[i..]`.
        let path = full.get(..module.len() + offset).unwrap_or(module);
        let rest = name.get(offset..).unwrap_or_default();
        let module_hit = if offset == 0 {
            module_reason(module)
        } else if path.len() <= tables.longest_module {
            tables.modules.get(path).copied()
        } else {
            None
        };
        if let Some(reason) = module_hit.or_else(|| name_reason(tables, path, rest)) {
            return Some(reason);
        }
        if dotted {
            if DANGEROUS_ATTRIBUTES.contains(&part) {
                return Some(DOTTED);
            }
            // `x.os.system`, `x.builtins.eval`: a dangerous module reached as an attribute.
            if tables.modules.contains_key(part) || BUILTIN_MODULES.contains(&part) {
                return Some(DOTTED);
            }
        }
        offset += part.len() + 1;
    }
    None
}

/// Why `name` (possibly dotted) in `module` is dangerous: a dangerous builtin, or a listed
/// dangerous name. The module itself is not looked at.
fn name_reason(tables: &Tables, module: &str, name: &str) -> Option<&'static str> {
    if module.len() > tables.longest_module {
        return None;
    }
    let first = name.split('.').next().unwrap_or(name);
    if BUILTIN_MODULES.contains(&module)
        && let Some((_, reason)) = DANGEROUS_BUILTINS.iter().find(|(n, _)| *n == first)
    {
        return Some(reason);
    }
    tables
        .names
        .get(module)?
        .iter()
        .find(|(n, _)| *n == name || *n == first)
        .map(|(_, reason)| *reason)
}

/// The reason a module (or a parent package of it) is dangerous as a whole. Only the
/// prefixes that a table entry could match are looked up.
fn module_reason(module: &str) -> Option<&'static str> {
    let tables = tables();
    let mut end = 0;
    for part in module.split('.') {
        end += part.len();
        if end > tables.longest_module {
            return None;
        }
        if let Some(reason) = module.get(..end).and_then(|p| tables.modules.get(p)) {
            return Some(reason);
        }
        end += 1;
    }
    None
}

/// The dangerous-module and dangerous-name lists as hash maps.
struct Tables {
    modules: HashMap<&'static str, &'static str>,
    names: HashMap<&'static str, Vec<(&'static str, &'static str)>>,
    /// The longest module name in either table: longer paths are never looked up.
    longest_module: usize,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut names: HashMap<&'static str, Vec<(&'static str, &'static str)>> = HashMap::new();
        for (m, n, reason) in DANGEROUS_NAMES {
            names.entry(m).or_default().push((n, reason));
        }
        let longest_module = DANGEROUS_MODULES
            .iter()
            .map(|(m, _)| m.len())
            .chain(DANGEROUS_NAMES.iter().map(|(m, _, _)| m.len()))
            .chain(BUILTIN_MODULES.iter().map(|m| m.len()))
            .max()
            .unwrap_or(0);
        Tables {
            modules: DANGEROUS_MODULES.iter().copied().collect(),
            names,
            longest_module,
        }
    })
}

fn is_safe(module: &str, name: &str) -> bool {
    if BUILTIN_MODULES.contains(&module) {
        return SAFE_BUILTINS.contains(&name);
    }
    match module {
        "torch" => {
            TORCH_DTYPES.contains(&name)
                || TORCH_STORAGES.contains(&name)
                || TORCH_TENSOR_TYPES.contains(&name)
                || SAFE_NAMES.contains(&(module, name))
        }
        "torch.cuda" => TORCH_STORAGES.contains(&name) || TORCH_TENSOR_TYPES.contains(&name),
        _ => SAFE_NAMES.contains(&(module, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(m: &str, n: &str) -> Class {
        classify(m, n).class
    }

    #[test]
    fn dangerous_callables() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("os.path", "join"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("__builtin__", "exec"),
            ("builtins", "getattr"),
            ("builtins", "__import__"),
            ("runpy", "_run_code"),
            ("importlib", "import_module"),
            ("pickle", "loads"),
            ("_pickle", "loads"),
            ("webbrowser", "open"),
            ("ctypes", "CDLL"),
            ("socket", "create_connection"),
            ("shutil", "rmtree"),
            ("sys", "modules"),
            ("code", "InteractiveInterpreter"),
            ("pty", "spawn"),
            ("functools", "partial"),
            ("operator", "attrgetter"),
            ("torch", "load"),
            ("torch.serialization", "load"),
            ("torch.storage", "_load_from_bytes"),
        ] {
            assert_eq!(class(m, n), Class::Dangerous, "{m}.{n}");
        }
    }

    #[test]
    fn python2_names_are_renamed_before_classifying() {
        // `commands` is renamed to `subprocess`, `__builtin__.reduce` to `functools.reduce`.
        assert_eq!(class("commands", "getoutput"), Class::Dangerous);
        assert_eq!(class("__builtin__", "reduce"), Class::Dangerous);
        assert_eq!(class("copy_reg", "_reconstructor"), Class::Safe);
        assert_eq!(class("__builtin__", "set"), Class::Safe);
        assert_eq!(class("__builtin__", "xrange"), Class::Safe);
        assert_eq!(compat_name("cPickle", "loads"), ("pickle", "loads"));
    }

    #[test]
    fn dotted_names_walk_attributes() {
        assert_eq!(class("torch", "hub.load"), Class::Dangerous);
        assert_eq!(class("torch", "serialization.load"), Class::Dangerous);
        assert_eq!(class("collections", "os.system"), Class::Dangerous);
        assert_eq!(class("numpy", "dtype.__class__"), Class::Dangerous);
        assert_eq!(
            class("torch._dynamo.guards", "GuardBuilder.get"),
            Class::Dangerous
        );
        // A dotted name is never safe, even below an allow-listed class.
        assert_eq!(class("collections", "OrderedDict.fromkeys"), Class::Unknown);
    }

    #[test]
    fn long_dotted_names_are_classified_in_linear_time() {
        // 4,000 attribute steps, the last one dangerous; checking every split of the path
        // used to copy the rest of the name at each step.
        let mut name = "a.".repeat(4000);
        name.push_str("__globals__");
        assert_eq!(class("collections", &name), Class::Dangerous);
        let started = std::time::Instant::now();
        for _ in 0..200 {
            assert_eq!(class("m", &"a.".repeat(2000)[..3999]), Class::Unknown);
        }
        // Quadratic work took seconds here; linear work takes milliseconds even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(class("x", "y.os.system"), Class::Dangerous);
        assert_eq!(class("torch.hub", "load"), Class::Dangerous);
        assert_eq!(class("os.path.very.deep", "join"), Class::Dangerous);
    }

    #[test]
    fn safe_reconstructors() {
        for (m, n) in [
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch", "FloatStorage"),
            ("torch", "BFloat16Storage"),
            ("torch.cuda", "HalfStorage"),
            ("torch", "float32"),
            ("torch._tensor", "_rebuild_from_type_v2"),
            ("torch.nn.parameter", "Parameter"),
            ("collections", "OrderedDict"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "dtype"),
            ("numpy", "ndarray"),
            ("_codecs", "encode"),
            ("builtins", "set"),
            ("builtins", "frozenset"),
            ("builtins", "slice"),
            ("builtins", "complex"),
        ] {
            assert_eq!(class(m, n), Class::Safe, "{m}.{n}");
        }
    }

    #[test]
    fn everything_else_is_unknown() {
        for (m, n) in [
            ("__main__", "MyModel"),
            ("torch.nn.modules.linear", "Linear"),
            ("builtins", "type"),
            ("collections", "defaultdict"),
            ("osx", "thing"),
            ("torch", "nn"),
            ("numpy", "array"),
        ] {
            assert_eq!(class(m, n), Class::Unknown, "{m}.{n}");
        }
    }
}
