"""Stereo on frames from a lens with radial distortion: the depth stages undistort, then put depth back on the frames' pixels."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives.backends.classical import pipeline, sfm, sfm_quality, undistort

K1 = -0.2
"""Barrel distortion of a wide webcam lens: the image corners move ~10% towards the centre."""


def test_resampling_round_trips_and_a_pinhole_camera_is_left_alone():
    K = np.array([[280.0, 0.0, 160.0], [0.0, 280.0, 120.0], [0.0, 0.0, 1.0]])
    lens = undistort.undistortion(K, np.array([K1]), (240, 320))
    uv = np.array([[10.0, 12.0], [300.0, 220.0], [160.0, 120.0]])
    pinhole = lens.points(uv)
    assert np.linalg.norm(pinhole[0] - uv[0]) > 10.0  # a corner moves outwards on the pinhole camera ...
    assert np.allclose(pinhole[2], uv[2], atol=1e-6)  # ... the centre does not
    back = lens.pinhole_from_frame[np.round(uv[:2, 1]).astype(int), np.round(uv[:2, 0]).astype(int)]
    assert np.allclose(back, pinhole[:2], atol=0.05)
    depth = np.full((240, 320), 2.0, np.float32)
    depth[:, 200:] = 5.0
    on_frame = lens.depth_to_frame(depth)
    assert set(np.unique(on_frame[np.isfinite(on_frame)])) <= {2.0, 5.0}  # never blended across an edge
    assert undistort.undistortion(K, np.array([0.0]), (240, 320)) is None
    assert undistort.undistortion(K, np.zeros(0), (240, 320)) is None


def _distorted_room(n: int, hw: tuple[int, int]):
    """A rendered walk seen through a lens with `K1`: frames, true depth on the frames' pixels, the true SfM."""
    import cv2

    from spatialclaw.synth import generate_scene, render_scene

    rendering = render_scene(generate_scene(2), n, hw[1], hw[0])
    K = rendering.K.astype(np.float64)
    lens = undistort.undistortion(K, np.array([K1]), hw)
    maps = lens.pinhole_from_frame
    images = [cv2.remap(im, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR) for im in rendering.rgb]
    truth = np.stack([lens.depth_to_frame(d) for d in rendering.depth])
    return images, truth, _true_sfm(rendering, K, lens)


def _true_sfm(rendering, K: np.ndarray, lens: undistort.Undistortion) -> sfm.SfmResult:
    """The structure-from-motion a perfect mapper would return: true poses, camera and sparse points."""
    import cv2

    n, h, w = rendering.depth.shape
    v, u = np.mgrid[8:h:16, 8:w:16]
    observations, points = [], []
    for i in range(n):
        z = rendering.depth[i][v, u].ravel()
        rays = np.column_stack([u.ravel(), v.ravel(), np.ones(u.size)]) @ np.linalg.inv(K).T
        cam = rays[z > 0] * z[z > 0, None]
        world = cam @ rendering.poses[i][:3, :3].T + rendering.poses[i][:3, 3]
        seen, _ = cv2.projectPoints(cam, np.zeros(3), np.zeros(3), K, lens.coefficients)
        start = sum(len(p) for p in points)
        points.append(world)
        observations.append((seen.reshape(-1, 2), np.arange(start, start + len(cam))))
    quality = sfm_quality.score_attempt("truth", frames=n, registered=n, rejected=0, reprojection_px=0.0, observations=n * 200, fov=60.0)
    return sfm.SfmResult(
        K=K, camera_model="SIMPLE_RADIAL", distortion=np.array([K1]), pose=rendering.poses.astype(np.float64),
        registered=np.ones(n, bool), posed_by_pnp=np.zeros(n, bool), rejected=np.zeros(n, bool), image_error=np.zeros(n),
        points=np.concatenate(points), point_error=np.zeros(sum(len(p) for p in points)), observations=observations,
        focal_refined=True, quality=quality,
    )


def _good_fraction(result: pipeline.ClassicalResult, truth: np.ndarray) -> float:
    """Share of the frames' pixels whose measured depth (in the true poses' metres) is within 5% of the truth."""
    depth = result.depth / result.scale
    valid = np.isfinite(truth) & (truth > 0) & result.measured
    return float(np.mean(np.abs(depth[valid] - truth[valid]) / truth[valid] <= 0.05))


@pytest.mark.slow
@pytest.mark.timeout(600)  # stereo over 6 frames, twice
def test_depth_from_a_distorted_camera_improves_when_the_lens_is_undistorted():
    hw = (120, 160)
    images, truth, true_sfm = _distorted_room(6, hw)
    with_lens = pipeline.reconstruct_from_sfm(images, true_sfm, hw, depth_size=160)
    ignoring = pipeline.reconstruct_from_sfm(images, sfm.SfmResult(**{**true_sfm.__dict__, "distortion": np.zeros(1)}), hw, depth_size=160)
    assert _good_fraction(with_lens, truth) > 0.8
    assert _good_fraction(with_lens, truth) > _good_fraction(ignoring, truth) + 0.15


def _camera_points(recon, i: int, scale: float, distortion) -> np.ndarray:
    """Entry ``i``'s points (every pixel with depth) in its camera's frame, in the true poses' units."""
    from spatialclaw.primitives import math3d

    return math3d.backproject(recon.depth[i] / scale, recon.K[i], np.eye(4), distortion=distortion)


def test_the_classical_backend_carries_the_lens_so_its_points_land_on_the_scene(monkeypatch):
    """The backend's Reconstruction says the lens; where its depth is right (within 1%), its points
    near the image border land on the scene only with the lens applied."""
    import cv2

    from spatialclaw.inputs.frame import Frame
    from spatialclaw.primitives.backends import classical
    from spatialclaw.primitives.context import KernelContext

    hw = (120, 160)
    images, truth, true_sfm = _distorted_room(5, hw)
    result = pipeline.reconstruct_from_sfm(images, true_sfm, hw, depth_size=160)
    monkeypatch.setattr(pipeline, "reconstruct_images", lambda *args, **kwargs: result)  # the true SfM: no COLMAP here
    frames = [Frame(i, i / 10, im) for i, im in enumerate(images)]
    recon = classical.reconstruct(frames, KernelContext(frames=frames, source_kind="images", perception="reconstruction=classical"))
    assert recon.distortion.tolist() == [[K1, 0.0]] * len(frames)
    errors = {"lens": [], "pinhole": []}
    for i in range(len(frames)):
        v, u = np.nonzero(recon.depth[i] > 0)
        z = truth[i][v, u]
        rays = cv2.undistortPoints(np.c_[u, v].astype(np.float64).reshape(-1, 1, 2), recon.K[i], np.array([K1, 0, 0, 0.0])).reshape(-1, 2)
        true_points = np.c_[rays * z[:, None], z]
        right = np.abs(recon.depth[i][v, u] / result.scale - z) < 0.01 * z
        border = (np.hypot(u - hw[1] / 2, v - hw[0] / 2) > 0.35 * np.hypot(*hw)) & right
        for name, distortion in (("lens", recon.lens(i)), ("pinhole", None)):
            # the same depth, so the difference is the rays alone; relative to the depth
            err = np.linalg.norm(_camera_points(recon, i, result.scale, distortion) - true_points, axis=1) / z
            errors[name].append(err[border])
    lens, pinhole = (float(np.median(np.concatenate(e))) for e in (errors["lens"], errors["pinhole"]))
    assert lens < 0.01 and pinhole > 3 * lens, (lens, pinhole)
