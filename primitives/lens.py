"""Pixels ↔ camera rays through a lens with radial distortion (COLMAP's ``RADIAL`` model).

A camera-frame point (X, Y, Z) has normalised coordinates ``x = (X/Z, Y/Z)``; the lens moves it
to ``x·(1 + k1·r² + k2·r⁴)`` (r = |x|), and ``K`` maps that to pixels. COLMAP's
``SIMPLE_RADIAL`` is the same with k2 = 0, OpenCV's radial model has the same coefficients, and
``distortion`` None or (0, 0) is a pinhole camera (the formulas then are the plain pinhole ones,
bit for bit).

Barrel distortion (k1 < 0) folds over: past the radius where ``r·(1 + k1·r² + k2·r⁴)`` stops
growing (`fold_radius`) the polynomial describes no real lens, so rays beyond it have no pixel
(`distort` gives NaN) and pixels beyond the fold's image map to the fold's rays.
"""

from __future__ import annotations

import numpy as np

NEWTON_STEPS = 20
"""At most this many Newton steps invert the radial polynomial (it converges in a handful)."""


def radial_terms(distortion: np.ndarray | None) -> np.ndarray | None:
    """``distortion`` as (2,) float64 ``(k1, k2)`` (a missing k2 is 0); None for a pinhole camera.

    Raises:
        ValueError: more than two coefficients, or non-finite ones.
    """
    if distortion is None:
        return None
    k = np.asarray(distortion, dtype=np.float64).reshape(-1)
    if len(k) > 2 or not np.isfinite(k).all():
        raise ValueError(f"radial distortion must be finite (k1,) or (k1, k2), got {k.tolist()}")
    k = np.pad(k, (0, 2 - len(k)))
    return None if not k.any() else k


def fold_radius(k: np.ndarray) -> float:
    """The normalised radius where ``r·(1 + k1·r² + k2·r⁴)`` stops growing (inf where it never does)."""
    k1, k2 = float(k[0]), float(k[1])
    # d/dr = 1 + 3 k1 t + 5 k2 t² with t = r²: its smallest positive root, if any.
    roots = np.roots([5.0 * k2, 3.0 * k1, 1.0]) if k2 != 0 else (np.array([-1.0 / (3.0 * k1)]) if k1 != 0 else np.zeros(0))
    t = [float(r.real) for r in np.atleast_1d(roots) if abs(r.imag) < 1e-12 and r.real > 0]
    return float(np.sqrt(min(t))) if t else float("inf")


def distort(xy: np.ndarray, distortion: np.ndarray | None) -> np.ndarray:
    """(N, 2) normalised ray coordinates → where the lens puts them (normalised); NaN past the fold."""
    xy = np.asarray(xy, dtype=np.float64)
    k = radial_terms(distortion)
    if k is None:
        return xy.copy()
    r2 = (xy * xy).sum(axis=-1, keepdims=True)
    out = xy * (1.0 + k[0] * r2 + k[1] * r2 * r2)
    out[np.sqrt(r2[..., 0]) > fold_radius(k)] = np.nan
    return out


def undistort(xy: np.ndarray, distortion: np.ndarray | None) -> np.ndarray:
    """(N, 2) distorted normalised coordinates → the rays' normalised coordinates.

    Newton's method on the radius (the model is radial, so the direction is kept): converges to
    1e-12 within the fold in a handful of steps; beyond the fold's image the rays are the fold's.
    """
    xy = np.asarray(xy, dtype=np.float64)
    k = radial_terms(distortion)
    if k is None:
        return xy.copy()
    rd = np.sqrt((xy * xy).sum(axis=-1))
    limit = fold_radius(k)
    r = np.minimum(rd, limit)
    for _ in range(NEWTON_STEPS):
        r2 = r * r
        g = r * (1.0 + k[0] * r2 + k[1] * r2 * r2) - rd
        slope = 1.0 + 3.0 * k[0] * r2 + 5.0 * k[1] * r2 * r2
        moved = np.clip(r - g / np.maximum(slope, 1e-9), 0.0, limit)
        change, r = np.abs(moved - r).max(initial=0.0), moved
        if change <= 1e-13:
            break
    scale = np.divide(r, rd, out=np.ones_like(rd), where=rd > 0)
    return xy * scale[..., None]


def pixel_rays(uv: np.ndarray, K: np.ndarray, distortion: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) pixels (x right, y down) → (N, 2) normalised ray coordinates (X/Z, Y/Z) of a camera ``K`` (3×3)."""
    uv = np.asarray(uv, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    xy = np.stack([(uv[..., 0] - K[0, 2]) / K[0, 0], (uv[..., 1] - K[1, 2]) / K[1, 1]], axis=-1)
    return undistort(xy, distortion) if radial_terms(distortion) is not None else xy


def ray_pixels(xy: np.ndarray, K: np.ndarray, distortion: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) normalised ray coordinates → (N, 2) pixels of a camera ``K`` (3×3); NaN past the lens's fold."""
    K = np.asarray(K, dtype=np.float64)
    xy = distort(xy, distortion)
    return np.stack([K[0, 0] * xy[..., 0] + K[0, 2], K[1, 1] * xy[..., 1] + K[1, 2]], axis=-1)


def camera_points(depth: np.ndarray, K: np.ndarray, distortion: np.ndarray | None = None) -> np.ndarray:
    """H×W×3 camera-frame point (metres) of every pixel of an H×W z-depth map (NaN stays NaN).

    >>> camera_points(np.full((1, 2), 2.0), np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1]]))[0, 1].tolist()
    [2.0, 0.0, 2.0]
    """
    h, w = depth.shape
    v, u = np.indices((h, w), dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if radial_terms(distortion) is None:
        x, y = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    else:
        rays = pixel_rays(np.stack([u, v], axis=-1), K, distortion)
        x, y = rays[..., 0], rays[..., 1]
    return np.stack([x * depth, y * depth, depth], -1)
