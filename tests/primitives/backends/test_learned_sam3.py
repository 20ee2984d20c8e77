"""SAM 3 (text-prompted instances) and SAM 3 video (identities across frames) on a tiny random model.

The checkpoint is a ``sam3_video`` one, laid out as ``facebook/sam3``, built from a config and
loaded through the adapters' real ``from_pretrained`` path. Random weights say nothing about
accuracy: the mapping checks feed hand-made model outputs with known answers.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.inputs.frame import Frame  # noqa: E402
from spatialclaw.primitives.backends import learned  # noqa: E402
from spatialclaw.primitives.backends.learned.sam3 import Sam3Segmenter  # noqa: E402
from spatialclaw.primitives.backends.learned.sam3_video import Sam3Video  # noqa: E402
from spatialclaw.primitives.context import KernelContext  # noqa: E402
from spatialclaw.primitives.types import Masks  # noqa: E402
from spatialclaw.testing import tiny_models  # noqa: E402

from offline_models import no_network, one_torch_thread  # noqa: E402,F401  (autouse fixtures)

H, W = 60, 80


def _frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="module")
def sam3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.sam3(tmp_path_factory.mktemp("sam3"))


@pytest.fixture(scope="module")
def sam3(sam3_dir: Path) -> Sam3Video:
    return learned.load_adapter("track", sam3_dir, device="cpu", batch_size=2)


def test_one_checkpoint_serves_segmentation_and_tracking(sam3_dir: Path) -> None:
    assert isinstance(learned.load_adapter("text_segment", sam3_dir, device="cpu"), Sam3Video)
    pool = learned.ModelPool()
    segmenter = pool.adapter("text_segment", sam3_dir, device="cpu")
    tracker = pool.adapter("track", sam3_dir, device="cpu")
    assert segmenter is tracker and pool.loads == {str(sam3_dir): 1}
    assert pool.served == {"text_segment": str(sam3_dir), "track": str(sam3_dir)}


def test_text_prompt_gives_instance_masks_per_frame(sam3: Sam3Video) -> None:
    frames = _frames(3)
    per_frame = sam3(frames, "red chair, table", threshold=0.5)
    assert len(per_frame) == 3
    for k, masks in enumerate(per_frame):
        assert isinstance(masks, Masks) and len(masks) > 0
        assert masks.masks.shape[1:] == (H, W) and masks.frame_ids.tolist() == [k] * len(masks)
        assert set(masks.labels.tolist()) == {"red chair", "table"}
        assert np.all(masks.scores > 0.5) and np.all(masks.scores <= 1.0)
        assert np.all(masks.boxes >= 0) and np.all(masks.boxes[:, [0, 2]] <= W) and np.all(masks.boxes[:, [1, 3]] <= H)
    alone = sam3(frames[1:2], "red chair, table", threshold=0.5)[0]  # batching does not change a frame's result
    np.testing.assert_array_equal(alone.masks, per_frame[1].masks)
    np.testing.assert_allclose(alone.scores, per_frame[1].scores, atol=1e-5)
    assert all(len(m) == 0 for m in sam3(frames, "chair", threshold=1.0))


def test_frames_are_prepared_as_sam3_processor_does(sam3: Sam3Video) -> None:
    inputs = sam3.preprocess([np.full((H, W, 3), 255, np.uint8)], [0], phrases=["chair"])
    side = tiny_models.SAM3_SIDE
    assert inputs["pixel_values"].shape == (1, 3, side, side)
    np.testing.assert_allclose(inputs["pixel_values"][0, :, 3, 3].numpy(), [1.0, 1.0, 1.0])  # (1 - 0.5) / 0.5
    assert inputs["input_ids"].shape == (1, 32)


def test_postprocess_scores_masks_and_boxes_map_to_frame_pixels(sam3: Sam3Video) -> None:
    # query 0: presence-weighted score 0.9 * 0.8, mask = left half, box = left half
    logits = torch.tensor([[np.log(0.9 / 0.1), -5.0]])
    presence = torch.tensor([[np.log(0.8 / 0.2)]])
    masks = torch.full((1, 2, 16, 16), -10.0)
    masks[0, 0, :, :8] = 10.0
    boxes = torch.tensor([[[0.0, 0.0, 0.5, 1.0], [0.2, 0.2, 0.4, 0.4]]])
    output = SimpleNamespace(pred_logits=logits, presence_logits=presence, pred_masks=masks, pred_boxes=boxes)
    inputs = {"frame_ids": [4], "image_size": (H, W)}
    (result,) = sam3.postprocess([output], inputs, phrases=["cup"], threshold=0.5)
    assert len(result) == 1 and result.labels.tolist() == ["cup"] and result.frame_ids.tolist() == [4]
    assert result.scores[0] == pytest.approx(0.72, abs=1e-5)
    np.testing.assert_allclose(result.boxes[0], [0, 0, W / 2, H])
    assert result.masks[0, :, : W // 2 - 2].all() and not result.masks[0, :, W // 2 + 2 :].any()


def test_tracking_gives_ids_over_all_frames(sam3: Sam3Video) -> None:
    frames = _frames(3, seed=1)
    tracks = sam3.track(frames, "chair")
    assert isinstance(tracks, Masks) and len(tracks) > 0
    assert tracks.masks.shape[1:] == (H, W) and set(tracks.frame_ids.tolist()) <= {0, 1, 2}
    assert np.all(tracks.instance_ids >= 0) and set(tracks.labels.tolist()) == {"chair"}
    for frame in range(3):  # one mask per object per frame
        ids = tracks.instance_ids[tracks.frame_ids == frame]
        assert len(ids) == len(set(ids.tolist()))
    with pytest.raises(ValueError, match="one size"):
        sam3.track([frames[0], np.zeros((H + 2, W, 3), np.uint8)], "chair")


def test_tracking_keeps_each_object_id_and_hides_suppressed_objects(sam3: Sam3Video) -> None:
    left, right = torch.full((1, 8, 8), -10.0), torch.full((1, 8, 8), -10.0)
    left[:, :, :3], right[:, :, 5:] = 10.0, 10.0
    session = SimpleNamespace(hotstart_removed_obj_ids={9}, prompts={0: "chair", 1: "table"},
                              obj_id_to_prompt_id={3: 0, 5: 1, 9: 0})
    gone = torch.full((1, 8, 8), -10.0)  # an object whose mask is empty in this frame
    outputs = [
        SimpleNamespace(frame_idx=0, obj_id_to_mask={3: left, 5: right, 9: left}, obj_id_to_score={3: 0.9, 5: 0.8},
                        suppressed_obj_ids=set()),
        SimpleNamespace(frame_idx=1, obj_id_to_mask={3: right, 5: gone}, obj_id_to_score={3: 0.7, 5: 0.6},
                        suppressed_obj_ids=set()),
        SimpleNamespace(frame_idx=2, obj_id_to_mask={3: left, 5: right}, obj_id_to_score={3: 0.9, 5: 0.8},
                        suppressed_obj_ids={5}),
    ]
    tracks = sam3._collect(outputs, {"session": session, "image_size": (H, W)})
    assert tracks.frame_ids.tolist() == [0, 0, 1, 2]
    assert tracks.instance_ids.tolist() == [3, 5, 3, 3]
    assert tracks.labels.tolist() == ["chair", "table", "chair", "chair"]
    assert tracks.masks[0][:, : W // 4].all() and tracks.masks[2][:, -W // 4 :].all()
    np.testing.assert_allclose(tracks.boxes[1], [W * 5 / 8, 0, W, H], atol=1.0)


def test_learned_backend_uses_sam3_by_default(sam3_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    snapshot = tiny_models.write_hf_cache(cache, {"facebook/sam3": lambda folder: _link(sam3_dir, folder)})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    frames = [Frame(index=i, time=i / 10, image=image) for i, image in enumerate(_frames(3))]
    context = KernelContext(frames=frames, source_kind="video", options={"device": "cpu"})
    backend = learned.LearnedBackend()
    assert backend.available("segmentation", context) is None
    assert backend.available("tracking", context) is None
    masks = backend.segment("chairs and tables", frames, context)
    assert len(masks) > 0 and set(masks.labels.tolist()) <= {"chair", "table"} and (masks.instance_ids == -1).all()
    tracks = backend.track("chair", frames, context)
    assert len(tracks) > 0 and (tracks.instance_ids >= 0).all()
    pool = context.loaded["learned"]
    assert pool.loads == {"facebook/sam3": 1} and pool.served == {"text_segment": "facebook/sam3", "track": "facebook/sam3"}
    assert snapshot["facebook/sam3"].parent.parent.name == "models--facebook--sam3"


def test_without_sam3_the_detector_chain_is_named_in_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    context = KernelContext(frames=[], source_kind="video")
    backend = learned.LearnedBackend()
    assert "grounding-dino" in backend.available("segmentation", context)
    assert "facebook/sam3" in backend.available("tracking", context)


def _link(source: Path, folder: Path) -> Path:
    """The files of ``source`` in ``folder`` (symlinks, as the Hub cache holds blobs)."""
    folder.mkdir(parents=True)
    for item in source.iterdir():
        (folder / item.name).symlink_to(item)
    return folder
