"""The classical reconstruction pipeline: SfM poses → multi-view depth → filled depth → metric world.

Stages (each in its own module):

1. `sfm.run_sfm`: intrinsics and camera poses (COLMAP), sparse points, at ``sfm_size``; on a
   denser sample of the video than the frames reported when the caller has one (``sfm_images``).
2. Per frame, at ``depth_size`` and on the pinhole camera (frames with radial distortion are
   resampled first, `undistort`, and the depth put back on their own pixels at the end):
   `sweep.plane_sweep_depth` against the nearest registered
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
import warnings
from dataclasses import dataclass, field

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical import densify, depth_checks, gates, scale, sfm, stereo, sweep, undistort
from spatialclaw.primitives.backends.classical.sfm_matches import Matcher
from spatialclaw.primitives.lens import radial_terms


@dataclass
class ClassicalResult:
    """A metric, gravity-aligned reconstruction of N frames (arrays only).

    Attributes:
        depth: N×H×W float32 z-depth in metres at the frames' resolution; 0 where unknown
            (the frames listed in ``info["frames_without_depth"]``: unregistered ones).
        measured: N×H×W bool; True where the depth came from stereo or a sparse point rather
            than from hole filling.
        pose: N×4×4 float64 camera-to-world (world: metres, +z up, floor at z = 0).
        K: 3×3 float64 intrinsics at the frames' resolution (pixels).
        registered: N bool; False where structure-from-motion could not place the frame: its
            pose is interpolated between registered neighbours (repeated past the ends) and its
            depth is 0 (unknown).
        points: M×3 float64 sparse structure-from-motion points in the world (metres).
        scale: metres per structure-from-motion unit (from ``camera_height``).
        camera_height: the camera-height prior used (metres).
        sfm: the structure-from-motion result for these N frames (`sfm.SfmResult`, in its own
            arbitrary frame): per-frame ``image_error`` (pixels), ``registered``,
            ``posed_by_pnp``, ``n_points``, ``focal``, ``focal_refined``, ``quality``.
        info: numbers worth reporting: ``sparse_agreement`` (median ratio of sparse-point depth
            to stereo depth; 1 is perfect), ``measured_fraction``, ``floor_inliers``,
            ``floor_confidence`` (None without a floor), ``sparse_points``, ``reprojection_px``
            (median over the sparse points), ``scene_depth_m`` (median sparse depth),
            ``depth_checks`` (how far the depth agrees with itself: `depth_checks.depth_checks`),
            ``timings``.
        distortion: (2,) float64 radial lens terms k1, k2 of the frames (the SfM camera's,
            COLMAP's convention, `lens`); None for a pinhole camera. ``depth`` is on the frames'
            own (distorted) pixels, so points need it as well as ``K``.
    """

    depth: np.ndarray
    measured: np.ndarray
    pose: np.ndarray
    K: np.ndarray
    registered: np.ndarray
    points: np.ndarray
    scale: float
    camera_height: float
    sfm: sfm.SfmResult | None = None
    info: dict = field(default_factory=dict)
    distortion: np.ndarray | None = None


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


def _measured_points(depth: np.ndarray, K: np.ndarray, pose: np.ndarray, budget: int) -> np.ndarray:
    """About ``budget`` world points from the known pixels of one (H×W, pose 4×4) or several
    (F×H×W, poses F×4×4) depth maps, taken on a regular pixel grid."""
    depth = depth[None] if depth.ndim == 2 else depth
    pose = pose[None] if pose.ndim == 2 else pose
    f, h, w = depth.shape
    stride = max(1, int(np.sqrt(f * h * w / max(budget, 1))))
    v, u = np.indices((h, w))
    v, u = v[::stride, ::stride], u[::stride, ::stride]
    rays = np.stack([u, v, np.ones_like(u)], -1).astype(np.float64) @ np.linalg.inv(K).T
    out = []
    for d, p in zip(depth, pose):
        z = d[::stride, ::stride]
        ok = np.isfinite(z) & (z > 0)
        cam = rays[ok] * z[ok, None]
        out.append(cam @ p[:3, :3].T + p[:3, 3])
    return np.concatenate(out) if out else np.zeros((0, 3))


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


def _sparse_depths(
    result: sfm.SfmResult, sfm_hw: tuple[int, int], hw: tuple[int, int], lens: undistort.Undistortion | None = None
) -> np.ndarray:
    """N×H×W depth of the sparse points each frame saw, at the depth resolution (NaN elsewhere),
    on the pinhole camera's pixels when ``lens`` undistorts."""
    out = np.full((len(result.observations), *hw), np.nan, np.float32)
    factor = np.array([hw[1] / sfm_hw[1], hw[0] / sfm_hw[0]])
    for i, (uv, idx) in enumerate(result.observations):
        if len(idx):
            at = (uv + 0.5) * factor - 0.5
            out[i] = densify.splat_sparse(at if lens is None else lens.points(at), _camera_depths(result.points[idx], result.pose[i]), hw)
    return out


def _depth_range(z: np.ndarray) -> tuple[float, float]:
    """The depths to search for a frame, from the sparse depths it saw: their 2–98 % range, widened.

    Raises:
        ValueError: no positive depth (callers check the sparse model first, `gates.sparse_model`).
    """
    z = z[np.isfinite(z) & (z > 0)]
    if len(z) == 0:
        raise ValueError("no sparse depth to bound the depth search")
    return 0.6 * float(np.percentile(z, 2)), 1.6 * float(np.percentile(z, 98))


def _stereo_depth(
    images: list[np.ndarray], i: int, nbrs: list[int], K: np.ndarray, pose: np.ndarray, depth_range: tuple[float, float]
) -> np.ndarray:
    """Frame ``i``'s depth: the plane sweep over ``nbrs``, and rectified SGBM against the sideways ones, by median."""
    estimates = [sweep.plane_sweep_depth(images[i], [images[j] for j in nbrs], K, pose[i], [pose[j] for j in nbrs], depth_range)]
    for j in nbrs:
        if 50.0 <= stereo.baseline_angle(pose[i], pose[j]) <= 130.0:
            estimates.append(stereo.pair_depth(images[i], images[j], K, pose[i], pose[j], depth_range))
    if len(estimates) == 1:
        return estimates[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
        return np.nanmedian(np.stack(estimates), axis=0).astype(np.float32)


def _median_ratio(sparse: np.ndarray, dense: np.ndarray) -> float:
    """Median of sparse-point depth / stereo depth where both exist (NaN with fewer than 5)."""
    both = np.isfinite(sparse) & np.isfinite(dense)
    return float(np.median(sparse[both] / dense[both])) if both.sum() >= 5 else float("nan")


def _borrow_depth(depths: np.ndarray, i: int, registered: np.ndarray, K: np.ndarray, pose: np.ndarray) -> None:
    """Fill frame ``i``'s unknown depths (in place) with the other registered frames' points seen from it."""
    others = registered & (np.arange(len(depths)) != i)
    points = _measured_points(depths[others], K, pose[others], 20000)
    world_to_cam = np.linalg.inv(pose[i])
    cam = points @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
    cam = cam[cam[:, 2] > 0]
    uv = cam[:, :2] / cam[:, 2:] * np.diag(K)[:2] + K[:2, 2]
    splat = densify.splat_sparse(uv, cam[:, 2], depths.shape[1:])
    holes = ~np.isfinite(depths[i])
    depths[i][holes] = splat[holes]


def _structure_from_motion(
    images: list[np.ndarray], sfm_images: list[np.ndarray] | None, positions: list[int] | None, sfm_size: int, min_registered: int,
    matcher: Matcher | None = None, prior_fov_deg: float | None = None, effort: str = "normal",
) -> sfm.SfmResult:
    """SfM on ``sfm_images`` (else ``images``) at ``sfm_size``, reported for ``images``."""
    if sfm_images is None:
        return sfm.run_sfm([_resize(im, sfm_size) for im in images], min_registered=min_registered, matcher=matcher,
                           prior_fov_deg=prior_fov_deg, effort=effort)
    if positions is None or len(positions) != len(images):
        raise ValueError("sfm_images needs positions: where each of images is in sfm_images")
    dense = sfm.run_sfm([_resize(im, sfm_size) for im in sfm_images], min_registered=1, matcher=matcher, prior_fov_deg=prior_fov_deg,
                        effort=effort)
    reported = dense.select(positions)
    if reported.n_registered < min_registered:
        raise PerceptionError.too_few_registered_of_video(reported.n_registered, len(images), len(sfm_images))
    return reported


def sfm_summary(result: sfm.SfmResult, *, sfm_frames: int) -> dict:
    """JSON-ready numbers of a structure-from-motion result, for ``info["sfm"]``.

    Keys: ``matcher`` (``"sift"`` or the learned matcher's name), ``attempt`` and ``score``
    (the chosen attempt), ``attempts`` ({name: score}), ``skipped`` (attempts the budget
    left out, `sfm.NORMAL_ATTEMPTS`),
    ``sfm_frames`` (frames the SfM ran on), ``focal_px``, ``focal_refined``, ``fov_deg``,
    ``camera_model``, ``distortion``, ``points``, ``reprojection_px`` (mean),
    ``image_error_px`` (per reported frame; None where unregistered), ``posed_by_pnp``
    (reported frames placed by PnP), ``rejected`` (reported frames the mapper placed where
    their neighbours contradict it, now unregistered).
    """
    q = result.quality
    return {
        "matcher": result.matcher,
        "attempt": q.attempt,
        "score": round(q.score, 4),
        "attempts": {a.attempt: round(a.score, 4) for a in result.attempts},
        "skipped": list(result.skipped),
        "sfm_frames": sfm_frames,
        "focal_px": result.focal,
        "focal_refined": result.focal_refined,
        "fov_deg": q.fov_deg,
        "camera_model": result.camera_model,
        "distortion": [float(k) for k in result.distortion],
        "points": result.n_points,
        "reprojection_px": q.reprojection_px,
        "image_error_px": [None if not np.isfinite(e) else float(e) for e in result.image_error],
        "posed_by_pnp": [int(i) for i in np.flatnonzero(result.posed_by_pnp)],
        "rejected": [int(i) for i in np.flatnonzero(result.rejected)],
    }


def _stereo_stage(
    small: list[np.ndarray], sparse: np.ndarray, reg: np.ndarray, pose: np.ndarray, K_s: np.ndarray, neighbours: int
) -> tuple[np.ndarray, list[list[int]], float]:
    """Raw multi-view depth per registered frame at depth size (NaN = no answer), each frame's
    stereo neighbours, and the scene's median sparse depth (SfM units)."""
    n = len(small)
    known = np.concatenate([d[np.isfinite(d) & (d > 0)] for d in sparse])
    if len(known) == 0:
        raise PerceptionError.nothing_in_front()
    scene_depth = float(np.median(known))
    raw = np.full((n, *small[0].shape[:2]), np.nan, np.float32)
    # Unregistered frames get no depth: their poses are guesses, and depth placed with a guessed
    # pose would put the scene in the wrong place.
    neighbour_lists = [_neighbours(i, reg, pose, scene_depth, neighbours) if reg[i] else [] for i in range(n)]
    for i, nbrs in enumerate(neighbour_lists):
        if nbrs:
            z = sparse[i][np.isfinite(sparse[i])]
            raw[i] = _stereo_depth(small, i, nbrs, K_s, pose, _depth_range(z if len(z) >= 10 else known))
    return raw, neighbour_lists, scene_depth


def _fill_stage(
    small: list[np.ndarray],
    raw: np.ndarray,
    sparse: np.ndarray,
    neighbour_lists: list[list[int]],
    result: sfm.SfmResult,
    K_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], dict[str, float]]:
    """Depth kept where neighbours agree, holes filled from sparse points, other frames and the
    image: (filled depth, measured mask, world point cloud for the floor, sparse/stereo ratios,
    `depth_checks.depth_checks`)."""
    reg, pose = result.registered, result.pose
    stereo_only = consistent_depth(raw, K_s, pose, neighbour_lists)
    ratios = [_median_ratio(sp, f) for sp, f in zip(sparse, stereo_only)]
    fused = np.where(np.isfinite(stereo_only), stereo_only, sparse)
    measured_small = np.isfinite(fused)
    cloud = np.concatenate([result.points] + [_measured_points(fused[i], K_s, pose[i], 4000) for i in np.flatnonzero(reg)])
    for i in np.flatnonzero(reg & (measured_small.mean(axis=(1, 2)) < 0.2)):
        _borrow_depth(fused, i, reg, K_s, pose)  # stereo found little: use the other frames' points
    filled = np.stack([densify.fill_depth(small[i], fused[i]) if reg[i] else fused[i] for i in range(len(small))])
    checks = depth_checks.depth_checks(filled, measured_small, sparse, stereo_only, reg, K_s, pose, neighbour_lists)
    return filled, measured_small, cloud, ratios, checks


def _at_frame_size(
    filled: np.ndarray, measured_small: np.ndarray, hw: tuple[int, int], metres_per_unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Depth (metres, 0 = unknown) and the measured mask upsampled to the frames' size."""
    import cv2

    h, w = hw
    depth = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in filled]) * metres_per_unit
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0)
    measured = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in measured_small])
    return depth, measured


def reconstruct_images(
    images: list[np.ndarray],
    *,
    camera_height: float = scale.DEFAULT_CAMERA_HEIGHT,
    sfm_size: int = 640,
    depth_size: int = 320,
    neighbours: int = 4,
    min_registered: int | None = None,
    sfm_images: list[np.ndarray] | None = None,
    positions: list[int] | None = None,
    matcher: Matcher | None = None,
    prior_fov_deg: float | None = None,
    sfm_effort: str = "normal",
) -> ClassicalResult:
    """Reconstruct a metric, gravity-aligned scene from ordered frames of a moving camera.

    Args:
        images: N H×W×3 uint8 RGB frames in temporal order, all the same size.
        camera_height: assumed median camera height above the floor (metres); sets the scale.
        sfm_size: longest image side (pixels) used for structure-from-motion.
        depth_size: longest image side (pixels) at which depth is estimated (then upsampled).
        neighbours: frames matched against each frame for depth.
        min_registered: fewer registered frames raise `PerceptionError`; default
            ``max(3, N // 4)``.
        sfm_images: a denser ordered sample of the same video for structure-from-motion (more
            frames register, and more reliably, when neighbours are close); default ``images``.
        positions: where each of ``images`` is in ``sfm_images`` (required with it).
        matcher: keypoints and matches for structure-from-motion instead of COLMAP's SIFT
            (`sfm_matches.Matcher`, e.g. the learned backend's SuperPoint + LightGlue).
        prior_fov_deg: the field of view across the longer image side (degrees) structure-from-motion
            starts its focal length from (e.g. Depth Pro's estimate); None: a 60° prior.
        sfm_effort: how hard structure-from-motion searches (`sfm.EFFORTS`): ``"normal"``
            within a budget of attempts (`sfm.NORMAL_ATTEMPTS`), ``"thorough"`` every attempt.

    Raises:
        PerceptionError: too few frames registered, or a model with (almost) no 3D points.
    """
    n = len(images)
    if min_registered is None:
        min_registered = max(3, n // 4)
    result = _structure_from_motion(images, sfm_images, positions, sfm_size, min_registered, matcher, prior_fov_deg, sfm_effort)
    sfm_frames = len(sfm_images) if sfm_images is not None else n
    return reconstruct_from_sfm(images, result, _resize(images[0], sfm_size).shape[:2],
                                camera_height=camera_height, depth_size=depth_size, neighbours=neighbours, sfm_frames=sfm_frames)


def _depth_stages(
    images: list[np.ndarray], result: sfm.SfmResult, sfm_hw: tuple[int, int], depth_size: int, neighbours: int, timings: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], float, dict[str, float]]:
    """Stereo and filling at ``depth_size`` on the pinhole camera, the depth then put back on the
    frames' own (radially distorted) pixels: (filled depth, measured mask, world cloud for the
    floor, sparse/stereo ratios, median sparse depth, `depth_checks.depth_checks` on the pinhole
    camera), in SfM units."""
    t = time.perf_counter()
    small = [_resize(im, depth_size) for im in images]
    shw = small[0].shape[:2]
    K_s = _scaled_K(result.K, sfm_hw, shw)
    lens = undistort.undistortion(K_s, result.distortion, shw)
    if lens is not None:
        small = [lens.image(im) for im in small]
    sparse = _sparse_depths(result, sfm_hw, shw, lens)
    raw, neighbour_lists, scene_depth = _stereo_stage(small, sparse, result.registered, result.pose, K_s, neighbours)
    timings["stereo"] = time.perf_counter() - t
    t = time.perf_counter()
    filled, measured_small, cloud, ratios, checks = _fill_stage(small, raw, sparse, neighbour_lists, result, K_s)
    if lens is not None:
        filled = np.stack([lens.depth_to_frame(f) for f in filled])
        measured_small = np.stack([lens.mask_to_frame(m) for m in measured_small])
    timings["fill"] = time.perf_counter() - t
    return filled, measured_small, cloud, ratios, scene_depth, checks


def reconstruct_from_sfm(
    images: list[np.ndarray],
    result: sfm.SfmResult,
    sfm_hw: tuple[int, int],
    *,
    camera_height: float = scale.DEFAULT_CAMERA_HEIGHT,
    depth_size: int = 320,
    neighbours: int = 4,
    sfm_frames: int | None = None,
) -> ClassicalResult:
    """The depth, floor and metric stages of `reconstruct_images` over a structure-from-motion result.

    Args:
        images: N H×W×3 uint8 RGB frames, the ones ``result`` reports.
        result: their structure-from-motion (poses, the shared camera with its radial
            distortion, sparse points), at ``sfm_hw`` (height, width) pixels.
        camera_height, depth_size, neighbours: as for `reconstruct_images`.
        sfm_frames: how many frames the SfM ran on (reported in ``info``); default N.

    Raises:
        PerceptionError: a model with (almost) no 3D points.
    """
    n = len(images)
    hw = images[0].shape[:2]
    timings: dict[str, float] = {f"sfm_{k}": v for k, v in result.timings.items()}
    reg, pose = result.registered, result.pose
    sparse_points = gates.sparse_model(len(result.points), result.n_registered)
    if sparse_points is not None:
        raise PerceptionError.refused(sparse_points.message)
    filled, measured_small, cloud, ratios, scene_depth, checks = _depth_stages(images, result, sfm_hw, depth_size, neighbours, timings)

    t = time.perf_counter()
    align = scale.align_to_floor(cloud, pose[reg, :3, 3], pose[reg, :3, :3], camera_height=camera_height)
    world_pose = align.apply_poses(pose)
    timings["scale"] = time.perf_counter() - t

    depth, measured = _at_frame_size(filled, measured_small, hw, align.scale)
    info = {
        "registered_frames": int(reg.sum()),
        "frames": n,
        "sparse_agreement": float(np.nanmedian(ratios)) if np.isfinite(ratios).any() else float("nan"),
        "measured_fraction": float(measured_small.mean()),
        "floor_inliers": align.floor_inliers,
        "floor_confidence": None if align.floor is None else align.floor.confidence,
        "sparse_points": int(len(result.points)),
        "reprojection_px": float(np.median(result.point_error)) if len(result.point_error) else None,
        "scene_depth_m": scene_depth * align.scale,
        "frames_without_depth": [int(i) for i in range(n) if not depth[i].any()],
        "depth_checks": checks,
        "sfm": sfm_summary(result, sfm_frames=sfm_frames or n),
        "timings": timings,
    }
    return ClassicalResult(
        depth=depth.astype(np.float32), measured=measured, pose=world_pose, K=_scaled_K(result.K, sfm_hw, hw), registered=reg,
        points=align.apply_points(result.points), scale=align.scale, camera_height=camera_height, sfm=result, info=info,
        distortion=radial_terms(result.distortion),
    )
