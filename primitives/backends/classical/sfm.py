"""Camera poses and intrinsics by structure-from-motion (COLMAP through ``pycolmap``, on the CPU).

The frames are written to a temporary folder, SIFT features are extracted and matched between
neighbouring frames (then, if too few frames registered, between all pairs), and COLMAP's
incremental mapper registers the frames it can; a registration that breaks the continuity of
the camera's motion is rejected (`pose_jumps`). One ``SIMPLE_PINHOLE`` camera is shared by all
frames (a free fx/fy ``PINHOLE`` model drifts on short clips). The result is in COLMAP's
arbitrary scale and orientation; `spatialclaw.primitives.backends.classical.scale` makes it
metric and gravity-aligned.

Frames COLMAP could not register get a pose interpolated between their registered neighbours
and ``registered[i] = False``, so callers can tell measured poses from guessed ones.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from spatialclaw.errors import PerceptionError

Matching = Literal["auto", "sequential", "exhaustive"]

RETRY_UNREGISTERED = 0.1
"""``matching="auto"`` adds all pairs and maps again when sequential matching leaves more than
this fraction of the frames unregistered."""


@dataclass
class SfmResult:
    """A structure-from-motion reconstruction in COLMAP's arbitrary similarity frame.

    Attributes:
        K: 3×3 float64 intrinsics shared by all frames (pixels).
        pose: N×4×4 float64 camera-to-world (camera axes x right, y down, z forward); rows of
            unregistered frames are interpolated from their registered neighbours.
        registered: N bool; True where COLMAP registered the frame.
        points: M×3 float64 triangulated points (world, arbitrary units).
        point_error: M float64 mean reprojection error of each point (pixels).
        observations: per frame, an (n_i×2 float64 pixel uv, n_i int64 index into ``points``)
            pair: the sparse points that frame saw. Empty for unregistered frames.
        timings: seconds per stage (``extract``, ``match``, ``map``).
    """

    K: np.ndarray
    pose: np.ndarray
    registered: np.ndarray
    points: np.ndarray
    point_error: np.ndarray
    observations: list[tuple[np.ndarray, np.ndarray]]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_registered(self) -> int:
        """How many frames COLMAP registered."""
        return int(self.registered.sum())


def _silence_glog() -> None:
    """Keep COLMAP's (very verbose) glog output off stderr; errors still show."""
    import pycolmap

    pycolmap.logging.minloglevel = 2
    pycolmap.logging.stderrthreshold = 2
    pycolmap.logging.verbose_level = 0


def run_sfm(
    images: list[np.ndarray],
    *,
    matching: Matching = "auto",
    overlap: int = 8,
    max_features: int = 4096,
    min_registered: int = 3,
    seed: int = 0,
) -> SfmResult:
    """Estimate one shared intrinsics matrix and a camera-to-world pose per image.

    Args:
        images: N H×W×3 uint8 RGB images, in temporal order, all the same size.
        matching: ``"sequential"`` matches each frame with the next ``overlap`` frames (fast, no
            false loop closures between look-alike views); ``"exhaustive"`` matches all pairs
            (closes loops, bridges fast turns); ``"auto"`` runs sequential and, when that leaves
            more than `RETRY_UNREGISTERED` of the frames unregistered, adds the remaining pairs
            and maps again, keeping whichever registers more frames.
        overlap: how many following frames each frame is matched with (sequential).
        max_features: SIFT features per image.
        min_registered: fewer registered frames than this raises `PerceptionError`.
        seed: COLMAP's random seed (results are repeatable for a given seed).

    Returns:
        The reconstruction, in COLMAP's arbitrary scale and orientation.

    Raises:
        PerceptionError: fewer than ``min_registered`` frames could be registered.
    """
    import cv2
    import pycolmap

    if matching not in ("auto", "sequential", "exhaustive"):
        raise ValueError(f"matching must be 'auto', 'sequential' or 'exhaustive', got {matching!r}")
    if len(images) < 2:
        raise PerceptionError(f"structure-from-motion needs at least 2 frames, got {len(images)}: sample more frames")
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise PerceptionError(f"structure-from-motion needs frames of one size, got {sorted(shapes)}: resample the input")
    _silence_glog()
    pycolmap.set_random_seed(seed)
    timings: dict[str, float] = {}
    names = [f"{i:05d}.png" for i in range(len(images))]
    with tempfile.TemporaryDirectory(prefix="spatialclaw-sfm-") as tmp:
        root = Path(tmp)
        image_dir = root / "images"
        image_dir.mkdir()
        for name, im in zip(names, images):
            cv2.imwrite(str(image_dir / name), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
        db = root / "database.db"

        t = time.perf_counter()
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.sift.max_num_features = max_features
        extraction.num_threads = 1  # images enter the database in a fixed order: repeatable mapping
        pycolmap.extract_features(
            db,
            image_dir,
            image_names=names,
            camera_mode=pycolmap.CameraMode.SINGLE,
            reader_options=pycolmap.ImageReaderOptions(camera_model="SIMPLE_PINHOLE"),
            extraction_options=extraction,
            device=pycolmap.Device.cpu,
        )
        timings["extract"] = time.perf_counter() - t

        result: SfmResult | None = None
        for pairs in ("sequential", "exhaustive") if matching == "auto" else (matching,):
            t = time.perf_counter()
            # One thread: the geometric verification's RANSAC is only repeatable single-threaded.
            single = pycolmap.FeatureMatchingOptions(num_threads=1)
            if pairs == "sequential":
                pairing = pycolmap.SequentialPairingOptions(overlap=overlap, quadratic_overlap=False, loop_detection=False)
                pycolmap.match_sequential(db, matching_options=single, pairing_options=pairing, device=pycolmap.Device.cpu)
            else:  # pairs already matched are kept, only the missing ones are added
                pycolmap.match_exhaustive(db, matching_options=single, device=pycolmap.Device.cpu)
            timings[f"match_{pairs}"] = time.perf_counter() - t
            t = time.perf_counter()
            attempt = _map(db, image_dir, root / f"sparse_{pairs}", names, seed, min_registered)
            timings[f"map_{pairs}"] = time.perf_counter() - t
            if attempt is not None and (result is None or _better(attempt, result)):
                result = attempt
            if result is not None and result.n_registered >= (1.0 - RETRY_UNREGISTERED) * len(images):
                break

    n_reg = 0 if result is None else result.n_registered
    if result is None or n_reg < min_registered:
        raise PerceptionError(
            f"only {n_reg} of {len(images)} frames could be registered by structure-from-motion: "
            "sample more frames (or more densely), or the camera barely moved / the views share too little texture"
        )
    result.timings = timings
    return result


def similarity_align(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity (s, R, t) minimising ``||s R src + t - dst||²`` (Umeyama) over N×3 point sets."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    U, S, Vt = np.linalg.svd(xd.T @ xs / len(src))
    D = np.eye(3)
    if np.linalg.det(U @ Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / max(xs.var(0).sum(), 1e-300))
    return s, R, mu_d - s * R @ mu_s


def _better(candidate: SfmResult, current: SfmResult, tolerance: float = 0.02) -> bool:
    """Whether ``candidate`` (all pairs matched) should replace ``current`` (neighbours only).

    It must register more frames and agree with ``current`` on the frames both registered
    (camera centres within ``tolerance`` of their path length after a similarity): matching all
    pairs can also match look-alike views from opposite sides of a room and fold the trajectory.
    """
    if candidate.n_registered <= current.n_registered:
        return False
    common = np.flatnonzero(candidate.registered & current.registered)
    if len(common) < 3:
        return True
    a, b = candidate.pose[common, :3, 3], current.pose[common, :3, 3]
    s, R, t = similarity_align(a, b)
    path = float(np.linalg.norm(np.diff(b, axis=0), axis=1).sum())
    rmse = float(np.sqrt(np.mean(np.sum((s * a @ R.T + t - b) ** 2, axis=1))))
    return rmse <= tolerance * path


def _map(db: Path, image_dir: Path, out: Path, names: list[str], seed: int, min_registered: int) -> SfmResult | None:
    """COLMAP's incremental mapping over the matches in ``db``; the largest model, or None."""
    import pycolmap

    options = pycolmap.IncrementalPipelineOptions()
    options.random_seed = seed
    options.mapper.random_seed = seed
    options.triangulation.random_seed = seed
    options.multiple_models = False
    options.min_model_size = min(options.min_model_size, max(2, min_registered))
    # One mapping thread: multi-threaded bundle adjustment is not repeatable, and on short
    # clips of a turning camera it sometimes converged to a wrong trajectory (ATE 2-13 % of
    # the path against 0.06 % single-threaded, synthetic 32-frame walks).
    options.num_threads = 1
    options.mapper.num_threads = 1
    out.mkdir()
    models = pycolmap.incremental_mapping(db, image_dir, out, options)
    best = max(models.values(), key=lambda r: r.num_reg_images(), default=None)
    return None if best is None or best.num_reg_images() == 0 else _to_result(best, names)


def _to_result(recon, names: list[str]) -> SfmResult:  # noqa: ANN001 (pycolmap type)
    """Turn a pycolmap reconstruction into arrays indexed by frame position."""
    cam = next(iter(recon.cameras.values()))
    K = np.asarray(cam.calibration_matrix(), dtype=np.float64)
    n = len(names)
    position = {name: i for i, name in enumerate(names)}
    pose = np.tile(np.eye(4), (n, 1, 1))
    registered = np.zeros(n, dtype=bool)

    point_ids = list(recon.point3D_ids())
    index_of = {pid: k for k, pid in enumerate(point_ids)}
    points = np.array([recon.points3D[pid].xyz for pid in point_ids], dtype=np.float64).reshape(-1, 3)
    errors = np.array([recon.points3D[pid].error for pid in point_ids], dtype=np.float64)
    observations: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros((0, 2)), np.zeros(0, dtype=np.int64))] * n

    for image in recon.images.values():
        if not image.has_pose:
            continue
        i = position[image.name]
        world_to_cam = np.eye(4)
        world_to_cam[:3, :] = image.cam_from_world().matrix()
        pose[i] = np.linalg.inv(world_to_cam)
        registered[i] = True
        uv, idx = [], []
        for p2d in image.points2D:
            if p2d.has_point3D():
                uv.append(p2d.xy)
                idx.append(index_of[p2d.point3D_id])
        observations[i] = (np.asarray(uv, dtype=np.float64).reshape(-1, 2), np.asarray(idx, dtype=np.int64))

    jumped = pose_jumps(pose, registered)
    registered &= ~jumped
    for i in np.flatnonzero(jumped):
        observations[i] = (np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
    pose = interpolate_poses(pose, registered)
    return SfmResult(K=K, pose=pose, registered=registered, points=points, point_error=errors, observations=observations)


def pose_jumps(pose: np.ndarray, registered: np.ndarray, *, factor: float = 4.0, max_turn_deg: float = 60.0) -> np.ndarray:
    """Registered frames whose pose breaks the continuity of the camera's motion.

    COLMAP occasionally registers a frame of a repetitive scene in a wrong place. In a video the
    camera moves smoothly, so a registered frame whose position is more than ``factor`` typical
    steps away from the midpoint of its registered neighbours, or whose orientation is more than
    ``max_turn_deg`` from both neighbours', is a wrong registration.

    Args:
        pose: N×4×4 camera-to-world; rows of unregistered frames are ignored.
        registered: N bool.
        factor: allowed deviation in median steps between consecutive registered frames.
        max_turn_deg: allowed rotation to the nearer neighbour (degrees).

    Returns:
        N bool: the frames to treat as unregistered.
    """
    known = np.flatnonzero(registered)
    out = np.zeros(len(pose), bool)
    if len(known) < 3:
        return out
    centres = pose[known, :3, 3]
    step = float(np.median(np.linalg.norm(np.diff(centres, axis=0), axis=1)))

    def turn(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.degrees(np.arccos(np.clip((np.trace(a[:3, :3].T @ b[:3, :3]) - 1.0) / 2.0, -1.0, 1.0))))

    for k, i in enumerate(known):
        prev = known[k - 1] if k > 0 else known[k + 1]  # the first and last frames have one neighbour
        nxt = known[k + 1] if k < len(known) - 1 else known[k - 1]
        mid = 0.5 * (pose[prev, :3, 3] + pose[nxt, :3, 3])
        far = np.linalg.norm(pose[i, :3, 3] - mid) > factor * step + 0.5 * np.linalg.norm(pose[nxt, :3, 3] - pose[prev, :3, 3])
        twisted = min(turn(pose[i], pose[prev]), turn(pose[i], pose[nxt])) > max_turn_deg
        out[i] = far or twisted
    return out


def interpolate_poses(pose: np.ndarray, registered: np.ndarray) -> np.ndarray:
    """Fill the poses of unregistered frames from their registered neighbours.

    Between two registered frames the rotation is interpolated spherically and the position
    linearly (by frame position); before the first / after the last registered frame the
    nearest registered pose is repeated.

    Args:
        pose: N×4×4 camera-to-world; rows where ``registered`` is False are ignored.
        registered: N bool, at least one True.

    Returns:
        N×4×4 camera-to-world with every row filled.
    """
    from scipy.spatial.transform import Rotation, Slerp

    out = pose.copy()
    out[:, 3] = (0.0, 0.0, 0.0, 1.0)
    known = np.flatnonzero(registered)
    if len(known) == 0:
        raise ValueError("interpolate_poses needs at least one registered frame")
    missing = np.flatnonzero(~registered)
    if len(missing) == 0:
        return out
    if len(known) == 1:
        out[missing] = pose[known[0]]
        return out
    slerp = Slerp(known, Rotation.from_matrix(pose[known, :3, :3]))
    t = np.clip(missing, known[0], known[-1])
    out[missing, :3, :3] = slerp(t).as_matrix()
    for axis in range(3):
        out[missing, axis, 3] = np.interp(t, known, pose[known, axis, 3])
    return out
