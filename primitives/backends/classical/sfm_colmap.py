"""COLMAP plumbing for `sfm`: the feature database, matching, the mappers and bundle adjustment.

Everything that touches ``pycolmap`` directly lives here, so `sfm` reads as the choice between
attempts. All calls run inside `quiet`: COLMAP writes through glog and Ceres straight to the
process's file descriptors, which a Jupyter kernel forwards to the cell; nothing of it may reach
the model.

Repeatability: mapping and bundle adjustment run single-threaded with a fixed seed (COLMAP's
multi-threaded bundle adjustment is not repeatable). Extraction and matching use all cores and
still write the same database: each image's features do not depend on the threads, the images
enter in frame order (`_extract_in_frame_order`) and each pair's RANSAC is seeded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialclaw.primitives.backends.classical import sfm_matches
from spatialclaw.primitives.backends.classical.sfm_matches import Matcher

PRIOR_FOV_DEG = 60.0
"""Horizontal field of view assumed before bundle adjustment refines it (a typical phone or webcam)."""

EXHAUSTIVE_UP_TO = 48
"""Frames up to which all pairs are matched; longer sequences match each frame with its neighbours."""

SEQUENTIAL_OVERLAP = 12
"""Following frames each frame is matched with when matching is sequential (plus quadratic steps)."""

BA_FUNCTION_TOLERANCE = 1e-6
"""`bundle_adjust` stops once an iteration lowers the cost by less than this fraction (Ceres'
default; COLMAP's 0 runs all 100 iterations). On the 640×480 synthetic room (32 frames, 21k
points) that is 2.3-2.7× less CPU for the same reprojection error (to 1e-4 px) and focal length
(to 0.01 px)."""

BAD_POINT_PX = 4.0
"""`drop_bad_points` deletes points whose mean reprojection error exceeds this (pixels; COLMAP's
mappers filter at the same error)."""

GLOBAL_TRACKS_PER_VIEW = 500
"""The global mapper keeps at most about this many tracks per frame (the longest first) for
rotation averaging and global positioning. COLMAP's default keeps every track: on the 640×480
synthetic room (32 frames) that took 20 s where 500 per frame takes 7 s, for the same model."""


@dataclass(frozen=True)
class CameraGuess:
    """One camera shared by every frame, as given to a mapper.

    Attributes:
        model: COLMAP camera model: ``"SIMPLE_RADIAL"`` (f, cx, cy, k1) or ``"RADIAL"`` (+ k2).
        focal: focal length to start from (pixels).
        fixed: keep the focal length and distortion fixed while mapping (refined afterwards by
            `refine_intrinsics`); otherwise COLMAP refines them as frames register.
        k1: first radial distortion coefficient to start from (0: none; an earlier attempt's
            measured value).
    """

    model: str
    focal: float
    fixed: bool
    k1: float = 0.0


def prior_focal(width: int, height: int, fov_deg: float = PRIOR_FOV_DEG) -> float:
    """Focal length (pixels) of a camera whose longer image side spans ``fov_deg`` degrees."""
    return max(width, height) / 2.0 / float(np.tan(np.radians(fov_deg) / 2.0))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send the process's stdout and stderr file descriptors to /dev/null for the duration.

    COLMAP's glog lines (and Ceres' solver warnings) bypass Python's ``sys.stdout``.
    """
    import pycolmap

    pycolmap.logging.minloglevel = 3
    pycolmap.logging.stderrthreshold = 3
    pycolmap.logging.verbose_level = 0
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no stdout/stderr descriptors to protect
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def build_database(
    images: list[np.ndarray], root: Path, *, max_features: int, seed: int, matcher: Matcher | None = None, num_threads: int = -1
) -> tuple[Path, Path, list[str]]:
    """Write the frames, extract SIFT features (or ask ``matcher``) and match pairs into ``root/database.db``.

    All pairs are matched up to `EXHAUSTIVE_UP_TO` frames, else each frame's `SEQUENTIAL_OVERLAP`
    successors (and quadratically spaced ones, which close some loops). Watermark detection is
    off: in a slowly moving video many true pairs look like a pure image translation.

    Args:
        images: N H×W×3 uint8 RGB frames in temporal order, all the same size.
        root: an empty folder.
        max_features: SIFT features per image.
        seed: RANSAC seed of the geometric verification.
        matcher: keypoints and matches from outside COLMAP (`sfm_matches`), over the same
            pairs, verified the same way; None: COLMAP's SIFT.
        num_threads: threads for matching and verification (-1: all cores; the result is the same,
            the RANSAC of each pair is seeded); extraction stays on one thread.

    Returns:
        (database path, image folder, image names in frame order).
    """
    import cv2
    import pycolmap

    image_dir = root / "images"
    image_dir.mkdir()
    names = [f"{i:05d}.png" for i in range(len(images))]
    for name, im in zip(names, images):
        cv2.imwrite(str(image_dir / name), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    db = root / "database.db"
    h, w = images[0].shape[:2]
    f = prior_focal(w, h)
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.sift.max_num_features = max_features
    reader = pycolmap.ImageReaderOptions(camera_model="SIMPLE_RADIAL", camera_params=f"{f},{w / 2},{h / 2},0")
    verification = pycolmap.TwoViewGeometryOptions()
    verification.detect_watermark = False
    verification.compute_relative_pose = True  # the global mapper starts from the relative poses
    verification.ransac.random_seed = seed
    matching = pycolmap.FeatureMatchingOptions(num_threads=num_threads)
    if matcher is not None:
        pairs = sfm_matches.match_pairs(len(images), exhaustive_up_to=EXHAUSTIVE_UP_TO, overlap=SEQUENTIAL_OVERLAP)
        features = sfm_matches.checked_matches(matcher(images, pairs), len(images))
        with quiet():
            sfm_matches.write_matches(db, image_dir, names, reader, features, verification)
        return db, image_dir, names
    with quiet():
        _extract_in_frame_order(db, image_dir, names, reader, extraction)
        if len(images) <= EXHAUSTIVE_UP_TO:
            pycolmap.match_exhaustive(db, matching_options=matching, verification_options=verification, device=pycolmap.Device.cpu)
        else:
            pairing = pycolmap.SequentialPairingOptions(overlap=SEQUENTIAL_OVERLAP, quadratic_overlap=True, loop_detection=False)
            pycolmap.match_sequential(
                db, matching_options=matching, pairing_options=pairing, verification_options=verification, device=pycolmap.Device.cpu
            )
    return db, image_dir, names


def _extract_in_frame_order(db: Path, image_dir: Path, names: list[str], reader, extraction) -> None:  # noqa: ANN001 (pycolmap types)
    """SIFT of every frame on all cores, written to a new database ``db`` with image ids in frame order.

    Threaded extraction enters the images into its database in whatever order the threads finish
    (the features themselves do not depend on it), and the mappers' choices depend on image ids.
    So it extracts into a scratch database, and ``db`` gets the images imported in ``names``
    order with those features: the same database a single-threaded extraction writes.
    """
    import pycolmap

    scratch = db.with_name("extracted.db")
    extraction.num_threads = -1
    pycolmap.extract_features(
        scratch, image_dir, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
        reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu,
    )
    pycolmap.Database.open(str(db)).close()  # import_images wants the database file to exist
    pycolmap.import_images(db, image_dir, camera_mode=pycolmap.CameraMode.SINGLE, image_names=names, options=reader)
    source, target = pycolmap.Database.open(str(scratch)), pycolmap.Database.open(str(db))
    try:
        extracted = {image.name: image.image_id for image in source.read_all_images()}
        for image in target.read_all_images():
            target.write_keypoints(image.image_id, source.read_keypoints(extracted[image.name]))
            target.write_descriptors(image.image_id, source.read_descriptors(extracted[image.name]))
    finally:
        source.close()
        target.close()
    scratch.unlink()


def database_copy(db: Path, out: Path, camera: CameraGuess, *, max_gap: int | None = None) -> Path:
    """A copy of ``db`` in ``out`` with the shared camera set to ``camera``.

    Args:
        db: the database `build_database` wrote.
        out: an empty folder for the copy (and the mapper's output).
        camera: the camera model and focal length to start from.
        max_gap: keep only verified pairs at most this many frames apart (no loop closures:
            look-alike views from opposite sides of a room can fold a walk); None keeps all.
    """
    import pycolmap

    copy = out / "database.db"
    shutil.copy(db, copy)
    database = pycolmap.Database.open(str(copy))
    try:
        old = database.read_all_cameras()[0]
        cam = pycolmap.Camera.create_from_model_name(old.camera_id, camera.model, camera.focal, old.width, old.height)
        if camera.k1:
            params = np.asarray(cam.params, dtype=np.float64)
            params[cam.extra_params_idxs()[0]] = camera.k1
            cam.params = params
        cam.has_prior_focal_length = True
        database.update_camera(cam)
        if max_gap is not None:
            pairs, _ = database.read_two_view_geometries()
            ids = {img.image_id: k for k, img in enumerate(sorted(database.read_all_images(), key=lambda im: im.name))}
            for pair_id in pairs:
                a, b = pycolmap.pair_id_to_image_pair(pair_id)
                if abs(ids[a] - ids[b]) > max_gap:
                    database.delete_two_view_geometry(a, b)
    finally:
        database.close()
    return copy


def map_incremental(db: Path, image_dir: Path, out: Path, camera: CameraGuess, seed: int, min_size: int) -> list:
    """COLMAP's incremental mapper over ``db``: every model it built (several when it restarted)."""
    import pycolmap

    options = pycolmap.IncrementalPipelineOptions()
    options.random_seed = seed
    options.mapper.random_seed = seed
    options.triangulation.random_seed = seed
    options.multiple_models = True  # a bad initial pair no longer ends the attempt
    options.max_num_models = 3
    options.min_model_size = min_size
    options.num_threads = 1
    options.mapper.num_threads = 1
    if camera.fixed:
        options.ba_refine_focal_length = False
        options.ba_refine_extra_params = False
        options.mapper.abs_pose_refine_focal_length = False
        options.mapper.abs_pose_refine_extra_params = False
    with quiet():
        models = pycolmap.incremental_mapping(db, image_dir, out, options)
    return list(models.values())


def map_global(db: Path, image_dir: Path, out: Path, camera: CameraGuess, seed: int, min_size: int) -> list:
    """COLMAP's global mapper (rotation averaging, then global positioning) over ``db``."""
    import pycolmap

    options = pycolmap.GlobalPipelineOptions()
    options.random_seed = seed
    options.num_threads = 1
    options.min_model_size = min_size
    options.mapper.track_required_tracks_per_view = GLOBAL_TRACKS_PER_VIEW
    if camera.fixed:
        options.mapper.bundle_adjustment.refine_focal_length = False
        options.mapper.bundle_adjustment.refine_extra_params = False
    with quiet():
        models = pycolmap.global_mapping(db, image_dir, out, options)
    return list(models.values())


def bundle_adjust(recon, *, refine_focal: bool, refine_distortion: bool) -> None:  # noqa: ANN001 (pycolmap type)
    """Robust (Cauchy) bundle adjustment of ``recon`` in place; the principal point stays fixed."""
    import pycolmap

    options = pycolmap.BundleAdjustmentOptions()
    options.print_summary = False
    options.refine_focal_length = refine_focal
    options.refine_extra_params = refine_distortion
    options.refine_principal_point = False
    options.ceres.loss_function_type = pycolmap.LossFunctionType.CAUCHY
    options.ceres.solver_options.num_threads = 1
    options.ceres.solver_options.function_tolerance = BA_FUNCTION_TOLERANCE
    with quiet():
        pycolmap.bundle_adjustment(recon, options)


def drop_bad_points(recon, max_error_px: float = BAD_POINT_PX) -> int:  # noqa: ANN001 (pycolmap type)
    """Delete 3D points whose mean reprojection error exceeds ``max_error_px``; how many went."""
    recon.update_point_3d_errors()
    bad = [pid for pid in recon.point3D_ids() if not np.isfinite(recon.points3D[pid].error) or recon.points3D[pid].error > max_error_px]
    for pid in bad:
        recon.delete_point3D(pid)
    return len(bad)
