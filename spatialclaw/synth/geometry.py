"""Exact 2D/3D geometry of oriented boxes whose only rotation is a yaw about +z.

Such a box is a vertical prism: its footprint (a rectangle on the floor) times a height
interval. The closest-point distance of two prisms is ``hypot(d_footprints, d_heights)``, so
every distance here is exact (no sampling).
"""

from __future__ import annotations

import numpy as np


def rotation_z(yaw: float) -> np.ndarray:
    """2×2 rotation by ``yaw`` radians (counter-clockwise seen from above)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s], [s, c]])


def footprint(center_xy: np.ndarray, size_xy: np.ndarray, yaw: float) -> np.ndarray:
    """(4, 2) corners, counter-clockwise, of a ``size_xy`` rectangle centred at ``center_xy`` turned by ``yaw``."""
    hx, hy = np.asarray(size_xy, dtype=np.float64) / 2.0
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    return local @ rotation_z(yaw).T + np.asarray(center_xy, dtype=np.float64)


def _axes(poly: np.ndarray) -> np.ndarray:
    edges = np.roll(poly, -1, axis=0) - poly
    normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def polygons_overlap(p: np.ndarray, q: np.ndarray) -> bool:
    """True when two convex polygons ((N, 2), (M, 2)) share interior points (separating-axis test)."""
    for axis in np.concatenate([_axes(p), _axes(q)]):
        a, b = p @ axis, q @ axis
        if a.max() <= b.min() or b.max() <= a.min():
            return False
    return True


def points_to_segments(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances from N points (N, 2) to M segments ``a[j] -> b[j]`` ((M, 2) each)."""
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip(np.einsum("nmk,mk->nm", ap, ab) / np.maximum(np.einsum("mk,mk->m", ab, ab), 1e-18), 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=2)


def points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(N,) bool: which points lie inside the counter-clockwise convex polygon ``poly``."""
    edges = np.roll(poly, -1, axis=0) - poly
    rel = points[:, None, :] - poly[None, :, :]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    return np.all(cross >= 0.0, axis=1)


def points_to_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(N,) distances (0 inside) from points (N, 2) to a counter-clockwise convex polygon."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    d = points_to_segments(points, poly, np.roll(poly, -1, axis=0)).min(axis=1)
    return np.where(points_in_polygon(points, poly), 0.0, d)


def polygon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Closest-point distance of two convex counter-clockwise polygons (0 when they overlap)."""
    if polygons_overlap(p, q):
        return 0.0
    d1 = points_to_segments(p, q, np.roll(q, -1, axis=0)).min()
    d2 = points_to_segments(q, p, np.roll(p, -1, axis=0)).min()
    return float(min(d1, d2))


def interval_gap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Gap between the intervals [a0, a1] and [b0, b1] (0 when they overlap)."""
    return float(max(0.0, b0 - a1, a0 - b1))


def box_distance(center_a, size_a, yaw_a: float, center_b, size_b, yaw_b: float) -> float:
    """Closest-point distance in metres between two yaw-only oriented boxes (0 when they touch).

    Args:
        center_a: (3,) centre of box a, metres.
        size_a: (3,) extents of box a along its own x, y, z, metres.
        yaw_a: rotation of box a about +z, radians.
        center_b: (3,) centre of box b.
        size_b: (3,) extents of box b.
        yaw_b: rotation of box b.
    """
    ca, sa, cb, sb = (np.asarray(v, dtype=np.float64) for v in (center_a, size_a, center_b, size_b))
    dxy = polygon_distance(footprint(ca[:2], sa[:2], yaw_a), footprint(cb[:2], sb[:2], yaw_b))
    dz = interval_gap(ca[2] - sa[2] / 2, ca[2] + sa[2] / 2, cb[2] - sb[2] / 2, cb[2] + sb[2] / 2)
    return float(np.hypot(dxy, dz))
