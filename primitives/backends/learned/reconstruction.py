"""The learned backend's reconstruction: classical camera poses with the learned model's dense depth.

A monocular depth model gives depth at every pixel but no camera poses; structure-from-motion
gives poses, a metric scale (floor plane + camera-height prior) and stereo depth where texture
allows. This combines them: the classical backend reconstructs the frames, the depth model
(`estimate_depth`) predicts each frame's depth, and each prediction is aligned to the
classical depth of its frame (a scale for metric depth; scale and shift in inverse depth for
relative models) so that every frame is dense and in the one metric, gravity-aligned world.
Frames the classical backend could not register keep depth 0 (their poses are guesses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.types import Reconstruction

from .pool import adapter_for, missing_models

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

MIN_REFERENCE_PIXELS = 100


def available(context: KernelContext) -> str | None:
    """None when both the learned depth model and the classical poses can run, else why not."""
    from spatialclaw.primitives.backends import classical

    return missing_models(("depth",), context) or classical.available("reconstruction", context)


def estimate_depth(frames: list[Frame], context: KernelContext) -> tuple[list[np.ndarray], bool]:
    """Depth of each frame from the learned depth model.

    Returns:
        (one H×W float32 array per frame, metric): metres when ``metric`` is True, else relative
        inverse depth (unitless, larger is nearer).
    """
    estimator = adapter_for("depth", context)
    return estimator([f.image for f in frames]), bool(getattr(estimator, "metric", False))


def align_depth(
    prediction: np.ndarray, reference: np.ndarray, metric: bool, min_pixels: int = MIN_REFERENCE_PIXELS
) -> tuple[np.ndarray, dict[str, float]]:
    """A depth prediction brought to the reference's metric scale.

    Args:
        prediction: h×w model output: metres when ``metric``, else relative inverse depth
            (larger is nearer).
        reference: H×W metric depth (metres, 0 = unknown); the output has its size.
        metric: what ``prediction`` is.
        min_pixels: fewest known reference pixels to fit on.

    Returns:
        ``(depth, fit)``: H×W float32 metres (0 where the fit gives no positive depth, and
        everywhere when the reference has fewer than ``min_pixels`` known pixels); ``fit`` holds ``scale``
        (and ``shift`` for inverse depth) and ``pixels`` used.

    >>> ref = np.array([[1.0, 2.0], [0.0, 4.0]])
    >>> align_depth(0.5 * np.array([[1.0, 2.0], [3.0, 4.0]]), ref, metric=True, min_pixels=3)[0].tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    import cv2

    pred = np.asarray(prediction, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    if pred.shape != ref.shape:
        pred = cv2.resize(pred, (ref.shape[1], ref.shape[0]), interpolation=cv2.INTER_LINEAR)
    valid = np.isfinite(pred) & np.isfinite(ref) & (ref > 0) & (pred > 0)
    if valid.sum() < min_pixels:
        return np.zeros_like(ref), {"pixels": float(valid.sum())}
    if metric:
        scale = float(np.median(ref[valid] / pred[valid]))
        return (scale * pred).astype(np.float32), {"scale": scale, "pixels": float(valid.sum())}
    x, y = pred[valid].astype(np.float64), 1.0 / ref[valid].astype(np.float64)
    keep = np.ones(len(x), bool)
    for _ in range(3):
        a, b = np.polyfit(x[keep], y[keep], 1)
        residual = np.abs(a * x + b - y)
        keep = residual <= 3.0 * max(float(np.median(residual[keep])) * 1.4826, 1e-9)
    inverse = a * pred.astype(np.float64) + b
    depth = np.where(inverse > 1e-6, 1.0 / np.maximum(inverse, 1e-6), 0.0)
    return depth.astype(np.float32), {"scale": float(a), "shift": float(b), "pixels": float(keep.sum())}


def reconstruct(frames: list[Frame], context: KernelContext) -> Reconstruction:
    """Classical poses and intrinsics with the learned model's depth, aligned per frame."""
    from spatialclaw.primitives.backends import classical

    base = classical.reconstruct(frames, context)
    predictions, metric = estimate_depth(frames, context)
    depth = np.zeros_like(base.depth)
    fits = []
    for i, prediction in enumerate(predictions):
        depth[i], fit = align_depth(prediction, base.depth[i], metric)
        fits.append(fit)
    info = dict(base.info)
    info.update({"depth": "learned, aligned per frame to the classical depth", "depth_metric_model": metric,
                 "depth_fits": fits})
    return Reconstruction(
        depth=depth, pose=base.pose, K=base.K, images=base.images, backend="learned", info=info, valid=base.valid
    )
