"""Multi-view plane-sweep stereo: dense depth for frames whose neighbours moved along the view.

Rectified two-view stereo (`stereo`) needs a sideways baseline; a walking camera mostly moves
forward, where planar rectification breaks down. The plane sweep works for any motion: for each
candidate depth, every neighbour is warped into the reference frame through the homography of the
fronto-parallel plane at that depth, and the photo-consistency (zero-mean normalised
cross-correlation over a window) says how well that depth explains the pixel. The best depth per
pixel wins if it is clearly better than the others; ambiguous pixels (no texture, occlusion)
stay NaN for `densify` to fill.
"""

from __future__ import annotations

import numpy as np


def _box(x: np.ndarray, window: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(x, cv2.CV_32F, (window, window), borderType=cv2.BORDER_REFLECT)


def plane_sweep_depth(
    image: np.ndarray,
    neighbours: list[np.ndarray],
    K: np.ndarray,
    pose: np.ndarray,
    neighbour_poses: list[np.ndarray],
    depth_range: tuple[float, float],
    *,
    n_planes: int = 64,
    window: int = 7,
    min_ncc: float = 0.5,
    min_margin: float = 0.05,
    min_texture: float = 2.0,
) -> np.ndarray:
    """Depth of ``image``'s pixels by sweeping fronto-parallel planes through its neighbours.

    Args:
        image: H×W×3 uint8 RGB reference frame.
        neighbours: other frames (H×W×3 uint8 RGB) that see the same surfaces.
        K: 3×3 intrinsics shared by all frames (pixels).
        pose: 4×4 camera-to-world of the reference frame (any consistent unit).
        neighbour_poses: 4×4 camera-to-world of each neighbour.
        depth_range: (near, far) z-depths to search (pose units); planes are spaced uniformly
            in inverse depth.
        n_planes: number of depth hypotheses.
        window: side of the square correlation window (pixels, odd).
        min_ncc: a winning correlation below this is rejected.
        min_margin: the winning cost must beat the best cost away from it (more than one plane
            off) by this much, or the pixel is ambiguous and rejected.
        min_texture: pixels whose local grey-level standard deviation (0–255 scale) is below
            this are rejected (no texture to match).

    Returns:
        H×W float32 z-depth (pose units); NaN where no confident depth was found.
    """
    import cv2

    h, w = image.shape[:2]
    ref = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mu_r = _box(ref, window)
    var_r = _box(ref * ref, window) - mu_r * mu_r
    std_r = np.sqrt(np.maximum(var_r, 0.0))
    grays = [cv2.cvtColor(n, cv2.COLOR_RGB2GRAY).astype(np.float32) for n in neighbours]
    ones = np.ones((h, w), np.float32)

    near, far = depth_range
    inv_depths = np.linspace(1.0 / far, 1.0 / near, n_planes)
    K_inv = np.linalg.inv(K)
    world_to_ref = np.linalg.inv(pose)
    cost = np.full((n_planes, h, w), np.inf, np.float32)
    normal = np.array([0.0, 0.0, 1.0])
    for p, inv_d in enumerate(inv_depths):
        total = np.zeros((h, w), np.float32)
        count = np.zeros((h, w), np.float32)
        for gray, npose in zip(grays, neighbour_poses):
            nb_from_ref = np.linalg.inv(npose) @ np.linalg.inv(world_to_ref)
            R, t = nb_from_ref[:3, :3], nb_from_ref[:3, 3]
            H = K @ (R + np.outer(t, normal) * inv_d) @ K_inv  # reference pixel -> neighbour pixel
            warped = cv2.warpPerspective(gray, H, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
            inside = cv2.warpPerspective(ones, H, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
            inside = _box(inside, window) > 0.999
            mu_n = _box(warped, window)
            var_n = _box(warped * warped, window) - mu_n * mu_n
            cov = _box(warped * ref, window) - mu_n * mu_r
            ncc = cov / np.sqrt(np.maximum(var_n * var_r, 1e-6))
            total += np.where(inside, 1.0 - ncc, 0.0)
            count += inside
        cost[p] = np.where(count > 0, total / np.maximum(count, 1.0), np.inf)

    best = np.argmin(cost, axis=0)
    rows, cols = np.indices((h, w))
    c_best = cost[best, rows, cols]
    # The best cost away from the winner (more than one plane off): a clear winner beats it.
    masked = cost.copy()
    for off in (-1, 0, 1):
        k = np.clip(best + off, 0, n_planes - 1)
        masked[k, rows, cols] = np.inf
    c_second = masked.min(axis=0)
    # Sub-plane refinement: a parabola through the winner and its two neighbours.
    lo = np.clip(best - 1, 0, n_planes - 1)
    hi = np.clip(best + 1, 0, n_planes - 1)
    with np.errstate(invalid="ignore"):  # costs are inf where no neighbour saw the pixel
        c_lo, c_hi = cost[lo, rows, cols], cost[hi, rows, cols]
        denom = c_lo - 2.0 * c_best + c_hi
        curved = (denom > 1e-6) & np.isfinite(denom) & (lo != best) & (hi != best)
        shift = np.zeros((h, w))
        shift[curved] = 0.5 * (c_lo[curved] - c_hi[curved]) / denom[curved]
        step = inv_depths[1] - inv_depths[0] if n_planes > 1 else 0.0
        inv = inv_depths[best] + np.clip(shift, -0.5, 0.5) * step
        good = np.isfinite(c_best) & (1.0 - c_best >= min_ncc) & (c_second - c_best >= min_margin) & (std_r >= min_texture)
        good &= (best > 0) & (best < n_planes - 1)  # a winner at the edge of the range is out of range
    depth = np.where(good, 1.0 / np.maximum(inv, 1e-12), np.nan).astype(np.float32)
    return depth
