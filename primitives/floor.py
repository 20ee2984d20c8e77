"""The floor plane of a point cloud, with a confidence: one fitter for every backend.

Along a rough "up" direction a horizontal plane is a peak in the histogram of point heights.
Table tops and beds make peaks too, but above the floor: the floor is the lowest peak holding a
good share of the highest one. Its points are then fitted by least squares, and the fitted normal
is kept if it is within a few degrees of the hint. The fit works in any unit (the histogram's bins
are a fraction of the points' height spread), so it serves structure-from-motion clouds (arbitrary
scale), metric depth and ground truth alike.

``Floor.confidence`` says how much to believe it: a floor holds a good share of the points
(`FLOOR_SHARE` for full confidence) and almost nothing lies below it. The reconstruction gates
read it: without a confident floor, the metric scale is ``"unknown"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOOR_SHARE = 0.15
"""A floor holding this fraction of the points (or more) is fully believed."""

BELOW_LIMIT = 0.05
"""A "floor" with this fraction of the points below it is not believed at all."""


@dataclass
class Floor:
    """A fitted floor plane ``normal @ x == offset``.

    Attributes:
        normal: (3,) unit normal pointing up.
        offset: the plane's height along ``normal`` (the points' unit).
        inliers: (N,) bool: points on the plane (False for non-finite points).
        share: fraction of the finite points on the plane.
        below: fraction of the points clearly below it (more than three bin widths).
        confidence: in [0, 1]: ``min(1, share / FLOOR_SHARE) * (1 - below / BELOW_LIMIT)``, clipped.
    """

    normal: np.ndarray
    offset: float
    inliers: np.ndarray
    share: float
    below: float
    confidence: float

    def heights(self, points: np.ndarray) -> np.ndarray:
        """(N,) height of (N, 3) points above the plane (the points' unit)."""
        return np.asarray(points, dtype=np.float64) @ self.normal - self.offset


def find_floor(
    points: np.ndarray,
    up_hint: np.ndarray,
    *,
    max_tilt_deg: float = 10.0,
    bin_fraction: float = 0.01,
    min_share: float = 0.3,
) -> Floor | None:
    """The floor plane among ``points``, or None when there are too few points (< 10).

    Args:
        points: (N, 3) points, any unit.
        up_hint: (3,) a vector pointing roughly up (against gravity).
        max_tilt_deg: largest correction of the hint by the fitted plane (degrees).
        bin_fraction: histogram bin width as a fraction of the points' height spread.
        min_share: a height peak holding this fraction of the highest one counts as a plane.

    Returns:
        The `Floor`, its normal within ``max_tilt_deg`` of ``up_hint``.

    >>> rng = np.random.default_rng(0)
    >>> pts = np.vstack([np.c_[rng.uniform(0, 4, (300, 2)), np.zeros(300)], rng.uniform(0, 3, (100, 3))])
    >>> f = find_floor(pts, np.array([0.0, 0.1, 1.0]))
    >>> round(float(f.offset), 3), f.confidence
    (0.0, 1.0)
    """
    all_pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(all_pts).all(axis=1)
    pts = all_pts[finite]
    if len(pts) < 10:
        return None
    up = np.asarray(up_hint, dtype=np.float64) / np.linalg.norm(up_hint)
    heights = pts @ up
    lo, hi = np.percentile(heights, [0.5, 99.5])
    width = max(bin_fraction * (hi - lo), 1e-12)
    bins = max(1, int(np.ceil((hi - lo) / width)))
    counts, edges = np.histogram(heights, bins=bins, range=(lo, lo + bins * width))
    smooth = np.convolve(counts, np.ones(3), mode="same")
    peaks = np.flatnonzero(smooth >= min_share * smooth.max())
    floor_h = 0.5 * (edges[peaks[0]] + edges[peaks[0] + 1])
    inliers = np.abs(heights - floor_h) <= 1.5 * width
    normal, offset = up, float(np.median(heights[inliers]))
    centre = pts[inliers].mean(0)
    _, _, vt = np.linalg.svd(pts[inliers] - centre, full_matrices=False)
    fitted = vt[2] if vt[2] @ up > 0 else -vt[2]
    if fitted @ up >= np.cos(np.radians(max_tilt_deg)):
        normal, offset = fitted, float(fitted @ centre)
        inliers = np.abs(pts @ normal - offset) <= 1.5 * width
    share = float(inliers.mean())
    below = float(np.mean(pts @ normal - offset < -3.0 * width))
    confidence = float(np.clip(min(1.0, share / FLOOR_SHARE) * (1.0 - below / BELOW_LIMIT), 0.0, 1.0))
    on_floor = np.zeros(len(all_pts), bool)
    on_floor[finite] = inliers
    return Floor(normal=normal, offset=offset, inliers=on_floor, share=share, below=below, confidence=confidence)
