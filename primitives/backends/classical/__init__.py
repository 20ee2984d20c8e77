"""Classical perception, no model weights: COLMAP poses, multi-view stereo depth, pointing + region growing.

Backend entry points (see `spatialclaw.primitives.backends`):

- ``reconstruct(frames, context) -> Reconstruction``: structure-from-motion poses and
  intrinsics (one camera for all frames, its radial lens terms in ``distortion``), dense depth from plane-sweep and rectified SGBM stereo between registered
  neighbours (checked against each other and the sparse points, holes filled plane-wise), and a
  metric, gravity-aligned world from the floor plane and the camera-height prior
  ``context.options["camera_height"]`` (metres, default 1.5). Structure-from-motion searches
  for a better model within a budget of attempts; ``context.options["sfm_effort"] = "thorough"`` lifts
  it (every attempt runs; ``"normal"`` is the default). ``quality`` says what the gates
  (`gates`, `quality_report`) found: frames not registered, an implausible focal length or
  camera path, no confident floor (then the scale is ``"unknown"``), ...; inputs that carry no
  3D information (a slideshow, a pan over a photo, no 3D points) are refused with a
  `PerceptionError` saying what to try.
- ``segment(query, frames, context) -> Masks``: the VLM points at the object in each frame
  (host method ``locate``) and the mask grows from that pixel over similar colour, stopping at
  depth jumps and at the floor. One mask per frame where the VLM found the object.
- ``track(query, frames, context) -> Masks``: those masks linked through optical flow and
  checked in 3D (`tracking`): ``instance_ids`` are identities across the frames.

The modules: `sfm` (pycolmap attempts; `sfm_colmap`, `sfm_matches`, `sfm_motion`,
`sfm_consistency`, `sfm_quality`, `sfm_register`), `sampling` (extra video frames for SfM),
`sweep` (plane-sweep stereo), `stereo` (rectified SGBM), `undistort` (radial lens distortion for
the depth stages), `densify` (hole filling), `scale` (floor, gravity, metric scale), `pipeline`
(the stages in order), `parallax` (image motion between frame pairs), `gates` and
`quality_report` (the checks and the quality record), `regions` (region growing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.images import png_base64
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.backends.base import MIN_FRAMES, BackendBase, Family

if TYPE_CHECKING:
    from spatialclaw.primitives.backends.classical.sfm_matches import Matcher
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Masks, Reconstruction



def available(family: str, context: KernelContext) -> str | None:
    """None when the classical backend can serve ``family`` for this input, else why not."""
    if family == "reconstruction":
        if len(context.frames) < MIN_FRAMES:
            return f"classical reconstruction needs at least {MIN_FRAMES} frames of a moving camera, the input has {len(context.frames)}"
        if len({f.image.shape for f in context.frames}) != 1:
            return "classical reconstruction needs frames of one size (a video or a sequence from one camera)"
        return None
    if family in ("segmentation", "tracking"):
        if context.host_call is None:
            return "classical segmentation needs a VLM to point at objects (no host handlers installed)"
        return available("reconstruction", context)
    return f"the classical backend has no {family}"


def _camera_height(context: KernelContext) -> float:
    from spatialclaw.primitives.backends.classical.scale import DEFAULT_CAMERA_HEIGHT

    value = context.options.get("camera_height", DEFAULT_CAMERA_HEIGHT)
    try:
        height = float(value)
    except (TypeError, ValueError):
        height = -1.0
    if not height > 0:
        raise PerceptionError.bad_camera_height(value)
    return height


def _sfm_effort(context: KernelContext) -> str:
    from spatialclaw.primitives.backends.classical.sfm import EFFORTS

    value = context.options.get("sfm_effort", EFFORTS[0])
    if value not in EFFORTS:
        raise PerceptionError.bad_sfm_effort(value, EFFORTS)
    return str(value)


def reconstruct(
    frames: list[Frame], context: KernelContext, *, matcher: Matcher | None = None, prior_fov_deg: float | None = None
) -> Reconstruction:
    """Metric depth, poses and intrinsics of ``frames`` (ordered frames of one moving camera).

    ``matcher`` finds and matches the features of structure-from-motion instead of COLMAP's SIFT
    (`sfm_matches.Matcher`; the learned backend passes SuperPoint + LightGlue);
    ``info["sfm"]["matcher"]`` says which did. ``prior_fov_deg`` is the field of view across the
    longer image side (degrees) the focal length starts from (the learned backend passes Depth
    Pro's estimate); None: a 60° prior.

    Raises:
        PerceptionError: too few frames, frames of different sizes, too few registered frames,
            or a gate refused the input (no parallax, unrelated frames, no 3D points, an
            impossible focal length); the message says what to try.
    """
    from spatialclaw.primitives.backends.classical import parallax, quality_report
    from spatialclaw.primitives.backends.classical.pipeline import reconstruct_images
    from spatialclaw.primitives.backends.classical.sampling import sfm_sample
    from spatialclaw.primitives.types import Reconstruction

    if len(frames) < MIN_FRAMES:
        raise PerceptionError.too_few_frames(MIN_FRAMES, len(frames))
    if len({f.image.shape for f in frames}) != 1:
        raise PerceptionError.mixed_frame_sizes()
    height = _camera_height(context)
    effort = _sfm_effort(context)
    images = [f.image for f in frames]
    motion_findings = quality_report.motion_check(parallax.measure(images))
    sample = sfm_sample(frames, context)
    dense = len(sample.images) > len(frames)
    result = reconstruct_images(
        images, camera_height=height,
        sfm_images=sample.images if dense else None, positions=sample.positions if dense else None, matcher=matcher,
        prior_fov_deg=prior_fov_deg, sfm_effort=effort,
    )
    times = np.array([f.time for f in frames], np.float64) if context.source_kind in ("video", "rgbd") else None
    quality = quality_report.assess(
        result, motion_findings=motion_findings, times=times, camera_height_given="camera_height" in context.options
    )
    not_registered = [int(i) for i in np.flatnonzero(~result.registered)]
    info: dict[str, Any] = dict(result.info)
    info.update(
        {
            "camera_height_prior_m": height,
            "scale_m_per_unit": result.scale,
            "sfm_sample": sample.note,
            "note": (
                f"the metre scale assumes the camera was {height} m above the floor (context option camera_height); "
                + (
                    f"frames {not_registered} could not be registered: their poses are interpolated guesses and their depth is 0 (unknown)"
                    if not_registered
                    else "all frames registered"
                )
            ),
        }
    )
    n = len(frames)
    return Reconstruction(
        depth=result.depth,
        pose=result.pose,
        K=np.repeat(result.K[None], n, axis=0),
        distortion=None if result.distortion is None else np.repeat(result.distortion[None], n, axis=0),
        images=np.stack([f.image for f in frames]),
        backend="classical",
        info=info,
        valid=np.asarray(result.registered, bool),
        quality=quality,
    )
def _reconstruction_for(frames: list[Frame], context: KernelContext) -> tuple[Reconstruction, list[int]]:
    """The kernel's reconstruction of the whole input (cached), and the entry of each of ``frames``.

    Region growing needs depth and the floor; the whole input is reconstructed (structure from
    motion needs the neighbours of the frames asked about) with the chosen reconstruction
    backend, through the same cache the ``reconstruct`` primitive uses.
    """
    positions, _ = context.select_frames(frames)
    if context.reconstruct_all is None:
        raise PerceptionError.needs_reconstruction()
    recon = context.reconstruct_all()
    return recon, [recon.index(p) for p in positions]


def heights_above_floor(depth: np.ndarray, K: np.ndarray, pose: np.ndarray, distortion: np.ndarray | None = None) -> np.ndarray:
    """H×W world height (z, metres) of each pixel's surface point; NaN where depth is unknown.
    ``distortion``: the lens's radial (k1, k2) (`lens`); None = pinhole."""
    from spatialclaw.primitives.lens import camera_points

    cam = camera_points(np.where(depth > 0, depth, np.nan), K, distortion)
    return cam @ pose[2, :3] + pose[2, 3]


def segment(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """Masks of ``query`` in ``frames``: VLM pointing (``locate``) plus region growing.

    Returns:
        At most one mask per frame (the object the VLM pointed at), labelled ``query``, with
        ``frame_ids`` positions in ``frames``; score 0.5 (pointing has no calibrated confidence).

    Raises:
        PerceptionError: no VLM is connected to point at objects.
    """
    from spatialclaw.primitives.backends.classical.regions import grow_region
    from spatialclaw.primitives.types import Masks

    if context.host_call is None:
        raise PerceptionError.needs_pointing()
    if not frames:
        return Masks.empty()
    recon, entries = _reconstruction_for(frames, context)
    masks, frame_ids = [], []
    for k, (frame, e) in enumerate(zip(frames, entries)):
        point = context.host_call("locate", {"description": query, "image": png_base64(frame.image)})
        if point is None:
            continue
        x, y = float(point[0]), float(point[1])
        depth, K, pose, lens = recon.depth[e], recon.K[e], recon.pose[e], recon.lens(e)
        mask = grow_region(frame.image, depth, K, (x, y), height=heights_above_floor(depth, K, pose, lens), distortion=lens)
        if mask.any():
            masks.append(mask)
            frame_ids.append(k)
    h, w = frames[0].image.shape[:2]
    if not masks:
        return Masks.empty(h, w)
    return Masks.from_masks(np.stack(masks), labels=[query] * len(masks), frame_ids=frame_ids, scores=np.full(len(masks), 0.5))


def track(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """`segment`'s masks of ``query`` with identities: linked frame to frame through optical flow and
    checked in 3D (`tracking.link_masks`), so one id is one object followed through ``frames``."""
    from spatialclaw.primitives.backends.classical.tracking import link_masks

    masks = segment(query, frames, context)
    if not len(masks):
        return masks
    recon, entries = _reconstruction_for(frames, context)

    def centre_of(k: int) -> np.ndarray | None:
        pts = recon.points(entries[int(masks.frame_ids[k])], mask=masks.masks[k], stride=2)
        return np.median(pts, axis=0) if len(pts) else None

    times = np.array([f.time for f in frames])
    return link_masks(masks, [f.image for f in frames], times, centre_of)


class ClassicalBackend(BackendBase):
    """The `PerceptionBackend` that needs no weights: COLMAP + stereo, VLM pointing + region growing,
    tracking by optical flow."""

    name = "classical"
    families: tuple[Family, ...] = ("reconstruction", "segmentation", "tracking")

    def available(self, family: str, context: KernelContext) -> str | None:
        return available(family, context)

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        return reconstruct(frames, context)

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return segment(query, frames, context)

    def track(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return track(query, frames, context)
