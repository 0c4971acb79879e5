"""The declared operators. Each family lives in its own module and contributes ``DECLARATIONS``."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from conformance.errors import ConformanceError
from conformance.ops.declaration import OpDeclaration
from conformance.registry import FamilyRegistry

_DECLARATIONS = FamilyRegistry("conformance.ops", "DECLARATIONS", key=lambda d: d.op_type)


def declarations() -> Mapping[str, OpDeclaration]:
    """Every declared operator by op_type: families in module-name order, then declaration order."""
    return _DECLARATIONS


def get_declaration(op_type: str) -> OpDeclaration:
    """The declaration of ``op_type``; a ConformanceError that suggests close names otherwise."""
    table = declarations()
    if op_type in table:
        return table[op_type]
    by_lower = {name.lower(): name for name in table}
    suggestions = [by_lower[op_type.lower()]] if op_type.lower() in by_lower else difflib.get_close_matches(op_type, table, n=3)
    hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
    raise ConformanceError(f"unknown operator {op_type!r}{hint} (`conformance ops` lists the {len(table)} declared)")


def declared(op_type: str) -> bool:
    """Whether ``op_type`` is a declared operator."""
    return op_type in declarations()
