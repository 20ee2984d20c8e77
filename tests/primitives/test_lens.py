"""Radial lens distortion: pixels ↔ rays, the inverse of the radial polynomial, the pinhole fast path."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives import lens, math3d

K = np.array([[300.0, 0.0, 161.0], [0.0, 300.0, 118.0], [0.0, 0.0, 1.0]])
HW = (240, 320)


def _rays(k1: float, k2: float = 0.0, n: int = 4000) -> np.ndarray:
    """(n, 2) normalised rays spread over a disc out to 90% of the lens's fold (at most a 100° diagonal view)."""
    fold = min(lens.fold_radius(np.array([k1, k2])), 1.3)
    rng = np.random.default_rng(0)
    angle, radius = rng.uniform(0, 2 * np.pi, n), 0.9 * fold * np.sqrt(rng.uniform(0, 1, n))
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)]


@pytest.mark.parametrize("k", [(-0.5, 0.0), (-0.2, 0.0), (-0.12, 0.02), (0.3, 0.0), (0.5, -0.05)])
def test_undistort_inverts_distort_to_a_millionth(k):
    rays = _rays(*k)
    seen = lens.distort(rays, np.array(k))
    assert np.abs(seen - rays).max() > 0.02  # the lens moves them ...
    assert np.abs(lens.undistort(seen, np.array(k)) - rays).max() < 1e-6  # ... and undistorting brings them back
    assert np.abs(lens.distort(lens.undistort(seen, np.array(k)), np.array(k)) - seen).max() < 1e-9


def test_opencv_agrees_with_the_radial_model():
    import cv2

    xd = lens.distort(_rays(-0.2, 0.03, 200), np.array([-0.2, 0.03]))
    pixels = xd * 300.0 + K[:2, 2]
    theirs = cv2.undistortPoints(pixels.reshape(-1, 1, 2), K, np.array([-0.2, 0.03, 0.0, 0.0]),
                                 criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)).reshape(-1, 2)
    assert np.abs(lens.pixel_rays(pixels, K, np.array([-0.2, 0.03])) - theirs).max() < 1e-6


def test_project_of_points_is_the_pixel_they_came_from():
    v, u = np.mgrid[0 : HW[0] : 7, 0 : HW[1] : 7]
    depth = np.zeros(HW)
    depth[v, u] = 1.0 + 0.01 * u + 0.02 * v
    pose = np.eye(4)
    pose[:3, 3] = [0.5, -1.0, 2.0]
    distortion = np.array([-0.2, 0.0])
    points = math3d.backproject(depth, K, pose, distortion=distortion)
    uv, z = math3d.project(points, K, pose, distortion)
    assert np.abs(uv - np.c_[u.ravel(), v.ravel()]).max() < 1e-6
    assert np.allclose(z, depth[v, u].ravel())


def test_points_past_a_barrel_lens_fold_have_no_pixel():
    distortion = np.array([-0.5, 0.0])
    fold = lens.fold_radius(distortion)
    assert fold == pytest.approx(np.sqrt(1 / 1.5))
    uv, _ = math3d.project(np.array([[0.5 * fold, 0, 1.0], [1.5 * fold, 0, 1.0]]), K, np.eye(4), distortion)
    assert np.isfinite(uv[0]).all() and np.isnan(uv[1]).all()  # the polynomial would fold it back into the image


def test_a_pinhole_lens_is_the_plain_formula_bit_for_bit():
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.5, 4.0, HW).astype(np.float32)
    pose = np.eye(4)
    pose[:3, 3] = [1.0, 2.0, 0.5]
    plain = math3d.backproject(depth, K, pose)
    for none in (None, np.zeros(2), np.zeros(1), np.zeros(0)):
        assert lens.radial_terms(none) is None
        assert np.array_equal(math3d.backproject(depth, K, pose, distortion=none), plain)
        assert np.array_equal(math3d.project(plain, K, pose, none)[0], math3d.project(plain, K, pose)[0])
    v, u = np.indices(HW, dtype=np.float64)
    expected = np.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], -1)
    assert np.array_equal(lens.camera_points(depth, K), expected)


def test_bad_coefficients_are_refused():
    with pytest.raises(ValueError, match="radial distortion"):
        lens.radial_terms(np.array([0.1, 0.0, 0.01]))
    with pytest.raises(ValueError, match="radial distortion"):
        lens.radial_terms(np.array([np.nan]))
