"""`Track3D`: one physical object followed through time (the result type of `tracks3d`).

World frame as everywhere: metres, +z up, floor at z = 0; times in seconds (``Frame.time``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from spatialclaw.primitives.types import Reconstruction

MOVED_M = 0.2
"""An object whose (smoothed) centre ever gets this far from where it was first seen has moved, metres."""

JITTER_M = 0.05
"""Wiggles of the smoothed path smaller than this are noise, not travel (metres)."""

SMOOTH_HALF_WINDOW = 2
"""Positions are smoothed by a straight-line fit in time over this many observations on each side."""


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def smooth_positions(
    times: np.ndarray, positions: np.ndarray, weights: np.ndarray | None = None, half_window: int = SMOOTH_HALF_WINDOW
) -> np.ndarray:
    """Positions (N, 3) smoothed by a local straight-line fit in time.

    Each position is replaced by the value at its time of the weighted least-squares line
    through the observations within ``half_window`` on each side: noise shrinks, motion at
    constant velocity is kept exactly (no lag, no shortening of the path).

    Args:
        times: (N,) seconds, increasing.
        positions: (N, 3) metres.
        weights: (N,) confidence of each position (all equal by default).
        half_window: observations used on each side.
    """
    n = len(times)
    if n < 3 or half_window < 1:
        return positions.copy()
    w = np.ones(n) if weights is None else np.sqrt(np.maximum(np.asarray(weights, dtype=np.float64), 1e-3))
    out = np.empty_like(positions)
    for i in range(n):
        lo, hi = max(0, i - half_window), min(n, i + half_window + 1)
        dt = times[lo:hi] - times[i]
        A = np.column_stack([np.ones(hi - lo), dt]) * w[lo:hi, None]
        coef, *_ = np.linalg.lstsq(A, positions[lo:hi] * w[lo:hi, None], rcond=None)
        out[i] = coef[0]
    return out


def simplify_path(points: np.ndarray, tolerance: float) -> np.ndarray:
    """The vertices (M, D) of ``points`` (N, D) kept by Douglas–Peucker with ``tolerance`` (same unit)."""
    if len(points) <= 2:
        return points.copy()
    keep = np.zeros(len(points), bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = points[b] - points[a]
        rel = points[a + 1 : b] - points[a]
        length = float(np.linalg.norm(seg))
        if length < 1e-12:
            dist = np.linalg.norm(rel, axis=1)
        else:
            along = np.clip(rel @ seg / length**2, 0.0, 1.0)
            dist = np.linalg.norm(rel - along[:, None] * seg, axis=1)
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            mid = a + 1 + k
            keep[mid] = True
            stack += [(a, mid), (mid, b)]
    return points[keep]


@dataclass(eq=False)
class Track3D:
    """One physical object followed through the frames that see it.

    Attributes:
        label: what it is (``"chair"``).
        frame_ids: (N,) int64 positions in the kernel's ``frames`` where it is seen, increasing.
        times: (N,) float64 seconds of those frames (``frames[i].time``).
        positions: (N, 3) float64 world centre of the object in each of those frames, metres:
            an estimate of the whole object's centre (its shape, fused over all its views, fitted
            to what each frame sees), not the centroid of the visible surface.
        size: (3,) extents of the object's gravity-aligned box (length >= width, height), metres.
        instance_id: the tracker's identity of the object (ground-truth instance id or track id).
        weights: (N,) confidence of each position in [0, 1]: lower where the object is cut by the
            image border, partly hidden behind something nearer, or fits its shape poorly.
        warnings: plain sentences about what may be wrong with this track.

    Motion is measured on the positions smoothed by a straight-line fit in time over
    ±2 observations (`smooth_positions`): jitter shrinks, constant-velocity motion is kept.

    >>> t = Track3D("box", [0, 1, 2], [0.0, 1.0, 2.0], [[0, 0, 0.5], [0.5, 0, 0.5], [1, 0, 0.5]], size=[1, 1, 1])
    >>> t.moved, round(t.distance_travelled(), 2), round(t.speed(), 2), np.round(t.position_at(0.5), 2).tolist()
    (True, 1.0, 0.5, [0.25, 0.0, 0.5])
    """

    label: str
    frame_ids: np.ndarray
    times: np.ndarray
    positions: np.ndarray
    size: np.ndarray = field(default_factory=lambda: np.zeros(3))
    instance_id: int = -1
    weights: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check(isinstance(self.label, str), f"Track3D.label must be a string, got {type(self.label).__name__}")
        self.frame_ids = np.asarray(self.frame_ids, dtype=np.int64).reshape(-1)
        n = len(self.frame_ids)
        _check(n > 0, "Track3D needs at least one observation")
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        _check(self.times.shape == (n,), f"Track3D.times must have {n} entries (seconds), got {self.times.shape}")
        _check(bool(np.all(np.diff(self.times) >= 0)), "Track3D.times must be increasing")
        self.positions = np.asarray(self.positions, dtype=np.float64)
        _check(self.positions.shape == (n, 3), f"Track3D.positions must be ({n}, 3) metres, got {self.positions.shape}")
        _check(bool(np.isfinite(self.positions).all()), "Track3D.positions has non-finite entries")
        self.size = np.asarray(self.size, dtype=np.float64).reshape(-1)
        _check(self.size.shape == (3,), f"Track3D.size must be (3,) metres, got {self.size.shape}")
        self.weights = np.ones(n) if self.weights is None else np.asarray(self.weights, dtype=np.float64).reshape(-1)
        _check(self.weights.shape == (n,), f"Track3D.weights must have {n} entries, got {self.weights.shape}")
        self.instance_id = int(self.instance_id)
        self.warnings = [str(w) for w in self.warnings]

    def __len__(self) -> int:
        return int(len(self.frame_ids))

    def smoothed(self) -> np.ndarray:
        """(N, 3) positions after the straight-line smoothing in time, metres."""
        return smooth_positions(self.times, self.positions, self.weights)

    @property
    def moved(self) -> bool:
        """True if the object's centre got more than 0.2 m away from where it was first seen."""
        path = self.smoothed()
        return bool(np.linalg.norm(path - path[0], axis=1).max() > MOVED_M)

    def position_at(self, t: float) -> np.ndarray:
        """(3,) centre at time ``t`` seconds, metres, interpolated linearly between observations
        (clamped to the first / last observation outside the time it was seen)."""
        path = self.smoothed()
        return np.array([np.interp(float(t), self.times, path[:, k]) for k in range(3)])

    def displacement(self, t0: float | None = None, t1: float | None = None) -> np.ndarray:
        """(3,) change of centre from time ``t0`` to ``t1`` (seconds; default first and last sighting), metres."""
        a = self.times[0] if t0 is None else float(t0)
        b = self.times[-1] if t1 is None else float(t1)
        return self.position_at(b) - self.position_at(a)

    def distance_travelled(self) -> float:
        """Length of the path while seen, metres; wiggles under 5 cm count as noise, not travel."""
        vertices = simplify_path(self.smoothed(), JITTER_M)
        return float(np.linalg.norm(np.diff(vertices, axis=0), axis=1).sum())

    def speed(self) -> float:
        """Mean speed while seen: `distance_travelled()` over the time from first to last sighting, m/s."""
        duration = float(self.times[-1] - self.times[0])
        return self.distance_travelled() / duration if duration > 0 else 0.0

    def __repr__(self) -> str:
        start = ", ".join(f"{v:.2f}" for v in self.positions[0])
        state = f"moved {self.distance_travelled():.2f} m" if self.moved else "static"
        note = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return (
            f"Track3D({self.label!r}, {len(self)} frames {self.times[0]:.2f}-{self.times[-1]:.2f} s, "
            f"start=({start}) m, {state}{note})"
        )

    def render(self, recon: Reconstruction | None = None) -> np.ndarray:
        """Its path on a top-down map, over ``recon``'s points and camera path when given, H×W×3
        uint8. ``show(track)`` draws it over the kernel's reconstruction of all frames
        (`output.in_context`)."""
        from spatialclaw.primitives import pictures

        return pictures.tracks_map([self], recon)
