"""Generate pickle test cases with CPython's own pickle module, and the expected scan
results from CPython itself (the oracle for tests/repo_pickle.rs).

Usage: python3 picklegen.py OUTDIR

Writes OUTDIR/<case>.pkl for every case and OUTDIR/expected.json:

    {"cases": {"<case>": {"opcodes": N,
                          "globals": [[offset, "OPCODE", module, name], ...],
                          "protocol": P or null}},
     "opcodes_not_covered": [...]}

Offsets come from pickletools.genops. Module and name come from loading the pickle with an
Unpickler whose find_class records its arguments and returns a harmless dummy, so nothing is
imported or run; CPython's C unpickler thus decides which strings a STACK_GLOBAL really uses.
Nothing in here executes a pickled callable.
"""

import collections
import copyreg
import io
import json
import os
import pickle
import pickletools
import subprocess
import sys

OUT = sys.argv[1]


class Dummy:
    """Stands in for every imported global: accepts any call and any container op."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Dummy()

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass

    def __setstate__(self, state):
        pass


class Recorder(pickle.Unpickler):
    def __init__(self, f, **kw):
        super().__init__(f, **kw)
        self.found = []

    def find_class(self, module, name):
        self.found.append((module, name))
        return Dummy

    def persistent_load(self, pid):
        return Dummy()


GLOBAL_OPS = {"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"}


def oracle(data, buffers=None, pickles=1):
    """Expected scan of `pickles` consecutive pickles in `data`."""
    f = io.BytesIO(data)
    ops = []
    found = []
    protocol = None
    for _ in range(pickles):
        start = f.tell()
        for op, arg, pos in pickletools.genops(f):
            ops.append((op.name, pos))
            if op.name == "PROTO" and protocol is None:
                protocol = arg
        f.seek(start)
        r = Recorder(f, buffers=buffers)
        r.load()
        found.extend(r.found)
    global_ops = [(pos, name) for name, pos in ops if name in GLOBAL_OPS]
    reduces = [pos for name, pos in ops if name == "REDUCE"]
    assert len(global_ops) == len(found), (global_ops, found)
    return {
        "opcodes": len(ops),
        "globals": [[pos, op, m, n] for (pos, op), (m, n) in zip(global_ops, found)],
        "protocol": protocol,
        "reduces": reduces,
        "seen": sorted({name for name, _ in ops}),
    }


cases = {}


def case(name, data, buffers=None, pickles=1):
    with open(os.path.join(OUT, name + ".pkl"), "wb") as f:
        f.write(data)
    cases[name] = oracle(data, buffers, pickles)


class Evil:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class Plain:
    def __init__(self):
        self.a = 1
        self.b = [1, 2]


class KwNew:
    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __getnewargs_ex__(self):
        return ((1,), {"k": 2})


class PersistentPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, str) and obj.startswith("ref:"):
            return obj[4:]
        return None


def persistent(obj, protocol):
    buf = io.BytesIO()
    PersistentPickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


# Plain data, every protocol.
data = {"a": 1, "b": [1.5, "x", None, True, False], "c": (1, 2, 3), "d": ()}
for p in range(6):
    case(f"dict_p{p}", pickle.dumps(data, protocol=p))
    case(
        f"list_p{p}",
        pickle.dumps(
            [1, 300, 70000, -1, 2**70, 2**3000, 3.25, "s", b"b" * 5, b"B" * 300, "é" * 200],
            protocol=p,
        ),
    )
for p in (0, 2, 4, 5):
    case(
        f"ordereddict_p{p}",
        pickle.dumps(collections.OrderedDict([("w", 1), ("b", 2)]), protocol=p),
    )

# Malicious reducers.
for p in (0, 2, 4, 5):
    case(f"os_system_p{p}", pickle.dumps(Evil(os.system, ("id",)), protocol=p))
case("eval_p2", pickle.dumps(Evil(eval, ("1+1",)), protocol=2))
case("eval_p4", pickle.dumps(Evil(eval, ("1+1",)), protocol=4))
case("popen_p4", pickle.dumps(Evil(subprocess.Popen, (["id"],)), protocol=4))
# The second STACK_GLOBAL fetches its module string "posix" back from the memo.
case("memo_stack_global_p4", pickle.dumps([os.system, os.getcwd], protocol=4))

# More opcodes.
for p in (0, 2, 4):
    case(f"object_p{p}", pickle.dumps(Plain(), protocol=p))
case("sets_p4", pickle.dumps([{1, 2}, frozenset({3})], protocol=4))
case("newobj_ex_p4", pickle.dumps(KwNew(), protocol=4))
strings = [f"s{i}" for i in range(300)]
case("long_memo_p2", pickle.dumps(strings + [strings[299], strings[3]], protocol=2))
case("bytearray_p5", pickle.dumps(bytearray(b"xyz"), protocol=5))
oob = []
case(
    "out_of_band_p5",
    pickle.dumps(pickle.PickleBuffer(b"ro"), protocol=5, buffer_callback=oob.append),
    buffers=oob,
)
case("persid_p0", persistent(["ref:a", 1], 0))
case("binpersid_p2", persistent(["ref:a", 1], 2))
extensions = [("posix", "system", 1), ("os", "popen", 300), ("posix", "getcwd", 70000)]
for ext in extensions:
    copyreg.add_extension(*ext)
case("ext_p2", pickle.dumps([os.system, os.popen, os.getcwd], protocol=2))
for ext in extensions:
    copyreg.remove_extension(*ext)

# Hand-written: opcodes the Python 3 pickler never writes.
crafted = {
    "inst_p0": b"(S'id'\nios\nsystem\n.",
    "obj_p1": b"(cos\nsystem\nS'id'\no.",
    "dup_pop_p2": b"\x80\x02N20(N1.",
    "text_strings_p1": b"(S'o\\x73'\nU\x06systemT\x02\x00\x00\x00osV\\u0073ystem\nt.",
    "stack_global_from_text_p4": b"\x80\x04S'os'\nS'system'\n\x93.",
    "eight_byte_lengths_p4": b"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00os"
    b"\x8e\x01\x00\x00\x00\x00\x00\x00\x00x\x86.",
    "text_memo_p0": b"(lp0\nS'a'\np1\nag1\na.",
    "long_text_p0": b"L123456789012345678901234567890L\n.",
    "dotted_name_p4": b"\x80\x04\x8c\x05torch\x8c\x08hub.load\x93.",
    "builtins_getattr_p0": b"c__builtin__\ngetattr\n(c__builtin__\nobject\nS'__subclasses__'\ntR.",
}
for name, blob in crafted.items():
    case(name, blob)

# Legacy (non-zip) torch.save layout: magic number, protocol version, system info, the
# object, the storage keys, then raw storages (an 8-byte element count and the bytes). The
# first storage holds 640 elements, so its bytes start 80 02 00 ... like a pickle header.


class FloatStorage:
    pass


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


def torch_names():
    """Make the torch globals importable by name, as the real pickler needs."""
    import types

    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        return None

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    torch.FloatStorage = FloatStorage
    torch._utils = utils
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return _rebuild_tensor_v2


rebuild = torch_names()


class Tensor:
    def __init__(self, storage, size, stride):
        self.storage, self.size, self.stride = storage, size, stride

    def __reduce_ex__(self, protocol):
        return (
            rebuild,
            (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()),
        )


class TorchPickler(pickle.Pickler):
    legacy = False

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", FloatStorage, obj.key, "cpu", obj.numel)
            return pid + (None,) if self.legacy else pid
        return None


def state_dict(extra=None):
    sd = collections.OrderedDict(
        [
            ("weight", Tensor(Storage("0", 640), (640,), (1,))),
            ("bias", Tensor(Storage("1", 2), (2,), (1,))),
        ]
    )
    if extra is not None:
        sd["extra"] = extra
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def torch_pickle(obj, legacy=False):
    buf = io.BytesIO()
    p = TorchPickler(buf, protocol=2)
    p.legacy = legacy
    p.dump(obj)
    return buf.getvalue()


legacy = io.BytesIO()
pickle.dump(0x1950A86A20F9469CFC6C, legacy, protocol=2)
pickle.dump(1001, legacy, protocol=2)
pickle.dump(
    {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}},
    legacy,
    protocol=2,
)
legacy.write(torch_pickle(state_dict(), legacy=True))
pickle.dump(["0", "1"], legacy, protocol=2)
for numel in (640, 2):
    legacy.write(numel.to_bytes(8, "little"))
    legacy.write(b"\x00" * 4 * numel)
case("legacy_torch", legacy.getvalue(), pickles=5)

# Pickles for torch zip archives, written by tests/support/torchzip.py.
for name, blob in {
    "torch_data": torch_pickle(state_dict()),
    "torch_data_evil": torch_pickle(state_dict(Evil(os.system, ("id",)))),
}.items():
    case(name, blob)

all_ops = [op.name for op in pickletools.opcodes]
seen = set()
for c in cases.values():
    seen.update(c.pop("seen"))
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(
        {
            "cases": cases,
            "opcodes": {op.name: op.code.encode("latin-1")[0] for op in pickletools.opcodes},
            "opcodes_not_covered": sorted(set(all_ops) - seen),
        },
        f,
        indent=1,
    )
