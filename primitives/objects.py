"""The `objects3d` primitive: per-frame masks fused into one 3D object per physical object."""

from __future__ import annotations

from functools import partial

from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.fusion import FUSION_VERSION, fuse
from spatialclaw.primitives.perception import object_masks, run_objects
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.types import Object3D, Reconstruction


@primitive(group="objects")
def objects3d(query: str, recon: Reconstruction | None = None, *, context: KernelContext) -> list[Object3D]:
    """The physical objects named by `query`, in 3D: one entry per object, not per frame.

    Masks from `segment(query)` are lifted to 3D with the reconstruction's depth and poses and
    merged across frames by 3D overlap, so a chair seen in ten frames is one object and two
    chairs are two. `len(objects3d("chair"))` counts chairs. Results are cached.

    Args:
        query: object name(s), e.g. "chair" or "chairs, tables"; "*" asks for every object.
        recon: the reconstruction to use (its frames only); `reconstruct()` of all frames by default.

    Returns:
        Objects sorted by first appearance. Each `o` has `o.label`; `o.points` (N, 3) metres;
        `o.center` (3,) metres; `o.size` (3,) = (length, width, height) of its gravity-aligned
        box in metres (`max(o.size)` = longest dimension); `o.yaw` radians; `o.frames`
        (positions in `frames` where visible); `o.first_frame`; `o.height_above_floor` metres;
        `o.corners()` (8, 3); `o.notes` (e.g. that it moves during the video: it is then
        described where it was first seen; use `tracks3d` for its motion). `show(o)` draws it from above.

    Example:
        chairs = objects3d("chair")
        print(len(chairs), [round(max(c.size) * 100) for c in chairs])   # count, longest side in cm
    """
    times = [f.time for f in context.frames]
    if recon is None:
        return run_objects(query, partial(fuse, times=times), {"fusion": FUSION_VERSION}, context)
    masks, tracked = object_masks(query, [int(i) for i in recon.frame_ids], context)
    return fuse(masks, recon, tracked=tracked, times=times)
