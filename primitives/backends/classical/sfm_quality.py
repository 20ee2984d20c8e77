"""How good one structure-from-motion attempt is: the score `sfm.run_sfm` chooses attempts by.

The count of registered frames alone is a poor judge: a model with a 23,000 px focal length can
register as many frames as a right one. The score multiplies factors in [0, 1] for the
registered fraction, the reprojection error, the observations per frame, the plausibility of
the field of view and the smoothness of the camera path, so any one clearly bad number sinks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLAUSIBLE_FOV_DEG = (30.0, 110.0)
"""Horizontal fields of view (degrees) of ordinary cameras; the score falls off outside."""

IMPOSSIBLE_FOV_DEG = (15.0, 150.0)
"""Outside these fields of view (degrees) the focal factor is 0."""

GOOD_SCORE = 0.7
"""An attempt scoring this much is kept without trying the others (all frames registered, a
smooth path, a plausible focal and ~1.3 px mean reprojection error score about this)."""


@dataclass(frozen=True)
class AttemptQuality:
    """The numbers one structure-from-motion attempt is judged by.

    Attributes:
        attempt: which attempt (e.g. ``"incremental"``, ``"global"``, ``"incremental-neighbours"``).
        registered_fraction: registered frames / all frames, after the motion checks.
        reprojection_px: mean reprojection error over the registered frames' observations (pixels).
        observations_per_frame: mean number of triangulated points each registered frame sees.
        fov_deg: horizontal field of view of the estimated focal length (degrees).
        rejected_fraction: frames COLMAP registered that the motion checks rejected, over all frames.
        score: the product of the factors (0 = useless, 1 = as good as it gets).
    """

    attempt: str
    registered_fraction: float
    reprojection_px: float
    observations_per_frame: float
    fov_deg: float
    rejected_fraction: float
    score: float


def fov_deg(focal: float, width: int) -> float:
    """Horizontal field of view (degrees) of a focal length (pixels) over an image ``width`` pixels wide."""
    return float(np.degrees(2.0 * np.arctan(width / 2.0 / max(focal, 1e-9))))


def focal_factor(fov: float) -> float:
    """1 inside `PLAUSIBLE_FOV_DEG`, falling linearly to 0 at `IMPOSSIBLE_FOV_DEG`."""
    (lo, hi), (lo0, hi0) = PLAUSIBLE_FOV_DEG, IMPOSSIBLE_FOV_DEG
    if fov < lo:
        return float(np.clip((fov - lo0) / (lo - lo0), 0.0, 1.0))
    if fov > hi:
        return float(np.clip((hi0 - fov) / (hi0 - hi), 0.0, 1.0))
    return 1.0


def score_attempt(
    attempt: str, *, frames: int, registered: int, rejected: int, reprojection_px: float, observations: int, fov: float
) -> AttemptQuality:
    """Score one attempt.

    Args:
        attempt: its name.
        frames: frames given to structure-from-motion.
        registered: frames registered and kept after the motion checks.
        rejected: frames registered but rejected by the motion checks.
        reprojection_px: mean reprojection error of the kept frames' observations (pixels).
        observations: total triangulated-point observations in the kept frames.
        fov: horizontal field of view (degrees).
    """
    fraction = registered / max(frames, 1)
    per_frame = observations / max(registered, 1)
    error = reprojection_px if np.isfinite(reprojection_px) else np.inf
    factors = (
        fraction,
        1.0 / (1.0 + (error / 2.0) ** 2),  # 0.5 px → 0.94, 1 px → 0.8, 2 px → 0.5
        min(1.0, per_frame / 100.0) ** 0.5,  # a frame placed by a few dozen points is shaky
        focal_factor(fov),
        1.0 - rejected / max(frames, 1),
    )
    return AttemptQuality(
        attempt=attempt,
        registered_fraction=float(fraction),
        reprojection_px=float(reprojection_px),
        observations_per_frame=float(per_frame),
        fov_deg=float(fov),
        rejected_fraction=float(rejected / max(frames, 1)),
        score=float(np.prod(factors)) if registered else 0.0,
    )
