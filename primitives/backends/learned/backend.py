"""The learned backend's entry points for the primitives (see ``primitives/backends/__init__.py``).

- ``available(family, context)``: None when the weights a family needs are found offline.
- ``segment(query, frames, context) -> Masks``: Grounding DINO / OWLv2 boxes, then SAM masks.
- ``estimate_depth(frames, context)``: metric depth per frame, for reconstruction backends that
  bring their own camera poses.

Models come from ``context.options`` (``depth_model``, ``detect_model``, ``segment_model``: a
local folder or a Hub id in the local cache), else the first of ``KNOWN_MODELS`` found;
``device``, ``dtype`` and ``detect_threshold`` are read there too. Loaded adapters are kept for
the life of the kernel.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import KNOWN_MODELS, TASK_WORDS, Adapter, Task, find_default_model, find_weights

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Masks

FAMILY_TASKS: dict[str, tuple[Task, ...]] = {"segmentation": ("detect", "segment"), "reconstruction": ("depth",)}

EVERYTHING_QUERIES = frozenset({"*", "all", "everything", "anything", "object", "objects", "all objects"})

_loaded: dict[tuple[str, str, str | None, str | None], Adapter[Any]] = {}


def _chosen_model(task: Task, context: KernelContext) -> str | None:
    """The model for ``task``: the one named in ``context.options`` when found, else a known one."""
    named = context.options.get(f"{task}_model")
    if named:
        return str(named) if find_weights(str(named)) is not None else None
    return find_default_model(task)


def available(family: str, context: KernelContext) -> str | None:
    """None when the learned backend can serve ``family`` on this machine, else why not (one line)."""
    if family not in FAMILY_TASKS:
        return f"the learned backend has no {family}"
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        return "the learned backend needs torch and transformers: pip install 'spatialclaw[learned]'"
    for task in FAMILY_TASKS[family]:
        if _chosen_model(task, context) is None:
            wanted = context.options.get(f"{task}_model") or KNOWN_MODELS[task][0]
            return f"no {TASK_WORDS[task]} weights found offline (e.g. `hf download {wanted}`)"
    return None


def adapter_for(task: Task, context: KernelContext) -> Adapter[Any]:
    """The loaded adapter for ``task`` under this context's options (loaded once per kernel).

    Raises:
        PerceptionError: no weights found for the task.
    """
    from . import load_adapter

    model = context.options.get(f"{task}_model") or find_default_model(task) or KNOWN_MODELS[task][0]
    device, dtype = context.options.get("device"), context.options.get("dtype")
    key = (task, str(model), device, dtype)
    if key not in _loaded:
        _loaded[key] = load_adapter(task, model, device=device, dtype=dtype)
    return _loaded[key]


def _phrases(query: str) -> list[str]:
    """Detector phrases of a primitive's query: ``"chairs and tables"`` → ``["chair", "table"]``."""
    from spatialclaw.primitives import vocabulary

    if query.strip().lower() in EVERYTHING_QUERIES:
        raise ValueError(f"the learned detector needs object names such as 'chair, table', not {query!r}")
    phrases: list[str] = []
    for term in vocabulary.split_query(query):
        phrase = vocabulary.canonical(term) or term.strip().lower()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def segment(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """Masks of the objects ``query`` names in ``frames``: detection boxes prompt the segmenter.

    Frame ids in the result are positions in ``frames``; all frames must share one size.
    """
    from spatialclaw.primitives.types import Masks

    from . import segment_with_text

    sizes = {f.image.shape[:2] for f in frames}
    if len(sizes) > 1:
        raise ValueError(f"segment() needs frames of one size, got {sorted(sizes)}: segment them separately")
    per_frame = segment_with_text(
        [f.image for f in frames],
        _phrases(query),
        detector=adapter_for("detect", context),
        segmenter=adapter_for("segment", context),
        threshold=context.options.get("detect_threshold"),
    )
    height, width = frames[0].image.shape[:2]
    if not any(len(m) for m in per_frame):
        return Masks.empty(height, width)
    return Masks(
        masks=np.concatenate([m.masks for m in per_frame]),
        boxes=np.concatenate([m.boxes for m in per_frame]),
        scores=np.concatenate([m.scores for m in per_frame]),
        labels=[label for m in per_frame for label in m.labels],
        frame_ids=np.concatenate([np.full(len(m), k, np.int64) for k, m in enumerate(per_frame)]),
    )


def estimate_depth(frames: list[Frame], context: KernelContext) -> tuple[list[np.ndarray], bool]:
    """Depth of each frame from the learned depth model.

    Returns:
        (one H×W float32 array per frame, metric): metres when ``metric`` is True, else relative
        inverse depth (unitless, larger is nearer).
    """
    estimator = adapter_for("depth", context)
    return estimator([f.image for f in frames]), bool(getattr(estimator, "metric", False))
