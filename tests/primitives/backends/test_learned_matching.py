"""SuperPoint + LightGlue (`learned.matching`) on a tiny random checkpoint, and its hook into SfM.

The checkpoint is built from a small config and saved under its Hub id in a Hugging Face cache
layout, so the adapter loads it through the real offline path. Random weights match nothing
real: those tests check the plumbing (shapes, dtypes, pixels, the database, the honest failure).
With true correspondences standing in for the model, the learned hook registers the frames.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.errors import PerceptionError  # noqa: E402
from spatialclaw.inputs.frame import Frame  # noqa: E402
from spatialclaw.primitives.backends import learned  # noqa: E402
from spatialclaw.primitives.backends.classical import sfm, sfm_colmap  # noqa: E402
from spatialclaw.primitives.backends.learned import matching, reconstruction  # noqa: E402
from spatialclaw.primitives.backends.learned.backend import LearnedBackend  # noqa: E402
from spatialclaw.primitives.context import KernelContext  # noqa: E402
from spatialclaw.testing import tiny_models  # noqa: E402

from offline_models import no_network, one_torch_thread  # noqa: E402,F401  (autouse fixtures)
from true_matches import TrueCorrespondences, walk_frames  # noqa: E402

LIGHTGLUE = "ETH-CVG/lightglue_superpoint"
WIDTH, HEIGHT = 256, 192


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face cache holding the tiny LightGlue (with its SuperPoint) under the default id."""
    root = tmp_path_factory.mktemp("hub")
    tiny_models.write_hf_cache(root, {LIGHTGLUE: tiny_models.lightglue})
    return root


@pytest.fixture()
def cache(hub: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


@pytest.fixture(scope="module")
def walk():
    return walk_frames(8, WIDTH, HEIGHT)


def test_the_default_checkpoint_loads_from_the_cache_with_its_superpoint(cache):
    adapter = learned.load_adapter("match", max_keypoints=200)
    assert isinstance(adapter, matching.KeypointMatcher) and adapter.model_id == LIGHTGLUE
    assert adapter.device == "cpu" and adapter.name == "superpoint+lightglue"
    assert learned.find_default_model("match") == LIGHTGLUE
    assert adapter.max_keypoints == 200 and learned.load_adapter("match").max_keypoints == 128  # the checkpoint's limit


def _rows(points: np.ndarray) -> np.ndarray:
    return points[np.lexsort(points.T[::-1])]


def test_keypoints_are_in_frame_pixels_with_unit_descriptors_and_repeat_exactly(cache, walk):
    rgb, *_ = walk
    adapter = learned.load_adapter("match", max_keypoints=150, batch_size=3)
    frames = [rgb[k][:190, :250] for k in range(4)]  # sides that are not multiples of 8
    found = adapter.keypoints(frames)
    assert len(found) == 4
    for f in found:
        assert f.keypoints.dtype == np.float32 and f.keypoints.shape == (150, 2)
        assert f.descriptors.dtype == np.float32 and f.descriptors.shape == (150, 32)
        assert f.scores.shape == (150,) and f.image_size == (190, 250)
        assert (f.keypoints >= -0.5).all() and (f.keypoints[:, 0] <= 249.5).all() and (f.keypoints[:, 1] <= 189.5).all()
        assert np.allclose(np.linalg.norm(f.descriptors, axis=1), 1.0, atol=1e-4)
    again = adapter.keypoints(frames)
    for a, b in zip(found, again):
        assert np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.descriptors, b.descriptors)
    alone = adapter.keypoints(frames[2:3])[0]  # a frame's keypoints do not depend on its batch (their order may)
    assert np.array_equal(_rows(alone.keypoints), _rows(found[2].keypoints))


def test_model_keypoints_map_back_to_the_frame_pixel_centres(cache):
    adapter = learned.load_adapter("match")
    outputs = SimpleNamespace(
        keypoints=torch.tensor([[[0.0, 0.0], [10 / 128, 20 / 96]]]), mask=torch.tensor([[1, 1]]),
        scores=torch.tensor([[0.5, 0.25]]), descriptors=torch.zeros(1, 2, 4),
    )
    inputs = {"image_size": (192, 256), "input_size": (96, 128)}  # the frame shrunk by 2
    (result,) = adapter.postprocess(outputs, inputs)
    assert result.keypoints.tolist() == [[0.5, 0.5], [20.5, 40.5]]  # pixel (10, 20) covers (20..21, 40..41)


def test_matches_index_the_keypoints_of_each_pair_and_repeat_exactly(cache, walk):
    rgb, *_ = walk
    adapter = learned.load_adapter("match", max_keypoints=120)
    images = list(rgb[:4])
    pairs = [(0, 1), (1, 2), (0, 3)]
    found = adapter(images, pairs)
    assert [k.shape for k in found.keypoints] == [(120, 2)] * 4
    assert found.matches, "the tiny model keeps every match LightGlue proposes"
    for (i, j), rows in found.matches.items():
        assert (i, j) in pairs and rows.dtype == np.int64 and rows.shape[1] == 2
        assert (rows[:, 0] < 120).all() and (rows[:, 1] < 120).all() and (rows >= 0).all()
    again = adapter(images, pairs)
    assert found.matches.keys() == again.matches.keys()
    assert all(np.array_equal(found.matches[p], again.matches[p]) for p in found.matches)
    empty = matching.FrameKeypoints(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros((0, 32), np.float32), (HEIGHT, WIDTH))
    none = adapter.match([*adapter.keypoints(images[:1]), empty], [(0, 1)])
    assert none[0].matches.shape == (0, 2)  # a frame without keypoints matches nothing, without a model call
    with pytest.raises(ValueError, match="outside"):
        adapter.match(adapter.keypoints(images[:1]), [(0, 1)])


def test_random_weights_fill_the_database_and_fail_sfm_honestly(cache, walk, tmp_path, capfd):
    import pycolmap

    rgb, *_ = walk
    adapter = learned.load_adapter("match", max_keypoints=200)
    db, _, names = sfm_colmap.build_database(list(rgb[:5]), tmp_path, max_features=200, seed=0, matcher=adapter)
    database = pycolmap.Database.open(str(db))
    try:
        assert database.num_images() == 5 and database.num_keypoints() == 5 * 200
        assert database.num_matched_image_pairs() == 10  # all pairs: the tiny model keeps every match
        assert database.num_verified_image_pairs() <= 10  # verified by COLMAP (random matches mostly fail)
    finally:
        database.close()
    with pytest.raises(PerceptionError, match="registered"):
        sfm.run_sfm(list(rgb), matcher=adapter)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def _context(rgb: np.ndarray) -> KernelContext:
    frames = [Frame(i, i / 10.0, rgb[i]) for i in range(len(rgb))]
    return KernelContext(frames=frames, source_kind="images", options={"camera_height": 1.4})


@pytest.mark.slow
def test_learned_backend_falls_back_to_sift_with_a_warning_when_its_matches_fail(cache, walk):
    rgb, *_ = walk
    context = _context(rgb)
    assert LearnedBackend().checkpoints("reconstruction", context).get("match") == LIGHTGLUE
    result = reconstruction.classical_poses(context.frames, context)
    assert result.info["sfm"]["matcher"] == "sift"
    assert any("superpoint+lightglue" in w and "SIFT" in w for w in result.quality.warnings)
    assert context.loaded["learned"].loads == {LIGHTGLUE: 1}


@pytest.mark.slow
def test_learned_hook_registers_the_walk_with_true_correspondences_standing_in(walk, monkeypatch):
    rgb, depth, poses, K = walk
    stand_in = TrueCorrespondences(depth, poses, K)
    monkeypatch.setattr(reconstruction, "chosen_model", lambda task, ctx: LIGHTGLUE)
    monkeypatch.setattr(reconstruction, "adapter_for", lambda task, ctx: stand_in)
    context = _context(rgb)
    result = reconstruction.classical_poses(context.frames, context)
    assert stand_in.calls, "the hook asked the learned matcher"
    assert result.info["sfm"]["matcher"] == "ground-truth"
    assert result.valid.all() and not any("SIFT" in w for w in result.quality.warnings)


def _reconstruction(registered: int, total: int = 8, matcher: str = "sift"):
    from spatialclaw.primitives.quality import ReconstructionQuality
    from spatialclaw.primitives.types import Reconstruction

    quality = ReconstructionQuality(registered, total, "floor+camera-height")
    depth, pose, K = np.ones((total, 6, 8), np.float32), np.tile(np.eye(4), (total, 1, 1)), np.tile(np.eye(3), (total, 1, 1))
    return Reconstruction(depth, pose, K, backend="classical", info={"sfm": {"matcher": matcher}}, quality=quality)


@pytest.fixture()
def sfm_outcomes(monkeypatch: pytest.MonkeyPatch):
    """Stand in for the classical reconstruction: registrations (or a failure) per matcher; the calls made."""
    from spatialclaw.primitives.backends import classical

    outcomes: dict[str, int | None] = {}
    calls: list[str] = []

    def reconstruct(frames, context, *, matcher=None, prior_fov_deg=None):  # noqa: ANN001, ANN202
        name = "sift" if matcher is None else "learned"
        calls.append(name)
        if outcomes[name] is None:
            raise PerceptionError(f"only 1 of 8 frames could be registered ({name})")
        return _reconstruction(outcomes[name], matcher=name)

    monkeypatch.setattr(classical, "reconstruct", reconstruct)
    monkeypatch.setattr(reconstruction, "chosen_model", lambda task, ctx: LIGHTGLUE)
    monkeypatch.setattr(reconstruction, "adapter_for", lambda task, ctx: SimpleNamespace(name="superpoint+lightglue"))
    return outcomes, calls


@pytest.mark.parametrize(("learned_n", "sift_n", "kept", "calls"), [
    (8, 8, "learned", ["learned"]),  # every frame registered: SIFT never runs
    (6, 5, "learned", ["learned", "sift"]),
    (6, 6, "learned", ["learned", "sift"]),
    (5, 7, "sift", ["learned", "sift"]),
    (None, 4, "sift", ["learned", "sift"]),
    (5, None, "learned", ["learned", "sift"]),
])
def test_the_matcher_that_registers_more_frames_is_kept(sfm_outcomes, learned_n, sift_n, kept, calls):
    outcomes, made = sfm_outcomes
    outcomes.update(learned=learned_n, sift=sift_n)
    frames = [Frame(i, i / 10.0, np.zeros((6, 8, 3), np.uint8)) for i in range(8)]
    result = reconstruction.classical_poses(frames, KernelContext(frames=frames))
    assert result.info["sfm"]["matcher"] == kept and made == calls
    warned = [w for w in result.quality.warnings if "superpoint+lightglue" in w]
    assert len(warned) == (kept == "sift")
    if kept == "sift":
        assert f"SIFT features registered {sift_n}" in warned[0]
    if len(calls) == 2 and sift_n is not None:
        assert result.info["matchers_registered"] == {"superpoint+lightglue": learned_n or 0, "sift": sift_n}


def test_when_both_matchers_fail_the_sift_error_is_raised(sfm_outcomes):
    outcomes, _ = sfm_outcomes
    outcomes.update(learned=None, sift=None)
    frames = [Frame(i, i / 10.0, np.zeros((6, 8, 3), np.uint8)) for i in range(8)]
    with pytest.raises(PerceptionError, match=r"\(sift\)"):
        reconstruction.classical_poses(frames, KernelContext(frames=frames))
