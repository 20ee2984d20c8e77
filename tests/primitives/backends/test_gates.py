"""The reconstruction gates, each on a case made to trigger it and on one that must pass."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives.backends.classical import gates
from spatialclaw.primitives.backends.classical.parallax import PairMotion


def _motion(pairs, matches, moved, epipolar, planar) -> PairMotion:
    return PairMotion(np.array(pairs), np.array(matches), np.array(moved, float), np.array(epipolar), np.array(planar), 320)


def _walk(n: int = 16, step: float = 0.3) -> np.ndarray:
    """Camera centres of a smooth walk (metres, 1.5 m up), bending to the left."""
    t = np.arange(n) * step
    return np.column_stack([t, 0.05 * t**2, np.full(n, 1.5)])


def test_unrelated_frames_are_refused_and_a_video_passes():
    slideshow = _motion([[0, 1], [1, 2], [0, 2]], [3, 0, 5], [1, 1, 1], [0, 0, 0], [0, 0, 0])
    found = gates.unrelated_frames(slideshow)
    assert found is not None and found.refuse and "slideshow" in found.message
    video = _motion([[0, 1], [1, 2], [0, 2]], [300, 250, 5], [1, 1, 1], [200, 180, 0], [50, 40, 0])
    assert gates.unrelated_frames(video) is None


def test_no_parallax_refuses_a_flat_picture_warns_on_little_and_passes_a_room():
    pairs = [[0, 1], [0, 2], [1, 2]]
    flat = _motion(pairs, [200] * 3, [1] * 3, [150, 120, 140], [148, 115, 138])  # homography explains all
    found = gates.no_parallax(flat)
    assert found.refuse and "flat image transform" in found.message
    little = _motion(pairs, [200] * 3, [1] * 3, [150, 120, 140], [130, 100, 120])  # at most 17% off the plane
    found = gates.no_parallax(little)
    assert not found.refuse and found.scale_unknown
    room = _motion(pairs, [200] * 3, [1] * 3, [150, 120, 140], [90, 40, 130])
    assert gates.no_parallax(room) is None


def test_still_background_is_flagged():
    pairs = [[0, 1], [0, 4], [2, 8]]
    still = _motion(pairs, [100, 90, 80], [0.9, 0.2, 0.3], [80, 70, 60], [70, 60, 50])
    assert "stay still" in gates.still_background(still).message
    moving = _motion(pairs, [100, 90, 80], [1.0, 0.95, 1.0], [80, 70, 60], [40, 30, 20])
    assert gates.still_background(moving) is None


def test_a_model_without_points_is_refused():
    assert gates.sparse_model(0, 5).refuse  # COLMAP's 5 images and 0 points
    assert gates.sparse_model(60, 16).refuse  # under 8 points per registered frame
    assert gates.sparse_model(2000, 16) is None


def test_few_registered_frames_name_the_missing_ones():
    registered = np.array([True] * 5 + [False] * 3)
    found = gates.few_registered(registered)
    assert "[5, 6, 7]" in found.message and not found.refuse
    assert gates.few_registered(np.array([True] * 7 + [False])) is None


def test_reprojection_error_above_two_pixels_warns():
    assert "3.5 px" in gates.reprojection(3.5).message
    assert gates.reprojection(0.7) is None and gates.reprojection(None) is None


@pytest.mark.parametrize(
    ("focal", "verdict"), [(3469.0, "refuse"), (1000.0, "warn"), (25.0, "refuse"), (50.0, "warn"), (277.0, None)]
)
def test_implausible_focal_length(focal, verdict):
    found = gates.implausible_focal(focal, 320)  # 277 px at 320 wide is a 60° field of view
    if verdict is None:
        assert found is None
    else:
        assert found.refuse == (verdict == "refuse") and found.scale_unknown and "field of view" in found.message


def test_small_baseline_warns_then_refuses_and_a_walk_passes():
    still = np.zeros((10, 3)) + np.random.default_rng(0).normal(0, 0.001, (10, 3))
    assert gates.small_baseline(still, 3.0).refuse  # millimetres against 3 m
    shuffle = np.column_stack([np.linspace(0, 0.09, 10), np.zeros(10), np.zeros(10)])
    found = gates.small_baseline(shuffle, 3.0)
    assert not found.refuse and found.scale_unknown
    assert gates.small_baseline(_walk(), 3.0) is None


def test_implausible_speed_uses_the_frame_times():
    centres = _walk(16, step=0.3)
    assert gates.implausible_speed(centres, np.arange(16) * 1.0) is None  # 0.3 m/s
    found = gates.implausible_speed(centres * 20, np.arange(16) * 1.0)  # 6 m per second
    assert found.scale_unknown and "m/s" in found.message
    assert gates.implausible_speed(centres, np.zeros(16)) is None  # no clock: nothing to check


def test_a_path_joined_in_the_wrong_place_is_found():
    centres = _walk(16)
    positions = np.arange(16)
    assert gates.path_breaks(centres, positions, scene_depth=2.5) is None
    broken = centres.copy()
    broken[9:] += np.array([3.0, -2.0, 0.0])  # the second half placed 3.6 m off
    found = gates.path_breaks(broken, positions, scene_depth=2.5)
    assert "8→9" in found.message
    # A gap in the registered frames is not a jump: steps are compared per frame of gap.
    keep = np.r_[0:5, 11:16]
    assert gates.path_breaks(centres[keep], positions[keep], scene_depth=2.5) is None


def test_cameras_below_or_scattered_around_the_floor():
    assert gates.camera_heights(np.full(10, 1.5) + np.linspace(-0.1, 0.1, 10), True) is None
    below = np.r_[np.full(8, 1.5), -0.2, 0.0]
    assert "below the fitted floor" in gates.camera_heights(below, True).message
    scattered = np.linspace(0.4, 2.6, 10)
    assert "vary from" in gates.camera_heights(scattered, True).message
    assert gates.camera_heights(below, False) is None  # no floor: nothing to compare with


def test_a_weak_or_missing_floor_makes_the_scale_unknown():
    assert gates.weak_floor(0.9, 1.5) is None
    for confidence in (None, 0.3):
        found = gates.weak_floor(confidence, 1.5)
        assert found.scale_unknown and "scale is unknown" in found.message


def test_a_focal_length_left_at_the_prior_is_reported():
    assert "60° field of view is assumed" in gates.assumed_focal(False).message
    assert gates.assumed_focal(True) is None and gates.assumed_focal(None) is None


def test_frames_contradicted_by_their_neighbours_are_named():
    found = gates.contradicted_registrations([14, 12, 13])
    assert "[12, 13, 14]" in found.message and "r.valid" in found.message and not found.refuse
    assert gates.contradicted_registrations([]) is None


def test_an_assumed_camera_height_is_a_caveat_and_a_told_one_is_not():
    from spatialclaw.primitives.backends.classical import gates

    finding = gates.assumed_camera_height(1.5, given=False)
    assert finding is not None and not finding.scale_unknown and not finding.refuse
    assert "1.5 m" in finding.message and "25%" in finding.message  # at 1.2 m every length is 25 % long
    assert gates.is_assumed_height_warning(finding.message)
    assert not gates.is_assumed_height_warning(gates.weak_floor(None, 1.5).message)
    assert gates.assumed_camera_height(1.5, given=True) is None


def test_depth_measured_on_too_few_pixels_is_a_depth_warning():
    found = gates.unmeasured_depth(0.12, [], 16, 0.74)
    assert found is not None and not found.refuse and not found.scale_unknown
    assert "only 12% of the pixels;" in found.message and "agree with 74%" in found.message
    assert gates.is_unmeasured_depth_warning(found.message)
    assert "agree" not in gates.unmeasured_depth(0.12).message  # without the views' agreement, it is not claimed
    assert gates.unmeasured_depth(0.5) is None and gates.unmeasured_depth(0.5, view_agreement=0.9) is None
    assert gates.unmeasured_depth(None) is None and gates.unmeasured_depth(float("nan")) is None
    assert not gates.is_unmeasured_depth_warning(gates.weak_floor(None, 1.5).message)


def test_frames_without_depth_count_against_the_depth():
    """Measured on 30 % of all pixels: enough when every frame has depth, not when 3 of 16 have none."""
    assert gates.expected_right_depth(0.3, 1.0) > gates.MIN_RIGHT_DEPTH > gates.expected_right_depth(0.3, 13 / 16)
    assert gates.unmeasured_depth(0.3, [], 16) is None
    found = gates.unmeasured_depth(0.3, [9, 2, 5], 16)
    assert found is not None and "of the 16 frames, and frames [2, 5, 9] have none" in found.message
