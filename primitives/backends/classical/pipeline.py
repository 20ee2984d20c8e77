"""The classical reconstruction pipeline: SfM poses → multi-view depth → filled depth → metric world.

Stages (each in its own module):

1. `sfm.run_sfm`: intrinsics and camera poses (COLMAP), sparse points, at ``sfm_size``.
2. Per frame, at ``depth_size``: `sweep.plane_sweep_depth` against the nearest registered
   neighbours, plus `stereo.pair_depth` (rectified SGBM) against neighbours that moved sideways;
   the estimates are fused by their median, then kept only where a neighbour's depth agrees
   (`consistent_depth`).
3. The sparse points each frame saw are checked against the fused depth (their median ratio is
   reported as ``sparse_agreement``) and fill its holes first; `densify.fill_depth` fills the rest.
4. `scale.align_to_floor`: floor plane, +z up, floor at z = 0, metres from the camera-height prior.

Everything is arrays (`ClassicalResult`), so the result can be cached and wrapped in the
primitives' `Reconstruction`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical import densify, scale, sfm, stereo, sweep


@dataclass
class ClassicalResult:
    """A metric, gravity-aligned reconstruction of N frames (arrays only).

    Attributes:
        depth: N×H×W float32 z-depth in metres at the frames' resolution (every pixel filled).
        measured: N×H×W bool; True where the depth came from stereo or a sparse point rather
            than from hole filling.
        pose: N×4×4 float64 camera-to-world (world: metres, +z up, floor at z = 0).
        K: 3×3 float64 intrinsics at the frames' resolution (pixels).
        registered: N bool; False where structure-from-motion could not place the frame (its
            pose is interpolated between neighbours and its depth is less reliable).
        points: M×3 float64 sparse structure-from-motion points in the world (metres).
        scale: metres per structure-from-motion unit (from ``camera_height``).
        camera_height: the camera-height prior used (metres).
        info: numbers worth reporting: ``sparse_agreement`` (median ratio of sparse-point depth
            to stereo depth; 1 is perfect), ``measured_fraction``, ``floor_inliers``, ``timings``.
    """

    depth: np.ndarray
    measured: np.ndarray
    pose: np.ndarray
    K: np.ndarray
    registered: np.ndarray
    points: np.ndarray
    scale: float
    camera_height: float
    info: dict = field(default_factory=dict)


def _resize(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    f = min(1.0, max_side / max(h, w))
    if f >= 1.0:
        return image
    return cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)


def _scaled_K(K: np.ndarray, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> np.ndarray:
    """Intrinsics for a resized image (pixel-centre convention)."""
    sy, sx = to_hw[0] / from_hw[0], to_hw[1] / from_hw[1]
    out = K.copy()
    out[0, 0] *= sx
    out[1, 1] *= sy
    out[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    out[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return out


def _camera_depths(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """z of world points in the camera with camera-to-world ``pose``."""
    world_to_cam = np.linalg.inv(pose)
    return points @ world_to_cam[2, :3] + world_to_cam[2, 3]


def _neighbours(i: int, registered: np.ndarray, pose: np.ndarray, scene_depth: float, count: int) -> list[int]:
    """Up to ``count`` registered frames nearest to ``i`` in time, with enough parallax."""
    centre = pose[i, :3, 3]
    chosen: list[int] = []
    for j in sorted(np.flatnonzero(registered), key=lambda j: (abs(j - i), j)):
        if j == i:
            continue
        if np.linalg.norm(pose[j, :3, 3] - centre) < 0.02 * scene_depth:
            continue  # too little parallax to triangulate
        chosen.append(int(j))
        if len(chosen) == count:
            break
    return chosen


def consistent_depth(
    depths: np.ndarray, K: np.ndarray, pose: np.ndarray, neighbours: list[list[int]], tolerance: float = 0.05
) -> np.ndarray:
    """Keep each depth pixel only where some neighbouring frame's depth agrees with it.

    A pixel of frame ``i`` is projected into each neighbour ``j``; it is kept if ``j``'s depth at
    that pixel matches the projected point's depth within ``tolerance`` (relative).

    Args:
        depths: N×H×W float32 depth, NaN where unknown.
        K: 3×3 intrinsics.
        pose: N×4×4 camera-to-world.
        neighbours: for each frame, the frames to check against.
        tolerance: relative depth agreement needed.

    Returns:
        N×H×W float32 depth with the inconsistent pixels set to NaN.
    """
    n, h, w = depths.shape
    v, u = np.indices((h, w))
    rays = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3).astype(np.float64) @ np.linalg.inv(K).T
    out = np.full_like(depths, np.nan)
    for i in range(n):
        d = depths[i].reshape(-1)
        ok = np.isfinite(d)
        if not ok.any():
            continue
        cam_pts = rays[ok] * d[ok, None]
        world = cam_pts @ pose[i, :3, :3].T + pose[i, :3, 3]
        agree = np.zeros(ok.sum(), bool)
        for j in neighbours[i]:
            wtc = np.linalg.inv(pose[j])
            pj = world @ wtc[:3, :3].T + wtc[:3, 3]
            z = pj[:, 2]
            front = z > 1e-9
            uv = (pj[front] @ K.T)[:, :2] / z[front, None]
            x = np.round(uv[:, 0]).astype(np.int64)
            y = np.round(uv[:, 1]).astype(np.int64)
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            idx = np.flatnonzero(front)[inside]
            dj = depths[j][y[inside], x[inside]]
            agree[idx] |= np.abs(dj - z[idx]) <= tolerance * z[idx]
        flat = np.full(h * w, np.nan, np.float32)
        flat[np.flatnonzero(ok)[agree]] = d[ok][agree]
        out[i] = flat.reshape(h, w)
    return out


def reconstruct_images(
    images: list[np.ndarray],
    *,
    camera_height: float = scale.DEFAULT_CAMERA_HEIGHT,
    sfm_size: int = 640,
    depth_size: int = 320,
    matching: sfm.Matching = "sequential",
    neighbours: int = 4,
    min_registered: int | None = None,
) -> ClassicalResult:
    """Reconstruct a metric, gravity-aligned scene from ordered frames of a moving camera.

    Args:
        images: N H×W×3 uint8 RGB frames in temporal order, all the same size.
        camera_height: assumed median camera height above the floor (metres); sets the scale.
        sfm_size: longest image side (pixels) used for structure-from-motion.
        depth_size: longest image side (pixels) at which depth is estimated (then upsampled).
        matching: ``"sequential"`` (videos) or ``"exhaustive"`` (unordered photos).
        neighbours: frames matched against each frame for depth.
        min_registered: fewer registered frames raise `PerceptionError`; default
            ``max(3, N // 4)``.

    Raises:
        PerceptionError: too few frames registered, or no floor found.
    """
    import cv2

    n = len(images)
    hw = images[0].shape[:2]
    timings: dict[str, float] = {}
    if min_registered is None:
        min_registered = max(3, n // 4)

    sfm_images = [_resize(im, sfm_size) for im in images]
    result = sfm.run_sfm(sfm_images, matching=matching, min_registered=min_registered)
    timings.update({f"sfm_{k}": v for k, v in result.timings.items()})
    reg = result.registered

    t = time.perf_counter()
    small = [_resize(im, depth_size) for im in images]
    shw = small[0].shape[:2]
    K_s = _scaled_K(result.K, sfm_images[0].shape[:2], shw)
    pose = result.pose
    all_z = np.concatenate(
        [_camera_depths(result.points[idx], pose[i]) for i, (_, idx) in enumerate(result.observations) if len(idx)]
    )
    all_z = all_z[all_z > 0]
    scene_depth = float(np.median(all_z))
    global_range = (float(np.percentile(all_z, 1)), float(np.percentile(all_z, 99)))
    raw = np.full((n, *shw), np.nan, np.float32)
    neighbour_lists: list[list[int]] = []
    for i in range(n):
        nbrs = _neighbours(i, reg, pose, scene_depth, neighbours)
        neighbour_lists.append(nbrs)
        if not nbrs:
            continue
        _, idx = result.observations[i]
        z = _camera_depths(result.points[idx], pose[i]) if len(idx) >= 10 else np.zeros(0)
        z = z[z > 0]
        rng = (float(np.percentile(z, 2)), float(np.percentile(z, 98))) if len(z) >= 10 else global_range
        rng = (0.6 * rng[0], 1.6 * rng[1])
        estimates = [sweep.plane_sweep_depth(small[i], [small[j] for j in nbrs], K_s, pose[i], [pose[j] for j in nbrs], rng)]
        for j in nbrs:
            if 50.0 <= stereo.baseline_angle(pose[i], pose[j]) <= 130.0:
                estimates.append(stereo.pair_depth(small[i], small[j], K_s, pose[i], pose[j], rng))
        with np.errstate(all="ignore"):
            raw[i] = np.nanmedian(np.stack(estimates), axis=0) if len(estimates) > 1 else estimates[0]
    timings["stereo"] = time.perf_counter() - t

    t = time.perf_counter()
    fused = consistent_depth(raw, K_s, pose, neighbour_lists)
    ratios = []
    for i, (uv, idx) in enumerate(result.observations):
        if not len(idx):
            continue
        uv_s = (uv + 0.5) * np.array([shw[1] / sfm_images[0].shape[1], shw[0] / sfm_images[0].shape[0]]) - 0.5
        sparse = densify.splat_sparse(uv_s, _camera_depths(result.points[idx], pose[i]), shw)
        both = np.isfinite(sparse) & np.isfinite(fused[i])
        if both.sum() >= 5:
            ratios.append(float(np.median(sparse[both] / fused[i][both])))
        holes = ~np.isfinite(fused[i]) & np.isfinite(sparse)
        fused[i][holes] = sparse[holes]
    measured_small = np.isfinite(fused)
    filled = np.stack([densify.fill_depth(small[i], fused[i]) for i in range(n)])
    timings["fill"] = time.perf_counter() - t

    t = time.perf_counter()
    stride = max(1, int(np.sqrt(shw[0] * shw[1] / 4000)))
    inv_K = np.linalg.inv(K_s)
    clouds = [result.points]
    for i in np.flatnonzero(reg):
        v, u = np.indices(shw)
        sel = measured_small[i][::stride, ::stride]
        uu, vv = u[::stride, ::stride][sel], v[::stride, ::stride][sel]
        z = fused[i][vv, uu]
        cam = np.stack([uu, vv, np.ones_like(uu)], 1).astype(np.float64) @ inv_K.T * z[:, None]
        clouds.append(cam @ pose[i, :3, :3].T + pose[i, :3, 3])
    cloud = np.concatenate(clouds)
    align = scale.align_to_floor(
        cloud,
        pose[reg, :3, 3],
        pose[reg, :3, 1],
        pose[reg, :3, 2],
        camera_height=camera_height,
    )
    world_pose = align.apply_poses(pose)
    timings["scale"] = time.perf_counter() - t

    h, w = hw
    depth = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in filled]) * align.scale
    measured = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in measured_small])
    if not np.isfinite(depth).all():
        raise PerceptionError("depth could not be estimated for every frame: sample more frames with overlapping views")
    info = {
        "registered_frames": int(reg.sum()),
        "frames": n,
        "sparse_agreement": float(np.median(ratios)) if ratios else float("nan"),
        "measured_fraction": float(measured_small.mean()),
        "floor_inliers": align.floor_inliers,
        "timings": timings,
    }
    return ClassicalResult(
        depth=depth.astype(np.float32),
        measured=measured,
        pose=world_pose,
        K=_scaled_K(result.K, sfm_images[0].shape[:2], hw),
        registered=reg,
        points=align.apply_points(result.points),
        scale=align.scale,
        camera_height=camera_height,
        info=info,
    )
