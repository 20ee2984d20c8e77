"""The learned backend's reconstruction: classical poses + learned depth, aligned per frame.

No weights exist here, so the two halves are stood in for by functions with known answers
(exact depth sparsified as the classical reference; exact depth off by a scale as the model).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import spatialclaw.primitives as primitives
from spatialclaw.inputs import rgbd
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends
from spatialclaw.primitives.backends import classical, gt, learned
from spatialclaw.primitives.backends.learned.reconstruction import align_depth
from spatialclaw.primitives.context import KernelContext


pytestmark = pytest.mark.usefixtures("primitives_context")


def _depth_scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:60, 0:80]
    return (1.0 + 0.03 * x + 0.02 * y + 0.2 * np.sin(x / 7.0) + rng.uniform(0, 0.05, (60, 80))).astype(np.float32)


def _sparse(depth: np.ndarray, keep: float, seed: int = 1) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(depth.shape) < keep, depth, 0.0).astype(np.float32)


def test_metric_prediction_is_scaled_to_the_reference():
    true = _depth_scene()
    depth, fit = align_depth(0.7 * true, _sparse(true, 0.2), metric=True)
    assert fit["scale"] == pytest.approx(1 / 0.7, rel=1e-5)
    assert np.allclose(depth, true, rtol=1e-5)


def test_inverse_depth_prediction_gets_scale_and_shift_despite_outliers():
    true = _depth_scene()
    reference = _sparse(true, 0.3)
    outliers = np.random.default_rng(2).random(true.shape) < 0.03
    reference[outliers & (reference > 0)] *= 3.0  # wrong stereo matches
    depth, fit = align_depth(2.0 / true + 0.25, reference, metric=False)
    assert np.allclose(depth, true, rtol=1e-4)
    assert fit["scale"] == pytest.approx(0.5, rel=1e-4)


def test_prediction_at_another_resolution_is_resized_to_the_frame():
    true = _depth_scene()
    depth, _ = align_depth(np.full((30, 40), 2.0), _sparse(np.full_like(true, 3.0), 0.5), metric=True)
    assert depth.shape == true.shape and np.allclose(depth, 3.0)


def test_without_reference_depth_stays_unknown():
    depth, fit = align_depth(np.ones((60, 80)), np.zeros((60, 80)), metric=True)
    assert not depth.any() and fit["pixels"] == 0


@pytest.mark.slow
def test_learned_reconstruction_is_wired_into_the_primitives(tmp_path, monkeypatch):
    from spatialclaw.synth import make_test_scene

    root = make_test_scene(tmp_path, seed=1, frames=8, width=320, height=240)
    layout = rgbd.scan_rgbd(root)
    frames = [Frame(i, i / layout.fps, rgbd.read_color(root, i)) for i in layout.indices]
    exact = {f.index: rgbd.read_depth(root, f.index) for f in frames}

    def classical_stand_in(frames_, ctx):  # exact poses, stereo-like sparse depth
        r = gt.reconstruct(frames_, dataclasses.replace(ctx, source_kind="rgbd", source_path=root))
        sparse = np.stack([_sparse(d, 0.1, seed=k) for k, d in enumerate(r.depth)])
        return dataclasses.replace(r, depth=sparse, backend="classical", info={"note": "stand-in"})

    def model_stand_in(frames_, ctx):  # metric depth at half resolution, 30% too far
        return [1.3 * exact[f.index][::2, ::2] for f in frames_], True

    monkeypatch.setattr(classical, "reconstruct", classical_stand_in)
    monkeypatch.setattr(classical, "available", lambda family, ctx: None)
    monkeypatch.setattr(learned.reconstruction, "estimate_depth", model_stand_in)
    monkeypatch.setattr(learned.reconstruction, "missing_models", lambda tasks, ctx: None)

    video = KernelContext(frames=frames, source_kind="video", perception="auto", options={"cache": False})
    assert backends.choose(video)["reconstruction"]["backend"] == "learned"
    rgbd_auto = KernelContext(frames=frames, source_kind="rgbd", source_path=root, perception="auto")
    assert backends.choose(rgbd_auto)["reconstruction"]["backend"] == "gt"  # ground truth wins

    namespace: dict = {}
    info = primitives.install(namespace, video)
    assert info["backends"]["reconstruction"]["backend"] == "learned"
    r = namespace["reconstruct"]()
    assert r.backend == "learned" and r.info["depth_metric_model"] is True and r.valid.all()
    for k, f in enumerate(frames):
        known = exact[f.index] > 0
        rel = np.abs(r.depth[k][known] - exact[f.index][known]) / exact[f.index][known]
        assert np.median(rel) < 0.01


def _classical_reconstruction(n: int, scale_source: str, warnings: list[str]):
    from spatialclaw.primitives.quality import ReconstructionQuality
    from spatialclaw.primitives.types import Reconstruction

    depth = np.stack([_depth_scene(k) for k in range(n)])
    pose = np.tile(np.eye(4), (n, 1, 1))
    pose[:, 0, 3] = np.arange(n) * 0.2  # a 20 cm step per frame
    K = np.tile(np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]]), (n, 1, 1))
    quality = ReconstructionQuality(n, n, scale_source, warnings=warnings, path_m=0.2 * (n - 1))
    sparse = np.stack([_sparse(d, 0.2, k) for k, d in enumerate(depth)])
    return Reconstruction(sparse, pose, K, backend="classical", quality=quality), depth


@pytest.mark.parametrize(("scale_source", "metric", "expected"), [
    ("floor+camera-height", True, "metric-depth"),
    ("unknown", True, "metric-depth"),
    ("floor+camera-height", False, "floor+camera-height"),
    ("gt", True, "gt"),
])
def test_learned_quality_says_where_the_metres_come_from(monkeypatch, scale_source, metric, expected):
    from spatialclaw.primitives.backends.learned import reconstruction as learned_reconstruction

    base, exact = _classical_reconstruction(4, scale_source, ["only 4 of 5 frames were registered"])
    truth = 1.3 * exact  # the world is 30 % larger than the floor-based estimate
    monkeypatch.setattr(classical, "reconstruct", lambda frames, ctx: base)
    monkeypatch.setattr(learned_reconstruction, "estimate_depth",
                        lambda frames, ctx: (list(truth) if metric else [1.0 / d for d in truth], metric))
    frames = [Frame(i, i / 10, np.zeros((60, 80, 3), np.uint8)) for i in range(4)]
    r = learned_reconstruction.reconstruct(frames, KernelContext(frames=frames))
    q = r.quality
    assert q.scale_source == expected
    assert "only 4 of 5 frames were registered" in q.warnings  # SfM's gates still apply
    if expected == "metric-depth":
        assert np.allclose(r.pose[:, 0, 3], 1.3 * base.pose[:, 0, 3], rtol=0.01)  # the model's metres
        assert q.path_m == pytest.approx(1.3 * base.quality.path_m, rel=0.01)
        known = exact > 0
        assert np.median(np.abs(r.depth[known] - truth[known]) / truth[known]) < 0.01
        disagree = [w for w in q.warnings if "differs from the floor" in w]
        assert len(disagree) == (scale_source == "floor+camera-height")
    else:
        assert np.allclose(r.pose, base.pose)
