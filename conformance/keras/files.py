"""Reading a Keras file without Keras: ``json``, ``zipfile`` and ``h5py`` only, nothing executed.

Formats are told apart by their content, never by their suffix:

- a zip archive (``PK``): Keras 3's ``.keras``, whose ``config.json`` holds the architecture,
  ``metadata.json`` the Keras version, and ``model.weights.h5`` the weights;
- HDF5 (``\\x89HDF``) with a ``model_config`` attribute: a whole model saved by Keras 1, 2 or 3
  (``model.save("m.h5")``), its weights in the ``model_weights`` group;
- HDF5 without it: weights alone (``save_weights``), Keras 3's ``.weights.h5`` or Keras 1/2's
  ``.h5``; the architecture then comes from a JSON file given with it;
- JSON: an architecture alone, Keras 3's ``config.json`` or Keras 1/2's ``to_json()`` (a bare list
  of layers for the Sequential models of early Keras 2), its weights from ``weights=``.

Nothing in a file is run: a config is data, and a layer holding code (``Lambda``) is refused by the
importer (CVE-2024-3660). A zip member is read only under its own known name, its declared and
actual sizes capped (a zip bomb is refused before it is inflated). HDF5 is parsed in a child
process under a time limit, hard links only (``conformance.keras.hdf5``).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError
from conformance.keras.hdf5 import read_hdf5
from conformance.keras.weights import open_weights
from conformance.model.load import first_line, read_bounded

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"
# Nothing larger is read: a member of a .keras archive, or any Keras file.
MAX_BYTES = 4 * 2**30
MAX_CONFIG_BYTES = 64 * 2**20  # the JSON of a model's architecture


@dataclass
class KerasFile:
    """What a Keras file holds: its architecture, the Keras and backend that wrote it, its weights."""

    config: Any  # the model's config: {"class_name": ..., "config": ...}, or a bare list of layers
    keras_version: str  # "2.21.0"; "" where the file does not say
    backend: str  # "tensorflow", "theano", "jax"...; "" where the file does not say
    weights: Any  # conformance.keras.weights.Weights, or None for an architecture alone
    where: str  # the file(s), for messages

    @property
    def keras_major(self) -> int:
        """Keras's major version: the file's own word where it gives one; else 3 where the layout is
        Keras 3's alone (weights in an object tree, a ``batch_shape``, dtype policies, inbound nodes
        as ``args``), else 2."""
        head = self.keras_version.split(".")[0]
        if head.isdigit():
            return int(head)
        if self.weights is not None and self.weights.tree:
            return 3
        text = json.dumps(self.config)
        return 3 if any(mark in text for mark in KERAS3_MARKS) else 2


# What only Keras 3 writes in a config (Keras 2's InputLayer has batch_input_shape, its inbound
# nodes are lists, its dtypes strings).
KERAS3_MARKS = ('"batch_shape"', '"DTypePolicy"', '"__keras_tensor__"')


def read_keras_file(path: Path | str, weights: Path | str | None = None, data: bytes | None = None) -> KerasFile:
    """The architecture and weights of the Keras file at ``path`` (and ``weights``, a separate
    weights file, for an architecture saved alone; ``data``: the file's bytes, where the caller has
    read them). ConformanceError, of one line, for anything that is not a Keras file this reader
    understands."""
    where = str(path)
    if data is None:
        data = read_bounded(path, MAX_BYTES)
    elif len(data) > MAX_BYTES:
        raise ConformanceError(f"{where}: {len(data)} bytes, more than this tool reads ({MAX_BYTES})")
    kind = file_kind(data)
    if kind == "zip":
        if weights is not None:
            raise ConformanceError(f"{where}: a .keras archive holds its own weights; --weights is not needed")
        return _read_archive(data, where)
    if kind == "hdf5":
        content = read_hdf5(data, where)
        attributes = content.attrs
        if "model_config" not in attributes:
            raise ConformanceError(f"{where}: an HDF5 file of weights alone, without an architecture: give the"
                                   " architecture (config.json, or the model's to_json()) and this file as its weights")
        config = _json(attributes["model_config"], where, "model_config")
        if weights is not None:
            raise ConformanceError(f"{where}: a whole model saved in HDF5 holds its own weights; --weights is not needed")
        return KerasFile(config, _text(attributes.get("keras_version")), _text(attributes.get("backend")),
                         open_weights(content, where, group="model_weights"), where)
    if kind == "json":
        if len(data) > MAX_CONFIG_BYTES:
            raise ConformanceError(f"{where}: {len(data)} bytes of JSON, more than an architecture takes")
        config = _json(data, where, "the file")
        if isinstance(config, dict) and "config" not in config and "class_name" not in config:
            raise ConformanceError(f"{where}: JSON, but not a Keras model's architecture (no class_name or config)")
        keras_version = _text(config.get("keras_version")) if isinstance(config, dict) else ""
        backend = _text(config.get("backend")) if isinstance(config, dict) else ""
        if weights is None:
            return KerasFile(config, keras_version, backend, None, where)
        weights_where = str(weights)
        weights_data = read_bounded(weights, MAX_BYTES)
        if file_kind(weights_data) != "hdf5":
            raise ConformanceError(f"{weights_where}: not an HDF5 weights file")
        content = read_hdf5(weights_data, weights_where)
        # A Keras 1/2 weights file says which Keras wrote it, and with which backend; to_json() says it too.
        keras_version = keras_version or _text(content.attrs.get("keras_version"))
        backend = backend or _text(content.attrs.get("backend"))
        group = "model_weights" if "model_weights" in content.children else None
        return KerasFile(config, keras_version, backend, open_weights(content, weights_where, group=group),
                         f"{where} with {weights_where}")
    raise ConformanceError(f"{where}: not a Keras file (neither a .keras archive, HDF5, nor JSON)")


def file_kind(data: bytes) -> str:
    """"zip", "hdf5", "json", "onnx" (a protobuf, by elimination) or "unknown", from the first bytes."""
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(HDF5_MAGIC):
        return "hdf5"
    if data.lstrip()[:1] in (b"{", b"["):
        return "json"
    if data[:1] == b"\x08":  # a ModelProto begins with its ir_version, field 1, a varint
        return "onnx"
    return "unknown"


def _read_archive(data: bytes, where: str) -> KerasFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
        hostile = next((n for n in members if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/")), None)
        if hostile is not None:  # never extracted, but no Keras writes one: a crafted archive
            raise ConformanceError(f"{where}: the archive holds a member outside it ({hostile[:100]!r})")
        for name in ("config.json", "model.weights.h5"):
            if name not in members:
                raise ConformanceError(f"{where}: a zip archive without {name}, not a .keras file")
        metadata = _json(_member(archive, members, "metadata.json", where), where, "metadata.json") \
            if "metadata.json" in members else {}
        config = _json(_member(archive, members, "config.json", where), where, "config.json")
        weights = _member(archive, members, "model.weights.h5", where)
    except zipfile.BadZipFile as error:
        raise ConformanceError(f"{where}: a damaged zip archive ({error})") from None
    except (NotImplementedError, RuntimeError, EOFError, OSError) as error:  # unknown compression, encryption
        raise ConformanceError(f"{where}: cannot read the archive ({error})") from None
    if not isinstance(metadata, dict):
        raise ConformanceError(f"{where}: metadata.json is not a JSON object")
    return KerasFile(config, _text(metadata.get("keras_version")) or "3", "", open_weights(read_hdf5(weights, where), where),
                     where)


def _member(archive: zipfile.ZipFile, members: dict, name: str, where: str) -> bytes:
    """One member, inflated at most to its declared size, which must be within bounds."""
    info = members[name]
    limit = MAX_CONFIG_BYTES if name.endswith(".json") else MAX_BYTES
    if info.file_size > limit:
        raise ConformanceError(f"{where}: {name} declares {info.file_size} bytes, more than this tool reads")
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ConformanceError(f"{where}: {name} inflates to more or fewer bytes than it declares")
    return data


def _json(data: bytes | str, where: str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as error:
        raise ConformanceError(f"{where}: {what} is not valid JSON ({first_line(error)})") from None


def _text(value: Any) -> str:
    """An HDF5 or JSON attribute as text (h5py gives bytes or str)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)

