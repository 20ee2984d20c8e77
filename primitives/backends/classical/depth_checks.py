"""How far the classical depth can be trusted, from what the pipeline knows without ground truth.

The numbers (`depth_checks`) go into ``ClassicalResult.info["depth_checks"]`` and feed the
depth gate (`gates.unmeasured_depth`):

- ``measured_fraction``: share of all frames' pixels (unregistered frames included, as zeros)
  whose depth came from stereo or a sparse point rather than hole filling;
- ``frame_measured_min``: the smallest such share of one registered frame;
- ``sparse_outliers``: share of the sparse points, where stereo also answered, whose stereo depth
  differs from theirs by more than `TOLERANCE`;
- ``view_agreement``: share of the filled depth's pixels that, seen from a neighbouring frame,
  land on that frame's filled depth within `TOLERANCE` (of those that land in its view);
  ``view_agreement_filled`` the same over the filled (not measured) pixels only.
"""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives import math3d

TOLERANCE = 0.15
"""Relative depth difference counted as disagreement."""


def sparse_outliers(sparse: np.ndarray, stereo: np.ndarray, tolerance: float = TOLERANCE) -> float:
    """Share of pixels with both a sparse and a stereo depth ((N, H, W), NaN = none) whose ratio
    is off 1 by more than ``tolerance``; NaN with fewer than 20 such pixels."""
    both = np.isfinite(sparse) & np.isfinite(stereo) & (stereo > 0)
    if both.sum() < 20:
        return float("nan")
    ratio = sparse[both] / stereo[both]
    return float(np.mean(np.abs(ratio - 1.0) > tolerance))


def _agreement(depth: np.ndarray, K: np.ndarray, pose: np.ndarray, i: int, j: int, mask: np.ndarray, stride: int, tolerance: float) -> tuple[int, int]:
    """(pixels of ``depth[i]`` under ``mask`` that land on ``depth[j]``, of which agree) on a ``stride`` grid."""
    h, w = depth.shape[1:]
    world = math3d.backproject(depth[i], K, pose[i], mask=mask, stride=stride)
    uv, z = math3d.project(world, K, pose[j])
    front = np.isfinite(uv).all(axis=1)
    x, y = np.round(uv[front]).astype(np.int64).T
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    dj = depth[j][y[inside], x[inside]]
    z = z[front][inside]
    seen = np.isfinite(dj) & (dj > 0)
    return int(seen.sum()), int(np.sum(np.abs(dj[seen] - z[seen]) <= tolerance * z[seen]))


def view_agreement(
    depth: np.ndarray, K: np.ndarray, pose: np.ndarray, neighbours: list[list[int]], mask: np.ndarray | None = None,
    stride: int = 2, tolerance: float = TOLERANCE,
) -> float:
    """Share of frames' depth pixels that agree with a neighbour's depth where they land in its view.

    Args:
        depth: (N, H, W) depth (any unit), NaN or 0 where unknown; on a pinhole camera.
        K: (3, 3) intrinsics of that camera (pixels).
        pose: (N, 4, 4) camera-to-world in the depth's unit.
        neighbours: per frame, the frames to compare with (the nearest two are used).
        mask: (N, H, W) bool, the pixels to check (default all).
        stride: check every ``stride``-th pixel in each direction.
        tolerance: relative depth difference still counted as agreeing.

    Returns:
        Agreeing / compared pixels over all frame pairs; NaN when none could be compared.
    """
    mask = np.ones(depth.shape, bool) if mask is None else mask
    seen = agree = 0
    for i, nbrs in enumerate(neighbours):
        for j in nbrs[:2]:
            s, a = _agreement(depth, K, pose, i, j, mask[i], stride, tolerance)
            seen, agree = seen + s, agree + a
    return agree / seen if seen else float("nan")


def depth_checks(
    filled: np.ndarray, measured: np.ndarray, sparse: np.ndarray, stereo: np.ndarray, registered: np.ndarray,
    K: np.ndarray, pose: np.ndarray, neighbours: list[list[int]],
) -> dict[str, float]:
    """The module's numbers for (N, H, W) ``filled`` depth, its ``measured`` mask, the ``sparse``
    points' and the neighbour-checked ``stereo`` depth (NaN = none), (N,) ``registered``, the
    pinhole ``K`` (3×3) and (N, 4, 4) camera-to-world ``pose`` (SfM units)."""
    per_frame = measured.mean(axis=(1, 2))
    reg = np.asarray(registered, bool)
    return {
        "measured_fraction": float(measured.mean()),
        "frame_measured_min": float(per_frame[reg].min()) if reg.any() else 0.0,
        "sparse_outliers": sparse_outliers(sparse, stereo),
        "view_agreement": view_agreement(filled, K, pose, neighbours),
        "view_agreement_filled": view_agreement(filled, K, pose, neighbours, mask=~measured),
    }
