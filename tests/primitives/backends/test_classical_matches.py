"""Structure-from-motion from keypoints and matches found outside COLMAP (`sfm_matches`).

The stand-in matcher (`true_matches.TrueCorrespondences`) knows the scene, so these tests prove
the plumbing (database, verification, mappers) with real geometry and no learned weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical import sfm
from spatialclaw.primitives.backends.classical.sfm_matches import MatchedFeatures, checked_matches, match_pairs

from true_matches import TrueCorrespondences, walk_frames

WIDTH, HEIGHT = 256, 192
FRAMES = 10


class RandomMatches:
    """Keypoints anywhere, matched at random: what a randomly initialised matcher gives."""

    name = "random"

    def __call__(self, images: list[np.ndarray], pairs: list[tuple[int, int]]) -> MatchedFeatures:
        rng = np.random.default_rng(0)
        h, w = images[0].shape[:2]
        keypoints = [rng.uniform((0, 0), (w - 1, h - 1), (200, 2)).astype(np.float32) for _ in images]
        return MatchedFeatures(keypoints, {p: rng.integers(0, 200, (80, 2)) for p in pairs})


@pytest.fixture(scope="module")
def walk():
    return walk_frames(FRAMES, WIDTH, HEIGHT)


def test_true_correspondences_register_every_frame_on_the_true_path(walk, capfd):
    rgb, depth, poses, K = walk
    matcher = TrueCorrespondences(depth, poses, K)
    result = sfm.run_sfm(list(rgb), matcher=matcher)
    assert matcher.calls == [match_pairs(FRAMES, exhaustive_up_to=48, overlap=12)]  # all pairs, once
    assert result.matcher == "ground-truth"
    assert result.n_registered == FRAMES and not result.posed_by_pnp.any()
    assert result.quality.reprojection_px < 0.5
    s, R, t = sfm.similarity_align(result.pose[:, :3, 3], poses[:, :3, 3])
    est = s * result.pose[:, :3, 3] @ R.T + t
    path = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1).sum()
    assert np.sqrt(np.mean(np.sum((est - poses[:, :3, 3]) ** 2, axis=1))) < 0.02 * path
    # Keypoints went in with OpenCV's pixel centres; COLMAP's are half a pixel on: the principal
    # point comes back at COLMAP's image centre and the focal length at the renderer's.
    assert result.K[0, 2] == pytest.approx(WIDTH / 2) and result.focal == pytest.approx(K[0, 0], rel=0.03)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_random_matches_are_refused_with_a_perception_error_and_print_nothing(walk, capfd):
    rgb, *_ = walk
    with pytest.raises(PerceptionError, match="registered"):
        sfm.run_sfm(list(rgb[:6]), matcher=RandomMatches())
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_sift_stays_the_default_and_says_so(walk):
    rgb, *_ = walk
    assert sfm.run_sfm(list(rgb[:6]), min_registered=2).matcher == "sift"


def test_matches_out_of_range_or_reusing_a_keypoint_are_dropped():
    keypoints = [np.zeros((3, 2)), np.zeros((2, 2))]
    rows = np.array([[0, 0], [1, 5], [-1, 0], [2, 0], [1, 1], [1, 0]])
    checked = checked_matches(MatchedFeatures(keypoints, {(0, 1): rows, (0, 2): np.zeros((0, 2))}), 2)
    assert checked.matches[(0, 1)].tolist() == [[0, 0], [1, 1]]
    assert checked.matches[(0, 1)].dtype == np.uint32 and checked.keypoints[0].dtype == np.float32
    assert (0, 2) not in checked.matches


def test_a_matcher_that_skips_a_frame_is_a_perception_error():
    with pytest.raises(PerceptionError, match="keypoints for 1 of 2 frames"):
        checked_matches(MatchedFeatures([np.zeros((3, 2))], {}), 2)
    with pytest.raises(PerceptionError, match="shape"):
        checked_matches(MatchedFeatures([np.zeros((3, 3)), np.zeros((3, 2))], {}), 2)


def test_long_sequences_match_neighbours_and_quadratic_steps():
    pairs = match_pairs(100, exhaustive_up_to=48, overlap=3)
    assert (10, 11) in pairs and (10, 13) in pairs and (10, 14) in pairs and (10, 15) not in pairs
    assert all(i < j for i, j in pairs) and len(pairs) == len(set(pairs))
