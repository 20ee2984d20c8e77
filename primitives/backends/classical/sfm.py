"""Camera poses and intrinsics by structure-from-motion (COLMAP through ``pycolmap``, on the CPU).

What it does with N ordered frames of one video (`run_sfm`):

1. One feature database: SIFT features, matched between all pairs for short sequences and
   between neighbours (plus quadratically spaced frames) for long ones (`sfm_colmap`); or the
   keypoints and matches of a `sfm_matches.Matcher` (the learned backend's SuperPoint +
   LightGlue) over the same pairs, verified by COLMAP the same way.
2. One camera shared by every frame, ``SIMPLE_RADIAL`` (focal length, principal point, one
   radial distortion coefficient), starting from the focal length of a 60° field of view.
3. Several mapping attempts, each scored by `sfm_quality.score_attempt` (registered fraction,
   reprojection error, points per frame, plausibility of the field of view, smoothness of the
   path), stopping once one scores `sfm_quality.GOOD_SCORE`:

   - ``incremental-self-calibrated``: COLMAP's incremental mapper refining the focal length and
     distortion as frames register, from the prior. Its model is kept only where the views
     measured the focal length (`_focal_evidenced`): a plausible camera, and holding the focal at
     the prior makes the reprojection error clearly worse. On short clips of flat or shallow
     scenes a free focal length runs away (the ViSP desk: 13,000 px) and nothing is kept;
   - ``incremental``: then the incremental mapper with the intrinsics held at the prior while
     frames register, then a robust bundle adjustment that frees them, kept only where the error
     clearly falls and the field of view stays plausible (``SfmResult.focal_refined`` says which);
   - ``incremental-refocused``: the same from the refined focal length, when it moved far;
   - ``global``: COLMAP's global mapper (rotation averaging + global positioning);
   - ``incremental-neighbours``: incremental mapping over pairs of nearby frames only (no loop
     closures: look-alike views from opposite sides of a room can fold the walk);
   - ``incremental-free``: COLMAP's default behaviour, a ``RADIAL`` camera refined throughout.

   Attempts after a measured focal length start from it (and its distortion) and keep it.
   With ``effort="normal"`` the search is held to a budget of attempts (`NORMAL_ATTEMPTS`): once
   the best model keeps at least `BUDGET_FROM_KEPT` of the frames, no more than that many
   attempts run (a self-calibration that measured nothing does not count); the attempts left out are named in ``SfmResult.skipped`` (the quality report
   warns). ``effort="thorough"`` runs every attempt until one is good. The budget counts
   attempts, not seconds, so a seed gives the same result on a busy machine as on a quiet one.

4. Every model is checked against the video's motion (`sfm_motion`): a frame registered far
   from its neighbours' motion, or a stretch of the walk joined to the rest by an impossible
   step, is rejected; so is a part of the walk whose placement the verified matches with its
   neighbours contradict (`sfm_consistency`: the model's relative pose must explain each nearby
   pair's matches). Frames the mapper left out or the checks rejected are posed by PnP against
   the model (`sfm_register.pnp_pose`) and checked again; the rest get poses interpolated from
   their registered neighbours, ``registered[i] = False`` and ``rejected[i] = True`` where the
   mapper had placed them. Rejected frames lower the attempt's score.

The result is in COLMAP's arbitrary similarity frame; `spatialclaw.primitives.backends.classical.scale`
makes it metric and gravity-aligned. No COLMAP output reaches stdout or stderr.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical import sfm_colmap, sfm_consistency, sfm_matches, sfm_quality, sfm_register
from spatialclaw.primitives.backends.classical.sfm_colmap import CameraGuess
from spatialclaw.primitives.backends.classical.sfm_matches import Matcher
from spatialclaw.primitives.backends.classical.sfm_motion import interpolate_poses, path_breaks, pose_jumps, similarity_align
from spatialclaw.primitives.backends.classical.sfm_quality import AttemptQuality

__all__ = ["SfmResult", "run_sfm", "interpolate_poses", "path_breaks", "pose_jumps", "similarity_align"]

REFINE_GAIN = 0.8
"""Freeing the focal length must bring the mean reprojection error below this fraction of the
error at the prior: on flat or shallow scenes focal length and depth trade off, and a small gain
is no evidence for a different focal length."""

EVIDENCE_POINTS = 2000
"""`_focal_evidenced` compares the errors on about this many of the model's points (every k-th):
the bundle adjustment at the prior focal length then costs a fraction of a second."""

REFOCUS_RATIO = 0.15
"""Map again from the refined focal length when it differs from the prior by more than this fraction."""

PNP_ANCHORS = 6
"""Registered frames nearest in time whose matches place an unregistered frame by PnP."""

EFFORTS = ("normal", "thorough")
"""How hard `run_sfm` searches: within `NORMAL_ATTEMPTS`, or every attempt until one is good."""

NORMAL_ATTEMPTS = 2
"""With ``effort="normal"``, once the best model keeps at least `BUDGET_FROM_KEPT` of the frames,
at most this many attempts run (the first kept one and the next in the plan; a self-calibration
that measured nothing is not counted). Measured with ``benchmarks/perception.py --sfm --repeats 2``
against a plain pycolmap reconstruction: synthetic seed 3 at 640×480, a walk every attempt joins
wrongly, 1.32× (self-calibrated, then global); ViSP's desk 2.2× (a self-calibration that measured
nothing, then the incremental attempt at the prior, good), where plain pycolmap registers 2 of 32
frames. Every attempt on seed 3 cost 4.4× before the self-calibrated one. A count, not a clock: a
seed repeats exactly whatever the machine's load."""

BUDGET_FROM_KEPT = 0.5
"""The budget cuts the search only once the best model keeps at least this fraction of the
frames: below that every attempt runs, however long (a failure costs more than the wait)."""


@dataclass
class SfmResult:
    """A structure-from-motion reconstruction of N frames in COLMAP's arbitrary similarity frame.

    Attributes:
        K: 3×3 float64 intrinsics shared by all frames (pixels, COLMAP's convention).
        camera_model: COLMAP camera model of the shared camera (``"SIMPLE_RADIAL"``, ``"RADIAL"``).
        distortion: radial distortion coefficients (k1,) or (k1, k2) of that model.
        pose: N×4×4 float64 camera-to-world (camera axes x right, y down, z forward); rows of
            unregistered frames are interpolated from their registered neighbours.
        registered: N bool; True where the frame's pose was measured (by the mapper or by PnP)
            and agrees with its neighbours' motion.
        posed_by_pnp: N bool; True where the pose came from PnP against the model (the mapper
            had left the frame out or placed it wrongly).
        rejected: N bool; True where the mapper placed the frame but the checks against its
            neighbours (their motion, their verified matches) contradicted that placement and
            PnP found no better one: the frame is unregistered and its pose interpolated.
        image_error: N float64 mean reprojection error of each frame's observations (pixels);
            NaN where the frame is not registered.
        points: M×3 float64 triangulated points (world, arbitrary units).
        point_error: M float64 mean reprojection error of each point (pixels).
        observations: per frame, an (n_i×2 float64 pixel uv, n_i int64 index into ``points``)
            pair: the sparse points that frame saw. Empty for unregistered frames.
        focal_refined: True when bundle adjustment refined the focal length (in this attempt, or
            in the earlier one whose focal length it started from); False when it is the 60°
            prior (the views could not pin it down) or the refinement was implausible.
        quality: the chosen attempt's `AttemptQuality` (its ``score`` chose it).
        attempts: every attempt's quality, in the order they ran.
        timings: seconds per stage (``features``, then ``attempt:<name>`` per attempt).
        skipped: attempts the budget left out (`NORMAL_ATTEMPTS`), in plan order; empty when
            the search ended because an attempt was good or every attempt ran.
        matcher: what found and matched the features (``"sift"``: COLMAP's own; else the
            `sfm_matches.Matcher`'s ``name``).
    """

    K: np.ndarray
    camera_model: str
    distortion: np.ndarray
    pose: np.ndarray
    registered: np.ndarray
    posed_by_pnp: np.ndarray
    rejected: np.ndarray
    image_error: np.ndarray
    points: np.ndarray
    point_error: np.ndarray
    observations: list[tuple[np.ndarray, np.ndarray]]
    focal_refined: bool
    quality: AttemptQuality
    attempts: list[AttemptQuality] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    matcher: str = sfm_matches.SIFT
    skipped: list[str] = field(default_factory=list)

    @property
    def n_registered(self) -> int:
        """How many frames have a measured pose."""
        return int(self.registered.sum())

    @property
    def focal(self) -> float:
        """The shared focal length (pixels)."""
        return float(self.K[0, 0])

    @property
    def n_points(self) -> int:
        """How many triangulated points the model has."""
        return int(len(self.points))

    def select(self, positions: list[int]) -> SfmResult:
        """The same reconstruction reported for the frames at ``positions`` only (points kept)."""
        rows = np.asarray(positions, dtype=np.int64)
        return dataclasses.replace(
            self,
            pose=self.pose[rows],
            registered=self.registered[rows],
            posed_by_pnp=self.posed_by_pnp[rows],
            rejected=self.rejected[rows],
            image_error=self.image_error[rows],
            observations=[self.observations[i] for i in rows],
        )


@dataclass(frozen=True)
class _Attempt:
    name: str
    mapper: str  # "incremental" or "global"
    camera: CameraGuess
    max_gap: int | None = None
    focal_measured: bool = False  # the camera starts from a focal length an earlier attempt measured
    probe: bool = False  # keep a model only where the views measured its focal length (`_focal_evidenced`)


@dataclass(frozen=True)
class _Budget:
    """When the search for a better model stops (`NORMAL_ATTEMPTS`).

    Attributes:
        attempts: most attempts once the best model keeps `BUDGET_FROM_KEPT` of the frames;
            None for no budget (``effort="thorough"``).
    """

    attempts: int | None

    def allows_another(self, ran: int, best: SfmResult | None) -> bool:
        """Whether another attempt may start after ``ran`` attempts, given the best result so far."""
        if self.attempts is None or best is None or best.quality.registered_fraction < BUDGET_FROM_KEPT:
            return True
        return ran < self.attempts


@dataclass(frozen=True)
class _Workspace:
    root: Path
    db: Path
    image_dir: Path
    names: list[str]
    width: int
    seed: int
    prior: float  # the focal length (pixels) of the prior field of view


def run_sfm(
    images: list[np.ndarray], *, max_features: int = 4096, min_registered: int = 3, seed: int = 0, matcher: Matcher | None = None,
    prior_fov_deg: float | None = None, effort: str = "normal",
) -> SfmResult:
    """Estimate one shared camera and a camera-to-world pose per image (see the module doc).

    Args:
        images: N H×W×3 uint8 RGB images, in temporal order, all the same size.
        max_features: SIFT features per image.
        min_registered: fewer registered frames than this raises `PerceptionError`.
        seed: COLMAP's random seed (results are repeatable for a given seed and effort).
        matcher: keypoints and matches instead of COLMAP's SIFT (`sfm_matches.Matcher`); None: SIFT.
        prior_fov_deg: the field of view across the longer image side (degrees) that the focal
            length starts from, e.g. a depth model's estimate; None: `sfm_colmap.PRIOR_FOV_DEG`.
        effort: one of `EFFORTS`: ``"normal"`` holds the search for a better model to
            `NORMAL_ATTEMPTS` (``SfmResult.skipped`` names what it left out); ``"thorough"`` runs
            every attempt until one scores `sfm_quality.GOOD_SCORE`.

    Returns:
        The best-scoring attempt's reconstruction, in COLMAP's arbitrary scale and orientation.

    Raises:
        PerceptionError: fewer than 2 frames, frames of different sizes, or fewer than
            ``min_registered`` frames registered.
        ValueError: ``effort`` is not one of `EFFORTS`.
    """
    import pycolmap

    if effort not in EFFORTS:
        raise ValueError(f"effort must be one of {EFFORTS}, got {effort!r}")

    if len(images) < 2:
        raise PerceptionError.sfm_too_few_frames(len(images))
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise PerceptionError.sfm_mixed_sizes(sorted(shapes))
    pycolmap.set_random_seed(seed)
    h, w = images[0].shape[:2]
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="spatialclaw-sfm-") as tmp:
        t = time.perf_counter()
        db, image_dir, names = sfm_colmap.build_database(images, Path(tmp), max_features=max_features, seed=seed, matcher=matcher)
        timings["features"] = time.perf_counter() - t
        prior = sfm_colmap.prior_focal(w, h, sfm_colmap.PRIOR_FOV_DEG if prior_fov_deg is None else prior_fov_deg)
        ws = _Workspace(Path(tmp), db, image_dir, names, w, seed, prior)
        budget = _Budget(NORMAL_ATTEMPTS if effort == "normal" else None)
        best = _best_attempt(ws, len(images) <= sfm_colmap.EXHAUSTIVE_UP_TO, timings, budget)
    if best is None or best.n_registered < min_registered:
        n_reg = 0 if best is None else best.n_registered
        raise PerceptionError.too_few_registered(n_reg, len(images))
    best.timings = timings
    best.matcher = sfm_matches.SIFT if matcher is None else matcher.name
    return best


def _attempt_plan(prior: float, exhaustive: bool, frames: int, best_camera: Callable[[], tuple[CameraGuess, bool]]) -> Iterator[_Attempt]:
    """The attempts in order. ``best_camera()`` gives the best model's camera so far (fixed, as
    later attempts start from it) and whether its focal length was measured rather than assumed."""
    yield _Attempt("incremental-self-calibrated", "incremental", CameraGuess("SIMPLE_RADIAL", prior, fixed=False), probe=True)
    camera, measured = best_camera()
    if not measured:
        yield _Attempt("incremental", "incremental", CameraGuess("SIMPLE_RADIAL", prior, fixed=True))
        camera, measured = best_camera()
        if measured and abs(camera.focal / prior - 1.0) > REFOCUS_RATIO:
            yield _Attempt("incremental-refocused", "incremental", camera, None, True)
    camera, measured = best_camera()
    yield _Attempt("global", "global", camera, None, measured)
    if exhaustive:
        camera, measured = best_camera()
        yield _Attempt("incremental-neighbours", "incremental", camera, max(3, frames // 10), measured)
    yield _Attempt("incremental-free", "incremental", CameraGuess("RADIAL", prior, fixed=False))


def _best_attempt(ws: _Workspace, exhaustive: bool, timings: dict[str, float], budget: _Budget) -> SfmResult | None:
    """Run the attempts until one scores `sfm_quality.GOOD_SCORE` or ``budget`` runs out; the
    best-scoring result, its ``skipped`` naming the attempts the budget left out. A probe that
    kept no model does not count against the budget."""
    best: SfmResult | None = None
    qualities: list[AttemptQuality] = []
    skipped: list[str] = []
    ran = 0

    def best_camera() -> tuple[CameraGuess, bool]:
        if best is None:
            return CameraGuess("SIMPLE_RADIAL", ws.prior, fixed=True), False
        k1 = float(best.distortion[0]) if best.camera_model == "SIMPLE_RADIAL" and best.focal_refined else 0.0
        return CameraGuess("SIMPLE_RADIAL", best.focal, fixed=True, k1=k1), best.focal_refined

    for attempt in _attempt_plan(ws.prior, exhaustive, len(ws.names), best_camera):
        if skipped or not budget.allows_another(ran, best):
            skipped.append(attempt.name)
            continue
        t = time.perf_counter()
        candidates = _run_attempt(attempt, ws)
        for candidate in candidates:
            qualities.append(candidate.quality)
            if best is None or candidate.quality.score > best.quality.score:
                best = candidate
        ran += 1 if candidates or not attempt.probe else 0
        timings[f"attempt:{attempt.name}"] = time.perf_counter() - t
        if best is not None and best.quality.score >= sfm_quality.GOOD_SCORE:
            break
    if best is not None:
        best.attempts, best.skipped = qualities, skipped
    return best


def _run_attempt(attempt: _Attempt, ws: _Workspace) -> list[SfmResult]:
    """Map with one attempt's settings; one checked, scored result per model it built."""
    import pycolmap

    pycolmap.set_random_seed(ws.seed)  # each attempt as if it ran first: one attempt's draws do not move the next's
    out = ws.root / attempt.name
    out.mkdir()
    db = sfm_colmap.database_copy(ws.db, out, attempt.camera, max_gap=attempt.max_gap)
    mapper = sfm_colmap.map_global if attempt.mapper == "global" else sfm_colmap.map_incremental
    try:
        models = mapper(db, ws.image_dir, out, attempt.camera, ws.seed, 3)
    except Exception:  # noqa: BLE001 (COLMAP raises plain RuntimeErrors on degenerate input)
        return []
    results = []
    for recon in models:
        if recon.num_reg_images() < 2 or recon.num_points3D() == 0:
            continue
        if attempt.probe and not _focal_evidenced(recon, ws.prior, ws.width):
            continue
        refined = False
        if attempt.camera.fixed and not attempt.focal_measured:
            recon, refined = _refine_intrinsics(recon, ws.width)
        measured = refined or attempt.focal_measured or not attempt.camera.fixed
        results.append(_checked_result(recon, db, ws, attempt.name, measured))
    return results


def _refine_intrinsics(recon, width: int) -> tuple[object, bool]:  # noqa: ANN001 (pycolmap type)
    """Free the intrinsics held at the prior while mapping, where the data clearly asks for it.

    First the focal length and distortion together, then the distortion alone; each is kept
    only if the mean reprojection error falls below `REFINE_GAIN` of the error at the prior,
    the field of view stays in `sfm_quality.PLAUSIBLE_FOV_DEG` and the distortion stays mild.
    Otherwise the model stays as mapped (the prior focal length, no distortion).

    Returns:
        (the model to keep, whether its focal length was refined).
    """
    before = recon.compute_mean_reprojection_error()
    for refine_focal in (True, False):
        candidate = _adjusted_copy(recon, refine_focal=refine_focal)
        error = candidate.compute_mean_reprojection_error()
        if _plausible_camera(candidate, width) and np.isfinite(error) and error <= REFINE_GAIN * before and candidate.num_points3D() > 0:
            return candidate, refine_focal
    return recon, False


def _plausible_camera(recon, width: int) -> bool:  # noqa: ANN001 (pycolmap type)
    """The model's camera has a field of view in `sfm_quality.PLAUSIBLE_FOV_DEG` and mild distortion (|k| < 0.3)."""
    camera = next(iter(recon.cameras.values()))
    lo, hi = sfm_quality.PLAUSIBLE_FOV_DEG
    distortion = np.abs(np.asarray(camera.params[camera.extra_params_idxs()], dtype=np.float64))
    return bool(lo <= sfm_quality.fov_deg(camera.focal_length, width) <= hi and np.all(distortion < 0.3))


def _focal_evidenced(recon, prior: float, width: int) -> bool:  # noqa: ANN001 (pycolmap type)
    """Whether a model mapped with a free focal length measured it: the camera is plausible, and on
    about `EVIDENCE_POINTS` of its points, holding the focal at ``prior`` (pixels) and adjusting
    everything else leaves an error that its own is below `REFINE_GAIN` of. Where focal length and
    depth trade off (a flat or shallow scene) the prior explains the views as well, and a free
    focal is no measurement. An adjustment at the prior that diverges (error above
    `sfm_colmap.BAD_POINT_PX` after dropping bad points, or not finite) is no comparison either.
    """
    import pycolmap

    if not _plausible_camera(recon, width) or recon.num_points3D() == 0:
        return False
    sample = pycolmap.Reconstruction(recon)
    ids = sorted(sample.point3D_ids())
    step = max(1, len(ids) // EVIDENCE_POINTS)
    for k, pid in enumerate(ids):
        if k % step:
            sample.delete_point3D(pid)
    sample.update_point_3d_errors()
    free_error = sample.compute_mean_reprojection_error()
    held = pycolmap.Reconstruction(sample)
    for camera in held.cameras.values():
        params = np.asarray(camera.params, dtype=np.float64)
        params[camera.focal_length_idxs()] = prior
        camera.params = params
    held = _adjusted_copy(held, refine_focal=False)
    held_error = held.compute_mean_reprojection_error()
    if held.num_points3D() == 0 or not np.isfinite(held_error) or held_error > sfm_colmap.BAD_POINT_PX:
        return False
    return bool(np.isfinite(free_error) and free_error <= REFINE_GAIN * held_error)


def _adjusted_copy(recon, *, refine_focal: bool):  # noqa: ANN001, ANN202 (pycolmap types)
    """A copy of ``recon`` after robust bundle adjustment with the distortion (and the focal) free."""
    import pycolmap

    copy = pycolmap.Reconstruction(recon)
    sfm_colmap.bundle_adjust(copy, refine_focal=refine_focal, refine_distortion=True)
    sfm_colmap.drop_bad_points(copy)
    sfm_colmap.bundle_adjust(copy, refine_focal=refine_focal, refine_distortion=True)
    return copy


def _checked_result(recon, db: Path, ws: _Workspace, name: str, focal_refined: bool) -> SfmResult:  # noqa: ANN001
    """The model as arrays, checked against the camera's motion and the neighbours' views, gaps
    posed by PnP (and checked again), scored."""
    arrays = sfm_register.model_arrays(recon, ws.names)
    camera = next(iter(recon.cameras.values()))
    mapped = arrays.registered.copy()
    keep = mapped & ~pose_jumps(arrays.pose, mapped)
    keep &= ~path_breaks(arrays.pose, keep)
    keep &= ~_contradicted(camera, db, arrays.image_ids, arrays.pose, keep)
    pose, observations, image_error, pnp = _pnp_fill(recon, db, arrays, keep)
    registered = keep | pnp
    registered &= ~(pnp & pose_jumps(pose, registered))  # a PnP pose must agree with the motion, too
    registered &= ~_contradicted(camera, db, arrays.image_ids, pose, registered)
    pnp &= registered
    for i in np.flatnonzero(~registered):
        observations[i] = sfm_register.empty_observation()
        image_error[i] = np.nan
    return SfmResult(
        K=arrays.K, camera_model=arrays.camera_model, distortion=arrays.distortion,
        pose=interpolate_poses(pose, registered) if registered.any() else pose,
        registered=registered, posed_by_pnp=pnp, rejected=mapped & ~registered, image_error=image_error,
        points=arrays.points, point_error=arrays.point_error, observations=observations,
        focal_refined=focal_refined,
        quality=_quality(name, registered, mapped & ~registered, observations, image_error, arrays.K[0, 0], ws.width),
    )


def _contradicted(camera, db: Path, image_ids: dict[int, int], pose: np.ndarray, registered: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Registered frames whose placement the verified matches with their neighbours contradict."""
    evidence = sfm_consistency.check_registrations(camera, db, image_ids, pose, registered)
    return sfm_consistency.contradicted_frames(registered, evidence)


def _pnp_fill(recon, db: Path, arrays: sfm_register.ModelArrays, keep: np.ndarray) -> tuple[np.ndarray, list, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Pose the frames outside ``keep`` by PnP against their nearest kept frames' points.

    Returns:
        (N×4×4 poses, per-frame observations, per-frame reprojection error in pixels, N bool
        posed by PnP); rows of frames PnP could not place are as the mapper left them.
    """
    pose = arrays.pose.copy()
    observations = list(arrays.observations)
    image_error = arrays.image_error.copy()
    pnp = np.zeros(len(pose), bool)
    anchors = np.flatnonzero(keep)
    for i in np.flatnonzero(~keep):
        if len(anchors) < 2 or i not in arrays.image_ids:
            continue
        near = sorted(anchors, key=lambda j: (abs(j - i), j))[:PNP_ANCHORS]
        placed = sfm_register.pnp_pose(recon, db, arrays, int(i), [int(j) for j in near])
        if placed is not None:
            pose[i], observations[i], image_error[i] = placed
            pnp[i] = True
    return pose, observations, image_error, pnp


def _quality(name: str, registered: np.ndarray, rejected: np.ndarray, observations: list, image_error: np.ndarray, focal: float, width: int) -> AttemptQuality:
    """`sfm_quality.score_attempt` of a checked model."""
    counts = np.array([len(observations[i][1]) for i in range(len(registered))])
    kept = registered & (counts > 0)
    error = float(np.sum(image_error[kept] * counts[kept]) / counts[kept].sum()) if kept.any() else float("nan")
    return sfm_quality.score_attempt(
        name, frames=len(registered), registered=int(registered.sum()), rejected=int(rejected.sum()),
        reprojection_px=error, observations=int(counts[registered].sum()), fov=sfm_quality.fov_deg(focal, width),
    )
