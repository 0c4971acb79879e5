"""Certification of shape and data movement: thirteen operators on every selected backend."""

OPERATORS = (
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Transpose",
    "Slice", "Pad", "Tile", "Expand", "DepthToSpace", "SpaceToDepth",
)


def test_shape(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
