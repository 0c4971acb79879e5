"""Operator tables gathered from the modules of a package, so that a new family is one new module.

Each family module defines a table (``OPERATORS`` in ``reference``, ``DECLARATIONS`` in
``conformance.ops``, ``LOWERINGS`` in the TensorFlow backend); a ``FamilyRegistry`` imports the
package's modules on first use and merges their tables, refusing an operator defined twice.
It lives outside ``reference`` so that the backends under test can use it without importing the
oracle, and imports the standard library only, so that the reference can use it too.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from typing import Any, Callable


class FamilyRegistry(Mapping):
    """A read-only ``op_type -> entry`` mapping over every module of ``package`` that defines ``attribute``.

    ``attribute`` is a mapping ``op_type -> entry``, or an iterable of entries whose ``op_type``
    is read with ``key``.
    """

    def __init__(self, package: str, attribute: str, key: Callable[[Any], str] | None = None):
        self._package, self._attribute, self._key = package, attribute, key
        self._entries: dict[str, Any] | None = None
        self._families: dict[str, str] = {}  # op_type -> the module (family) that defines it

    def _table(self) -> dict[str, Any]:
        if self._entries is None:
            entries: dict[str, Any] = {}
            package = importlib.import_module(self._package)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
                module = importlib.import_module(f"{self._package}.{info.name}")
                table = getattr(module, self._attribute, None)
                if table is None:
                    continue
                items = table.items() if isinstance(table, Mapping) else ((self._key(e), e) for e in table)
                for op_type, entry in items:
                    if op_type in entries:
                        raise RuntimeError(f"{op_type} is defined twice in {self._package} ({info.name})")
                    entries[op_type] = entry
                    self._families[op_type] = info.name
            self._entries = entries
        return self._entries

    def family(self, op_type: str) -> str:
        """The name of the module that defines ``op_type`` (``conv``, ``pooling``...)."""
        self._table()
        return self._families[op_type]

    def __getitem__(self, op_type: str) -> Any:
        return self._table()[op_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())
