"""Write a zip archive laid out the way torch.save writes it (PyTorchStreamWriter), for
tests/repo_archive.rs. torch itself is not installed; this follows its format:

    <prefix>/data.pkl              the pickle (persistent ids name the storages)
    <prefix>/byteorder             "little"
    <prefix>/data/<key>            raw storage bytes, one member per storage
    <prefix>/version               "3\n"
    <prefix>/.data/serialization_id

Members are stored (not compressed) and each member's data starts on a 64-byte boundary:
PyTorch pads the local header's extra field (id "FB") to align it.

Usage: python3 torchzip.py OUT DATA_PKL MODE
MODE: stored | deflated | torchscript (adds code/ and constants.pkl, as torch.jit.save) | overlap (a second central entry aliasing data.pkl's bytes) |
      liar (data.pkl deflated, its declared size inflated beyond what deflate can encode) |
      npz (a numpy .npz: one object-array member whose payload is DATA_PKL)
"""

import struct
import sys
import zipfile

out, data_pkl, mode = sys.argv[1], sys.argv[2], sys.argv[3]
with open(data_pkl, "rb") as f:
    pickle_bytes = f.read()

ALIGN = 64


def aligned_info(zf, name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    # Local header: 30 bytes + name + extra; pad the extra so the data is aligned.
    start = zf.fp.tell() + 30 + len(name.encode()) + 4
    pad = (-start) % ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    return info


def npy_object(payload):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"
    header += " " * ((-(10 + len(header) + 1)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


if mode == "npz":
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("values.npy", npy_object(pickle_bytes))
        zf.writestr("README.txt", "not scanned")
    sys.exit(0)

records = [
    ("archive/data.pkl", pickle_bytes),
    ("archive/byteorder", b"little"),
    ("archive/data/0", b"\x00" * 4 * 640),
    ("archive/data/1", b"\x00" * 8),
    ("archive/version", b"3\n"),
    ("archive/.data/serialization_id", b"1234567890"),
]
if mode == "torchscript":
    records += [
        ("archive/code/__torch__/model.py", b"class Model(Module):\n  pass\n"),
        ("archive/constants.pkl", b"\x80\x02).")
    ]
with zipfile.ZipFile(out, "w") as zf:
    for name, body in records:
        if mode in ("deflated", "liar") and name.endswith(".pkl"):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
        else:
            info = aligned_info(zf, name)
        zf.writestr(info, body)

if mode in ("overlap", "liar"):
    with open(out, "rb") as f:
        z = bytearray(f.read())
    eocd = z.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack_from("<HII", z, eocd + 10)
    first = cd_offset
    assert z[first : first + 4] == b"PK\x01\x02"
    name_len, extra_len, comment_len = struct.unpack_from("<HHH", z, first + 28)
    entry = bytearray(z[first : first + 46 + name_len + extra_len + comment_len])
    if mode == "overlap":
        # Same local header offset and data, another name: the bytes are counted twice.
        new_name = b"archive/copy.pkl"
        entry = entry[:28] + struct.pack("<H", len(new_name)) + entry[30:46] + new_name + entry[46 + name_len :]
        z[eocd:eocd] = entry
        eocd_new = eocd + len(entry)
        struct.pack_into("<HHI", z, eocd_new + 8, count + 1, count + 1, cd_size + len(entry))
    else:
        # Declared uncompressed size: 4 GB - 1 from a few hundred compressed bytes.
        struct.pack_into("<I", z, first + 24, 0xFFFFFFFE)
    with open(out, "wb") as f:
        f.write(z)
