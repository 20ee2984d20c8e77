"""Object masks without a segmentation model: grow a region from a pointed-at pixel.

The VLM points at the object (``locate``); from that seed the region grows over pixels that
look like the seed (colour close to the seed neighbourhood's mean, in CIE Lab) and does not
cross geometric boundaries: depth jumps (the object's silhouette against what is behind it),
creases where the surface normal turns (a chair leg meeting the floor), and, when the world
height of each pixel is known, the floor itself (an object standing on the floor stops there).
"""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.lens import camera_points


def surface_normals(depth: np.ndarray, K: np.ndarray, step: int = 2, distortion: np.ndarray | None = None) -> np.ndarray:
    """Unit surface normals (camera axes) from a depth map by central differences.

    Args:
        depth: H×W z-depth (metres; NaN or 0 = unknown).
        K: 3×3 intrinsics (pixels).
        step: pixel distance of the differences (larger is smoother).
        distortion: the lens's radial (k1, k2) (`lens`); None = pinhole.

    Returns:
        H×W×3 float32 unit normals facing the camera; NaN where undefined.
    """
    z = np.where(depth > 0, depth, np.nan).astype(np.float64)
    pts = camera_points(z, K, distortion)
    du = np.full_like(pts, np.nan)
    dv = np.full_like(pts, np.nan)
    du[:, step:-step] = pts[:, 2 * step :] - pts[:, : -2 * step]
    dv[step:-step] = pts[2 * step :] - pts[: -2 * step]
    n = np.cross(du, dv)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    flip = (n * pts).sum(-1) > 0
    n[flip] *= -1
    return n.astype(np.float32)


def _geometry_edges(
    depth: np.ndarray, K: np.ndarray, depth_tol: float, normal_tol_deg: float, distortion: np.ndarray | None
) -> np.ndarray:
    """H×W bool: pixels on a depth jump or a normal crease."""
    z = np.where(depth > 0, depth, np.nan)
    edges = ~np.isfinite(z)
    with np.errstate(invalid="ignore"):
        jump_x = np.abs(np.diff(z, axis=1)) > depth_tol * np.fmin(z[:, 1:], z[:, :-1])
        jump_y = np.abs(np.diff(z, axis=0)) > depth_tol * np.fmin(z[1:], z[:-1])
    edges[:, 1:] |= jump_x
    edges[:, :-1] |= jump_x
    edges[1:] |= jump_y
    edges[:-1] |= jump_y
    if normal_tol_deg >= 180.0:
        return edges
    n = surface_normals(depth, K, distortion=distortion)
    cos_tol = np.cos(np.radians(normal_tol_deg))
    with np.errstate(invalid="ignore"):
        crease_x = (n[:, 2:] * n[:, :-2]).sum(-1) < cos_tol
        crease_y = (n[2:] * n[:-2]).sum(-1) < cos_tol
    edges[:, 1:-1] |= crease_x
    edges[1:-1] |= crease_y
    return edges


def _within(depth: np.ndarray, K: np.ndarray, seed: tuple[int, int], radius: float, distortion: np.ndarray | None) -> np.ndarray:
    """H×W bool: pixels whose back-projected point lies within ``radius`` metres of the seed pixel's."""
    pts = camera_points(depth, K, distortion)
    x, y = seed
    return (np.linalg.norm(pts - pts[y, x], axis=-1) <= radius) & (depth > 0)


def grow_region(
    image: np.ndarray,
    depth: np.ndarray,
    K: np.ndarray,
    seed: tuple[float, float],
    *,
    height: np.ndarray | None = None,
    colour_tol: float = 28.0,
    depth_tol: float = 0.04,
    normal_tol_deg: float = 35.0,
    floor_margin: float = 0.03,
    max_extent: float | None = 1.2,
    distortion: np.ndarray | None = None,
) -> np.ndarray:
    """The mask of the surface region around ``seed``.

    Args:
        image: H×W×3 uint8 RGB.
        depth: H×W z-depth in metres (0 or NaN = unknown), aligned with ``image``.
        K: 3×3 intrinsics of ``image`` (pixels).
        seed: (x, y) pixel on the object (x right, y down).
        height: optional H×W height of each pixel above the floor (metres); when given and the
            seed is above the floor, floor pixels are excluded.
        colour_tol: largest CIE Lab distance from the seed neighbourhood's mean colour.
        depth_tol: relative depth jump between neighbouring pixels that separates surfaces.
        normal_tol_deg: normal turn (degrees, over 4 pixels) that separates surfaces; used only
            without ``height``.
        floor_margin: pixels lower than this above the floor count as floor (metres).
        max_extent: pixels whose surface point is farther than this from the seed's (metres)
            are excluded (None: no limit); stops leaks into walls of a similar colour.
        distortion: the lens's radial (k1, k2) (`lens`); None = pinhole.

    Returns:
        H×W bool mask; all False if the seed is outside the image.
    """
    import cv2
    from scipy import ndimage

    h, w = depth.shape
    x, y = int(round(seed[0])), int(round(seed[1]))
    if not (0 <= x < w and 0 <= y < h):
        return np.zeros((h, w), bool)
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    y0, y1, x0, x1 = max(0, y - 3), min(h, y + 4), max(0, x - 3), min(w, x + 4)
    ref = lab[y0:y1, x0:x1].reshape(-1, 3).mean(0)
    allowed = np.linalg.norm(lab - ref, axis=-1) <= colour_tol
    if height is not None and height[y, x] > floor_margin:
        allowed &= ~(height <= floor_margin)
    if max_extent is not None and depth[y, x] > 0:
        allowed &= _within(depth, K, (x, y), max_extent, distortion)
    # With the floor known, creases are not needed to stop at the floor, and they would split an
    # object into its faces (a sofa's seat from its arm); without it, they are the only stop.
    crease_tol = 180.0 if height is not None else normal_tol_deg
    passable = allowed & ~_geometry_edges(depth, K, depth_tol, crease_tol, distortion)
    passable[y, x] = True
    labels, _ = ndimage.label(passable)
    region = labels == labels[y, x]
    # Give back the boundary pixels the edge detector took (they belong to either side).
    region = ndimage.binary_dilation(region, iterations=2) & allowed
    region = ndimage.binary_closing(region, iterations=2)
    region = ndimage.binary_fill_holes(region)
    labels, _ = ndimage.label(region)
    return labels == labels[y, x] if region[y, x] else region
