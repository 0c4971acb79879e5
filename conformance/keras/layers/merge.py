"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate, which
broadcast as NumPy does (ONNX's Add, Sub, Mul, Mean, Max, Min broadcast the same way)."""

from __future__ import annotations

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder
from conformance.keras.graph import Call


def _variadic(op_type: str, pairwise: bool):
    def merge(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        if len(inputs) < 2:
            raise ConformanceError(f"layer {call.name!r}: {call.class_name} of {len(inputs)} input(s)")
        if not pairwise:
            return [g.one(op_type, inputs, call.name)]
        y = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            y = g.one(op_type, [y, x], call.name if i == len(inputs) - 1 else f"{call.name}/{i}")
        return [y]

    return merge


def subtract(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    if len(inputs) != 2:
        raise ConformanceError(f"layer {call.name!r}: Subtract of {len(inputs)} inputs, not 2")
    return [g.one("Sub", inputs, call.name)]


def concatenate(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    return [g.one("Concat", inputs, call.name, axis=int(call.get("axis", -1)))]


LAYERS = {
    "Add": _variadic("Add", pairwise=True),
    "Multiply": _variadic("Mul", pairwise=True),
    "Average": _variadic("Mean", pairwise=False),
    "Maximum": _variadic("Max", pairwise=False),
    "Minimum": _variadic("Min", pairwise=False),
    "Subtract": subtract,
    "Concatenate": concatenate,
}
