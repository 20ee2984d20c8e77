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
