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
from spatialclaw.primitives.backends.learned.reconstruction import DepthPrediction, align_depth, prior_fov_deg
from spatialclaw.primitives.context import KernelContext




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

    def classical_stand_in(frames_, ctx, **options):  # exact poses, stereo-like sparse depth
        r = gt.reconstruct(frames_, dataclasses.replace(ctx, source_kind="rgbd", source_path=root))
        sparse = np.stack([_sparse(d, 0.1, seed=k) for k, d in enumerate(r.depth)])
        return dataclasses.replace(r, depth=sparse, backend="classical", info={"note": "stand-in"})

    def model_stand_in(frames_, ctx):  # metric depth at half resolution, 30% too far
        return DepthPrediction([1.3 * exact[f.index][::2, ::2] for f in frames_], True, [None] * len(frames_))

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
    monkeypatch.setattr(classical, "reconstruct", lambda frames, ctx, **options: base)
    monkeypatch.setattr(learned_reconstruction, "estimate_depth",
                        lambda frames, ctx: DepthPrediction(list(truth) if metric else [1.0 / d for d in truth], metric, [None] * 4))
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


@pytest.mark.parametrize("metric", [True, False])
def test_the_classical_depth_warning_goes_with_the_classical_depth(monkeypatch, metric):
    """The learned depth is the model's at every pixel: the warning that the classical depth was
    mostly filled in (`gates.unmeasured_depth`) no longer applies; the other warnings stay."""
    from spatialclaw.primitives.backends.classical import gates
    from spatialclaw.primitives.backends.learned import reconstruction as learned_reconstruction

    unmeasured = gates.unmeasured_depth(0.1, view_agreement=0.7).message
    base, exact = _classical_reconstruction(4, "floor+camera-height", ["only 4 of 5 frames were registered", unmeasured])
    assert base.quality.warnings[1] == unmeasured
    monkeypatch.setattr(classical, "reconstruct", lambda frames, ctx, **options: base)
    monkeypatch.setattr(learned_reconstruction, "estimate_depth",
                        lambda frames, ctx: DepthPrediction(list(exact) if metric else [1.0 / d for d in exact], metric, [None] * 4))
    frames = [Frame(i, i / 10, np.zeros((60, 80, 3), np.uint8)) for i in range(4)]
    q = learned_reconstruction.reconstruct(frames, KernelContext(frames=frames)).quality
    assert unmeasured not in q.warnings and "only 4 of 5 frames were registered" in q.warnings


def test_learned_depth_keeps_the_classical_lens_it_was_aligned_on(monkeypatch):
    """The depth model sees the frames as they are (distorted), and its depth is aligned to the
    classical depth of those pixels: the reconstruction keeps the classical lens."""
    from spatialclaw.primitives.backends.learned import reconstruction as learned_reconstruction
    from spatialclaw.primitives.types import Reconstruction

    plain, exact = _classical_reconstruction(4, "floor+camera-height", [])
    lens = np.tile([-0.15, 0.01], (4, 1))
    base = Reconstruction(plain.depth, plain.pose, plain.K, backend="classical", quality=plain.quality, distortion=lens)
    monkeypatch.setattr(classical, "reconstruct", lambda frames, ctx, **options: base)
    monkeypatch.setattr(learned_reconstruction, "estimate_depth", lambda frames, ctx: DepthPrediction(list(exact), True, [None] * 4))
    frames = [Frame(i, i / 10, np.zeros((60, 80, 3), np.uint8)) for i in range(4)]
    r = learned_reconstruction.reconstruct(frames, KernelContext(frames=frames))
    assert np.array_equal(r.distortion, lens)


# --- the depth model's focal length (Depth Pro) as structure-from-motion's prior and check ---------


def test_a_plausible_model_focal_becomes_a_field_of_view_prior():
    assert prior_fov_deg(320.0, 640, 480) == pytest.approx(90.0)
    assert prior_fov_deg(320.0, 480, 640) == pytest.approx(90.0)  # across the longer side
    assert prior_fov_deg(None, 640, 480) is None
    assert prior_fov_deg(5000.0, 640, 480) is None  # a 7° field of view: not believed
    assert DepthPrediction([], True, [None, 510.0, 490.0, 530.0]).focal_px == pytest.approx(510.0)
    assert DepthPrediction([], True, [None, None]).focal_px is None


def _with_focal_run(monkeypatch, *, sfm_focal: float, refined: bool, model_focals: list, warnings: list[str]):
    """The learned reconstruction over a stand-in SfM whose focal is ``sfm_focal`` (refined or
    kept at its prior) and a stand-in Depth Pro giving ``model_focals``; what SfM was asked."""
    from spatialclaw.primitives.backends.learned import reconstruction as learned_reconstruction

    base, exact = _classical_reconstruction(4, "floor+camera-height", warnings)
    base.K[:, 0, 0] = base.K[:, 1, 1] = sfm_focal
    base.info = {"sfm": {"focal_refined": refined}}
    asked: dict = {}

    def classical_stand_in(frames, ctx, **options):
        asked.update(options)
        return base

    monkeypatch.setattr(classical, "reconstruct", classical_stand_in)
    monkeypatch.setattr(learned_reconstruction, "estimate_depth", lambda frames, ctx: DepthPrediction(list(exact), True, model_focals))
    frames = [Frame(i, i / 10, np.zeros((60, 80, 3), np.uint8)) for i in range(4)]
    return learned_reconstruction.reconstruct(frames, KernelContext(frames=frames)), asked


def test_depth_pro_focal_is_the_sfm_prior(monkeypatch):
    r, asked = _with_focal_run(monkeypatch, sfm_focal=50.0, refined=True, model_focals=[48.0, 52.0, 50.0, 50.0], warnings=[])
    assert asked["prior_fov_deg"] == pytest.approx(np.degrees(2 * np.arctan(40.0 / 50.0)))
    assert r.info["depth_model_focal_px"] == pytest.approx(50.0)
    assert not [w for w in r.quality.warnings if "focal" in w]  # they agree


def test_without_a_model_focal_sfm_keeps_its_own_prior(monkeypatch):
    r, asked = _with_focal_run(monkeypatch, sfm_focal=70.0, refined=True, model_focals=[None] * 4, warnings=[])
    assert asked["prior_fov_deg"] is None and r.info["sfm_prior_fov_deg"] is None


def test_sfm_focal_far_from_the_model_focal_is_a_warning(monkeypatch):
    r, _ = _with_focal_run(monkeypatch, sfm_focal=70.0, refined=True, model_focals=[50.0] * 4, warnings=[])
    (warning,) = [w for w in r.quality.warnings if "focal" in w]
    assert "70 px" in warning and "50 px" in warning and "40%" in warning
    near, _ = _with_focal_run(monkeypatch, sfm_focal=60.0, refined=True, model_focals=[50.0] * 4, warnings=[])
    assert not [w for w in near.quality.warnings if "focal" in w]  # 20 %: within the tolerance


def test_a_kept_model_prior_is_not_called_a_60_degree_guess(monkeypatch):
    from spatialclaw.primitives.backends.classical import gates

    assumed = gates.assumed_focal(False).message
    r, _ = _with_focal_run(monkeypatch, sfm_focal=50.0, refined=False, model_focals=[50.0] * 4, warnings=[assumed])
    assert assumed not in r.quality.warnings
    assert any("the depth model's estimate is used (50 px" in w for w in r.quality.warnings)
    guess, _ = _with_focal_run(monkeypatch, sfm_focal=69.3, refined=False, model_focals=[None] * 4, warnings=[assumed])
    assert assumed in guess.quality.warnings  # no model focal: the 60° prior it is
    earlier, _ = _with_focal_run(monkeypatch, sfm_focal=42.0, refined=False, model_focals=[50.0] * 4, warnings=[assumed])
    assert not [w for w in earlier.quality.warnings if "focal" in w]  # an earlier attempt measured it: 16 % off, no claim


@pytest.mark.slow
@pytest.mark.timeout(1200)  # one real SfM + stereo run: a minute or more on a busy 2-core machine
def test_depth_pro_focal_reaches_the_real_sfm_of_a_wide_room(tmp_path, monkeypatch):
    """An 80° room (the 60° prior is 30 % off): the rendered depth and focal length stand in for
    Depth Pro (its focal 3 % long); the real structure-from-motion starts from that focal."""
    from spatialclaw.synth import generate_scene, render_scene

    scene = generate_scene(11)
    rendering = render_scene(scene, 12, 320, 240, hfov_deg=80.0)
    true_focal = float(rendering.K[0, 0])
    frames = [Frame(i, i / 10.0, rendering.rgb[i]) for i in range(len(rendering))]
    monkeypatch.setattr(learned.reconstruction, "estimate_depth", lambda frames_, ctx: DepthPrediction(
        [rendering.depth[f.index] for f in frames_], True, [1.03 * true_focal] * len(frames_)))
    context = KernelContext(frames=frames, source_kind="images", cache_dir=tmp_path / "cache",
                            options={"camera_height": scene.path.height})
    r = learned.reconstruction.reconstruct(frames, context)
    assert r.info["sfm_prior_fov_deg"] == pytest.approx(np.degrees(2 * np.arctan(160.0 / (1.03 * true_focal))))
    assert r.quality.scale_source == "metric-depth"
    assert r.K[0, 0, 0] == pytest.approx(true_focal, rel=0.06)
    assert not [w for w in r.quality.warnings if "60°" in w]
