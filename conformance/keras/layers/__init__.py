"""Every Keras layer the importer converts, by class name: one table per family of layers."""

from __future__ import annotations

from typing import Callable

from conformance.keras.layers import conv, core, merge, normalization, pooling

LAYERS: dict[str, Callable] = {**core.LAYERS, **conv.LAYERS, **pooling.LAYERS, **normalization.LAYERS, **merge.LAYERS}
