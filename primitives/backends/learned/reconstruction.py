"""The learned backend's reconstruction: classical camera poses with the learned model's dense depth.

A monocular depth model gives depth at every pixel but no camera poses; structure-from-motion
gives poses, a metric scale (floor plane + camera-height prior) and stereo depth where texture
allows. This combines them: the classical backend reconstructs the frames, the depth model
(`estimate_depth`) predicts each frame's depth, and each prediction is aligned to the
classical depth of its frame (a scale for metric depth; scale and shift in inverse depth for
relative models) so that every frame is dense and in the one metric, gravity-aligned world.
Frames the classical backend could not register keep depth 0 (their poses are guesses).

Features for structure-from-motion: SuperPoint + LightGlue (`matching.KeypointMatcher`) when
its checkpoint is on disk, else COLMAP's SIFT (`classical_poses`); ``info["sfm"]["matcher"]``
says which found the poses. Where the learned matches leave frames unregistered (or give no
reconstruction), SIFT runs too and the one that registers more frames is kept, with a warning in
``quality`` when that is SIFT.

Scale: with a metric depth model the world is rescaled so that the depth model's metres hold
(``quality.scale_source == "metric-depth"``), unless the classical poses came with exact scale;
the poses are still structure-from-motion's, so its gates' warnings carry over unchanged, except
the one that the classical depth was mostly filled in rather than measured (`gates.unmeasured_depth`):
the depth is the model's at every pixel, so it does not apply (no gate checks the model's depth).

Depth Anything 3: where its package and a checkpoint are here, its one-pass poses, intrinsics
and depth (`feedforward`) replace structure-from-motion and the per-frame depth; a metric depth
model then only sets the scale (``scale_source`` ``"metric-depth"``).

Focal length: a depth model that estimates it (Depth Pro) runs first, and the median of its
per-frame estimates is the focal prior structure-from-motion starts from (instead of a 60° field
of view). Where the views pin the focal length down and it ends more than `FOCAL_DISAGREEMENT`
from the model's, ``quality.warnings`` says so; where they do not, the warning says the model's
estimate was kept (not the 60° guess).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Reconstruction

from . import feedforward, monocular
from .pool import adapter_for, chosen_model, missing_models

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

MIN_REFERENCE_PIXELS = 100

SCALE_DISAGREEMENT = 0.25
"""The floor-based and the depth model's scales differing by more than this (relative) is reported."""

FOCAL_DISAGREEMENT = 0.25
"""Structure-from-motion's and the depth model's focal lengths differing by more than this
(relative) is reported."""

KEPT_FOCAL_TOLERANCE = 0.02
"""SfM's unrefined focal length within this (relative) of the model's is the model's prior kept."""

PRIOR_FOV_RANGE_DEG = (20.0, 130.0)
"""A depth model's field of view (across the longer image side, degrees) outside this range is
not believed as the focal prior: the 60° prior is used instead."""


@dataclass(frozen=True)
class DepthPrediction:
    """The depth model's output for N frames.

    Attributes:
        depths: N arrays (h×w float32): metres when ``metric``, else relative inverse depth
            (unitless, larger is nearer).
        metric: what ``depths`` are.
        focals: N focal lengths in pixels of the frame (None where the model estimates none).
    """

    depths: list[np.ndarray]
    metric: bool
    focals: list[float | None]

    @property
    def focal_px(self) -> float | None:
        """The median of the per-frame focal lengths (pixels; one camera for all frames), or None."""
        known = [f for f in self.focals if f is not None and math.isfinite(f) and f > 0]
        return float(np.median(known)) if known else None


def available(context: KernelContext) -> str | None:
    """None when both the learned depth model and the classical poses can run, else why not."""
    from spatialclaw.primitives.backends import classical

    if is_one_image(context):
        return missing_models(("depth",), context)
    if feedforward.ready(context):
        return None
    return missing_models(("depth",), context) or classical.available("reconstruction", context)


def is_one_image(context: KernelContext) -> bool:
    """The input is a single image (no RGB-D ground truth): `monocular.reconstruct_one` serves it."""
    return len(context.frames) == 1 and context.source_kind != "rgbd"


def estimate_depth(frames: list[Frame], context: KernelContext) -> DepthPrediction:
    """Depth of each frame from the learned depth model, with its focal length where it gives one."""
    estimator = adapter_for("depth", context)
    images = [f.image for f in frames]
    metric = bool(getattr(estimator, "metric", False))
    if hasattr(estimator, "with_focal"):
        pairs = estimator.with_focal(images)
        return DepthPrediction([d for d, _ in pairs], metric, [f for _, f in pairs])
    return DepthPrediction(list(estimator(images)), metric, [None] * len(images))


def prior_fov_deg(focal_px: float | None, width: int, height: int) -> float | None:
    """The field of view across the longer side of a ``width`` × ``height`` frame (degrees) that
    a focal length of ``focal_px`` pixels gives, for structure-from-motion's prior; None without
    one, or outside `PRIOR_FOV_RANGE_DEG`.

    >>> round(prior_fov_deg(320.0, 640, 480), 1)
    90.0
    """
    if focal_px is None or not math.isfinite(focal_px) or focal_px <= 0:
        return None
    fov = math.degrees(2.0 * math.atan(0.5 * max(width, height) / focal_px))
    lo, hi = PRIOR_FOV_RANGE_DEG
    return fov if lo <= fov <= hi else None


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


def metric_rescale(fits: list[dict[str, float]]) -> float | None:
    """How much to scale the classical world so a metric depth model's metres hold (None: no fit).

    Each metric fit's ``scale`` maps the prediction onto the classical depth; their median's
    inverse takes the classical world to the model's metres.
    """
    scales = [f["scale"] for f in fits if f.get("scale", 0) > 0]
    return 1.0 / float(np.median(scales)) if scales else None


def _quality(base: ReconstructionQuality, factor: float | None) -> ReconstructionQuality:
    """The classical quality with the scale taken from the metric depth model (when ``factor``)."""
    if factor is None or base.scale_source == "gt":
        return base
    from spatialclaw.primitives.backends.classical import gates

    warnings = [w for w in base.warnings if not gates.is_assumed_height_warning(w)]  # the metres are the model's
    if base.scale_source == "floor+camera-height" and abs(factor - 1.0) > SCALE_DISAGREEMENT:
        warnings.append(
            f"the depth model's metric scale differs from the floor and camera-height estimate by {abs(factor - 1.0):.0%}: "
            "the depth model's metres are used; treat absolute sizes as approximate"
        )
    path = None if base.path_m is None else base.path_m * factor
    return dataclasses.replace(base, scale_source="metric-depth", warnings=warnings, path_m=path)


def _model_depth(quality: ReconstructionQuality) -> ReconstructionQuality:
    """The classical quality without its depth warning (`gates.unmeasured_depth`): the depth is now
    the model's at every pixel, not stereo filled in between measured points, so that gate does not
    apply (and nothing here checks the model's depth against a second view)."""
    from spatialclaw.primitives.backends.classical import gates

    return dataclasses.replace(quality, warnings=[w for w in quality.warnings if not gates.is_unmeasured_depth_warning(w)])


def classical_poses(frames: list[Frame], context: KernelContext, prior_fov_deg: float | None = None) -> Reconstruction:
    """The classical reconstruction, its SfM features from SuperPoint + LightGlue when on disk,
    its focal length starting from ``prior_fov_deg`` (degrees across the longer side; None: 60°).

    Learned matching that registers every frame is kept. Otherwise SIFT runs too, and SIFT's
    reconstruction is kept only when it registers more frames (or the learned one failed), with
    a warning saying so; ``info["matchers_registered"]`` holds both counts. When both fail,
    SIFT's error is raised.
    """
    from spatialclaw.primitives.backends import classical

    if chosen_model("match", context) is None:
        return classical.reconstruct(frames, context, prior_fov_deg=prior_fov_deg)
    matcher = adapter_for("match", context)
    try:
        learned: Reconstruction | None = classical.reconstruct(frames, context, matcher=matcher, prior_fov_deg=prior_fov_deg)
        failure = ""
    except PerceptionError as err:
        learned, failure = None, str(err)
    if learned is not None and learned.quality.registered == learned.quality.total:
        return learned
    try:
        sift = classical.reconstruct(frames, context, prior_fov_deg=prior_fov_deg)
    except PerceptionError:
        if learned is None:
            raise
        return learned
    counts = {matcher.name: 0 if learned is None else learned.quality.registered, "sift": sift.quality.registered}
    if learned is not None and counts[matcher.name] >= counts["sift"]:
        learned.info["matchers_registered"] = counts
        return learned
    why = f"gave no reconstruction ({failure})" if learned is None else f"registered {counts[matcher.name]} of {len(frames)} frames"
    warning = f"learned feature matching ({matcher.name}) {why}; COLMAP's SIFT features registered {counts['sift']} and were used"
    sift.quality = dataclasses.replace(sift.quality, warnings=[*sift.quality.warnings, warning])
    sift.info["matchers_registered"] = counts
    return sift


def _focal_warnings(quality: ReconstructionQuality, base: Reconstruction, model_focal: float | None, prior_used: bool) -> ReconstructionQuality:
    """``quality`` with what the depth model's focal length says about structure-from-motion's.

    With the model's focal as the prior, SfM's "60° field of view assumed" warning is wrong: it
    goes, replaced by one saying the model's estimate was kept where SfM ended on it unrefined.
    Either way, SfM's focal more than `FOCAL_DISAGREEMENT` from the model's is a warning.
    """
    from spatialclaw.primitives.backends.classical import gates

    refined = base.info.get("sfm", {}).get("focal_refined")
    if model_focal is None or refined is None:
        return quality
    sfm_focal = float(base.K[0, 0, 0])
    fov = math.degrees(2.0 * math.atan(0.5 * base.depth.shape[2] / model_focal))
    off = abs(sfm_focal / model_focal - 1.0)
    warnings = list(quality.warnings)
    if prior_used:
        assumed = gates.assumed_focal(False).message  # type: ignore[union-attr]
        kept = [] if refined or off > KEPT_FOCAL_TOLERANCE else [
            f"the views could not pin down the focal length, so the depth model's estimate is used ({model_focal:.0f} px, "
            f"a {fov:.0f}° horizontal field of view): sizes and depths rest on it"
        ]
        at = warnings.index(assumed) if assumed in warnings else len(warnings)
        warnings = [w for w in warnings if w != assumed]
        warnings[at:at] = kept
    if off > FOCAL_DISAGREEMENT:
        warnings.append(
            f"structure-from-motion's focal length ({sfm_focal:.0f} px) differs from the depth model's estimate "
            f"({model_focal:.0f} px, a {fov:.0f}° horizontal field of view) by {off:.0%}: "
            "one of them is wrong, so treat sizes and distances as approximate"
        )
    return dataclasses.replace(quality, warnings=warnings)


def metric_feedforward(frames: list[Frame], context: KernelContext) -> Reconstruction:
    """Depth Anything 3's reconstruction (`feedforward.reconstruct`), its world rescaled to a
    metric depth model's metres where one is on disk (the median ratio of the model's depth to
    DA3's, over every frame); DA3's own depth and poses are kept."""
    base = feedforward.reconstruct(frames, context)
    if missing_models(("depth",), context) is not None:
        return base
    prediction = estimate_depth(frames, context)
    fits = [align_depth(p, base.depth[i], prediction.metric)[1] for i, p in enumerate(prediction.depths)]
    factor = metric_rescale(fits) if prediction.metric else None
    if factor is None:
        return base
    from spatialclaw.primitives.backends.classical import gates

    pose = base.pose.copy()
    pose[:, :3, 3] *= factor
    quality = _quality(base.quality, factor)
    weak_floor = gates.weak_floor(base.quality.floor_confidence, float(base.info["camera_height_m"]))
    warnings = [w for w in quality.warnings if weak_floor is None or w != weak_floor.message]  # the metres are the model's now
    model_focal, da3_focal = prediction.focal_px, float(np.median(base.K[:, 0, 0]))
    if model_focal is not None and abs(da3_focal / model_focal - 1.0) > FOCAL_DISAGREEMENT:
        warnings.append(
            f"Depth Anything 3's focal length ({da3_focal:.0f} px) differs from the depth model's estimate "
            f"({model_focal:.0f} px) by {abs(da3_focal / model_focal - 1.0):.0%}: treat sizes and distances as approximate"
        )
    quality = dataclasses.replace(quality, warnings=warnings)
    info = {**base.info, "depth_metric_model": True, "depth_fits": fits, "world_rescaled_by": factor,
            "depth_model_focal_px": model_focal}
    return Reconstruction(depth=(base.depth * factor).astype(np.float32), pose=pose, K=base.K, images=base.images,
                          backend="learned", info=info, valid=base.valid, quality=quality, distortion=base.distortion)


def reconstruct(frames: list[Frame], context: KernelContext) -> Reconstruction:
    """Classical poses and intrinsics with the learned model's depth, aligned per frame (one
    image alone: `monocular.reconstruct_one`, metric depth levelled by the floor it sees).

    With a metric depth model the whole world (camera positions and depth) takes the model's
    scale; with a relative one the classical scale is kept. A depth model that estimates the
    focal length gives structure-from-motion its focal prior.
    """
    if is_one_image(context) and len(frames) == 1:
        return monocular.reconstruct_one(frames[0], context)
    if feedforward.ready(context):
        return metric_feedforward(frames, context)
    prediction = estimate_depth(frames, context)
    height, width = frames[0].image.shape[:2]
    model_focal = prediction.focal_px
    prior = prior_fov_deg(model_focal, width, height)
    base = classical_poses(frames, context, prior)
    predictions, metric = prediction.depths, prediction.metric
    fits = [align_depth(p, base.depth[i], metric)[1] for i, p in enumerate(predictions)]
    factor = metric_rescale(fits) if metric else None
    if base.quality.scale_source == "gt":
        factor = None
    world = 1.0 if factor is None else factor
    pose = base.pose.copy()
    pose[:, :3, 3] *= world
    depth = np.zeros_like(base.depth)
    for i, p in enumerate(predictions):
        depth[i], fits[i] = align_depth(p, base.depth[i] * world, metric)
    info = dict(base.info)
    info.update({"depth": "learned, aligned per frame to the classical depth", "depth_metric_model": metric,
                 "depth_fits": fits, "world_rescaled_by": world, "depth_model_focal_px": model_focal,
                 "sfm_prior_fov_deg": prior})
    quality = _model_depth(_focal_warnings(_quality(base.quality, factor), base, model_focal, prior is not None))
    return Reconstruction(depth=depth, pose=pose, K=base.K, images=base.images, backend="learned", info=info,
                          valid=base.valid, quality=quality, distortion=base.distortion)
