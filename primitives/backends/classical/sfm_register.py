"""A COLMAP model as arrays indexed by frame, and frames the mapper left out posed by PnP.

`model_arrays` turns a ``pycolmap.Reconstruction`` into numpy arrays (poses, points, each
frame's observations and reprojection error). `pnp_pose` places a frame the mapper did not
register (or whose registration the motion checks rejected) from its feature matches with
registered frames: their matched keypoints that carry a 3D point give 2D–3D pairs, and
COLMAP's absolute pose estimation (LO-RANSAC + refinement, the model's camera) solves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_PNP_INLIERS = 30
"""Fewest 2D–3D inliers a PnP pose needs to be accepted."""


@dataclass
class ModelArrays:
    """One COLMAP model over N frames, as arrays.

    Attributes:
        K: 3×3 intrinsics (pixels).
        camera_model: COLMAP model name (``"SIMPLE_RADIAL"``, ``"RADIAL"``).
        distortion: radial coefficients (k1,) or (k1, k2), COLMAP's convention.
        pose: N×4×4 camera-to-world; identity where not registered.
        registered: N bool.
        points: M×3 triangulated points; ``point_error`` M mean reprojection error (pixels).
        observations: per frame, (n_i×2 pixel uv, n_i int64 indices into ``points``).
        image_error: N mean reprojection error of each frame's observations (pixels); NaN where
            the frame is not registered or sees no point.
        point_index: COLMAP point3D id → row of ``points``.
        image_ids: frame → COLMAP image id.
    """

    K: np.ndarray
    camera_model: str
    distortion: np.ndarray
    pose: np.ndarray
    registered: np.ndarray
    points: np.ndarray
    point_error: np.ndarray
    observations: list[tuple[np.ndarray, np.ndarray]]
    image_error: np.ndarray
    point_index: dict[int, int]
    image_ids: dict[int, int]


def empty_observation() -> tuple[np.ndarray, np.ndarray]:
    """A frame that sees no point: (0×2 uv, 0 indices)."""
    return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)


def reprojection_errors(camera, cam_from_world: np.ndarray, xyz: np.ndarray, uv: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Pixel distance between ``uv`` (n×2) and the projections of world points ``xyz`` (n×3)
    through ``camera`` (a pycolmap Camera, with its distortion) at the 3×4 ``cam_from_world``."""
    if len(xyz) == 0:
        return np.zeros(0)
    cam = xyz @ cam_from_world[:, :3].T + cam_from_world[:, 3]
    projected = np.asarray(camera.img_from_cam(cam), dtype=np.float64).reshape(-1, 2)
    return np.linalg.norm(projected - uv, axis=1)


def model_arrays(recon, names: list[str]) -> ModelArrays:  # noqa: ANN001 (pycolmap type)
    """Turn a pycolmap reconstruction into arrays indexed by frame position (``names`` order)."""
    camera = next(iter(recon.cameras.values()))
    n = len(names)
    position = {name: i for i, name in enumerate(names)}
    point_ids = list(recon.point3D_ids())
    index_of = {pid: k for k, pid in enumerate(point_ids)}
    points = np.array([recon.points3D[pid].xyz for pid in point_ids], dtype=np.float64).reshape(-1, 3)
    errors = np.array([recon.points3D[pid].error for pid in point_ids], dtype=np.float64)
    out = ModelArrays(
        K=np.asarray(camera.calibration_matrix(), dtype=np.float64),
        camera_model=str(camera.model_name),
        distortion=np.asarray(camera.params[camera.extra_params_idxs()], dtype=np.float64),
        pose=np.tile(np.eye(4), (n, 1, 1)),
        registered=np.zeros(n, bool),
        points=points,
        point_error=errors,
        observations=[empty_observation()] * n,
        image_error=np.full(n, np.nan),
        point_index=index_of,
        image_ids={},
    )
    for image in recon.images.values():
        i = position[image.name]
        out.image_ids[i] = image.image_id
        if not image.has_pose:
            continue
        cam_from_world = np.asarray(image.cam_from_world().matrix(), dtype=np.float64)
        world_to_cam = np.vstack([cam_from_world, [0.0, 0.0, 0.0, 1.0]])
        out.pose[i] = np.linalg.inv(world_to_cam)
        out.registered[i] = True
        seen = [(p.xy, index_of[p.point3D_id]) for p in image.points2D if p.has_point3D()]
        uv = np.array([s[0] for s in seen], dtype=np.float64).reshape(-1, 2)
        idx = np.array([s[1] for s in seen], dtype=np.int64)
        out.observations[i] = (uv, idx)
        if len(idx):
            out.image_error[i] = float(reprojection_errors(camera, cam_from_world, points[idx], uv).mean())
    return out


def _correspondences(database, recon, image_id: int, anchors: list[int], point_index: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(k×2 keypoints of ``image_id``, k point rows) through its verified matches with ``anchors``."""
    keypoints = np.asarray(database.read_keypoints(image_id), dtype=np.float64)[:, :2]
    found: dict[int, int] = {}
    for other in anchors:
        if not database.exists_two_view_geometry(image_id, other):
            continue
        matches = np.asarray(database.read_two_view_geometry(image_id, other).inlier_matches, dtype=np.int64).reshape(-1, 2)
        image = recon.images[other]
        for mine, theirs in matches:
            p2d = image.points2D[int(theirs)]
            if p2d.has_point3D() and int(mine) not in found:
                found[int(mine)] = point_index[p2d.point3D_id]
    mine = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
    rows = np.fromiter(found.values(), dtype=np.int64, count=len(found))
    return keypoints[mine], rows


def pnp_pose(recon, db: Path, arrays: ModelArrays, frame: int, anchors: list[int]) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], float] | None:  # noqa: ANN001
    """Pose frame ``frame`` against the model from its matches with the registered ``anchors``.

    Args:
        recon: the pycolmap model.
        db: the feature database the model was built from.
        arrays: `model_arrays` of ``recon``.
        frame: the frame to pose.
        anchors: registered frames to take 2D–3D pairs from.

    Returns:
        (4×4 camera-to-world, (uv, point rows) of the inliers, mean inlier reprojection error in
        pixels), or None when fewer than `MIN_PNP_INLIERS` pairs agree.
    """
    import pycolmap

    from spatialclaw.primitives.backends.classical.sfm_colmap import quiet

    camera = next(iter(recon.cameras.values()))
    database = pycolmap.Database.open(str(db))
    try:
        uv, rows = _correspondences(database, recon, arrays.image_ids[frame], [arrays.image_ids[a] for a in anchors], arrays.point_index)
    finally:
        database.close()
    if len(rows) < MIN_PNP_INLIERS:
        return None
    with quiet():
        answer = pycolmap.estimate_and_refine_absolute_pose(uv, arrays.points[rows], camera)
    if answer is None or int(answer["num_inliers"]) < MIN_PNP_INLIERS:
        return None
    inliers = np.asarray(answer["inlier_mask"], bool)
    cam_from_world = np.asarray(answer["cam_from_world"].matrix(), dtype=np.float64)
    error = float(reprojection_errors(camera, cam_from_world, arrays.points[rows[inliers]], uv[inliers]).mean())
    pose = np.linalg.inv(np.vstack([cam_from_world, [0.0, 0.0, 0.0, 1.0]]))
    return pose, (uv[inliers], rows[inliers]), error
