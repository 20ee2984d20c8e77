"""Grouping mask clouds into objects: tracker identities checked in 3D (`grouping.group_tracked`)."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.grouping import cluster_masks, group_tracked


def _box(center: tuple[float, float, float], size: float = 0.4, n: int = 400, seed: int = 0) -> np.ndarray:
    """Points filling a cube of side ``size`` metres around ``center``."""
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-size / 2, size / 2, (n, 3))


def test_a_track_that_jumps_to_another_object_is_split() -> None:
    clouds = [_box((0, 0, 0.2), seed=1), _box((0.05, 0, 0.2), seed=2), _box((3, 0, 0.2), seed=3)]
    assert group_tracked(clouds, ["chair"] * 3, [7, 7, 7], voxel=0.05, overlap=0.25) == [0, 0, 1]


def test_views_of_one_track_from_opposite_sides_stay_one_object() -> None:
    # two halves of one table that never overlap in voxels, 10 cm apart: one object
    front, back = _box((0, 0, 0.4), size=0.3, seed=1), _box((0.4, 0, 0.4), size=0.3, seed=2)
    assert cluster_masks([front, back], ["table"] * 2, 0.05, 0.25) == [0, 1]
    assert group_tracked([front, back], ["table"] * 2, [2, 2], voxel=0.05, overlap=0.25) == [0, 0]


def test_one_object_with_two_track_ids_is_joined() -> None:
    clouds = [_box((1, 1, 0.2), seed=1), _box((1.02, 1, 0.2), seed=2), _box((1, 1.01, 0.2), seed=3)]
    assert group_tracked(clouds, ["sofa"] * 3, [1, 1, 4], voxel=0.05, overlap=0.25) == [0, 0, 0]


def test_two_identical_chairs_apart_stay_two_tracks() -> None:
    a1, a2 = _box((0, 0, 0.2), seed=1), _box((0, 0.02, 0.2), seed=2)
    b1, b2 = _box((1.2, 0, 0.2), seed=3), _box((1.2, 0.02, 0.2), seed=4)
    assert group_tracked([a1, b1, a2, b2], ["chair"] * 4, [0, 1, 0, 1], voxel=0.05, overlap=0.25) == [0, 1, 0, 1]


def test_overlapping_tracks_of_different_labels_stay_apart() -> None:
    cup, table = _box((0, 0, 0.8), size=0.1, seed=1), _box((0, 0, 0.8), size=0.2, seed=2)
    assert group_tracked([cup, table], ["cup", "table"], [0, 1], voxel=0.05, overlap=0.25) == [0, 1]
