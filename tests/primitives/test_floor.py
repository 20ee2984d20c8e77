"""The one floor fitter: the plane, and a confidence the reconstruction gates use."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.floor import find_floor


def _room(rng: np.random.Generator, floor_points: int = 3000) -> np.ndarray:
    floor = np.column_stack([rng.uniform(0, 5, floor_points), rng.uniform(0, 4, floor_points), np.zeros(floor_points)])
    table = np.column_stack([rng.uniform(1, 2, 2000), rng.uniform(1, 2, 2000), np.full(2000, 0.75)])
    walls = np.column_stack([np.zeros(2000), rng.uniform(0, 4, 2000), rng.uniform(0, 2.6, 2000)])
    return np.vstack([floor, table, walls])


def test_the_floor_is_the_lowest_plane_and_is_believed():
    rng = np.random.default_rng(0)
    tilt = np.radians(4.0)
    R = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    floor = find_floor(_room(rng) @ R.T * 0.37, np.array([0.0, 0.0, 1.0]))  # tilted, arbitrary units
    assert np.degrees(np.arccos(floor.normal @ R[:, 2])) < 0.5
    assert abs(floor.offset) < 1e-3 and floor.inliers[:3000].mean() > 0.99
    assert floor.confidence == 1.0


def test_a_cloud_without_a_floor_is_not_believed():
    rng = np.random.default_rng(1)
    blob = rng.normal(0, 1, (4000, 3))  # no plane at all
    assert find_floor(blob, np.array([0.0, 0.0, 1.0])).confidence < 0.5
    room = _room(rng, floor_points=150)  # a floor hardly seen: a table top is the "lowest" big plane
    room = np.vstack([room, rng.normal([2, 2, -1.0], 0.3, (600, 3))])  # and much lies below it
    assert find_floor(room, np.array([0.0, 0.0, 1.0])).confidence < 0.5


def test_too_few_points_give_no_floor():
    assert find_floor(np.zeros((5, 3)), np.array([0.0, 0.0, 1.0])) is None
    pts = np.vstack([np.full((20, 3), np.nan), np.random.default_rng(2).uniform(0, 1, (5, 3))])
    assert find_floor(pts, np.array([0.0, 0.0, 1.0])) is None
