"""Exact 2D/3D distances: yaw-only oriented boxes, triangle meshes and convex polyhedra.

A box whose only rotation is a yaw about +z is a vertical prism: its footprint (a rectangle on
the floor) times a height interval. The closest-point distance of two prisms is
``hypot(d_footprints, d_heights)``. Triangle meshes: the closest points of two surfaces that do
not cross lie on a vertex of one and a triangle of the other, or on an edge of each. Every
distance here is exact up to rounding (no sampling).
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
    """(N, M) distances from N points (N, k) to M segments ``a[j] -> b[j]`` ((M, k) each), any dimension k."""
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


def points_to_triangles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, M) distances from N points (N, 3) to M solid triangles (M, 3, 3) (corners along axis 1)."""
    points = np.asarray(points, dtype=np.float64)
    v0, v1, v2 = (np.asarray(triangles, dtype=np.float64)[:, k] for k in range(3))
    normal = np.cross(v1 - v0, v2 - v0)
    length = np.linalg.norm(normal, axis=1)
    flat = length > 1e-15
    unit = normal / np.where(flat, length, 1.0)[:, None]
    height = np.einsum("nmk,mk->nm", points[:, None, :] - v0[None], unit)
    foot = points[:, None, :] - height[..., None] * unit[None]
    inside = np.ones(height.shape, dtype=bool)
    for p, q in ((v0, v1), (v1, v2), (v2, v0)):
        inside &= np.einsum("nmk,mk->nm", np.cross(q - p, foot - p[None]), unit) >= 0.0
    edges = np.minimum.reduce([points_to_segments(points, p, q) for p, q in ((v0, v1), (v1, v2), (v2, v0))])
    return np.where(inside & flat[None], np.abs(height), edges)


def segments_to_segments(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """(N, M) distances between N segments ``p0 -> p1`` ((N, 3) each) and M segments ``q0 -> q1`` ((M, 3) each).

    The closest points are an endpoint of one segment and a point of the other, or the interior
    points where the two lines come closest (when both lie within their segments).
    """
    p0, p1, q0, q1 = (np.asarray(v, dtype=np.float64) for v in (p0, p1, q0, q1))
    d = np.minimum.reduce([
        points_to_segments(p0, q0, q1),
        points_to_segments(p1, q0, q1),
        points_to_segments(q0, p0, p1).T,
        points_to_segments(q1, p0, p1).T,
    ])
    u, v = p1 - p0, q1 - q0
    w = p0[:, None, :] - q0[None, :, :]
    a, c = np.einsum("nk,nk->n", u, u)[:, None], np.einsum("mk,mk->m", v, v)[None, :]
    b = u @ v.T
    du, dv = np.einsum("nmk,nk->nm", w, u), np.einsum("nmk,mk->nm", w, v)
    den = a * c - b * b
    ok = den > 1e-12 * a * c
    den = np.where(ok, den, 1.0)
    s, t = (b * dv - c * du) / den, (a * dv - b * du) / den
    ok &= (s >= 0.0) & (s <= 1.0) & (t >= 0.0) & (t <= 1.0)
    gap = np.linalg.norm(w + s[..., None] * u[:, None, :] - t[..., None] * v[None, :, :], axis=2)
    return np.where(ok, np.minimum(d, gap), d)


def mesh_edges(triangles: np.ndarray) -> np.ndarray:
    """(E, 2) vertex indices of the distinct edges of triangles (M, 3) (vertex indices)."""
    t = np.asarray(triangles, dtype=np.int64)
    pairs = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    return np.unique(pairs, axis=0)


def _chunked_min(fn, n: int, per_row: int, budget: int = 1 << 20) -> float:
    """min of ``fn(slice)`` over row slices of ``range(n)`` sized so each call holds about ``budget`` pairs (inf when n = 0)."""
    step = max(1, budget // max(1, per_row))
    return min((float(fn(slice(i, i + step)).min()) for i in range(0, n, step) if per_row), default=np.inf)


def _near(lo: np.ndarray, hi: np.ndarray, box_lo: np.ndarray, box_hi: np.ndarray, reach: float) -> np.ndarray:
    """(N,) bool: which axis-aligned boxes ``lo``/``hi`` (N, 3) come within ``reach`` of the box ``box_lo``/``box_hi``."""
    gap = np.maximum(np.maximum(box_lo - hi, lo - box_hi), 0.0)
    return np.einsum("nk,nk->n", gap, gap) <= reach * reach


def surface_distance(va: np.ndarray, ta: np.ndarray, vb: np.ndarray, tb: np.ndarray) -> float:
    """Closest-point distance in metres between two triangle-mesh surfaces that do not cross.

    The minimum over vertex–triangle pairs (both ways) and edge–edge pairs, skipping the
    vertices, edges and triangles that lie farther from the other mesh's bounding box than the
    closest pair of vertices.

    Args:
        va: (Na, 3) vertices of mesh a, metres.
        ta: (Ma, 3) vertex indices of its triangles.
        vb: (Nb, 3) vertices of mesh b.
        tb: (Mb, 3) triangles of mesh b.

    Surfaces that cross each other (distance 0) are not detected here: see :func:`convex_overlap`.
    """
    va, vb = np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64)
    ta, tb = np.asarray(ta, dtype=np.int64), np.asarray(tb, dtype=np.int64)
    used_a, used_b = va[np.unique(ta)], vb[np.unique(tb)]
    upper = _chunked_min(lambda s: np.linalg.norm(used_a[s, None, :] - used_b[None], axis=2), len(used_a), len(used_b))
    reach = upper * (1.0 + 1e-9) + 1e-12
    box_a, box_b = (used_a.min(axis=0), used_a.max(axis=0)), (used_b.min(axis=0), used_b.max(axis=0))

    def near(v: np.ndarray, idx: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return idx[_near(v[idx].min(axis=1), v[idx].max(axis=1), *box, reach)]

    pa, pb = used_a[_near(used_a, used_a, *box_b, reach)], used_b[_near(used_b, used_b, *box_a, reach)]
    tri_a, tri_b = va[near(va, ta, box_b)], vb[near(vb, tb, box_a)]
    ea, eb = near(va, mesh_edges(ta), box_b), near(vb, mesh_edges(tb), box_a)
    return min(
        upper,
        _chunked_min(lambda s: points_to_triangles(pa[s], tri_b), len(pa), len(tri_b)),
        _chunked_min(lambda s: points_to_triangles(pb[s], tri_a), len(pb), len(tri_a)),
        _chunked_min(lambda s: segments_to_segments(va[ea[s, 0]], va[ea[s, 1]], vb[eb[:, 0]], vb[eb[:, 1]]), len(ea), len(eb)),
    )


def prism_distance(poly_a: np.ndarray, z_a: tuple[float, float], poly_b: np.ndarray, z_b: tuple[float, float]) -> float:
    """Closest-point distance in metres between two vertical prisms (0 when they touch).

    Args:
        poly_a: (K, 2) counter-clockwise convex footprint of prism a, metres.
        z_a: (bottom, top) of prism a, metres.
        poly_b: (L, 2) footprint of prism b.
        z_b: (bottom, top) of prism b.
    """
    return float(np.hypot(polygon_distance(poly_a, poly_b), interval_gap(z_a[0], z_a[1], z_b[0], z_b[1])))


def convex_overlap(va: np.ndarray, ta: np.ndarray, vb: np.ndarray, tb: np.ndarray) -> bool:
    """True when two convex polyhedra (vertices (N, 3), triangles (M, 3)) share a point (touching counts).

    Separating-axis test over both sets of face normals and the cross products of their edges.
    """
    va, vb = np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64)
    axes = []
    for v, t in ((va, ta), (vb, tb)):
        tri = v[np.asarray(t, dtype=np.int64)]
        axes.append(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
    ea, eb = (v[e[:, 1]] - v[e[:, 0]] for v, e in ((va, mesh_edges(ta)), (vb, mesh_edges(tb))))
    step = max(1, (1 << 18) // max(1, len(eb)))
    axes += [np.cross(ea[i : i + step, None, :], eb[None, :, :]).reshape(-1, 3) for i in range(0, len(ea), step)]
    for ax in axes:
        ax = ax[np.linalg.norm(ax, axis=1) > 1e-12]
        pa, pb = ax @ va.T, ax @ vb.T
        if np.any((pa.max(axis=1) < pb.min(axis=1)) | (pb.max(axis=1) < pa.min(axis=1))):
            return False
    return True
