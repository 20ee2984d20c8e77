"""What every learned adapter shares: finding weights offline, device and dtype, the
preprocess → forward → postprocess loop over batches of frames, and the detector's record
(masks are `spatialclaw.primitives.types.Masks`, as for every backend).

Weights come from a local folder or the user's Hugging Face cache, never from the network
(``local_files_only=True`` everywhere). An adapter is a subclass of :class:`Adapter` that names
its ``task`` and the ``model_types`` (the ``model_type`` in a checkpoint's ``config.json``) it
serves; defining the subclass registers it, so adding a model family is adding a file.

torch and transformers are imported inside the functions that need them: importing this module
costs only numpy.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import numpy as np

from spatialclaw.config import hub_cache_dir
from spatialclaw.errors import PerceptionError
from spatialclaw.images import as_rgb

if TYPE_CHECKING:
    import torch

Task = Literal["depth", "detect", "segment", "text_segment", "track", "match", "reconstruct"]
TASKS: tuple[Task, ...] = ("depth", "detect", "segment", "text_segment", "track", "match", "reconstruct")

TASK_WORDS: dict[Task, str] = {
    "depth": "metric depth",
    "detect": "open-vocabulary detection",
    "segment": "box-prompted segmentation",
    "text_segment": "text-prompted segmentation",
    "track": "text-prompted video tracking",
    "match": "keypoint matching",
    "reconstruct": "feed-forward multi-view reconstruction",
}

# Checkpoints on the Hugging Face Hub that the adapters are written for, in order of preference
# per task: the first one found in the local cache is the default. Relative-depth models (DPT,
# Depth Anything relative) load when named explicitly but are never picked by default.
KNOWN_MODELS: dict[Task, tuple[str, ...]] = {
    "depth": (
        "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf",
        "depth-anything/Depth-Anything-V2-Metric-Indoor-Base-hf",
        "depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf",
        "depth-anything/Depth-Anything-V2-Metric-Outdoor-Small-hf",
        "depth-anything/Depth-Anything-V2-Metric-Outdoor-Base-hf",
        "depth-anything/Depth-Anything-V2-Metric-Outdoor-Large-hf",
        "apple/DepthPro-hf",
    ),
    "detect": (
        "IDEA-Research/grounding-dino-tiny",
        "IDEA-Research/grounding-dino-base",
        "google/owlv2-base-patch16-ensemble",
        "google/owlv2-large-patch14-ensemble",
    ),
    "segment": (
        "facebook/sam2.1-hiera-tiny",
        "facebook/sam2.1-hiera-small",
        "facebook/sam2.1-hiera-base-plus",
        "facebook/sam2.1-hiera-large",
        "facebook/sam-vit-base",
        "facebook/sam-vit-large",
        "facebook/sam-vit-huge",
    ),
    "text_segment": ("facebook/sam3",),
    "track": ("facebook/sam3",),
    "match": ("ETH-CVG/lightglue_superpoint",),
    # Depth Anything 3's Apache-2.0 any-view models (Large and Giant are CC BY-NC); used only where
    # the depth-anything-3 package is installed (an optional extra, see the README).
    "reconstruct": ("depth-anything/DA3-BASE", "depth-anything/DA3-SMALL"),
}

WEIGHT_FILES: tuple[str, ...] = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


# ----------------------------------------------------------------------------- results


@dataclass
class Detections:
    """Open-vocabulary detections in one frame.

    Attributes:
        boxes: (N, 4) float32, ``x0, y0, x1, y1`` in pixels of the input frame, clipped to it.
        scores: (N,) float32 in [0, 1], highest first.
        labels: N phrases of the query, one per box.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: list[str]

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.labels = [str(label) for label in self.labels]
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise ValueError(
                f"Detections: {len(self.boxes)} boxes, {len(self.scores)} scores, {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.scores)


# ----------------------------------------------------------------------------- weights


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any((folder / name).is_file() for name in WEIGHT_FILES)


def _looks_like_path(model: str | Path) -> bool:
    text = str(model)
    return isinstance(model, Path) or text.startswith((".", "/", "~")) or text.count("/") != 1 or Path(text).exists()


def find_weights(model: str | Path, *, cache_dir: str | Path | None = None) -> Path | None:
    """Find a model's folder (``config.json`` plus weights) without touching the network.

    Args:
        model: a local folder of a saved transformers model, or a Hub id ``owner/name`` looked up
            in the Hugging Face cache (its ``main`` revision).
        cache_dir: the hub cache to search; default ``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or
            ``~/.cache/huggingface/hub``.

    Returns:
        The folder to load from, or None when the model is not available offline.
    """
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        return folder if _has_weights(folder) else None
    from huggingface_hub import try_to_load_from_cache

    cache = Path(cache_dir).expanduser() if cache_dir is not None else hub_cache_dir()
    config = try_to_load_from_cache(str(model), "config.json", cache_dir=cache)
    if not isinstance(config, str):
        return None
    folder = Path(config).parent
    return folder if _has_weights(folder) else None


def missing_weights_message(model: str | Path, task: Task) -> str:
    """One line naming the missing model and how to get it (`PerceptionError.missing_weights`)."""
    is_folder = _looks_like_path(model)
    hub_cache = None if is_folder else hub_cache_dir()
    return str(PerceptionError.missing_weights(model, TASK_WORDS[task], is_folder=is_folder, hub_cache=hub_cache))


def require_weights(model: str | Path, task: Task, *, cache_dir: str | Path | None = None) -> Path:
    """Like :func:`find_weights`, but a missing model raises a one-line PerceptionError."""
    folder = find_weights(model, cache_dir=cache_dir)
    if folder is None:
        raise PerceptionError(missing_weights_message(model, task))
    return folder


def read_model_type(folder: Path) -> str:
    """The ``model_type`` in a model folder's ``config.json``; ``"depth_anything_3"`` for a
    checkpoint of the depth-anything-3 package (its config names a ``model_name`` ``da3...``)."""
    try:
        config = json.loads((folder / "config.json").read_text())
        if "model_type" not in config and str(config.get("model_name", "")).startswith("da3"):
            return "depth_anything_3"
        return str(config["model_type"])
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise PerceptionError.unreadable_config(folder, err) from err


def find_default_model(task: Task, *, cache_dir: str | Path | None = None) -> str | None:
    """The first model of ``KNOWN_MODELS[task]`` present offline, or None."""
    for model in KNOWN_MODELS[task]:
        if find_weights(model, cache_dir=cache_dir) is not None:
            return model
    return None


# ----------------------------------------------------------------------------- device, images


def select_device(device: str | None = None) -> str:
    """``device`` as given, else ``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """A torch dtype from a name (``"float32"``, ``"float16"``, ``"bfloat16"``); None → float32."""
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    resolved = getattr(torch, str(dtype).removeprefix("torch."), None)
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise PerceptionError.unknown_dtype(dtype)
    return resolved


def same_size_batches(count: int, sizes: Sequence[tuple[int, int]], batch_size: int) -> Iterator[list[int]]:
    """Indices ``0..count-1`` in runs of at most ``batch_size`` consecutive items of one size."""
    batch: list[int] = []
    for index in range(count):
        if batch and (len(batch) == batch_size or sizes[index] != sizes[batch[0]]):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between (N, 4) and (M, 4) ``x0, y0, x1, y1`` boxes → (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by per-class non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for index in order:
        same = [k for k in keep if classes[k] == classes[index]]
        if not same or box_iou(boxes[index : index + 1], boxes[same]).max() <= iou_threshold:
            keep.append(int(index))
    return np.asarray(keep, dtype=np.int64)


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and warnings (they would land in the model's cell output)."""
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


# ----------------------------------------------------------------------------- adapter

R = TypeVar("R")

ADAPTERS: dict[tuple[Task, str], type[Adapter[Any]]] = {}


class Adapter(ABC, Generic[R]):
    """A learned model behind one shape: ``preprocess`` → ``_forward`` → ``postprocess``.

    Subclasses set ``task`` and ``model_types`` and are registered under each
    ``(task, model_type)`` when defined. Calling an adapter runs the three steps over batches of
    consecutive same-sized frames, under ``torch.inference_mode()``, on ``self.device``.

    Args:
        model: a local model folder or a Hub id found in the local cache (never downloaded).
        device: ``"cuda"``, ``"cpu"``, ...; default CUDA when available, else CPU.
        dtype: weights and inputs dtype (``"float32"``, ``"float16"``, ``"bfloat16"``); default float32.
        batch_size: frames per forward pass.
        cache_dir: the Hugging Face hub cache to search instead of the default one.
    """

    task: ClassVar[Task]
    extra_tasks: ClassVar[tuple[Task, ...]] = ()
    """Other tasks one loaded instance serves (SAM 3 video: segmentation and tracking)."""
    model_types: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for task in (cls.task, *cls.__dict__.get("extra_tasks", ())):
            for model_type in cls.__dict__.get("model_types", ()):
                ADAPTERS[(task, model_type)] = cls

    def __init__(
        self,
        model: str | Path,
        *,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 4,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.model_id = str(model)
        self.path = require_weights(model, self.task, cache_dir=cache_dir)
        self.model_type = read_model_type(self.path)
        if self.model_type not in self.model_types:
            raise PerceptionError.wrong_adapter(model, self.model_type, type(self).__name__, ", ".join(self.model_types),
                                                TASK_WORDS[self.task])
        self.device = select_device(device)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = max(1, int(batch_size))
        with quiet_transformers():
            self.model, self.processor = self._load(self.path)
        self.model.to(device=self.device, dtype=self.dtype).eval()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, device={self.device!r}, dtype={self.dtype})"

    @abstractmethod
    def _load(self, path: Path) -> tuple[Any, Any]:
        """Load ``(model, processor)`` from ``path`` with ``local_files_only=True``."""

    @abstractmethod
    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        """Turn same-sized RGB frames (and one prompt per frame) into model inputs on ``self.device``."""

    @abstractmethod
    def _forward(self, inputs: dict[str, Any]) -> Any:
        """Run the model on what ``preprocess`` made."""

    @abstractmethod
    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[R]:
        """Map the model's outputs back to the frames' pixels: one result per frame."""

    def _run(self, images: Sequence[Any], prompts: Sequence[Any] | None = None, **options: Any) -> list[R]:
        import torch

        frames = [as_rgb(image) for image in images]
        prompts = list(prompts) if prompts is not None else [None] * len(frames)
        if len(prompts) != len(frames):
            raise ValueError(f"{len(frames)} images but {len(prompts)} prompts")
        results: list[R] = []
        for batch in same_size_batches(len(frames), [f.shape[:2] for f in frames], self.batch_size):
            inputs = self.preprocess([frames[i] for i in batch], [prompts[i] for i in batch], **options)
            with torch.inference_mode():
                outputs = self._forward(inputs)
                results.extend(self.postprocess(outputs, inputs, **options))
        return results

    def to_device(self, tensors: dict[str, Any]) -> dict[str, Any]:
        """Move tensors to ``self.device``; floating ones (pixel values) also to ``self.dtype``."""
        import torch

        moved: dict[str, Any] = {}
        for name, value in tensors.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, dtype=self.dtype if value.is_floating_point() else None)
            moved[name] = value
        return moved
