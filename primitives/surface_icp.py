"""Registering one view's surface onto an object's shape: thinned points with facing normals and
a translation-only ICP on the floor (point-to-plane with a point-to-point term).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.primitives import math3d

VOXEL_M = 0.02
"""Points of each view are thinned to one per this many metres before registration."""
MAX_VIEW_POINTS = 3000
"""At most this many points in a shape that views are registered to."""
INLIER_M = 0.03
"""A registered point within this distance of the shape counts as fitting it, metres."""
PLANE_M = 0.01
"""... and within this distance of its tangent plane, metres."""
POINT_WEIGHT = 0.2
"""Weight of the point-to-point term beside the point-to-plane one in a registration step."""
NORMAL_AGREEMENT = 0.3
"""Matched points' normals must agree this well (cosine): the two faces of a board do not match."""


def thin(points: np.ndarray, limit: int = MAX_VIEW_POINTS) -> np.ndarray:
    """Indices of ``points`` (N, 3) keeping one per occupied `VOXEL_M` voxel, at most ``limit`` (evenly picked)."""
    if len(points) == 0:
        return np.zeros(0, np.int64)
    _, first = np.unique(math3d.voxel_keys(points, VOXEL_M), return_index=True)
    first = np.sort(first)
    if len(first) > limit:
        first = first[np.linspace(0, len(first) - 1, limit).astype(np.int64)]
    return first


def oriented_normals(points: np.ndarray, eye: np.ndarray | None, k: int = 10) -> np.ndarray:
    """(N, 3) unit normals of one view's ``points`` (N, 3), turned towards the camera at ``eye`` (3,).

    The normal is the least-spread direction of each point's ``k`` nearest neighbours. Turned
    towards the camera, the two faces of a thin board (a chair's back) point opposite ways, so
    a view of its back never registers onto its front.
    """
    from scipy.spatial import cKDTree

    if len(points) < 3:
        return np.tile([0.0, 0.0, 1.0], (len(points), 1))
    k = min(k, len(points))
    _, idx = cKDTree(points).query(points, k=k)
    nbrs = points[idx.reshape(len(points), -1)]
    centred = nbrs - nbrs.mean(axis=1, keepdims=True)
    _, vecs = np.linalg.eigh(np.einsum("nki,nkj->nij", centred, centred))
    normals = vecs[:, :, 0]
    if eye is not None:
        flip = ((eye - points) * normals).sum(axis=1) < 0
        normals[flip] *= -1.0
    return normals


@dataclass
class Surface:
    """Points (N, 3) metres with unit normals (N, 3) facing the cameras that saw them."""

    points: np.ndarray
    normals: np.ndarray

    def moved(self, offset: np.ndarray) -> Surface:
        """The surface translated by ``offset`` (3,)."""
        return Surface(self.points + offset, self.normals)

    @staticmethod
    def union(parts: list[Surface], limit: int = MAX_VIEW_POINTS) -> Surface:
        """All parts' points, thinned (`thin`)."""
        pts = np.concatenate([p.points for p in parts])
        nrm = np.concatenate([p.normals for p in parts])
        keep = thin(pts, limit)
        return Surface(pts[keep], nrm[keep])


def matches(source: Surface, target: Surface, tree, offset: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """For each moved source point: distance to, and index of, the nearest of its ``k`` nearest
    target points whose normal faces the same way (inf / 0 when none does)."""
    k = min(k, len(target.points))
    dist, idx = tree.query(source.points + offset, k=k)
    dist, idx = dist.reshape(len(source.points), k), idx.reshape(len(source.points), k)
    agree = (target.normals[idx] * source.normals[:, None, :]).sum(axis=2) > NORMAL_AGREEMENT
    dist = np.where(agree, dist, np.inf)
    pick = np.argmin(dist, axis=1)
    rows = np.arange(len(pick))
    return dist[rows, pick], idx[rows, pick]


def register(source: Surface, target: Surface, tree, start: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Horizontal translation (3,), z = 0, moving ``source`` onto ``target`` (a trimmed ICP).

    Each step minimises the distances of the moved points to the tangent planes of their
    matched target points (same-facing normals), plus `POINT_WEIGHT` times their distances to
    those points: planes pin the offset precisely across surfaces, the point term (edges,
    corners) along them. Objects slide on the floor: the offset never changes height.

    Args:
        source: the view's surface, metres.
        target: the shape it should land on.
        tree: a ``scipy.spatial.cKDTree`` of ``target.points``.
        start: the first guess of the translation (its z is ignored).
        iterations: at most this many steps.
    """
    offset = np.asarray(start, dtype=np.float64).copy()
    offset[2] = 0.0
    for _ in range(iterations):
        dist, idx = matches(source, target, tree, offset)
        finite = np.isfinite(dist)
        if finite.sum() < 3:
            break
        cut = max(INLIER_M, 2.5 * float(np.median(dist[finite])))
        keep = finite & (dist <= cut)
        gap = target.points[idx[keep]] - (source.points[keep] + offset)
        n3 = target.normals[idx[keep]]
        step = np.zeros(3)
        if cut > 2 * INLIER_M:  # far from converged: point-to-point pulls in every direction
            step[:2] = gap[:, :2].mean(axis=0)
        else:
            n = n3[:, :2]
            A = n.T @ n + POINT_WEIGHT * len(n) * np.eye(2)
            step[:2] = np.linalg.solve(A, n.T @ (gap * n3).sum(axis=1) + POINT_WEIGHT * gap[:, :2].sum(axis=0))
        offset += step
        if np.linalg.norm(step) < 1e-4:
            break
    return offset
