"""Drawing primitives for the model: top-down maps and point-cloud views of the reconstruction.

Every function returns an H×W×3 uint8 RGB image (`show()` displays it); the pictures themselves
are drawn by `spatialclaw.primitives.pictures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.pictures import CEILING_CUT_M, PALETTE, look_at, perspective_view, top_down

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Object3D, Reconstruction


def _checked(
    objects: list[Object3D] | Object3D | Reconstruction | None, recon: Reconstruction | None, context: KernelContext
) -> tuple[list[Object3D] | None, Reconstruction]:
    """The objects and the reconstruction to draw (``reconstruct()`` by default), after checking
    the arguments' types. A reconstruction passed first (``top_down_map(r)``) is taken as ``recon``;
    one Object3D as a list of one."""
    from spatialclaw.primitives.perception import run_reconstruction
    from spatialclaw.primitives.types import Object3D, Reconstruction

    if isinstance(objects, Reconstruction):
        if recon is not None:
            raise TypeError("two reconstructions given: pass objects first (a list of Object3D), then recon=")
        objects, recon = None, objects
    if isinstance(objects, Object3D):
        objects = [objects]
    if objects is not None and not (isinstance(objects, (list, tuple)) and all(isinstance(o, Object3D) for o in objects)):
        raise TypeError("objects must be a list of Object3D (from objects3d); pass the reconstruction as recon=")
    if recon is not None and not isinstance(recon, Reconstruction):
        raise TypeError(f"recon must be a Reconstruction (from reconstruct()), got {type(recon).__name__}")
    return (None if objects is None else list(objects)), (run_reconstruction(None, context) if recon is None else recon)


@primitive(group="drawing")
def top_down_map(objects: list[Object3D] | None = None, recon: Reconstruction | None = None, *, context: KernelContext) -> np.ndarray:
    """A top-down map of the room: points (below 2 m) in their colours, the camera path with
    heading arrows and frame numbers (f<i> = frames[i]), and each object's box labelled
    "<list index>:<label>". Axes in metres (world x, y). Pass it to `show()`.

    Args:
        objects: Object3D list to draw (e.g. `objects3d("chair") + objects3d("table")`); none by default.
        recon: the reconstruction; `reconstruct()` of all frames by default.

    Returns:
        H×W×3 uint8 RGB image.
    """
    objects, recon = _checked(objects, recon, context)
    return top_down(recon, objects=objects)


@primitive(group="drawing")
def point_cloud_image(
    objects: list[Object3D] | None = None, recon: Reconstruction | None = None, *, context: KernelContext
) -> np.ndarray:
    """A 3D view of the coloured point cloud from above and behind the first camera, with object
    boxes drawn as wireframes labelled "<list index>:<label>". Pass it to `show()`.

    Args:
        objects: Object3D list whose boxes to draw; none by default.
        recon: the reconstruction; `reconstruct()` of all frames by default.

    Returns:
        640×480×3 uint8 RGB image.
    """
    import cv2

    from spatialclaw.primitives import math3d

    objects, r = _checked(objects, recon, context)
    pts = np.concatenate([r.points(i, stride=4) for i in range(len(r))])
    cols = np.concatenate([r.colors(i, stride=4) for i in range(len(r))])
    keep = pts[:, 2] < CEILING_CUT_M
    pts, cols = pts[keep], cols[keep]
    center = np.median(pts, axis=0) if len(pts) else np.zeros(3)
    radius = float(np.percentile(np.linalg.norm(pts[:, :2] - center[:2], axis=1), 95)) if len(pts) else 3.0
    back = r.camera_forward()[0, :2]
    back = -back / max(np.linalg.norm(back), 1e-9)
    eye = center + np.array([back[0], back[1], 0.0]) * 1.6 * radius + np.array([0, 0, 1.4 * radius + 1.0])
    image, K = perspective_view(pts, cols, look_at(eye, center))
    pose = look_at(eye, center)
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7)]
    for n, obj in enumerate(objects or []):
        uv, z = math3d.project(obj.corners(), K, pose)
        if not np.isfinite(uv).all():
            continue
        color = tuple(int(c) for c in PALETTE[n % len(PALETTE)])
        for a, b in edges:
            cv2.line(image, tuple(int(v) for v in uv[a]), tuple(int(v) for v in uv[b]), color, 2)
        top = uv[4:].mean(axis=0).astype(int)
        cv2.putText(image, f"{n}:{obj.label}", (int(top[0]), int(top[1])), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 2)
        cv2.putText(image, f"{n}:{obj.label}", (int(top[0]), int(top[1])), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1)
    return image
