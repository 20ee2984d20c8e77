"""Frames registered into the wrong place, found by checking each registration against its neighbours' views."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.backends.classical import sfm_consistency
from spatialclaw.primitives.backends.classical.sfm_consistency import PairEvidence

FOCAL = 500.0


def _look(yaw: float, centre: np.ndarray) -> np.ndarray:
    """Camera-to-world of a camera at ``centre`` looking along +x turned by ``yaw`` (radians) about +z."""
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    right = np.cross(down, forward)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, down, forward])
    pose[:3, 3] = centre
    return pose


def _walk(n: int = 14) -> np.ndarray:
    """A walk through a room, turning 8° per frame and stepping 0.25 m."""
    return np.stack([_look(np.radians(8.0 * k), np.array([0.25 * k, 0.05 * k, 1.5])) for k in range(n)])


def _room_points(count: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform([-6.0, -6.0, 0.0], [10.0, 10.0, 3.0], (count, 3))


def _observe(pose: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalised coordinates, visible mask) of world points in a 640×480 camera of focal `FOCAL`."""
    cam = points @ np.linalg.inv(pose)[:3, :3].T + np.linalg.inv(pose)[:3, 3]
    xy = cam[:, :2] / np.maximum(cam[:, 2:], 1e-9)
    visible = (cam[:, 2] > 0.3) & (np.abs(xy[:, 0]) * FOCAL < 320) & (np.abs(xy[:, 1]) * FOCAL < 240)
    return xy, visible


def _evidence(true_pose: np.ndarray, model_pose: np.ndarray, noise_px: float = 0.7, window: int = 3) -> PairEvidence:
    """What `check_registrations` would find: true matches (with pixel noise) judged by the model's poses."""
    points = _room_points()
    rng = np.random.default_rng(1)
    seen = [_observe(p, points) for p in true_pose]
    pairs, matches, agreement = [], [], []
    for i in range(len(true_pose)):
        for j in range(i + 1, min(i + window + 1, len(true_pose))):
            both = seen[i][1] & seen[j][1]
            a = seen[i][0][both] + rng.normal(0, noise_px / FOCAL, (both.sum(), 2))
            b = seen[j][0][both] + rng.normal(0, noise_px / FOCAL, (both.sum(), 2))
            pairs.append((i, j))
            matches.append(int(both.sum()))
            agreement.append(sfm_consistency.pair_agreement(a, b, model_pose[i], model_pose[j], FOCAL))
    return PairEvidence(np.array(pairs), np.array(matches), np.array(agreement))


def test_a_right_model_in_another_scale_and_frame_raises_no_alarm():
    truth = _walk()
    similarity = _look(0.7, np.array([3.0, -2.0, 1.0]))
    model = truth.copy()
    model[:, :3, 3] *= 0.37  # structure-from-motion's arbitrary scale ...
    model = np.einsum("ij,njk->nik", similarity, model)  # ... and frame
    evidence = _evidence(truth, model)
    assert evidence.agreement.min() > 0.9
    assert not sfm_consistency.contradicted_frames(np.ones(len(truth), bool), evidence).any()


def test_half_the_walk_joined_in_the_wrong_place_is_found():
    truth = _walk()
    model = truth.copy()
    wrong = _look(np.radians(25.0), np.array([0.6, -0.4, 0.1]))  # the last 5 frames turned and moved
    model[9:] = np.einsum("ij,njk->nik", wrong, model[9:])
    evidence = _evidence(truth, model)
    across = (evidence.pairs[:, 0] < 9) & (evidence.pairs[:, 1] >= 9)
    assert evidence.agreement[across].max() < 0.2 and evidence.agreement[~across].min() > 0.9
    assert np.flatnonzero(sfm_consistency.contradicted_frames(np.ones(len(truth), bool), evidence)).tolist() == list(range(9, 14))


def test_one_frame_placed_wrongly_is_found():
    truth = _walk()
    model = truth.copy()
    model[5] = _look(np.radians(70.0), np.array([2.0, 1.0, 1.5]))
    assert np.flatnonzero(sfm_consistency.contradicted_frames(np.ones(len(truth), bool), _evidence(truth, model))).tolist() == [5]


def test_turning_on_the_spot_is_not_a_false_alarm():
    truth = np.stack([_look(np.radians(6.0 * k), np.array([1.0, 1.0, 1.5])) for k in range(8)])
    model = truth.copy()
    model[:, :3, 3] += np.random.default_rng(2).normal(0, 1e-9, (8, 3))  # no baseline: any direction
    evidence = _evidence(truth, model)
    assert evidence.agreement.min() > 0.9
    assert not sfm_consistency.contradicted_frames(np.ones(8, bool), evidence).any()


def test_parts_without_evidence_between_them_are_left_alone():
    # frames 0-4 and 5-9 share no checked pair: nothing says either is wrong
    pairs = np.array([[i, i + 1] for i in range(9) if i != 4])
    evidence = PairEvidence(pairs, np.full(len(pairs), 100), np.full(len(pairs), 0.95))
    assert not sfm_consistency.contradicted_frames(np.ones(10, bool), evidence).any()


def test_look_alike_matches_are_outvoted_by_the_true_ones():
    # the model follows the true matches of consecutive frames; a pair two apart matched a
    # repeated texture, and the model (rightly) does not explain its matches
    pairs = np.array([[0, 1], [1, 2], [0, 2], [2, 3], [1, 3]])
    evidence = PairEvidence(pairs, np.array([1500, 1400, 300, 1600, 250]), np.array([0.97, 0.95, 0.02, 0.96, 0.9]))
    assert not sfm_consistency.contradicted_frames(np.ones(4, bool), evidence).any()
    # the same matches, but the model followed the look-alike pair: the join 1|2 is outvoted
    evidence = PairEvidence(pairs, np.array([1500, 1400, 300, 1600, 250]), np.array([0.97, 0.01, 0.9, 0.96, 0.05]))
    assert np.flatnonzero(sfm_consistency.contradicted_frames(np.ones(4, bool), evidence)).tolist() in ([0, 1], [2, 3])


def test_pairs_the_model_half_explains_do_not_vote():
    # a scene that is not rigid (a sheet moved by hand before a still background): the model
    # explains about half of each pair's matches, which says nothing about a wrong join
    pairs = np.array([[i, j] for i in range(8) for j in range(i + 1, min(i + 4, 8))])
    evidence = PairEvidence(pairs, np.full(len(pairs), 200), np.where(pairs[:, 0] < 4, 0.95, 0.3))
    assert not sfm_consistency.contradicted_frames(np.ones(8, bool), evidence).any()
