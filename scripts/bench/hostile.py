"""Write the hostile inputs of issue 13 ("Scale and hostile input") into a directory, one
file (or model repository) per case, for scripts/bench/hostile.sh to time.

Usage: python3 scripts/bench/hostile.py OUTDIR

Every case is deterministic. `check/` holds inputs for `tritonguard check`, `repo/` model
repositories for `tritonguard repo audit`; OUTDIR/cases.txt lists them as
`<kind> <name> <path> [extra args]`.
"""

import io
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

OUT = sys.argv[1]
CHECK = os.path.join(OUT, "check")
REPO = os.path.join(OUT, "repo")
cases = []


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def check_case(name, file_name, data):
    path = os.path.join(CHECK, name, file_name)
    write(path, data)
    cases.append(("check", name, path))


POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n"
    "    - name: triton\n      image: nvcr.io/nvidia/tritonserver:24.10-py3\n"
    "      args: [tritonserver, --model-repository=/m, --model-control-mode=explicit]\n"
)

# --- parsers -------------------------------------------------------------------------------

# 200k distinct keys in one mapping (2.5 MB).
check_case(
    "yaml-distinct-keys",
    "keys.yaml",
    POD + "".join(f"k{i:07d}: v\n" for i in range(200_000)),
)
# 100k duplicate keys (0.7 MB).
check_case("yaml-duplicate-keys", "dups.yaml", POD + "labelx: 1\n" * 70_000)
# Nested anchors: 200 anchored mappings, each inside the last, around a 2 MB flow list.
nested = "".join(f"{'  ' * d}l{d}: &a{d}\n" for d in range(200))
nested += "  " * 200 + "leaf: [" + ", ".join(["x"] * 600_000) + "]\n"
nested += "use: *a0\n"
check_case("yaml-nested-anchors", "anchors.yaml", nested)
# Many documents, each just under the alias expansion cap (~2 MB).
laugh = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
for i in range(1, 5):
    laugh += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
check_case("yaml-many-laughs", "laughs.yaml", ("---\n" + laugh) * 2_000)
# A long string anchored and aliased many times.
check_case(
    "yaml-string-aliases",
    "strings.yaml",
    "s: &s " + "x" * 1_000_000 + "\nl: [" + ", ".join(["*s"] * 90_000) + "]\n",
)
# CR-only line ends: the finding is on line 8, not line 1.
check_case("yaml-cr-only", "pod.yaml", POD.replace("\n", "\r"))
# Dockerfile with 100k ENV lines.
check_case(
    "dockerfile-env",
    "Dockerfile",
    "FROM nvcr.io/nvidia/tritonserver:24.10-py3\n"
    + "".join(f"ENV V{i}=value{i}\n" for i in range(100_000))
    + 'CMD ["tritonserver", "--model-repository=/m", "--model-control-mode=explicit"]\n',
)
# config.pbtxt with 200k parameter keys.
check_case(
    "pbtxt-parameters",
    os.path.join("m", "config.pbtxt"),
    'name: "m"\nbackend: "python"\n'
    + "".join(
        f'parameters {{ key: "k{i}" value: {{ string_value: "v" }} }}\n'
        for i in range(200_000)
    ),
)

# --- model repositories --------------------------------------------------------------------


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


EVIL = pickle.dumps(Evil(), protocol=2)
BENIGN = pickle.dumps({"weights": [1.0, 2.0]}, protocol=2)


def repo_case(name, files, extra=""):
    root = os.path.join(REPO, name)
    for rel, data in files.items():
        write(os.path.join(os.fsencode(root), rel) if isinstance(rel, bytes) else os.path.join(root, rel), data)
    write(os.path.join(root, "m", "config.pbtxt"), 'name: "m"\nbackend: "pytorch"\n')
    cases.append(("repo", name, root) + ((extra,) if extra else ()))


def zip_bytes(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for member, data in members:
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compress
            zf.writestr(info, data)
    return buf.getvalue()


# 4,096 decoy *.pkl members before data.pkl.
repo_case(
    "decoy-members",
    {
        "m/1/model.pt": zip_bytes(
            [(f"archive/decoy{i}.pkl", BENIGN) for i in range(4096)]
            + [("archive/data.pkl", EVIL)]
        )
    },
)
# A member whose os.system global comes after 1 GiB + 1 of inflated bytes.
comp = zlib.compressobj(1, zlib.DEFLATED, -15)
body = bytearray()
pad = b"B" + struct.pack("<I", 1 << 20) + b"\x00" * (1 << 20) + b"0"  # BINBYTES, POP
block = pad * 8
blocks = 129  # 129 * 8 MiB > 1 GiB
body += comp.compress(b"\x80\x04")
for _ in range(blocks):
    body += comp.compress(block)
body += comp.compress(EVIL[2:])
body += comp.flush()
uncompressed = 2 + blocks * len(block) + len(EVIL) - 2
crc = 0  # not checked by the scanner, and torch's reader checks it lazily
name = b"archive/data.pkl"
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(body), 0xFFFFFFFF, len(name), 20)
extra_local = struct.pack("<HHQQ", 1, 16, uncompressed, len(body))
central_offset = len(local) + len(name) + len(extra_local) + len(body)
central = struct.pack(
    "<IHHHHHHIIIHHHHHII",
    0x02014B50, 45, 20, 0, 8, 0, 0, crc, len(body), 0xFFFFFFFF, len(name), 12, 0, 0, 0, 0, 0,
)
extra_central = struct.pack("<HHQ", 1, 8, uncompressed)
cd = central + name + extra_central
eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), central_offset, 0)
repo_case(
    "after-inflate-limit",
    {"m/1/model.pt": local + name + extra_local + bytes(body) + cd + eocd},
)
# A pickle under a non-UTF-8 name, next to a benign file that has its lossy name.
repo_case(
    "non-utf8-name",
    {b"m/1/model\xff.pkl": EVIL, "m/1/model\ufffd.pkl": BENIGN},
)
# A pickle stored in a zip under a name that is not a pickle name.
repo_case("zip-member-by-content", {"m/1/model.pt": zip_bytes([("archive/data.txt", EVIL)])})
# A pickle inside a .7z archive (written by py7zr when it is installed).
try:
    import py7zr

    seven = io.BytesIO()
    with py7zr.SevenZipFile(seven, "w") as z:
        z.writestr(EVIL, "data.pkl")
    repo_case("seven-zip", {"m/1/model.7z": seven.getvalue()})
except ImportError:
    pass
# A huge lock file (157 MB) and one with a bad byte.
lock_line = "0" * 64 + "  m/1/model.pkl\n"
repo_case("huge-lock", {"m/1/model.pkl": BENIGN, "tritonguard.lock": lock_line * (157_000_000 // len(lock_line))})
repo_case("bad-byte-lock", {"m/1/model.pkl": BENIGN, "tritonguard.lock": b"# tritonguard lock v1\n" + lock_line.encode() + b"\xff\n"})
# A lock that is a FIFO, and /dev/zero.
repo_case("fifo-lock", {"m/1/model.pkl": BENIGN})
fifo = os.path.join(REPO, "fifo-lock", "lock.fifo")
os.mkfifo(fifo)
cases[-1] = cases[-1] + (f"--lock {fifo}",)
repo_case("dev-zero-lock", {"m/1/model.pkl": BENIGN}, "--lock /dev/zero")
# Long dotted names: 8 MB of GLOBAL opcodes with 4,000-byte names.
long_name = ".".join(["a"] * 2000)[:3999]
globals_ = b"\x80\x02(" + (b"c" + b"m\n" + long_name.encode() + b"\n") * 2000 + b"l."
repo_case("long-dotted-names", {"m/1/model.pkl": globals_})

with open(os.path.join(OUT, "cases.txt"), "w") as f:
    for case in cases:
        f.write(" ".join(case) + "\n")
