"""Writes small torch.save-format (.bin) files WITHOUT torch, for @remax/safetensors tests.

The format (torch/serialization.py, _save): a zip of <root>/data.pkl (a pickle whose tensors
are torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks) and
whose storages are persistent ids ('storage', torch.XStorage, key, location, numel)),
<root>/data/<key> (raw storage bytes, stored uncompressed), <root>/version and, since torch
2.1, <root>/byteorder. Fake `torch` modules let the standard pickle module emit exactly those
globals. Expected tensors are computed with numpy (as_strided for views) and written as a
hand-built .safetensors file, independent of the code under test.

Run: python3 make_torch_fixtures.py   (numpy required; outputs next to this script)
"""
import collections
import json
import os
import pickle
import pickletools
import struct
import sys
import types
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# --- fake torch modules -------------------------------------------------------------------
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils
torch._utils = torch_utils

STORAGE_NAMES = {
    "F64": "DoubleStorage", "F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage",
    "I64": "LongStorage", "I32": "IntStorage", "I16": "ShortStorage", "I8": "CharStorage",
    "U8": "ByteStorage", "BOOL": "BoolStorage",
}
NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
    "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.uint8,
}
for name in STORAGE_NAMES.values():
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch, name, cls)


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called: only pickled")


def _rebuild_parameter(*args):
    raise RuntimeError("never called: only pickled")


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    fn.__qualname__ = fn.__name__
    setattr(torch_utils, fn.__name__, fn)


class Storage:
    def __init__(self, key, dtype, values):
        self.key, self.dtype = key, dtype
        self.values = np.asarray(values, dtype=NP_DTYPES[dtype])


class Tensor:
    def __init__(self, storage, offset, shape, stride, parameter=False):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        rebuilt = (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.shape),
                                        tuple(self.stride), False, collections.OrderedDict()))
        if not self.parameter:
            return rebuilt
        inner = Tensor(self.storage, self.offset, self.shape, self.stride)
        return (_rebuild_parameter, (inner, True, collections.OrderedDict()))

    def expected(self):
        v = self.storage.values
        item = v.itemsize
        return np.lib.stride_tricks.as_strided(
            v[self.offset:], shape=self.shape, strides=[s * item for s in self.stride]).copy()


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            cls = getattr(torch, STORAGE_NAMES[obj.dtype])
            return ("storage", cls, obj.key, "cpu", obj.values.size)
        return None


def fixed_zip(path):
    """A ZipFile whose writestr uses a fixed timestamp, so regenerated fixtures are identical."""
    z = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)
    plain = z.writestr
    z.writestr = lambda name, data: plain(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return z


def write_torch_zip(path, state, storages, protocol=2, big_endian=False, root="archive"):
    buf = __import__("io").BytesIO()
    TorchPickler(buf, protocol=protocol).dump(state)
    with fixed_zip(path) as z:
        z.writestr(f"{root}/data.pkl", buf.getvalue())
        if big_endian:
            z.writestr(f"{root}/byteorder", "big")
        for s in storages:
            data = s.values.astype(s.values.dtype.newbyteorder(">")) if big_endian else s.values
            z.writestr(f"{root}/data/{s.key}", data.tobytes())
        z.writestr(f"{root}/version", "3\n")


def write_zip64(path, source_zip):
    """Rewrites a zip with every zip64 structure (APPNOTE 4.3.9-4.3.15, 4.5.3): 0xFFFFFFFF sizes
    and offsets backed by zip64 extra fields, a zip64 end record and locator, as torch writes
    archives over 4 GB."""
    import zlib
    with zipfile.ZipFile(source_zip) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out, central = bytearray(), bytearray()
    for name, data in entries:
        n, crc, offset = name.encode(), zlib.crc32(data), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), 20)
        out += n + struct.pack("<HHQQ", 1, 16, len(data), len(data)) + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(n), 28, 0, 0, 0, 0, 0xFFFFFFFF)
        central += n + struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)
    with zipfile.ZipFile(path) as z:  # the standard library must agree it is a valid zip
        assert [(i.filename, z.read(i.filename)) for i in z.infolist()] == entries


def write_safetensors(path, tensors):
    """Minimal independent safetensors writer (name order, no metadata) for expected values."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def cases():
    f32 = Storage("0", "F32", np.arange(6, dtype=np.float32) * 1.5 - 2)
    i64 = Storage("1", "I64", np.arange(12, dtype=np.int64) * -(2**40) + 3)
    stores = [f32, i64]
    tensors = collections.OrderedDict()
    tensors["contig.f32"] = Tensor(f32, 0, [2, 3], [3, 1])
    tensors["offset.f32"] = Tensor(f32, 2, [2], [1])  # shares storage 0
    tensors["transposed.f32"] = Tensor(f32, 0, [3, 2], [1, 3])  # non-contiguous view
    tensors["strided.i64"] = Tensor(i64, 1, [2, 2], [6, 2])
    tensors["param.f32"] = Tensor(f32, 3, [3], [1], parameter=True)
    tensors["scalar.f32"] = Tensor(f32, 5, [], [])
    values = {
        "F64": [1.25, -1e300, np.inf], "F16": np.array([1, -2.5, 65504], np.float16),
        "BF16": [0x3F80, 0xC049, 0x7F80], "I32": [-(2**31), 7, 2**31 - 1], "I16": [-32768, 5, 32767],
        "I8": [-128, 0, 127], "U8": [0, 128, 255], "BOOL": [1, 0, 1],
    }
    for i, (dtype, v) in enumerate(values.items()):
        s = Storage(str(i + 2), dtype, v)
        stores.append(s)
        tensors[f"all.{dtype.lower()}"] = Tensor(s, 0, [3], [1])
    expected = {n: (t.storage.dtype, t.expected()) for n, t in tensors.items()}
    return tensors, stores, expected


def state_dict_like(tensors):
    # torch.save(model.state_dict()) pickles an OrderedDict carrying a _metadata attribute.
    od = collections.OrderedDict(tensors)
    od._metadata = collections.OrderedDict([("", {"version": 1})])
    return od


def main():
    tensors, stores, expected = cases()
    write_torch_zip(os.path.join(HERE, "cases.bin"), state_dict_like(tensors), stores)
    write_torch_zip(os.path.join(HERE, "cases-p4.bin"), dict(tensors), stores, protocol=4, root="cases-p4")
    write_torch_zip(os.path.join(HERE, "cases-be.bin"), state_dict_like(tensors), stores, big_endian=True)
    write_safetensors(os.path.join(HERE, "cases.expected.safetensors"), expected)
    write_zip64(os.path.join(HERE, "cases-zip64.bin"), os.path.join(HERE, "cases.bin"))

    # Hand-written pickles naming dangerous globals exactly (pickle itself would spell os.system
    # as posix.system): GLOBAL for protocol 2, STACK_GLOBAL for protocol 4.
    evil_os = b"\x80\x02}q\x00X\x01\x00\x00\x00wcos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85Rs."
    evil_eval = (b"\x80\x04}\x8c\x01w\x8c\x08builtins\x8c\x04eval\x93"
                 b"\x8c\x0eprint('pwned')\x85Rs.")
    for name, pkl in (("evil-os-system.bin", evil_os), ("evil-builtins-eval.bin", evil_eval)):
        pickletools.dis(pkl, out=__import__("io").StringIO())  # well-formed pickles
        with fixed_zip(os.path.join(HERE, name)) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/version", "3\n")
    with fixed_zip(os.path.join(HERE, "no-data-pkl.bin")) as z:
        z.writestr("archive/data/0", b"\0" * 16)
        z.writestr("archive/version", "3\n")
    # A storage entry named by the pickle but absent from the zip.
    s = Storage("0", "F32", [1, 2])
    buf = __import__("io").BytesIO()
    TorchPickler(buf, protocol=2).dump({"w": Tensor(s, 0, [2], [1])})
    with fixed_zip(os.path.join(HERE, "missing-storage.bin")) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
    # A view reaching past the end of its storage.
    write_torch_zip(os.path.join(HERE, "view-out-of-bounds.bin"), {"w": Tensor(s, 1, [2], [1])}, [s])


if __name__ == "__main__":
    main()
