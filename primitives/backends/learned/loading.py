"""Loading an adapter by task from a checkpoint, and the detector → segmenter chain.

:func:`load_adapter` picks the adapter class from a checkpoint's ``config.json`` ``model_type``;
:func:`segment_with_text` chains an open-vocabulary detector and a box-prompted segmenter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.types import Masks

from . import da3, depth, depth_pro, matching, sam3, sam3_video  # noqa: F401  (defining an adapter class registers it)
from .base import ADAPTERS, KNOWN_MODELS, TASK_WORDS, Adapter, Task, find_default_model, missing_weights_message
from .base import read_model_type, require_weights
from .detect import Detector
from .segmentation import Segmenter

if TYPE_CHECKING:
    import torch


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
    if model is None:
        model = find_default_model(task, cache_dir=cache_dir) if task in KNOWN_MODELS else None
        if model is None and task in KNOWN_MODELS:
            raise PerceptionError(missing_weights_message(KNOWN_MODELS[task][0], task))
    adapter = adapter_class(task, model, cache_dir=cache_dir)
    return adapter(model, device=device, dtype=dtype, cache_dir=cache_dir, **options)


def adapter_class(task: Task, model: str | Path, *, cache_dir: str | Path | None = None) -> type[Adapter[Any]]:
    """The adapter class that serves ``task`` from checkpoint ``model`` (by its ``model_type``).

    Raises:
        PerceptionError: an unknown task, no weights found, or no adapter for this model type.
    """
    if task not in KNOWN_MODELS:
        raise PerceptionError.unknown_task(task, KNOWN_MODELS)
    model_type = read_model_type(require_weights(model, task, cache_dir=cache_dir))
    adapter = ADAPTERS.get((task, model_type))
    if adapter is None:
        known = sorted(kind for t, kind in ADAPTERS if t == task)
        raise PerceptionError.unknown_model_type(model, model_type, TASK_WORDS[task], ", ".join(known))
    return adapter


def segment_with_text(
    images: Sequence[Any],
    query: str | Sequence[str],
    *,
    detector: Detector | None = None,
    segmenter: Segmenter | None = None,
    threshold: float | None = None,
) -> Masks:
    """Instance masks of the objects a text query names, per frame: detect, then box-prompted SAM.

    Args:
        images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
        query: ``"chair"``, ``"chair, table"`` or ``["chair", "table"]``.
        detector: an open-vocabulary detector; default ``load_adapter("detect")``.
        segmenter: a box-prompted segmenter; default ``load_adapter("segment")``.
        threshold: the detector's minimum score in [0, 1]; default the detector's own.

    Returns:
        One `Masks` over the frames: (N, H, W) bool masks, the detected boxes (pixels), the
        detector's scores, the query phrase of each mask and ``frame_ids`` positions in ``images``.
    """
    detector = detector if detector is not None else load_adapter("detect")
    segmenter = segmenter if segmenter is not None else load_adapter("segment")
    if not isinstance(detector, Detector) or not isinstance(segmenter, Segmenter):
        raise PerceptionError.not_detector_and_segmenter(detector, segmenter)
    detections = detector(images, query, threshold=threshold)
    masks = segmenter(images, [d.boxes for d in detections])
    labelled = [
        Masks(m.masks, d.boxes, d.scores, d.labels, m.frame_ids) for m, d in zip(masks, detections, strict=True)
    ]
    return Masks.concat(labelled)

