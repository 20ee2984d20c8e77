"""How right a reconstruction is against exact ground truth, and the "right or flagged" rule.

The rule (issue 11, "Done when", synthetic rooms): a reconstruction is *right* when its camera
path error (RMSE of the camera centres after a similarity alignment, Umeyama) is at most 3 % of
the true path, its metric scale is within 15 % (the alignment's scale factor, either way), and
its depth is within 15 % (AbsRel per pixel) of the truth on at least 60 % of the pixels; it is
*flagged* when it was refused (a `PerceptionError`) or a warning speaks for what is wrong. Every
reconstruction must be right or flagged; one that is neither is silently wrong.

A warning speaks for a wrong scale (or metric depth whose shape is right) whatever it says, and
``scale_source == "unknown"`` does too; the caveat that the metres rest on an assumed camera
height speaks for nothing else. A wrong camera path needs another warning; a badly shaped depth
(wrong on most pixels even after one median scale) needs one that speaks of depth
(`speaks_for_depth`: the depth gate, frames without depth, depths that are loose or uncertain),
so a reconstruction whose depth is wrong is not passed by, say, a warning about its camera path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from spatialclaw.primitives.backends.classical.gates import is_assumed_height_warning
from spatialclaw.primitives.backends.classical.sfm_motion import similarity_align

MAX_PATH_ERROR = 0.03
"""Largest camera path error, as a fraction of the true path length."""

MAX_SCALE_ERROR = 0.15
"""Largest metric scale error: est/true lengths within [1/1.15, 1.15]."""

DEPTH_TOLERANCE = 0.15
"""Per-pixel AbsRel a depth may have and count as right."""

MIN_DEPTH_FRACTION = 0.60
"""Fraction of the truth's pixels whose depth must be right."""


@dataclass
class Accuracy:
    """A reconstruction against the truth.

    Attributes:
        registered, total: frames with a measured (valid) pose, of all frames.
        path_error: camera path RMSE after a similarity alignment over the valid frames, as a
            fraction of the true path length (NaN with fewer than 3 valid frames).
        scale: estimated / true lengths (1 is exact; NaN as above).
        depth_fraction: fraction of the truth's pixels (all frames) whose depth is within
            `DEPTH_TOLERANCE` (a frame without depth counts as wrong everywhere).
        depth_fraction_up_to_scale: the same after one median scale per reconstruction (how
            good the depth's shape is, whatever the metres).
        depth_fraction_valid: `depth_fraction` over the valid frames only (NaN without one).
        path_m: length of the true camera path (metres).
    """

    registered: int
    total: int
    path_error: float
    scale: float
    depth_fraction: float
    depth_fraction_up_to_scale: float
    depth_fraction_valid: float
    path_m: float

    def wrong(self) -> list[str]:
        """What misses the rule: some of ``"path"``, ``"scale"``, ``"depth"``."""
        out = []
        if not self.path_error <= MAX_PATH_ERROR:
            out.append("path")
        if not (np.isfinite(self.scale) and max(self.scale, 1 / max(self.scale, 1e-12)) <= 1 + MAX_SCALE_ERROR):
            out.append("scale")
        if not self.depth_fraction >= MIN_DEPTH_FRACTION:
            out.append("depth")
        return out


def path_accuracy(est_centres: np.ndarray, true_centres: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """(path error as a fraction of the true path, est/true scale) of (N, 3) camera centres,
    aligned by a similarity over the ``valid`` (N,) frames."""
    valid = np.asarray(valid, bool)
    path = float(np.linalg.norm(np.diff(true_centres, axis=0), axis=1).sum())
    if valid.sum() < 3 or path <= 0:
        return float("nan"), float("nan")
    est, gt = est_centres[valid], true_centres[valid]
    s, R, t = similarity_align(est, gt)
    rmse = float(np.sqrt(np.mean(np.sum((s * est @ R.T + t - gt) ** 2, axis=1))))
    return rmse / path, 1.0 / s


def depth_fraction(est: np.ndarray, truth: np.ndarray, tolerance: float = DEPTH_TOLERANCE) -> float:
    """Fraction of the pixels with true depth (> 0) whose estimate (> 0) is within ``tolerance``
    relative error; (N, H, W) arrays in the same unit."""
    has = truth > 0
    good = has & (est > 0) & (np.abs(est - truth) <= tolerance * np.where(has, truth, 1))
    return float(good.sum() / max(has.sum(), 1))


def measure(depth: np.ndarray, pose: np.ndarray, valid: np.ndarray, true_depth: np.ndarray, true_pose: np.ndarray) -> Accuracy:
    """`Accuracy` of N frames: estimated (N, H, W) depth (metres, 0 = unknown), (N, 4, 4)
    camera-to-world poses and (N,) validity, against the truth's depth and poses."""
    error, scale = path_accuracy(pose[:, :3, 3], true_pose[:, :3, 3], valid)
    both = (depth > 0) & (true_depth > 0)
    ratio = float(np.median(true_depth[both] / depth[both])) if both.any() else 1.0
    return Accuracy(
        registered=int(np.sum(valid)), total=len(valid), path_error=error, scale=scale,
        depth_fraction=depth_fraction(depth, true_depth), depth_fraction_up_to_scale=depth_fraction(depth * ratio, true_depth),
        depth_fraction_valid=depth_fraction(depth[valid], true_depth[valid]) if np.any(valid) else float("nan"),
        path_m=float(np.linalg.norm(np.diff(true_pose[:, :3, 3], axis=0), axis=1).sum()),
    )


def speaks_for_depth(warning: str) -> bool:
    """True for a warning that says the depth may be wrong or missing: it names depth (or depths)
    and is not the assumed-camera-height caveat (which speaks for the metres only).

    >>> speaks_for_depth("the 3D points reproject 2.4 px from where they were seen: poses and depths are loose")
    True
    >>> speaks_for_depth("the camera path jumps between frames 3→4 (9× the usual step): part of the video may be placed wrongly")
    False
    """
    return not is_assumed_height_warning(warning) and re.search(r"\bdepths?\b", warning, re.IGNORECASE) is not None


@dataclass
class Verdict:
    """One reconstruction judged by the rule.

    Attributes:
        accuracy: the measurement (None when the reconstruction was refused).
        refusal: the `PerceptionError` message, or None.
        warnings: the quality report's warnings.
        scale_source: what the report says the metres rest on (None when refused).
    """

    accuracy: Accuracy | None
    refusal: str | None = None
    warnings: list[str] = field(default_factory=list)
    scale_source: str | None = None

    @property
    def right(self) -> bool:
        return self.accuracy is not None and not self.accuracy.wrong()

    @property
    def flagged(self) -> bool:
        return self.refusal is not None or bool(self.warnings)

    def silently_wrong(self) -> list[str]:
        """The wrong quantities (of `Accuracy.wrong`) that no refusal or warning speaks for."""
        if self.refusal is not None or self.accuracy is None:
            return []
        any_warning = bool(self.warnings) or self.scale_source == "unknown"
        specific = any(not is_assumed_height_warning(w) for w in self.warnings)
        depth_is_scale = self.accuracy.depth_fraction_up_to_scale >= MIN_DEPTH_FRACTION
        of_depth = any(speaks_for_depth(w) for w in self.warnings)
        spoken = {"path": specific, "scale": any_warning, "depth": any_warning if depth_is_scale else of_depth}
        return [q for q in self.accuracy.wrong() if not spoken[q]]

    @property
    def right_or_flagged(self) -> bool:
        """The rule: every reconstruction is right, or says that it may not be."""
        return self.right or not self.silently_wrong()


def ray_error_deg(K: np.ndarray, distortion: np.ndarray | None, camera, stride: int = 4) -> float:  # noqa: ANN001 (walk.Camera)
    """Median angle (degrees) between the pixel rays of an estimated camera and the true ``camera``'s.

    A diagnosis of the intrinsics and the lens alone (not part of the rule): every ``stride``-th
    pixel's ray through ``K`` (3×3 pixels) and radial ``distortion`` ((2,) k1, k2; None = pinhole,
    `spatialclaw.primitives.lens`) against the ray the renderer cast through that pixel.
    """
    from spatialclaw.primitives import lens
    from spatialclaw.testing.heldout.render import pixel_rays

    truth = pixel_rays(camera)[::stride, ::stride].reshape(-1, 3)
    v, u = np.mgrid[0 : camera.height : stride, 0 : camera.width : stride]
    est = np.c_[lens.pixel_rays(np.c_[u.ravel(), v.ravel()], K, distortion), np.ones(u.size)]
    cos = (est * truth).sum(axis=1) / np.linalg.norm(est, axis=1) / np.linalg.norm(truth, axis=1)
    return float(np.degrees(np.median(np.arccos(np.clip(cos, -1.0, 1.0)))))

