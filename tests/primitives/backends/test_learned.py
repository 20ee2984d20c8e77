"""The learned adapters on tiny randomly initialised models: nothing is downloaded.

Each family's model is built from a small config, saved with ``save_pretrained`` beside a
processor, and loaded back through the adapters' own offline loading path. The tests check the
plumbing (shapes, dtypes, ranges, the way predictions map back to the input pixels), not the
quality of random weights; the mapping checks feed hand-made model outputs with known answers.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatialclaw.errors import PerceptionError  # noqa: E402
from spatialclaw.primitives.backends import learned  # noqa: E402
from spatialclaw.primitives.backends.learned import backend, base  # noqa: E402
from spatialclaw.primitives.context import KernelContext  # noqa: E402
from spatialclaw.primitives.types import Masks  # noqa: E402
from spatialclaw.testing import tiny_models  # noqa: E402

from offline_models import no_network, one_torch_thread  # noqa: E402,F401  (autouse fixtures)

H, W = 120, 160  # test frames: 4:3 like a video, small


def _frames(count: int, height: int = H, width: int = W, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


# ----------------------------------------------------------------------------- tiny checkpoints

@pytest.fixture(scope="module")
def depth_anything_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.depth_anything_metric(tmp_path_factory.mktemp("depth-anything"))


@pytest.fixture(scope="module")
def dpt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.dpt(tmp_path_factory.mktemp("dpt"))


GD_WORDS = tiny_models.GD_WORDS


@pytest.fixture(scope="module")
def grounding_dino_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.grounding_dino(tmp_path_factory.mktemp("grounding-dino"))


@pytest.fixture(scope="module")
def owlv2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("scipy")
    torch.manual_seed(0)
    return tiny_models.owlv2(tmp_path_factory.mktemp("owlv2"))


@pytest.fixture(scope="module")
def sam_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.sam(tmp_path_factory.mktemp("sam"))


SAM2_SIDE = tiny_models.SAM2_SIDE


@pytest.fixture(scope="module")
def sam2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.sam2(tmp_path_factory.mktemp("sam2"))


# ----------------------------------------------------------------------------- finding weights


def _fake_hub_cache(root: Path, repo: str, files: list[str]) -> Path:
    """The Hugging Face cache layout: models--owner--name/{refs/main, snapshots/<commit>/...}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}")
    return snapshot


def test_find_weights_in_local_folder_and_hub_cache(tmp_path: Path, sam_dir: Path) -> None:
    assert learned.find_weights(sam_dir) == sam_dir
    assert learned.find_weights(tmp_path / "absent") is None
    cache = tmp_path / "hub"
    snapshot = _fake_hub_cache(cache, "owner/complete", ["config.json", "model.safetensors"])
    _fake_hub_cache(cache, "owner/config-only", ["config.json"])
    assert learned.find_weights("owner/complete", cache_dir=cache) == snapshot
    assert learned.find_weights("owner/config-only", cache_dir=cache) is None
    assert learned.find_weights("owner/absent", cache_dir=cache) is None


def test_default_model_follows_preference_order_in_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert learned.find_default_model("segment") is None
    second, third = learned.KNOWN_MODELS["segment"][1:3]
    _fake_hub_cache(tmp_path, third, ["config.json", "model.safetensors"])
    _fake_hub_cache(tmp_path, second, ["config.json", "model.safetensors"])
    assert learned.find_default_model("segment") == second


def test_missing_model_is_one_line_error_naming_model_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    model = "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf"
    with pytest.raises(PerceptionError) as named:
        learned.load_adapter("depth", model)
    with pytest.raises(PerceptionError) as default:
        learned.load_adapter("detect")
    with pytest.raises(PerceptionError) as folder:
        learned.DepthEstimator(tmp_path / "no-such-model")
    for err in (named, default, folder):
        assert "\n" not in str(err.value)
    assert model in str(named.value) and f"hf download {model}" in str(named.value)
    assert learned.KNOWN_MODELS["detect"][0] in str(default.value)
    assert str(tmp_path / "no-such-model") in str(folder.value)


def test_checkpoint_of_another_family_is_refused(sam_dir: Path) -> None:
    with pytest.raises(PerceptionError, match="'sam' model") as err:
        learned.load_adapter("depth", sam_dir)
    assert "\n" not in str(err.value)
    with pytest.raises(PerceptionError, match="'sam' model"):
        learned.DepthEstimator(sam_dir)


def test_device_and_dtype_selection() -> None:
    assert base.select_device("cpu") == "cpu"
    assert base.select_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    assert base.resolve_dtype(None) is torch.float32
    assert base.resolve_dtype("bfloat16") is torch.bfloat16
    with pytest.raises(PerceptionError):
        base.resolve_dtype("int8")


# ----------------------------------------------------------------------------- helpers


def test_same_size_batches_split_on_size_and_batch_size() -> None:
    sizes = [(4, 4), (4, 4), (4, 4), (2, 2), (4, 4)]
    assert list(base.same_size_batches(5, sizes, 2)) == [[0, 1], [2], [3], [4]]


def test_nms_keeps_best_box_per_class_and_other_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.5, 0.9, 0.8, 0.3], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert base.nms(boxes, scores, classes, 0.5).tolist() == [1, 2, 3]
    np.testing.assert_allclose(base.box_iou(boxes[:1], boxes[1:2]), [[81 / 100]])


def test_parse_query() -> None:
    from spatialclaw.primitives.backends.learned.detect import parse_query

    assert parse_query("Red  chair, table. table") == ["red chair", "table"]
    assert parse_query(["cup", "Cup"]) == ["cup"]
    with pytest.raises(ValueError):
        parse_query(" , ")


# ----------------------------------------------------------------------------- depth


def test_depth_anything_input_is_518_in_patch_multiples(depth_anything_dir: Path) -> None:
    estimator = learned.load_adapter("depth", depth_anything_dir, device="cpu")
    assert isinstance(estimator, learned.DepthEstimator)
    assert estimator.metric and estimator.max_depth == 20.0
    for height, width in ((H, W), (200, 90)):
        h, w = estimator.preprocess(_frames(1, height, width), [None])["pixel_values"].shape[-2:]
        assert h % 14 == 0 and w % 14 == 0 and max(h, w) == 518  # not the saved 384×384 square
        assert abs(w / h - width / height) < 0.05


def test_depth_anything_metric_depth_at_input_resolution(depth_anything_dir: Path) -> None:
    # a small input keeps the test fast; the 518 rule is checked above
    estimator = learned.DepthEstimator(depth_anything_dir, device="cpu", batch_size=2, input_size=70)
    frames = _frames(3) + _frames(1, 90, 200, seed=1)
    depths = estimator(frames)
    assert [d.shape for d in depths] == [(H, W)] * 3 + [(90, 200)]
    for depth in depths:
        assert depth.dtype == np.float32 and np.isfinite(depth).all()
        assert depth.min() >= 0.0 and depth.max() <= 20.0
        assert np.ptp(depth) > 1e-3  # varies over the image
    # the same frame alone or in a batch gives the same depth
    np.testing.assert_allclose(estimator(frames[1:2])[0], depths[1], rtol=1e-4, atol=1e-4)


def test_depth_matches_raw_transformers_forward(depth_anything_dir: Path) -> None:
    from transformers import AutoModelForDepthEstimation

    estimator = learned.DepthEstimator(depth_anything_dir, device="cpu", input_size=70)
    frame = _frames(1)[0]
    model = AutoModelForDepthEstimation.from_pretrained(depth_anything_dir, local_files_only=True).eval()
    pixel_values = estimator.preprocess([frame], [None])["pixel_values"]
    with torch.no_grad():
        raw = model(pixel_values=pixel_values).predicted_depth
    expected = torch.nn.functional.interpolate(raw[:, None], size=(H, W), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(estimator([frame])[0], expected[0, 0].numpy(), rtol=1e-5, atol=1e-5)


def test_depth_postprocess_maps_prediction_onto_input_pixels(depth_anything_dir: Path) -> None:
    estimator = learned.DepthEstimator(depth_anything_dir, device="cpu")
    # a prediction whose depth grows left to right, 1 m to 9 m, on a 28×37 model grid
    ramp = torch.linspace(1.0, 9.0, 37).repeat(28, 1)[None]
    depth = estimator.postprocess(ramp, {"image_size": (H, W)})[0]
    assert depth.shape == (H, W) and depth.dtype == np.float32
    assert np.all(np.diff(depth, axis=1) >= -1e-6) and np.allclose(depth, depth[:1])
    assert depth[0, 0] == pytest.approx(1.0, abs=0.15) and depth[0, -1] == pytest.approx(9.0, abs=0.15)
    assert depth[0, W // 2] == pytest.approx(5.0, abs=0.15)


def test_dpt_checkpoint_loads_as_relative_depth(dpt_dir: Path) -> None:
    estimator = learned.load_adapter("depth", dpt_dir, device="cpu")
    assert isinstance(estimator, learned.DepthEstimator) and not estimator.metric
    assert estimator.preprocess(_frames(1), [None])["pixel_values"].shape[-2:] == (64, 64)
    (depth,) = estimator(_frames(1))
    assert depth.shape == (H, W) and depth.dtype == np.float32 and np.isfinite(depth).all()


def test_depth_in_bfloat16_returns_float32(depth_anything_dir: Path) -> None:
    estimator = learned.DepthEstimator(depth_anything_dir, device="cpu", dtype="bfloat16", input_size=70)
    assert next(estimator.model.parameters()).dtype is torch.bfloat16
    (depth,) = estimator(_frames(1))
    assert depth.dtype == np.float32 and depth.shape == (H, W) and 0.0 <= depth.min() <= depth.max() <= 20.0


# ----------------------------------------------------------------------------- detection


def _check_detections(dets: learned.Detections, phrases: list[str], threshold: float) -> None:
    assert dets.boxes.dtype == np.float32 and dets.boxes.shape == (len(dets), 4)
    assert dets.scores.dtype == np.float32 and np.all(np.diff(dets.scores) <= 0)
    assert np.all(dets.scores > threshold) and np.all(dets.scores <= 1.0)
    assert np.all(dets.boxes[:, 0] < dets.boxes[:, 2]) and np.all(dets.boxes[:, 1] < dets.boxes[:, 3])
    assert np.all(dets.boxes >= 0) and np.all(dets.boxes[:, [0, 2]] <= W) and np.all(dets.boxes[:, [1, 3]] <= H)
    assert set(dets.labels) <= set(phrases)


def test_grounding_dino_detects_query_phrases(grounding_dino_dir: Path) -> None:
    detector = learned.load_adapter("detect", grounding_dino_dir, device="cpu", threshold=0.0)
    assert isinstance(detector, learned.GroundingDinoDetector)
    results = detector(_frames(2), "red chair, table")
    assert len(results) == 2
    for dets in results:
        assert 0 < len(dets) <= 12  # at most one box per query slot
        _check_detections(dets, ["red chair", "table"], 0.0)
    assert all(len(d) == 0 for d in detector(_frames(2), "cup", threshold=1.0))


def test_grounding_dino_postprocess_maps_boxes_and_phrases(grounding_dino_dir: Path) -> None:
    detector = learned.GroundingDinoDetector(grounding_dino_dir, device="cpu")
    phrases = ["red chair", "table"]
    inputs = detector.preprocess(_frames(1), [phrases], phrases=phrases)
    ids = inputs["input_ids"][0].tolist()
    chair, table = detector.phrase_tokens(ids, 2)
    assert [GD_WORDS[ids[i]] for i in chair] == ["red", "chair"] and [GD_WORDS[ids[i]] for i in table] == ["table"]
    unknown = detector.preprocess(_frames(1), [None], phrases=["sofa", "table"])["input_ids"][0].tolist()
    spans = detector.phrase_tokens(unknown, 2)
    assert [[GD_WORDS[unknown[i]] for i in span] for span in spans] == [["[UNK]"], ["table"]]
    logits = torch.full((1, 3, len(ids)), -10.0)
    logits[0, 0, table[0]] = 3.0  # query 0: the table, centred, half the frame
    logits[0, 1, chair[1]] = 2.0  # query 1: the chair, top-left quarter
    boxes = torch.tensor([[[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5], [0.9, 0.9, 0.1, 0.1]]])
    outputs = SimpleNamespace(logits=logits, pred_boxes=boxes)
    (dets,) = detector.postprocess(outputs, inputs, phrases=phrases, threshold=0.3)
    assert dets.labels == ["table", "red chair"]
    np.testing.assert_allclose(dets.scores, torch.sigmoid(torch.tensor([3.0, 2.0])).numpy(), rtol=1e-6)
    np.testing.assert_allclose(dets.boxes, [[W / 4, H / 4, 3 * W / 4, 3 * H / 4], [0, 0, W / 2, H / 2]], atol=1e-4)


def test_owlv2_detects_query_phrases(owlv2_dir: Path) -> None:
    detector = learned.load_adapter("detect", owlv2_dir, device="cpu", threshold=0.0)
    assert isinstance(detector, learned.Owlv2Detector)
    results = detector(_frames(3), ["red chair", "table"])
    assert len(results) == 3
    for dets in results:
        assert len(dets) > 0
        _check_detections(dets, ["red chair", "table"], 0.0)


def test_owlv2_postprocess_undoes_square_padding(owlv2_dir: Path) -> None:
    detector = learned.Owlv2Detector(owlv2_dir, device="cpu")
    # OWLv2 sees the frame padded at the bottom to a W×W square: normalised boxes are relative to it
    logits = torch.tensor([[[-5.0, 4.0], [3.0, -5.0], [-9.0, -9.0]]])
    boxes = torch.tensor([[[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5], [0.5, 0.5, 0.2, 0.2]]])
    outputs = SimpleNamespace(logits=logits, pred_boxes=boxes)
    (dets,) = detector.postprocess(outputs, {"image_size": (H, W)}, phrases=["red chair", "table"], threshold=0.1)
    assert dets.labels == ["table", "red chair"]
    np.testing.assert_allclose(dets.scores, torch.sigmoid(torch.tensor([4.0, 3.0])).numpy(), rtol=1e-6)
    np.testing.assert_allclose(dets.boxes, [[W / 4, W / 4, 3 * W / 4, H], [0, 0, W / 2, W / 2]], atol=1e-4)


# ----------------------------------------------------------------------------- segmentation


def _check_masks(result: Masks, count: int) -> None:
    assert result.masks.shape == (count, H, W) and result.masks.dtype == bool
    assert result.scores.shape == (count,) and result.scores.dtype == np.float32
    assert np.all((result.scores >= 0) & (result.scores <= 1))


@pytest.mark.parametrize("fixture", ["sam_dir", "sam2_dir"])
def test_segmenter_gives_one_mask_per_box_at_frame_resolution(fixture: str, request: pytest.FixtureRequest) -> None:
    segmenter = learned.load_adapter("segment", request.getfixturevalue(fixture), device="cpu", batch_size=3)
    encoded: list[int] = []
    encode = segmenter.model.get_image_embeddings
    segmenter.model.get_image_embeddings = lambda pixels: encoded.append(len(pixels)) or encode(pixels)
    boxes = [np.array([[10, 20, 60, 90], [80, 10, 150, 110]]), np.zeros((0, 4)), np.array([[0, 0, W, H]])]
    results = segmenter(_frames(3), boxes)
    assert encoded == [2]  # one batch, without the frame that has no boxes
    for k, (result, prompt) in enumerate(zip(results, boxes, strict=True)):
        _check_masks(result, len(prompt))
        np.testing.assert_array_equal(result.boxes, prompt)
        assert result.frame_ids.tolist() == [k] * len(prompt)
    assert results[0].masks.any() or results[2].masks.any()


def test_sam_postprocess_removes_padding_before_resizing(sam_dir: Path) -> None:
    segmenter = learned.SamSegmenter(sam_dir, device="cpu")
    inputs = segmenter.preprocess(_frames(1), [np.zeros((1, 4), np.float32)])
    # 160×120 → 64×48 inside a 64×64 padded input; the decoder's 32×32 logits cover the padded square.
    # Positive logits on rows < 12 of 32 = rows < 24 of the 48 real rows: the top half of the frame.
    logits = torch.full((1, 1, 32, 32), -20.0)
    logits[..., :12, :] = 20.0
    mask = segmenter._restore_masks(logits, inputs, 0)[0]
    assert mask.shape == (H, W)
    assert mask[: H // 2 - 3].all() and not mask[H // 2 + 3 :].any()


def test_sam_scales_boxes_to_its_input(sam_dir: Path) -> None:
    segmenter = learned.SamSegmenter(sam_dir, device="cpu")
    scaled = segmenter._scale_boxes(np.array([[0, 0, W, H]], np.float32), (H, W))
    np.testing.assert_allclose(scaled, [[0, 0, 64, 48]])


def test_sam2_hand_preprocessing_and_mask_restore(sam2_dir: Path) -> None:
    segmenter = learned.Sam2Segmenter(sam2_dir, device="cpu")
    white = np.full((H, W, 3), 255, np.uint8)
    pixels = segmenter.preprocess([white], [np.zeros((0, 4))])["pixel_values"]
    assert pixels.shape == (1, 3, SAM2_SIDE, SAM2_SIDE)
    expected = (1.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(pixels[0, :, 5, 5].numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(
        segmenter._scale_boxes(np.array([[0, 0, W, H]], np.float32), (H, W)), [[0, 0, SAM2_SIDE, SAM2_SIDE]]
    )
    logits = torch.full((1, 1, 32, 32), -20.0)
    logits[..., :, :16] = 20.0  # left half of the square input = left half of the frame
    mask = segmenter._restore_masks(logits, {"image_size": (H, W)}, 0)[0]
    assert mask[:, : W // 2 - 3].all() and not mask[:, W // 2 + 3 :].any()


# ----------------------------------------------------------------------------- composite


def test_segment_with_text_chains_detector_and_segmenter(grounding_dino_dir: Path, sam_dir: Path) -> None:
    detector = learned.GroundingDinoDetector(grounding_dino_dir, device="cpu", threshold=0.0)
    segmenter = learned.SamSegmenter(sam_dir, device="cpu")
    frames = _frames(2)
    masks = learned.segment_with_text(frames, "red chair, table", detector=detector, segmenter=segmenter)
    detections = detector(frames, "red chair, table")
    assert isinstance(masks, Masks)
    for k, dets in enumerate(detections):
        result = masks[masks.frame_ids == k]
        assert len(result) == len(dets) > 0
        _check_masks(result, len(dets))
        np.testing.assert_array_equal(result.boxes, dets.boxes)
        np.testing.assert_array_equal(result.scores, dets.scores)
        assert result.labels.tolist() == dets.labels
    nothing = learned.segment_with_text(frames, "cup", detector=detector, segmenter=segmenter, threshold=1.0)
    assert nothing.masks.shape == (0, H, W) and len(nothing) == 0


def test_backend_segment_returns_masks_over_frames(
    grounding_dino_dir: Path, sam2_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from spatialclaw.inputs.frame import Frame

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    frames = [Frame(index=i, time=i / 10, image=image) for i, image in enumerate(_frames(2))]
    options = {"detect_model": str(grounding_dino_dir), "segment_model": str(sam2_dir), "device": "cpu",
               "detect_threshold": 0.0}
    context = KernelContext(frames=frames, options=options)
    learned_backend = learned.LearnedBackend()
    assert learned_backend.available("segmentation", context) is None
    assert "depth" in learned_backend.available("reconstruction", context)
    masks = learned_backend.segment("red chairs and tables", frames, context)
    assert isinstance(masks, Masks) and len(masks) > 0
    assert masks.masks.shape[1:] == (H, W) and set(masks.frame_ids.tolist()) <= {0, 1}
    assert set(masks.labels.tolist()) <= {"red chair", "table"}
    with pytest.raises(ValueError, match="object names"):
        learned_backend.segment("*", frames, context)
    pool = context.loaded["learned"]
    assert pool.loads == {str(grounding_dino_dir): 1, str(sam2_dir): 1}  # the second call reused them
    assert pool.served == {"detect": str(grounding_dino_dir), "segment": str(sam2_dir)}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_adapters_pick_cuda_and_agree_with_cpu(
    depth_anything_dir: Path, grounding_dino_dir: Path, sam2_dir: Path
) -> None:
    frames = _frames(2)
    on_gpu = learned.DepthEstimator(depth_anything_dir, input_size=70)
    assert on_gpu.device == "cuda" and next(on_gpu.model.parameters()).is_cuda
    on_cpu = learned.DepthEstimator(depth_anything_dir, device="cpu", input_size=70)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # full float32 convolutions
        gpu_depths = on_gpu(frames)
    for gpu, cpu in zip(gpu_depths, on_cpu(frames), strict=True):
        np.testing.assert_allclose(gpu, cpu, atol=1e-3)
    half = learned.DepthEstimator(depth_anything_dir, dtype="float16", input_size=70)
    assert all(d.dtype == np.float32 and np.isfinite(d).all() for d in half(frames))
    detector = learned.GroundingDinoDetector(grounding_dino_dir, threshold=0.0)
    segmenter = learned.Sam2Segmenter(sam2_dir, dtype="float16")
    assert detector.device == segmenter.device == "cuda"
    result = learned.segment_with_text(frames, "red chair, table", detector=detector, segmenter=segmenter)
    assert len(result) > 0
    _check_masks(result, len(result))


# ----------------------------------------------------------------------------- Depth Pro


@pytest.fixture(scope="module")
def depth_pro_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_models.depth_pro(tmp_path_factory.mktemp("depth-pro"), fov_degrees=60.0)


def test_depth_pro_gives_metric_depth_and_focal_per_frame(depth_pro_dir: Path) -> None:
    estimator = learned.load_adapter("depth", depth_pro_dir, device="cpu")
    assert type(estimator).__name__ == "DepthProEstimator" and estimator.metric
    assert estimator.input_side == 4 * tiny_models.DEPTH_PRO_PATCH
    results = estimator.with_focal(_frames(2))
    for depth, focal in results:
        assert depth.shape == (H, W) and depth.dtype == np.float32 and np.isfinite(depth).all() and depth.min() > 0
        assert focal == pytest.approx(0.5 * W / np.tan(np.radians(30.0)), rel=0.05)  # the fov head says ~60°
    np.testing.assert_array_equal(estimator(_frames(2))[1], results[1][0])


def test_depth_pro_postprocess_turns_inverse_depth_into_metres(depth_pro_dir: Path) -> None:
    estimator = learned.load_adapter("depth", depth_pro_dir, device="cpu")
    # canonical inverse depth 0.25 everywhere, a 90° field of view: focal = W / 2, depth = f / (W · 0.25) = 2 m
    outputs = SimpleNamespace(predicted_depth=torch.full((1, 16, 16), 0.25), field_of_view=torch.tensor([90.0]))
    ((depth, focal),) = estimator.postprocess(outputs, {"image_size": (H, W)})
    assert focal == pytest.approx(W / 2, rel=1e-5)
    np.testing.assert_allclose(depth, 2.0, rtol=1e-5)
    outputs.field_of_view = None  # no fov head: inverse of the prediction, focal unknown
    ((depth, focal),) = estimator.postprocess(outputs, {"image_size": (H, W)})
    assert focal is None and np.allclose(depth, 4.0)
