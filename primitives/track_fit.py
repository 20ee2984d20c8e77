"""The centre of a moving object in every frame that sees it, robust to partial views.

The centroid of what a camera sees of an object slides as the view changes (the front of a
sofa, then its side), so a track of centroids "moves" when nothing does. Here the object's
shape is fused over its views instead, under the assumption that it moves rigidly without
turning (translation only, which is how furniture is pushed across a floor):

1. each view's points are registered to the views registered so far by a trimmed
   translation-only ICP, starting from the nearest view in time (the object moved little)
   and taking the best of a few starting guesses;
2. the registered views make the object's shape; each view is registered again to the shape
   made of the *other* views, so a view of the back aligns with the back;
3. the shape's gravity-aligned box gives the centre and size; a view's centre is the box
   centre moved by that view's offset.

Views cut by the image border or partly hidden behind something nearer are used, but do not
seed the shape when cleaner views exist, and weigh less (`view_evidence.observation_weight`).
Registration itself (thinned surfaces with facing normals, the ICP step) is `surface_icp`; the
free-space test that settles between near-equal fits is `view_evidence.free_space_violation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.primitives import math3d
from spatialclaw.primitives.surface_icp import INLIER_M, PLANE_M, Surface, matches, oriented_normals, register, thin
from spatialclaw.primitives.view_evidence import DepthView, free_space_violation

SOURCE_POINTS = 1000
"""At most this many points of a view are registered."""
OUTLIER_M = 0.1
"""A position this far (metres) off the path of its neighbours in time may be an outlier (`consistent_in_time`)."""
CONFIDENT_FIT = 0.9
"""When a view is registered again to the other views' shape, a fit scoring this (overlap less
free-space violation) from where it was is kept without trying other starts."""
MIN_OVERLAP = 0.3
"""Views with a smaller fraction of fitting points are left out of the track."""
REFINE_ROUNDS = 2
"""Rounds of registering each view to the shape made of the others."""
STANDING_GAP_M = 0.08
"""A shape whose lowest point is this close to the floor stands on it: its box reaches z = 0."""


@dataclass
class ViewFit:
    """What `fit_track` found.

    Attributes:
        positions: (N, 3) centre per view, metres.
        size: (3,) box extents (length, width, height) of the fused shape, metres.
        overlap: (N,) fraction of each view's points that fit the shape after registration.
        kept: (N,) bool, views whose registration is trusted (overlap >= `MIN_OVERLAP`).
        shape: (M, 3) the fused shape's points, in the coordinates of the reference view.
    """

    positions: np.ndarray
    size: np.ndarray
    overlap: np.ndarray
    kept: np.ndarray
    shape: np.ndarray


@dataclass
class View:
    """One observation of the object.

    Attributes:
        points: (N, 3) world points seen, metres.
        time: seconds.
        prior: confidence in [0, 1] (`view_evidence.observation_weight`).
        camera: the frame's `DepthView` (`view_evidence.depth_view`), for the free-space test
            and the normals' orientation; None skips both.
    """

    points: np.ndarray
    time: float
    prior: float = 1.0
    camera: DepthView | None = None

    def surface(self) -> Surface:
        """Its points thinned to `SOURCE_POINTS`, with normals facing its camera."""
        pts = np.asarray(self.points, dtype=np.float64)
        pts = pts[thin(pts, SOURCE_POINTS)]
        eye = None if self.camera is None else np.asarray(self.camera.pose)[:3, 3]
        return Surface(pts, oriented_normals(pts, eye))


def _fit_score(source: Surface, target: Surface, tree, camera, offset: np.ndarray) -> tuple[float, float]:
    """(overlap, overlap less free-space violation) of ``source`` moved by ``offset`` onto ``target``.

    Overlap: the fraction of moved points within `INLIER_M` of a same-facing target point and
    `PLANE_M` of its tangent plane.
    """
    dist, idx = matches(source, target, tree, offset)
    finite = np.isfinite(dist)
    across = np.full(len(dist), np.inf)
    across[finite] = np.abs(((target.points[idx[finite]] - (source.points[finite] + offset)) * target.normals[idx[finite]]).sum(axis=1))
    overlap = float(np.mean((dist <= INLIER_M) & (across <= PLANE_M)))
    return overlap, overlap - free_space_violation(target.points - offset, camera)


_GRID = [np.array([dx, dy, 0.0]) for dx in (-0.01, 0.0, 0.01) for dy in (-0.01, 0.0, 0.01) if dx or dy]


def _polish(source: Surface, target: Surface, tree, camera, offset: np.ndarray, steps: int = 4) -> tuple[np.ndarray, float, float]:
    """Hill-climb ``offset`` on a 1 cm grid to the best overlap less free-space violation: ICP
    only sees the surfaces, the free-space test also sees what the camera sees past the object."""
    overlap, score = _fit_score(source, target, tree, camera, offset)
    for _ in range(steps):
        trials = [(offset + d, *_fit_score(source, target, tree, camera, offset + d)) for d in _GRID]
        best = max(trials, key=lambda t: t[2])
        if best[2] <= score:
            break
        offset, overlap, score = best
    return offset, overlap, score


def _best_registration(
    source: Surface, camera, target: Surface, starts: list[np.ndarray], expected: np.ndarray, spread: float,
    confident: float = np.inf,
) -> tuple[np.ndarray, float]:
    """The registration of a view (``source`` seen by ``camera``) onto ``target`` from the best of ``starts``.

    Each start is refined by ICP (`register`) and scored: the overlap less the free-space
    violation, less 0.1 per ``spread`` metres from ``expected`` (a flat face fits almost
    anywhere along itself; where the object was a moment ago settles where). When the first
    start already fits with a score of ``confident``, the others are not tried. The best is
    polished by the free-space test (`_polish`). Returns (offset, overlap).
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(target.points)
    penalty = lambda offset: 0.1 * float(np.linalg.norm(offset - expected)) / spread  # noqa: E731
    scored = []
    for n, start in enumerate(starts):
        o = register(source, target, tree, start)
        scored.append((o, _fit_score(source, target, tree, camera, o)[1] - penalty(o)))
        if n == 0 and scored[0][1] >= confident:
            break
    offset = max(scored, key=lambda t: t[1])[0]
    offset, overlap, _ = _polish(source, target, tree, camera, offset)
    return offset, overlap


def _expected(offsets: np.ndarray, done: np.ndarray, times: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Where view ``k``'s offset should be (the nearest registered views' offsets extrapolated in
    time), and how far from it (metres) it may plausibly be: more the longer ago they were."""
    processed = np.nonzero(done)[0]
    near = processed[np.argsort(np.abs(times[processed] - times[k]), kind="stable")[:2]]
    spread = 0.05 + 0.3 * float(abs(times[near[0]] - times[k]))
    if len(near) < 2 or times[near[0]] == times[near[1]]:
        return offsets[near[0]].copy(), spread
    velocity = (offsets[near[0]] - offsets[near[1]]) / (times[near[0]] - times[near[1]])
    return offsets[near[0]] + velocity * (times[k] - times[near[0]]), spread


def _order_from(reference: int, n: int) -> list[int]:
    """Views ordered by distance in sequence from ``reference``: ref, ref+1, ref-1, ref+2, ..."""
    order = [reference]
    for step in range(1, n):
        for k in (reference + step, reference - step):
            if 0 <= k < n:
                order.append(k)
    return order


_SHIFTS = [np.zeros(3)] + [np.array(v, dtype=np.float64) * 0.04 for v in ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0))]
"""Starting guesses around a view's offset (a shape's flat parts leave shallow wrong minima a few cm away)."""


def _first_pass(views: list[View], surfaces: list[Surface]) -> np.ndarray:
    """Offsets (N, 3) of every view into the reference view's coordinates, by growing the shape."""
    n = len(views)
    times = np.array([v.time for v in views])
    priors = np.array([v.prior for v in views])
    reference = int(np.argmax([len(s.points) * v.prior for s, v in zip(surfaces, views)]))
    offsets = np.zeros((n, 3))
    done = np.zeros(n, bool)
    done[reference] = True
    shape = surfaces[reference]
    trusted = max(0.5, float(np.median(priors)))
    for k in _order_from(reference, n)[1:]:
        expected, spread = _expected(offsets, done, times, k)
        starts = [expected + d for d in _SHIFTS] + [shape.points.mean(axis=0) - surfaces[k].points.mean(axis=0)]
        offsets[k], overlap = _best_registration(surfaces[k], views[k].camera, shape, starts, expected, spread)
        done[k] = True
        if overlap >= 0.5 and priors[k] >= trusted:
            shape = Surface.union([shape, surfaces[k].moved(offsets[k])])
    return offsets


def _refine(views: list[View], surfaces: list[Surface], offsets: np.ndarray) -> np.ndarray:
    """Each view registered again to the shape made of the *other* views, `REFINE_ROUNDS` times; returns the overlaps."""
    m = len(views)
    overlap = np.ones(m)
    if m == 1:
        return overlap
    for round_ in range(REFINE_ROUNDS):
        for k in range(m):
            model = Surface.union([surfaces[j].moved(offsets[j]) for j in range(m) if j != k])
            starts = [offsets[k] + d for d in (_SHIFTS if round_ == 0 else _SHIFTS[:1])]
            offsets[k], overlap[k] = _best_registration(surfaces[k], views[k].camera, model, starts, offsets[k], 0.05, CONFIDENT_FIT)
    return overlap


def shape_box(shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (3,) and extents (3,) of the gravity-aligned box of a shape's points (N, 3), reaching the floor when it stands on it."""
    center, size, _ = math3d.oriented_box(shape)
    bottom = center[2] - size[2] / 2.0
    if 0.0 < bottom < STANDING_GAP_M:
        top = center[2] + size[2] / 2.0
        center = np.array([center[0], center[1], top / 2.0])
        size = np.array([size[0], size[1], top])
    return center, size


def _line_residual(times: np.ndarray, positions: np.ndarray, keep: np.ndarray, i: int, half_window: int = 3) -> float:
    """Distance (metres) of position ``i`` from the robust straight line in time (Theil–Sen, per
    axis) through its nearest kept neighbours, ``half_window`` on each side."""
    kept = np.nonzero(keep)[0]
    kept = kept[kept != i]
    if len(kept) < 2:
        return 0.0
    near = kept[np.argsort(np.abs(kept - i), kind="stable")[: 2 * half_window]]
    dt = times[near] - times[i]
    a, b = np.triu_indices(len(near), k=1)
    span = dt[b] - dt[a]
    ok = span != 0
    slope = np.median((positions[near][b] - positions[near][a])[ok] / span[ok, None], axis=0) if ok.any() else np.zeros(3)
    at_i = np.median(positions[near] - slope * dt[:, None], axis=0)
    return float(np.linalg.norm(at_i - positions[i]))


def consistent_in_time(times: np.ndarray, positions: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``keep`` (N,) bool without the positions that jump off the path of their neighbours.

    Repeatedly drops the position farthest from the robust straight line in time through its
    nearest kept neighbours (three on each side), while that is more than `OUTLIER_M` metres
    and four times their lower quartile (the noise of the good positions): a view registered onto the wrong part of a large
    flat object (a bed) lands decimetres away and is left out.
    """
    keep = keep.copy()
    while keep.sum() > 3:
        idx = np.nonzero(keep)[0]
        residual = np.array([_line_residual(times, positions, keep, i) for i in idx])
        worst = int(np.argmax(residual))
        if residual[worst] <= max(OUTLIER_M, 4.0 * float(np.percentile(residual, 25))):
            break
        keep[idx[worst]] = False
    return keep


def fit_track(views: list[View]) -> ViewFit:
    """The object's centre in each view.

    Args:
        views: the observations in time order.

    Returns:
        A `ViewFit`; views with fewer than 3 points get NaN positions and ``kept`` False.
    """
    n = len(views)
    surfaces = [v.surface() for v in views]
    usable = [k for k in range(n) if len(surfaces[k].points) >= 3]
    positions = np.full((n, 3), np.nan)
    overlap = np.zeros(n)
    if not usable:
        return ViewFit(positions, np.zeros(3), overlap, np.zeros(n, bool), np.zeros((0, 3)))
    sub_views, sub = [views[k] for k in usable], [surfaces[k] for k in usable]
    offsets = _first_pass(sub_views, sub)
    overlap[usable] = _refine(sub_views, sub, offsets)
    ok = overlap[usable] >= MIN_OVERLAP
    if not ok.any():
        ok[:] = True
    shape = np.concatenate([np.asarray(sub_views[k].points, dtype=np.float64) + offsets[k] for k in range(len(sub)) if ok[k]])
    center, size = shape_box(shape)
    kept = np.zeros(n, bool)
    for k, view in enumerate(usable):
        positions[view] = center - offsets[k]
        kept[view] = bool(ok[k])
    kept[usable] = consistent_in_time(np.array([v.time for v in sub_views]), positions[usable], kept[usable])
    return ViewFit(positions, size, overlap, kept, shape[thin(shape)])
