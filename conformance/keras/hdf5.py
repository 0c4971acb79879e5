"""An HDF5 file read in a child process, under a time limit, into plain data: groups, their
attributes, and their datasets as arrays.

libhdf5 parses a file in C, and a damaged or crafted file can make it loop forever or crash
(its CVE list is long): fuzzing this importer found a Keras file whose attribute read never
returned. So the importing process never opens an HDF5 file itself. A child process does, follows
hard links only (an external or soft link, an external or virtual dataset would point it at other
files), caps the bytes it reads, and sends back the structure as JSON and the arrays as ``.npy``
bytes; nothing it sends is unpickled. A child that hangs, dies or overruns is one error line.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


SECONDS = 120.0  # a child reading a file longer than this is stopped: a healthy one reads 1 GB in seconds
MAX_ARRAY_BYTES = 8 * 2**30  # what a file's datasets may hold in all (compression can inflate them)


@dataclass
class Group:
    """An HDF5 group: its attributes (text, numbers, lists of them) and its children by name."""

    attrs: dict[str, Any] = field(default_factory=dict)
    children: dict[str, "Group | np.ndarray"] = field(default_factory=dict)

    def get(self, path: str) -> "Group | np.ndarray | None":
        node: Group | np.ndarray | None = self
        for part in filter(None, path.split("/")):
            if not isinstance(node, Group):
                return None
            node = node.children.get(part)
        return node


def read_hdf5(data: bytes, where: str) -> Group:
    """The whole of an HDF5 file's bytes, read by a child process (see the module docstring)."""
    from conformance.errors import ConformanceError

    try:  # this file as a script: the child imports numpy and h5py, not this package (nor onnx)
        child = subprocess.run([sys.executable, "-I", str(Path(__file__).resolve())], input=data,
                               capture_output=True, timeout=SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ConformanceError(f"{where}: HDF5 reading did not finish in {SECONDS:g} s (a damaged or crafted file)") from None
    if child.returncode != 0:
        raise ConformanceError(f"{where}: HDF5 reading stopped (exit status {child.returncode}): a damaged or"
                               " crafted file")
    return _decoded(child.stdout, where)


def _child() -> None:
    """In the child: the file from stdin, to stdout as one message, a JSON header then the arrays
    (or an error text)."""
    data = sys.stdin.buffer.read()
    try:
        header, arrays = _extracted(data)
        body = io.BytesIO()
        for array in arrays:
            np.save(body, array, allow_pickle=False)
        message = json.dumps(header).encode() + b"\n" + body.getvalue()
    except Exception as error:  # noqa: BLE001 - whatever h5py raises on a bad file is reported, one line
        text = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        message = json.dumps({"error": text}).encode() + b"\n"
    sys.stdout.buffer.write(message)
    sys.stdout.buffer.flush()


def _extracted(data: bytes) -> tuple[dict, list[np.ndarray]]:
    import h5py

    arrays: list[np.ndarray] = []
    budget = [MAX_ARRAY_BYTES]

    def group(node) -> dict:
        children = {}
        for name in node:
            link = node.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = "an external link to another file" if isinstance(link, h5py.ExternalLink) else "a soft link"
                raise ValueError(f"{node.name.rstrip('/')}/{name} is {kind}, which this reader does not follow")
            child = node[name]
            if isinstance(child, h5py.Group):
                children[name] = group(child)
            else:
                children[name] = {"array": dataset(child)}
        return {"attrs": {key: _plain(node.attrs[key]) for key in node.attrs}, "children": children}

    def dataset(node) -> int:
        if node.is_virtual or node.id.get_create_plist().get_external_count():
            raise ValueError(f"dataset {node.name} keeps its data in another file, which this reader does not read")
        if node.dtype.kind not in "fiub":
            raise ValueError(f"dataset {node.name} holds {node.dtype}, not numbers")
        budget[0] -= node.size * node.dtype.itemsize
        if budget[0] < 0:
            raise ValueError(f"the datasets hold more than {MAX_ARRAY_BYTES} bytes")
        arrays.append(np.asarray(node[()]))
        return len(arrays) - 1

    with h5py.File(io.BytesIO(data), "r") as file:
        return group(file), arrays


def _plain(value: Any) -> Any:
    """An HDF5 attribute as JSON: text, a number, or a list of them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _decoded(message: bytes, where: str) -> Group:
    from conformance.errors import ConformanceError

    head, _, body = message.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        raise ConformanceError(f"{where}: HDF5 reading sent back garbage") from None
    if "error" in header:
        raise ConformanceError(f"{where}: a damaged or unreadable HDF5 file ({header['error']})")
    stream = io.BytesIO(body)
    arrays = []
    while stream.tell() < len(body):
        arrays.append(np.load(stream, allow_pickle=False))

    def build(node: dict) -> Group:
        children = {name: arrays[child["array"]] if "array" in child else build(child)
                    for name, child in node["children"].items()}
        return Group(node["attrs"], children)

    return build(header)


if __name__ == "__main__":
    _child()
