"""What one view tells about an object beyond its points: is it cut by the image border, hidden
behind something nearer, or placed where the camera sees straight through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from spatialclaw.primitives import math3d

if TYPE_CHECKING:
    from spatialclaw.primitives.types import Reconstruction


class DepthView(NamedTuple):
    """What a frame's camera sees, for the free-space test: its H×W depth (metres; 0 = unknown),
    3×3 intrinsics ``K`` (pixels), 4×4 camera-to-world ``pose`` and radial lens ``distortion``
    ((2,) k1, k2; None = pinhole)."""

    depth: np.ndarray
    K: np.ndarray
    pose: np.ndarray
    distortion: np.ndarray | None = None


def depth_view(recon: Reconstruction, entry: int) -> DepthView:
    """Entry ``entry`` of ``recon`` as a `DepthView`, its depth the `nearest_depth` (so thin parts are not seen through)."""
    return DepthView(nearest_depth(recon.depth[entry]), recon.K[entry], recon.pose[entry], recon.lens(entry))


def cut_by_border(mask: np.ndarray, margin: int = 2) -> bool:
    """True when the H×W mask reaches within ``margin`` pixels of the image border."""
    if not mask.any():
        return False
    return bool(mask[:margin].any() or mask[-margin:].any() or mask[:, :margin].any() or mask[:, -margin:].any())


def occluded_fraction(depth: np.ndarray, mask: np.ndarray, ring: int = 3, tolerance: float = 0.08) -> float:
    """Fraction of the mask's outline where what lies just outside it is nearer to the camera.

    Where something in front hides part of an object, the pixels bordering the mask on that
    side belong to the occluder, whose depth is smaller than the object's depth next to it
    (by more than ``tolerance`` × depth).

    Args:
        depth: H×W metres (0 = unknown).
        mask: H×W bool.
        ring: width of the outline examined, pixels.
        tolerance: relative depth difference that counts as "in front".
    """
    import cv2

    m = mask.astype(np.uint8)
    if not m.any():
        return 0.0
    kernel = np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)
    outside = (cv2.dilate(m, kernel) > 0) & ~mask
    valid_in = mask & (depth > 0)
    d_in = np.where(valid_in, depth, 0).astype(np.float32)
    size = (4 * ring + 1, 4 * ring + 1)
    total = cv2.blur(d_in, size, borderType=cv2.BORDER_CONSTANT)
    count = cv2.blur(valid_in.astype(np.float32), size, borderType=cv2.BORDER_CONSTANT)
    near_in = np.where(count > 0, total / np.maximum(count, 1e-6), 0)
    ring_px = outside & (near_in > 0)
    if not ring_px.any():
        return 0.0
    d_out = depth[ring_px]
    in_front = (d_out > 0) & (d_out < near_in[ring_px] * (1.0 - tolerance))
    return float(in_front.mean())


def observation_weight(cut: bool, occluded: float) -> float:
    """Prior confidence of a view in [0, 1]: halved when cut by the border, lowered by occlusion."""
    return (0.5 if cut else 1.0) * (1.0 - 0.8 * min(1.0, 2.0 * occluded))


def nearest_depth(depth: np.ndarray, radius: int = 1) -> np.ndarray:
    """H×W: the smallest known depth (metres) within ``radius`` pixels of each pixel (0 where none is known).

    The free-space test compares a point with this, so a point of a thin part (a chair leg)
    that rounds onto the background pixel beside the leg is not taken as seen through.
    """
    import cv2

    d = np.where(depth > 0, depth, np.inf).astype(np.float32)
    near = cv2.erode(d, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return np.where(np.isfinite(near), near, 0.0).astype(np.float32)


def free_space_violation(shape: np.ndarray, camera: DepthView | None, max_points: int = 800) -> float:
    """Fraction of ``shape``'s world points (N, 3) the camera sees straight through.

    A point inside the image that is nearer than the surface the depth map shows there (by
    more than 5 cm or 5 %) cannot be part of a solid object at that place: the camera looks
    through it. A shape placed where the object really is violates nothing (what the camera
    does not see of it lies behind the visible surface).
    """
    if camera is None or len(shape) == 0:
        return 0.0
    pts = shape if len(shape) <= max_points else shape[np.linspace(0, len(shape) - 1, max_points).astype(np.int64)]
    uv, z = math3d.project(pts, camera.K, camera.pose, camera.distortion)
    depth = camera.depth
    h, w = depth.shape
    ok = np.isfinite(uv[:, 0]) & (z > 0)
    u = np.floor(np.nan_to_num(uv[:, 0], nan=-1.0)).astype(np.int64)
    v = np.floor(np.nan_to_num(uv[:, 1], nan=-1.0)).astype(np.int64)
    ok &= (u >= 0) & (u < w) & (v >= 0) & (v < h)
    if not ok.any():
        return 0.0
    seen = depth[v[ok], u[ok]]
    through = (seen > 0) & (z[ok] < seen - np.maximum(0.05, 0.05 * seen))
    return float(through.mean())
