"""`LearnedBackend`: the learned models behind the `PerceptionBackend` protocol.

- ``available(family, context)``: None when the weights a family needs are found offline.
- ``segment(query, frames, context) -> Masks``: SAM 3 (text prompt → instance masks per frame);
  Grounding DINO / OWLv2 boxes then SAM / SAM 2 masks when SAM 3 is absent or a detector or
  box segmenter is named in the options.
- ``track(query, frames, context) -> Masks``: SAM 3 video, one id per object over the frames.
- ``reconstruct(frames, context)``: Depth Anything 3's one-pass poses and depth where its
  package and a checkpoint are here (`feedforward.py`), else classical camera poses (their
  features matched by SuperPoint + LightGlue where that checkpoint is on disk) with the learned
  depth (`reconstruction.py`).

Models come from ``context.options`` (``text_segment_model``, ``track_model``, ``depth_model``,
``match_model``, ``reconstruct_model``, ``detect_model``, ``segment_model``: a local folder or a Hub id in the local cache), else the
first of ``KNOWN_MODELS`` found; ``device``, ``dtype``, ``segment_threshold`` (SAM 3) and
``detect_threshold`` are read there too. Loaded adapters live in the kernel's `ModelPool`
(``context.loaded``) for the life of the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatialclaw.primitives.backends.base import BackendBase, Family

from . import reconstruction
from .base import Task
from .loading import segment_with_text
from .pool import adapter_for, chosen_model, missing_models

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Masks, Reconstruction

DETECT_THEN_SEGMENT: tuple[Task, ...] = ("detect", "segment")
TEXT_SEGMENT: tuple[Task, ...] = ("text_segment",)

EVERYTHING_QUERIES = frozenset({"*", "all", "everything", "anything", "object", "objects", "all objects"})


def segmentation_tasks(context: KernelContext) -> tuple[Task, ...]:
    """The models segmentation uses here: SAM 3 alone, or a detector then a box segmenter.

    SAM 3 when ``text_segment_model`` is named, or when neither ``detect_model`` nor
    ``segment_model`` is named and SAM 3 is on disk; else the detector and the box segmenter.
    """
    options = context.options
    if options.get("text_segment_model"):
        return TEXT_SEGMENT
    if options.get("detect_model") or options.get("segment_model"):
        return DETECT_THEN_SEGMENT
    return TEXT_SEGMENT if chosen_model("text_segment", context) else DETECT_THEN_SEGMENT


def available(family: str, context: KernelContext) -> str | None:
    """None when the learned models of ``family`` are on this machine, else why not (one line)."""
    if family == "reconstruction":
        return reconstruction.available(context)
    if family == "segmentation":
        return missing_models(segmentation_tasks(context), context)
    if family == "tracking":
        return missing_models(("track",), context)
    return f"the learned backend has no {family}"


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
    """Masks of the objects ``query`` names in ``frames`` (SAM 3, else detector boxes prompting SAM).

    Frame ids in the result are positions in ``frames``; all frames must share one size.
    """
    from spatialclaw.primitives.types import Masks

    _one_size(frames)
    if not frames:
        return Masks.empty()
    height, width = frames[0].image.shape[:2]
    if segmentation_tasks(context) == TEXT_SEGMENT:
        segmenter = adapter_for("text_segment", context)
        per_frame = segmenter([f.image for f in frames], phrases(query), threshold=context.options.get("segment_threshold"))
        return Masks.concat(per_frame, height, width)
    masks = segment_with_text(
        [f.image for f in frames],
        phrases(query),
        detector=adapter_for("detect", context),
        segmenter=adapter_for("segment", context),
        threshold=context.options.get("detect_threshold"),
    )
    return masks if len(masks) else Masks.empty(height, width)


def track(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """Masks of the objects ``query`` names, with one ``instance_ids`` value per object over ``frames``.

    ``frames`` are the frames of one video in time order; frame ids are positions in them.
    """
    from spatialclaw.primitives.types import Masks

    _one_size(frames)
    if not frames:
        return Masks.empty()
    return adapter_for("track", context).track([f.image for f in frames], phrases(query))


class LearnedBackend(BackendBase):
    """The `PerceptionBackend` of the learned models (transformers), weights found offline only."""

    name = "learned"
    families: tuple[Family, ...] = ("reconstruction", "segmentation", "tracking")
    identities = "tracked"

    def available(self, family: str, context: KernelContext) -> str | None:
        return available(family, context)

    def checkpoints(self, family: str, context: KernelContext) -> dict[str, str]:
        if reconstruction.is_one_image(context):
            poses: tuple[Task, ...] = ()
        else:
            poses = ("reconstruct",) if reconstruction.feedforward.ready(context) else ("match",)
        tasks = {"reconstruction": ("depth", *poses), "segmentation": segmentation_tasks(context), "tracking": ("track",)}
        return {task: model for task in tasks.get(family, ()) if (model := chosen_model(task, context))}

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        return reconstruction.reconstruct(frames, context)

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return segment(query, frames, context)

    def track(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return track(query, frames, context)
