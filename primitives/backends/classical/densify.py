"""Fill the holes of a partial depth map, guided by the image and the sparse points.

Stereo answers where there is texture; walls, floors and table tops often have little. Planar
surfaces dominate indoor scenes, and over a plane inverse depth is an affine function of the
pixel position (1/z = a·u + b·v + c), so: split the image into colour-coherent superpixels, fit
that affine function robustly to each superpixel's known depths (stereo and sparse
structure-from-motion points), and fill the superpixel's holes from it. What is still empty
(superpixels with too few samples) is filled by smooth interpolation of inverse depth from the
surrounding known values.
"""

from __future__ import annotations

import numpy as np


def splat_sparse(uv: np.ndarray, z: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rasterise sparse depths into an H×W map (nearest pixel; the nearer point wins).

    Args:
        uv: N×2 pixel coordinates (x, y).
        z: N depths.
        shape: (H, W).

    Returns:
        H×W float32 depth, NaN where no point fell.
    """
    h, w = shape
    out = np.full((h, w), np.inf, np.float32)
    if len(z):
        x = np.round(uv[:, 0]).astype(np.int64)
        y = np.round(uv[:, 1]).astype(np.int64)
        ok = (x >= 0) & (x < w) & (y >= 0) & (y < h) & (z > 0)
        np.minimum.at(out, (y[ok], x[ok]), z[ok].astype(np.float32))
    out[~np.isfinite(out)] = np.nan
    return out


def _fit_inverse_plane(u: np.ndarray, v: np.ndarray, inv: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Least-squares 1/z = a·u + b·v + c with one round of outlier rejection; None if ill-posed."""
    A = np.stack([u, v, np.ones_like(u)], 1)
    coef = None
    keep = np.ones(len(inv), bool)
    for _ in range(2):
        if keep.sum() < 3:
            return None
        coef, *_ = np.linalg.lstsq(A[keep], inv[keep], rcond=None)
        resid = np.abs(A @ coef - inv)
        scale = 1.4826 * np.median(resid[keep]) + 1e-9
        keep = resid <= max(3.0 * scale, 0.01 * np.median(inv))
    rel = np.median(np.abs(A[keep] @ coef - inv[keep]) / inv[keep])
    return coef, float(rel)


def fill_depth(
    image: np.ndarray,
    depth: np.ndarray,
    *,
    n_segments: int = 400,
    min_samples: int = 12,
    max_plane_residual: float = 0.05,
) -> np.ndarray:
    """Complete a partial depth map.

    Args:
        image: H×W×3 uint8 RGB, the frame the depth belongs to.
        depth: H×W float32 z-depth, NaN where unknown (stereo and splatted sparse points).
        n_segments: approximate number of superpixels.
        min_samples: a superpixel needs this many known depths to get a plane.
        max_plane_residual: a plane whose median relative misfit exceeds this is not used
            (the superpixel is not planar).

    Returns:
        H×W float32 depth with every pixel filled (known pixels unchanged), same unit as the input;
        all-NaN input comes back unchanged.
    """
    import cv2
    from skimage.segmentation import slic

    known = np.isfinite(depth) & (depth > 0)
    if not known.any() or known.all():
        return depth.astype(np.float32).copy()
    h, w = depth.shape
    out = depth.astype(np.float32).copy()
    inv = np.zeros((h, w), np.float64)
    inv[known] = 1.0 / depth[known]

    labels = slic(image, n_segments=n_segments, compactness=10.0, start_label=0)
    vv, uu = np.indices((h, w))
    order = np.argsort(labels, axis=None)
    bounds = np.searchsorted(labels.ravel()[order], np.arange(labels.max() + 2))
    flat_known = known.ravel()
    for s in range(labels.max() + 1):
        idx = order[bounds[s] : bounds[s + 1]]
        k = idx[flat_known[idx]]
        holes = idx[~flat_known[idx]]
        if len(holes) == 0 or len(k) < min_samples:
            continue
        fit = _fit_inverse_plane(uu.ravel()[k].astype(np.float64), vv.ravel()[k].astype(np.float64), inv.ravel()[k])
        if fit is None or fit[1] > max_plane_residual:
            continue
        coef = fit[0]
        pred = coef[0] * uu.ravel()[holes] + coef[1] * vv.ravel()[holes] + coef[2]
        lo, hi = inv.ravel()[k].min(), inv.ravel()[k].max()
        pred = np.clip(pred, 0.5 * lo, 2.0 * hi)  # no extrapolation to infinity or to the lens
        out.ravel()[holes] = (1.0 / pred).astype(np.float32)

    rest = ~np.isfinite(out)
    if rest.any():
        filled_inv = np.where(rest, 0.0, 1.0 / np.where(rest, 1.0, out)).astype(np.float32)
        filled_inv = cv2.inpaint(filled_inv, rest.astype(np.uint8), 5, cv2.INPAINT_NS)
        out[rest] = 1.0 / np.maximum(filled_inv[rest], 1e-6)
    return out
