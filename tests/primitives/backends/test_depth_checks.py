"""The classical depth's self-checks (`depth_checks`) and the depth gate they feed."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.backends.classical import depth_checks, gates, quality_report
from spatialclaw.primitives.backends.classical.pipeline import ClassicalResult
from spatialclaw.testing.heldout.accuracy import speaks_for_depth

K = np.array([[40.0, 0, 32], [0, 40.0, 24], [0, 0, 1]])


def _wall(n: int = 3, step: float = 0.2, distance: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, 64) depth of cameras stepping sideways along a wall ``distance`` ahead, and their poses."""
    pose = np.tile(np.eye(4), (n, 1, 1))
    pose[:, 0, 3] = np.arange(n) * step
    return np.full((n, 48, 64), distance, np.float32), pose


def test_views_that_see_the_same_wall_agree_and_a_wrong_depth_does_not():
    depth, pose = _wall()
    neighbours = [[1], [0, 2], [1]]
    assert depth_checks.view_agreement(depth, K, pose, neighbours) == 1.0
    wrong = depth.copy()
    wrong[1] *= 1.4  # the middle frame puts the wall 40 % too far
    agreement = depth_checks.view_agreement(wrong, K, pose, neighbours)
    assert agreement < 0.1
    half = depth.copy()
    half[1, :, :32] *= 1.4
    assert 0.3 < depth_checks.view_agreement(half, K, pose, neighbours) < 0.7
    assert np.isnan(depth_checks.view_agreement(depth, K, pose, [[], [], []]))


def test_sparse_points_that_stereo_contradicts_are_counted():
    stereo = np.full((2, 10, 10), 2.0)
    sparse = np.full((2, 10, 10), np.nan)
    sparse[:, ::2, ::2] = 2.05  # 50 points within 15 %
    sparse[0, 1, ::2] = 3.0  # 5 more off by 50 %
    assert depth_checks.sparse_outliers(sparse, stereo) == 5 / 55
    assert np.isnan(depth_checks.sparse_outliers(sparse[:, :2, :2], stereo[:, :2, :2]))  # too few to say


def _result(measured_share: float) -> ClassicalResult:
    n, h, w = 6, 12, 16
    pose = np.tile(np.eye(4), (n, 1, 1))
    pose[:, 0, 3] = np.arange(n) * 0.3
    pose[:, 2, 3] = 1.5
    measured = np.zeros((n, h, w), bool)
    measured.reshape(n, -1)[:, : round(measured_share * h * w)] = True
    return ClassicalResult(
        depth=np.full((n, h, w), 2.0, np.float32), measured=measured, pose=pose, K=np.array([[14.0, 0, 8], [0, 14.0, 6], [0, 0, 1]]),
        registered=np.ones(n, bool), points=np.random.default_rng(0).normal(size=(500, 3)), scale=1.0, camera_height=1.5,
        info={"sfm": {"focal_refined": True}, "sparse_points": 500, "scene_depth_m": 2.0, "measured_fraction": float(measured.mean()),
              "depth_checks": {"view_agreement": 0.7}},
    )


def test_assess_warns_of_mostly_filled_depth_in_words_the_rule_takes_for_depth():
    warned = [w for w in quality_report.assess(_result(0.1)).warnings if gates.is_unmeasured_depth_warning(w)]
    assert len(warned) == 1 and "only 10% of the pixels;" in warned[0] and "agree with 70%" in warned[0]
    assert speaks_for_depth(warned[0])
    assert not any(gates.is_unmeasured_depth_warning(w) for w in quality_report.assess(_result(0.6)).warnings)
