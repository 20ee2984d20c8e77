"""`LearnedBackend`: the learned models behind the `PerceptionBackend` protocol.

- ``available(family, context)``: None when the weights a family needs are found offline.
- ``segment(query, frames, context) -> Masks``: Grounding DINO / OWLv2 boxes, then SAM masks.
- ``reconstruct(frames, context)``: classical camera poses with the learned depth
  (`reconstruction.py`).

Models come from ``context.options`` (``depth_model``, ``detect_model``, ``segment_model``: a
local folder or a Hub id in the local cache), else the first of ``KNOWN_MODELS`` found;
``device``, ``dtype`` and ``detect_threshold`` are read there too. Loaded adapters live in the
kernel's `ModelPool` (``context.loaded``) for the life of the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatialclaw.primitives.backends.base import BackendBase, Family

from . import reconstruction
from .base import Task
from .loading import segment_with_text
from .pool import adapter_for, missing_models

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Masks, Reconstruction

FAMILY_TASKS: dict[str, tuple[Task, ...]] = {"segmentation": ("detect", "segment")}

EVERYTHING_QUERIES = frozenset({"*", "all", "everything", "anything", "object", "objects", "all objects"})


def available(family: str, context: KernelContext) -> str | None:
    """None when the learned models of ``family`` are on this machine, else why not (one line)."""
    if family == "reconstruction":
        return reconstruction.available(context)
    if family not in FAMILY_TASKS:
        return f"the learned backend has no {family}"
    return missing_models(FAMILY_TASKS[family], context)


def phrases(query: str) -> list[str]:
    """Text-prompt phrases of a primitive's query: ``"chairs and tables"`` → ``["chair", "table"]``.

    Raises:
        ValueError: an "every object" query (open-vocabulary models need names).
    """
    from spatialclaw.primitives import vocabulary

    if query.strip().lower() in EVERYTHING_QUERIES:
        raise ValueError(f"the learned segmenter needs object names such as 'chair, table', not {query!r}")
    found: list[str] = []
    for term in vocabulary.split_query(query):
        phrase = vocabulary.canonical(term) or term.strip().lower()
        if phrase and phrase not in found:
            found.append(phrase)
    return found


def _one_size(frames: list[Frame]) -> None:
    sizes = {f.image.shape[:2] for f in frames}
    if len(sizes) > 1:
        raise ValueError(f"segment() needs frames of one size, got {sorted(sizes)}: segment them separately")


def segment(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """Masks of the objects ``query`` names in ``frames``: detection boxes prompt the segmenter.

    Frame ids in the result are positions in ``frames``; all frames must share one size.
    """
    from spatialclaw.primitives.types import Masks

    _one_size(frames)
    if not frames:
        return Masks.empty()
    masks = segment_with_text(
        [f.image for f in frames],
        phrases(query),
        detector=adapter_for("detect", context),
        segmenter=adapter_for("segment", context),
        threshold=context.options.get("detect_threshold"),
    )
    return masks if len(masks) else Masks.empty(*frames[0].image.shape[:2])


class LearnedBackend(BackendBase):
    """The `PerceptionBackend` of the learned models (transformers), weights found offline only."""

    name = "learned"
    families: tuple[Family, ...] = ("reconstruction", "segmentation")

    def available(self, family: str, context: KernelContext) -> str | None:
        return available(family, context)

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        return reconstruction.reconstruct(frames, context)

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return segment(query, frames, context)
