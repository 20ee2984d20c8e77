"""Depth Anything 3 as the learned reconstruction: its output brought to the frames' pixels, put
in the metric, gravity-aligned world, scaled by a metric depth model; and the real package on a
randomly initialised model where depth-anything-3 is installed (an optional extra).

Without the package, a rendered room stands in for DA3's output: its exact depth and poses,
moved into the first camera's frame and shrunk to an arbitrary scale, as DA3 reports them.
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.backends.learned import da3, feedforward, reconstruction
from spatialclaw.primitives.backends.learned.base import read_model_type
from spatialclaw.primitives.backends.learned.reconstruction import DepthPrediction
from spatialclaw.primitives.context import KernelContext


DA3_SCALE = 0.37  # DA3's units per metre in the stand-in


def test_prediction_is_brought_to_the_frames_pixels():
    w2c = np.tile(np.eye(4)[:3], (2, 1, 1))
    w2c[1, :, 3] = [0.0, 0.0, -2.0]  # the second camera 2 units forward of the first
    prediction = SimpleNamespace(
        depth=np.full((2, 28, 42), 3.0, np.float32), conf=np.ones((2, 28, 42), np.float32), extrinsics=w2c,
        intrinsics=np.tile(np.array([[30.0, 0, 21], [0, 32.0, 14], [0, 0, 1]]), (2, 1, 1)),
    )
    geometry = da3.to_frame_pixels(prediction, 120, 160)
    assert geometry.depth.shape == geometry.confidence.shape == (2, 120, 160) and np.allclose(geometry.depth, 3.0)
    assert geometry.K[0] == pytest.approx(np.array([[30 * 160 / 42, 0, 21 * 160 / 42], [0, 32 * 120 / 28, 14 * 120 / 28], [0, 0, 1]]))
    assert np.allclose(geometry.pose[1][:3, 3], [0, 0, 2.0]) and np.allclose(geometry.pose[0], np.eye(4))


def test_a_da3_checkpoint_is_recognised_by_its_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_name": "da3-base"}))
    assert read_model_type(tmp_path) == da3.MODEL_TYPE


@pytest.fixture(scope="module")
def room():
    """A rendered walk (exact depth and poses) and DA3's view of it (first camera's frame, 0.37 units per metre)."""
    from spatialclaw.synth import generate_scene, render_scene

    scene = generate_scene(11)
    rendering = render_scene(scene, 8, 160, 120)
    first = np.linalg.inv(rendering.poses[0])
    pose = first @ rendering.poses
    pose[:, :3, 3] *= DA3_SCALE
    geometry = da3.ViewGeometry(
        depth=(rendering.depth * DA3_SCALE).astype(np.float32), confidence=np.ones_like(rendering.depth),
        pose=pose, K=np.tile(rendering.K, (len(pose), 1, 1)),
    )
    return rendering, geometry


def test_da3_geometry_is_levelled_and_scaled_by_the_floor(room):
    rendering, geometry = room
    heights = rendering.poses[:, 2, 3]
    r = feedforward.to_world(geometry, rendering.rgb, camera_height=float(np.median(heights)))
    assert r.quality.scale_source == "floor+camera-height" and feedforward.NETWORK_ONLY_TEXT in r.quality.warnings
    assert np.allclose(r.pose[:, 2, 3], heights, atol=0.03)  # camera heights above the floor, metres
    true_path = np.linalg.norm(np.diff(rendering.poses[:, :3, 3], axis=0), axis=1).sum()
    assert r.quality.path_m == pytest.approx(true_path, rel=0.02)
    known = rendering.depth > 0
    assert np.median(np.abs(r.depth[known] - rendering.depth[known]) / rendering.depth[known]) < 0.02
    tilt = (r.pose[:, :3, :3] @ np.array([0.0, -1.0, 0.0]))[:, 2]  # image-up against +z (the heading is free)
    assert np.allclose(tilt, (rendering.poses[:, :3, :3] @ np.array([0.0, -1.0, 0.0]))[:, 2], atol=0.02)


def test_frames_da3_is_unsure_of_are_named(room):
    rendering, geometry = room
    confidence = geometry.confidence.copy()
    confidence[3] = 0.1
    unsure = dataclasses.replace(geometry, confidence=confidence)
    r = feedforward.to_world(unsure, rendering.rgb, camera_height=1.5)
    assert any("unsure of the depth of frames [3]" in w for w in r.quality.warnings)


def test_a_metric_depth_model_sets_the_scale_of_da3s_world(room, monkeypatch):
    rendering, geometry = room
    base = feedforward.to_world(geometry, rendering.rgb, camera_height=1.0)  # a wrong height: the scale is off
    frames = [Frame(i, i / 10, rendering.rgb[i]) for i in range(len(rendering.rgb))]
    monkeypatch.setattr(feedforward, "ready", lambda ctx: True)
    monkeypatch.setattr(feedforward, "reconstruct", lambda frames_, ctx: base)
    monkeypatch.setattr(reconstruction, "missing_models", lambda tasks, ctx: None)
    monkeypatch.setattr(reconstruction, "estimate_depth", lambda frames_, ctx: DepthPrediction(
        list(rendering.depth), True, [float(rendering.K[0, 0])] * len(frames_)))
    r = reconstruction.reconstruct(frames, KernelContext(frames=frames))
    assert r.quality.scale_source == "metric-depth" and r.backend == "learned"
    known = rendering.depth > 0
    assert np.median(np.abs(r.depth[known] - rendering.depth[known]) / rendering.depth[known]) < 0.02
    assert np.allclose(r.pose[:, 2, 3], rendering.poses[:, 2, 3], atol=0.03)
    assert not [w for w in r.quality.warnings if "focal" in w]  # DA3's intrinsics agree with the model's


# --- the real package, on a randomly initialised model (skipped where it is not installed) -------


@pytest.fixture(scope="module")
def tiny_da3(tmp_path_factory):
    if not da3.package_available():
        pytest.skip("depth-anything-3 is not installed (an optional extra: see the README's Depth Anything 3 section)")
    from spatialclaw.testing.tiny_models import da3 as build_da3

    return build_da3(tmp_path_factory.mktemp("da3"))


@pytest.mark.slow
def test_da3_runs_on_a_random_model_through_its_save_and_load_path(tiny_da3, capfd):
    from spatialclaw.primitives.backends.learned.pool import ModelPool

    pool = ModelPool()
    reconstructor = pool.adapter("reconstruct", tiny_da3, device="cpu", process_resolution=140)
    assert pool.adapter("reconstruct", tiny_da3, device="cpu") is reconstructor and pool.loads == {str(tiny_da3): 1}
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (120, 150, 3), dtype=np.uint8) for _ in range(3)]
    geometry = reconstructor(images)
    assert geometry.depth.shape == geometry.confidence.shape == (3, 120, 150)
    assert geometry.pose.shape == (3, 4, 4) and geometry.K.shape == (3, 3, 3)
    raw = reconstructor._forward({"images": images})  # the package's own output, at its processing size
    h, w = raw.depth.shape[1:]
    assert np.allclose(geometry.K[:, 0, 0], raw.intrinsics[:, 0, 0] * 150 / w, rtol=1e-4)
    assert np.allclose(np.linalg.inv(geometry.pose)[:, :3], raw.extrinsics, atol=1e-4)
    assert np.isfinite(geometry.depth).all()
    assert "[INFO" not in capfd.readouterr().out  # its log lines stay out of the model's cell output


def test_da3_weights_without_the_package_are_listed_but_not_used(tmp_path, monkeypatch):
    if da3.package_available():
        pytest.skip("depth-anything-3 is installed here")
    from spatialclaw.primitives.backends.learned.catalogue import catalogue, default_models

    snapshot = tmp_path / "models--depth-anything--DA3-BASE" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_name": "da3-base"}))
    (snapshot / "model.safetensors").write_bytes(b"")
    (tmp_path / "models--depth-anything--DA3-BASE" / "refs").mkdir()
    (tmp_path / "models--depth-anything--DA3-BASE" / "refs" / "main").write_text("abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    (row,) = [r for r in catalogue(tmp_path) if r.model == "depth-anything/DA3-BASE"]
    assert row.path == str(snapshot) and not row.default
    assert "depth-anything/DA3-BASE" not in default_models()
    frames = [Frame(i, i / 10, np.zeros((8, 8, 3), np.uint8)) for i in range(4)]
    assert not feedforward.ready(KernelContext(frames=frames))
