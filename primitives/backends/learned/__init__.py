"""Adapters for learned models from transformers, one file per task.

- ``depth.py``: metric monocular depth (Depth Anything V2 metric; DPT-family checkpoints load too).
- ``detect.py``: open-vocabulary detection (Grounding DINO, OWLv2).
- ``segmentation.py``: box-prompted segmentation (SAM, SAM 2).
- ``backend.py``: the backend entry points the primitives call (``available``, ``segment``,
  ``estimate_depth``), re-exported here.

:func:`load_adapter` picks the adapter from a checkpoint's ``config.json``; :func:`segment_with_text`
chains a detector and a segmenter. Weights are found offline only (a local folder or the Hugging
Face cache); a missing model raises :class:`spatialclaw.errors.PerceptionError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialclaw.errors import PerceptionError

from .backend import available, estimate_depth, segment
from .base import (
    ADAPTERS,
    KNOWN_MODELS,
    TASK_WORDS,
    Adapter,
    Detections,
    FrameMasks,
    Task,
    find_default_model,
    find_weights,
    missing_weights_message,
    read_model_type,
    require_weights,
)
from .depth import DepthEstimator
from .detect import Detector, GroundingDinoDetector, Owlv2Detector, parse_query
from .segmentation import Sam2Segmenter, SamSegmenter, Segmenter

if TYPE_CHECKING:
    import torch

__all__ = [
    "available",
    "estimate_depth",
    "segment",
    "ADAPTERS",
    "KNOWN_MODELS",
    "Adapter",
    "DepthEstimator",
    "Detections",
    "Detector",
    "FrameMasks",
    "GroundingDinoDetector",
    "Owlv2Detector",
    "Sam2Segmenter",
    "SamSegmenter",
    "Segmenter",
    "find_default_model",
    "find_weights",
    "load_adapter",
    "parse_query",
    "segment_with_text",
]


def load_adapter(
    task: Task,
    model: str | Path | None = None,
    *,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    cache_dir: str | Path | None = None,
    **options: Any,
) -> Adapter[Any]:
    """The adapter for a task, chosen by the checkpoint's ``model_type``.

    Args:
        task: ``"depth"``, ``"detect"`` or ``"segment"``.
        model: a local model folder or a Hub id in the local cache; default the first of
            ``KNOWN_MODELS[task]`` found offline.
        device: ``"cuda"``, ``"cpu"``, ...; default CUDA when available.
        dtype: ``"float32"`` (default), ``"float16"`` or ``"bfloat16"``.
        cache_dir: the Hugging Face hub cache to search instead of the default one.
        **options: passed to the adapter (e.g. ``threshold`` for detectors, ``input_size`` for depth).

    Raises:
        PerceptionError: no weights found, or the checkpoint is not a model for ``task``.
    """
    if task not in KNOWN_MODELS:
        raise PerceptionError(f"unknown perception task {task!r}: use one of {', '.join(KNOWN_MODELS)}")
    if model is None:
        model = find_default_model(task, cache_dir=cache_dir)
        if model is None:
            raise PerceptionError(missing_weights_message(KNOWN_MODELS[task][0], task))
    model_type = read_model_type(require_weights(model, task, cache_dir=cache_dir))
    adapter = ADAPTERS.get((task, model_type))
    if adapter is None:
        known = sorted(kind for t, kind in ADAPTERS if t == task)
        raise PerceptionError(
            f"{model} is a {model_type!r} model, not a {TASK_WORDS[task]} model this backend knows "
            f"({', '.join(known)}): pass one of those"
        )
    return adapter(model, device=device, dtype=dtype, cache_dir=cache_dir, **options)


def segment_with_text(
    images: Sequence[Any],
    query: str | Sequence[str],
    *,
    detector: Detector | None = None,
    segmenter: Segmenter | None = None,
    threshold: float | None = None,
) -> list[FrameMasks]:
    """Instance masks of the objects a text query names, per frame: detect, then box-prompted SAM.

    Args:
        images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
        query: ``"chair"``, ``"chair, table"`` or ``["chair", "table"]``.
        detector: an open-vocabulary detector; default ``load_adapter("detect")``.
        segmenter: a box-prompted segmenter; default ``load_adapter("segment")``.
        threshold: the detector's minimum score in [0, 1]; default the detector's own.

    Returns:
        One :class:`FrameMasks` per frame: (N, H, W) bool masks, the detected boxes (pixels),
        the detector's scores and the query phrase of each mask.
    """
    detector = detector if detector is not None else load_adapter("detect")
    segmenter = segmenter if segmenter is not None else load_adapter("segment")
    if not isinstance(detector, Detector) or not isinstance(segmenter, Segmenter):
        raise PerceptionError(f"segment_with_text needs a detector and a segmenter, got {detector!r} and {segmenter!r}")
    detections = detector(images, query, threshold=threshold)
    masks = segmenter(images, [d.boxes for d in detections])
    return [FrameMasks(m.masks, d.boxes, d.scores, d.labels) for m, d in zip(masks, detections, strict=True)]

