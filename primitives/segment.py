"""The `segment` primitive: open-vocabulary instance masks per frame."""

from __future__ import annotations

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.perception import run_segmentation
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.types import Masks


@primitive(group="segmentation")
def segment(query: str, frames: list[Frame] | list[int] | None = None, *, context: KernelContext) -> Masks:
    """Instance masks of the objects named by `query`, in each frame.

    One mask per object per frame it is visible in (the same chair in 5 frames gives 5 masks;
    use `objects3d` to count physical objects). Names match case-insensitively, plurals and
    common synonyms included ("couches" finds "sofa"). Results are cached.

    Args:
        query: object name(s), e.g. "chair" or "chairs, tables"; "*" asks for every object.
        frames: which frames (Frame objects from `frames`, or their positions); all by default.

    Returns:
        Masks `m`: `m.masks` (N, H, W) bool, `m.boxes` (N, 4) pixel x0, y0, x1, y1,
        `m.scores` (N,), `m.labels` (N,) str, `m.frame_ids` (N,) position in `frames`,
        `m.areas` (N,) pixels. Filter like numpy: `m[m.frame_ids == 3]`, `m[m.scores > 0.5]`.
        `len(m)` counts masks; `show(m)` draws them over their frames.
    """
    return run_segmentation(query, frames, context)
