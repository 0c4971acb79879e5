"""Whole models: ``conformance model check MODEL.onnx`` judges each node of a model on its own,
fed the reference's inputs, and names the first node a backend computes wrongly
(``conformance.model.check``).

- ``load``: reading a model file safely (external data confined to its folder), checked and
  shape-inferred;
- ``weights``: constant subgraphs folded, weights redrawn at random for their role;
- ``inputs``: the input arrays, given (``.npz``, an ONNX test data set) or drawn;
- ``check``: the reference's walk, the isolated verdicts, the end-to-end deviation.
"""

from __future__ import annotations

from conformance.model.check import BackendCheck, FirstDivergence, ModelCheck, NodeResult, check_model

__all__ = ["BackendCheck", "FirstDivergence", "ModelCheck", "NodeResult", "check_model"]
