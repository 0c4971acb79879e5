"""Window geometry that Conv and the pooling family draw alike, and the SAME corner they aim at.

**The corner.** Under auto_pad SAME, an axis of ``n`` elements with stride ``s`` and (dilated)
kernel ``k`` has a total padding of ``(ceil(n / s) - 1) * s + k - n``, which is ``k - r`` for the
``r`` elements (1 to ``s``) the last stride leaves. Where a stride exceeds the kernel by 2 or
more and ``r >= k + 2``, that total is -2 or less, and where it goes decides which elements the
windows read: clamped at zero (Conv's text, and the default reading of pooling's ``pad_shape``)
they start at the first element; kept (pooling's ``pad_shape_unclamped`` readings, and TensorFlow's
Eigen Conv3D, MaxPool3D and AvgPool3D, which do not clamp) they start one element or more into
the input. Free draws (strides 1 to 3, sizes anywhere) land there only by chance (kernel 1,
stride 3, a size that is a multiple of 3): in 200 draws, 5 of Conv's and 7 of LpPool's were 3-D
SAME with such a total, none of MaxPool's or AveragePool's, and the ``ci`` profile's 25 met none.
So a labelled draw, ``region``, sends a quarter of the cases there on purpose: 3-D, SAME (SAME_UPPER,
TensorFlow's own SAME, 3 times in 4), no dilations, and on one or more axes a kernel of 1 or 2, a
stride of 3 or 4 (4 also gives odd totals of -3, where the unclamped readings split differently)
and a size whose last stride leaves at least ``k + 2`` elements; on the other axes (one at least)
a kernel of 2 or more and a stride of 1 or 2, which SAME pads, so that a window cropped on one axis
is padded on another (TensorFlow's AvgPool3D reaches its own SAME only then, and only without
count_include_pad, which aimed AveragePool cases leave at 0). Hypothesis's 25 derandomized
examples make only about a dozen fresh choices (the others mutate earlier cases and keep their first
choice), so whether a ``ci`` run meets a quarter is a matter of its seed, and so is whether it still
meets the other thin corners (ceil_mode's partial windows, which ``conformance.ops.pooling`` draws
more often to make up for the quarter taken). The region's place among the four choices is arbitrary;
it is one with which every ``ci`` run of Conv, MaxPool and AveragePool on TensorFlow's Eigen path
meets a case whose windows Eigen shifts and the seeded tests of the strategies and the diagnosis
pass (with ``region`` third of four, or at a fifth or a sixth, one of them failed; last of four passed).
``tests/test_strategies.py`` and ``tests/test_tensorflow_paths.py`` fail if a change loses the corner.
"""

from __future__ import annotations

import functools

from conformance.strategies import built_once as st
from conformance.strategies import integer_lists
from reference.windows import effective_kernel

SAME_WINDOW_SHIFT = "same_window_shift"
REGIONS = ("anywhere", SAME_WINDOW_SHIFT, "anywhere", "anywhere")  # see the module docstring
SHIFT_RANK = 3
SHIFT_AUTO_PADS = ("SAME_UPPER", "SAME_UPPER", "SAME_UPPER", "SAME_LOWER")
SHIFT_STRIDES = (3, 4)
PADDED_STRIDES = (1, 1, 2)
STRIDES = (1, 1, 2, 3)  # anywhere


@functools.lru_cache(maxsize=4096)  # built once per arguments (see integer_lists)
def shifted_axes(rank: int) -> st.SearchStrategy[list[bool]]:
    """Which spatial axes get a SAME total padding of -2 or less: at least one, and (beyond 1-D) not
    all, so that another axis is padded."""
    return st.lists(st.booleans(), min_size=rank, max_size=rank).filter(lambda axes: any(axes) and (
        rank == 1 or not all(axes)))


@functools.lru_cache(maxsize=4096)  # built once per arguments (see integer_lists)
def kernel_shapes(shifted: tuple[bool, ...], largest: int) -> st.SearchStrategy[list[int]]:
    """A kernel of 1 or 2 on each shifted axis (a stride of at most 4 exceeds it by 2), and 2 to
    ``largest`` on the others, which SAME then pads (mostly): windows cropped on one axis, padded on another."""
    return st.tuples(*(st.integers(1, 2) if shift else st.integers(2, max(2, largest)) for shift in shifted)).map(list)


@functools.lru_cache(maxsize=4096)  # built once per arguments (see integer_lists)
def shifting_strides(extents: tuple[int, ...], shifted: tuple[bool, ...]) -> st.SearchStrategy[list[int]]:
    """On each shifted axis a stride of 3 or 4 that exceeds the dilated kernel ``extents`` by 2 or more;
    on the others 1 or 2, shorter than their kernel of 2 or more, so that SAME pads them (but for
    a stride of 2 on a kernel of 2 where the size is even)."""
    return st.tuples(*(st.sampled_from([s for s in SHIFT_STRIDES if s >= e + 2] or [e + 2]) if shift
                       else st.sampled_from(PADDED_STRIDES) for e, shift in zip(extents, shifted))).map(list)


@functools.lru_cache(maxsize=4096)  # built once per arguments (see integer_lists)
def shifted_size(extent: int, stride: int, cap: int) -> st.SearchStrategy[int]:
    """A size whose last stride leaves ``r`` elements, ``extent + 2 <= r <= stride`` (a SAME total
    padding of ``extent - r <= -2``), with 1 to ``cap // stride`` windows (at least 1)."""
    windows = max(1, cap // stride)
    return st.builds(lambda count, r: (count - 1) * stride + r,
                     st.integers(1, windows), st.integers(min(extent + 2, stride), stride))


@functools.lru_cache(maxsize=4096)  # built once per arguments (see integer_lists)
def spatial_sizes(lows: tuple[int, ...], cap: int, kernel: tuple[int, ...] = (), dilations: tuple[int, ...] = (),
                  strides: tuple[int, ...] = (), shifted: tuple[bool, ...] = ()) -> st.SearchStrategy[list[int]]:
    """Spatial sizes, odd and even alike: at least ``lows`` and at most ``low + 7`` (and ``cap``, the
    budget's per-axis share), or on a ``shifted`` axis one whose SAME total padding is -2 or less."""
    shifted = tuple(shifted) or (False,) * len(lows)
    if not any(shifted):
        return integer_lists(tuple((low, max(low, min(low + 7, cap))) for low in lows))
    return st.tuples(*(
        shifted_size(effective_kernel(kernel[axis], dilations[axis]), strides[axis], cap) if shifted[axis]
        else st.integers(low, max(low, min(low + 7, cap)))
        for axis, low in enumerate(lows))).map(list)
