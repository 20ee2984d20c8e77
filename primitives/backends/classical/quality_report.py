"""The classical reconstruction's `ReconstructionQuality`: the gates run over its arrays.

`motion_check` runs the cheap image-motion gates before structure-from-motion (a slideshow or a
pan over a photo is refused in about a second); `assess` runs the geometric gates over the
finished `ClassicalResult` and returns the quality record, or raises `PerceptionError` when a
gate refuses. Where a gate says the metres cannot be trusted, ``scale_source`` is ``"unknown"``.
"""

from __future__ import annotations

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical import gates
from spatialclaw.primitives.backends.classical.parallax import PairMotion
from spatialclaw.primitives.backends.classical.pipeline import ClassicalResult
from spatialclaw.primitives.quality import ReconstructionQuality, horizontal_fov_deg


def _raise_refusals(findings: list[gates.Finding | None]) -> list[gates.Finding]:
    found = [f for f in findings if f is not None]
    for f in found:
        if f.refuse:
            raise PerceptionError.refused(f.message)
    return found


def motion_check(motion: PairMotion) -> list[gates.Finding]:
    """The image-motion gates; raises `PerceptionError` on a refusal, else returns the warnings."""
    return _raise_refusals([gates.unrelated_frames(motion), gates.no_parallax(motion), gates.still_background(motion)])


def _path_length(centres: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(centres, axis=0), axis=1).sum()) if len(centres) > 1 else 0.0


def assess(
    result: ClassicalResult,
    *,
    motion_findings: list[gates.Finding] | None = None,
    times: np.ndarray | None = None,
    camera_height_given: bool = False,
) -> ReconstructionQuality:
    """Run the geometric gates over a classical reconstruction.

    Args:
        result: the pipeline's output (world in metres by the camera-height prior).
        motion_findings: warnings `motion_check` returned for the same frames.
        times: (N,) frame times in seconds for a video (enables the speed gate); None for
            images without a real clock.
        camera_height_given: the camera height was told (``context.options["camera_height"]``),
            not assumed; else the quality says the metres rest on the prior.

    Raises:
        PerceptionError: a gate found that nothing useful can be said.
    """
    n = len(result.registered)
    info = result.info
    reg = np.asarray(result.registered, bool)
    positions = np.flatnonzero(reg)
    centres = result.pose[reg, :3, 3]
    width = result.depth.shape[2]
    scene_depth = float(info.get("scene_depth_m", np.nan))
    findings = list(motion_findings or [])
    findings += [
        gates.sparse_model(int(info.get("sparse_points", len(result.points))), int(reg.sum())),
        gates.implausible_focal(float(result.K[0, 0]), width),
        gates.assumed_focal(info.get("sfm", {}).get("focal_refined")),
        gates.small_baseline(centres, scene_depth),
        gates.few_registered(reg),
        gates.contradicted_registrations(info.get("sfm", {}).get("rejected", [])),
        gates.search_cut_short(info.get("sfm", {}).get("skipped", []), info.get("sfm", {}).get("score")),
        gates.reprojection(info.get("reprojection_px")),
        gates.path_breaks(centres, positions, scene_depth),
        gates.weak_floor(info.get("floor_confidence"), result.camera_height),
        gates.camera_heights(centres[:, 2], info.get("floor_confidence") is not None),
        gates.unmeasured_depth(info.get("measured_fraction"), info.get("frames_without_depth"), n,
                               info.get("depth_checks", {}).get("view_agreement")),
    ]
    if times is not None:
        findings.append(gates.implausible_speed(centres, np.asarray(times, dtype=np.float64)[reg]))
    found = _raise_refusals(findings)
    if not any(f.scale_unknown for f in found):  # the metres are the floor's and the camera height's
        height = gates.assumed_camera_height(result.camera_height, camera_height_given)
        found += [height] if height is not None else []
    warnings = list(dict.fromkeys(f.message for f in found))
    quality = ReconstructionQuality(
        registered=int(reg.sum()),
        total=n,
        scale_source="unknown" if any(f.scale_unknown for f in found) else "floor+camera-height",
        warnings=warnings,
        reprojection_px=info.get("reprojection_px"),
        points=int(info.get("sparse_points", len(result.points))),
        focal_px=float(result.K[0, 0]),
        fov_deg=horizontal_fov_deg(float(result.K[0, 0]), width),
        path_m=_path_length(centres),
        floor_confidence=info.get("floor_confidence"),
    )
    return quality
