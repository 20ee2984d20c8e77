"""Track3D and the centre of a moving object from partial views (`track_fit`), without a renderer."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives import track_fit, view_evidence
from spatialclaw.primitives.tracks_types import Track3D, simplify_path, smooth_positions


def _box_surface(size: np.ndarray, step: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) on the faces of a box centred at 0 and their outward normals (N, 3)."""
    pts, normals = [], []
    half = size / 2
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        u = np.arange(-half[others[0]], half[others[0]] + 1e-9, step)
        v = np.arange(-half[others[1]], half[others[1]] + 1e-9, step)
        uu, vv = np.meshgrid(u, v)
        for sign in (-1.0, 1.0):
            p = np.zeros((uu.size, 3))
            p[:, others[0]], p[:, others[1]], p[:, axis] = uu.ravel(), vv.ravel(), sign * half[axis]
            n = np.zeros_like(p)
            n[:, axis] = sign
            pts.append(p)
            normals.append(n)
    return np.concatenate(pts), np.concatenate(normals)


def _views(centres: np.ndarray, eyes: np.ndarray, size: np.ndarray, cut_x: list[float | None]) -> list[track_fit.View]:
    """What cameras at ``eyes`` see of the box at ``centres``: the faces turned towards them, optionally cut."""
    surface, normals = _box_surface(size)
    views = []
    for k, (c, eye) in enumerate(zip(centres, eyes)):
        p = surface + c
        facing = ((eye - p) * normals).sum(axis=1) > 0
        if cut_x[k] is not None:
            facing &= p[:, 0] < cut_x[k]
        views.append(track_fit.View(p[facing], float(k), 1.0, None))
    return views


def test_centre_of_a_moving_box_is_exact_from_partial_views() -> None:
    size = np.array([0.9, 0.5, 0.8])
    n = 10
    centres = np.column_stack([1.0 + 0.08 * np.arange(n), 2.0 - 0.03 * np.arange(n), np.full(n, 0.4)])
    # the camera walks around: first the front and left side, then the back and right side
    angles = np.linspace(-2.2, 1.2, n)
    eyes = centres + np.column_stack([3 * np.cos(angles), 3 * np.sin(angles), np.full(n, 1.1)])
    cut = [None] * n
    cut[3] = centres[3, 0] + 0.1  # the image border cuts this view: only the left part is seen
    fit = track_fit.fit_track(_views(centres, eyes, size, cut))
    assert fit.kept.all()
    errors = np.linalg.norm((fit.positions - centres)[:, :2], axis=1)
    assert errors.max() < 0.025, errors  # the cut view included
    travelled = np.linalg.norm((fit.positions[-1] - fit.positions[0])[:2])
    assert travelled == pytest.approx(np.linalg.norm((centres[-1] - centres[0])[:2]), abs=0.015)
    np.testing.assert_allclose(np.sort(fit.size[:2]), np.sort(size[:2]), atol=0.02)
    centroid_drift = [np.linalg.norm(v.points.mean(axis=0)[:2] - c[:2]) for v, c in zip(_views(centres, eyes, size, cut), centres)]
    assert max(centroid_drift) > 0.1  # the visible-surface centroid would have slid


def test_a_view_that_jumps_off_the_path_is_left_out() -> None:
    times = np.arange(9, dtype=float)
    positions = np.column_stack([0.1 * times, np.zeros(9), np.zeros(9)])
    positions[4, 1] = 0.6
    keep = track_fit.consistent_in_time(times, positions, np.ones(9, bool))
    assert keep.tolist() == [True] * 4 + [False] + [True] * 4


def test_occlusion_and_border_lower_a_views_weight() -> None:
    depth = np.full((40, 40), 3.0, np.float32)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    depth[mask] = 2.0
    assert view_evidence.occluded_fraction(depth, mask) == 0.0
    depth[10:30, 25:35] = 1.0  # something nearer covers the right side
    mask[10:30, 25:30] = False
    assert view_evidence.occluded_fraction(depth, mask) > 0.15
    assert not view_evidence.cut_by_border(mask)
    edge = np.zeros((40, 40), bool)
    edge[0:5, 10:20] = True
    assert view_evidence.cut_by_border(edge)
    assert view_evidence.observation_weight(True, 0.0) < view_evidence.observation_weight(False, 0.0) == 1.0


def test_track_motion_measures() -> None:
    rng = np.random.default_rng(0)
    times = np.linspace(0, 10, 21)
    path = np.column_stack([0.15 * times, 0.05 * times, np.full(21, 0.4)])
    track = Track3D("chair", np.arange(21), times, path + rng.normal(0, 0.01, (21, 3)))
    assert track.moved
    length = float(np.linalg.norm(path[-1] - path[0]))
    assert track.distance_travelled() == pytest.approx(length, rel=0.03)
    assert track.speed() == pytest.approx(length / 10, rel=0.03)
    np.testing.assert_allclose(track.displacement(2.0, 6.0), path[12] - path[4], atol=0.02)
    np.testing.assert_allclose(track.position_at(-5.0), track.position_at(0.0))  # clamped outside the time seen
    still = Track3D("sofa", np.arange(21), times, np.tile([1.0, 2.0, 0.4], (21, 1)) + rng.normal(0, 0.015, (21, 3)))
    assert not still.moved and still.distance_travelled() < 0.05  # jitter is not travel
    one = Track3D("tv", [3], [1.5], [[0.0, 0.0, 1.0]])
    assert one.speed() == 0.0 and not one.moved and one.position_at(9.0).tolist() == [0.0, 0.0, 1.0]


def test_track_checks_its_arrays() -> None:
    with pytest.raises(ValueError, match="positions must be"):
        Track3D("a", [0, 1], [0.0, 1.0], [[0, 0, 0]])
    with pytest.raises(ValueError, match="increasing"):
        Track3D("a", [0, 1], [1.0, 0.0], [[0, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="at least one"):
        Track3D("a", [], [], np.zeros((0, 3)))


def test_smoothing_keeps_constant_velocity_and_simplify_keeps_corners() -> None:
    times = np.arange(6, dtype=float)
    line = np.column_stack([times, 2 * times, np.zeros(6)])
    np.testing.assert_allclose(smooth_positions(times, line), line, atol=1e-9)
    corner = np.array([[0, 0], [1, 0], [2, 0], [2, 1], [2, 2]], float)
    assert simplify_path(corner, 0.05).tolist() == [[0, 0], [2, 0], [2, 2]]
