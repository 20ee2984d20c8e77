"""Classical perception backend: stereo on a real photo pair, then SfM, depth, scale and masks on synthetic rooms."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.backends.classical import densify, gates, regions, scale, sfm, stereo, sweep

SEED = 0
N_FRAMES = 32
WIDTH, HEIGHT = 320, 240


def abs_rel(pred: np.ndarray, gt: np.ndarray) -> float:
    valid = (gt > 0) & np.isfinite(pred)
    return float(np.mean(np.abs(pred[valid] - gt[valid]) / gt[valid]))


def world_heights(depth: np.ndarray, K: np.ndarray, pose: np.ndarray) -> np.ndarray:
    v, u = np.indices(depth.shape)
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], -1)
    return cam @ pose[2, :3] + pose[2, 3]


def interior_pixel(mask: np.ndarray) -> tuple[int, int]:
    """The (x, y) pixel of ``mask`` farthest from its border: where a VLM would point."""
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(mask)
    y, x = np.unravel_index(int(np.argmax(dist)), mask.shape)
    return int(x), int(y)


@pytest.fixture(scope="module")
def scene():
    from spatialclaw.synth import generate_scene

    return generate_scene(SEED)


@pytest.fixture(scope="module")
def rendering(scene):
    from spatialclaw.synth import render_scene

    return render_scene(scene, N_FRAMES, WIDTH, HEIGHT)


@pytest.fixture(scope="module")
def renderer(scene):
    from spatialclaw.synth import Renderer

    return Renderer(scene, WIDTH, HEIGHT)


# --- real photos -------------------------------------------------------------------------------


def test_sgbm_on_the_middlebury_motorcycle_pair():
    from skimage import data

    left, right, gt = data.stereo_motorcycle()
    disp = stereo.disparity(left, right, num_disparities=128, block_size=5)
    has_gt = np.isfinite(gt)
    both = has_gt & np.isfinite(disp)
    err = np.abs(disp - gt)[both]
    assert both.sum() / has_gt.sum() > 0.85  # measured 0.89 after the left-right check
    assert np.median(err) < 0.25  # measured 0.18 px
    assert np.mean(err > 2.0) < 0.06  # measured 0.047


# --- stereo, sweep and filling with exact poses --------------------------------------------------


def test_rectified_pair_depth_matches_the_rendered_depth(renderer, rendering):
    pose_i = rendering.poses[4]
    pose_j = pose_i.copy()
    pose_j[:3, 3] += 0.25 * pose_i[:3, 0]  # 25 cm to the right, slightly turned
    pose_j[:3, :3] = pose_i[:3, :3] @ _rot_y(np.radians(3.0))
    rgb_i, depth_i, _ = renderer.render(pose_i)
    rgb_j, _, _ = renderer.render(pose_j)
    assert 85.0 < stereo.baseline_angle(pose_i, pose_j) < 95.0
    est = stereo.pair_depth(rgb_i, rgb_j, renderer.K, pose_i, pose_j, (0.5, 8.0))
    ok = np.isfinite(est) & (depth_i > 0)
    assert ok.mean() > 0.4
    assert np.median(np.abs(est[ok] - depth_i[ok]) / depth_i[ok]) < 0.02


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def test_plane_sweep_works_for_a_walking_camera(rendering):
    i, nbrs = 10, [8, 9, 11, 12]
    est = sweep.plane_sweep_depth(
        rendering.rgb[i], [rendering.rgb[j] for j in nbrs], rendering.K, rendering.poses[i], [rendering.poses[j] for j in nbrs], (0.4, 9.0)
    )
    gt = rendering.depth[i]
    ok = np.isfinite(est) & (gt > 0)
    assert ok.mean() > 0.5
    assert np.median(np.abs(est[ok] - gt[ok]) / gt[ok]) < 0.03


def test_fill_depth_completes_large_holes(rendering):
    i = 6
    gt = rendering.depth[i]
    rng = np.random.default_rng(0)
    partial = gt.copy()
    for _ in range(25):  # blob-shaped holes covering about half the frame
        y, x = rng.integers(0, HEIGHT), rng.integers(0, WIDTH)
        partial[max(0, y - 25) : y + 25, max(0, x - 35) : x + 35] = np.nan
    assert np.isnan(partial).mean() > 0.3
    filled = densify.fill_depth(rendering.rgb[i], partial)
    assert np.isfinite(filled).all()
    holes = np.isnan(partial)
    assert abs_rel(filled[holes], gt[holes]) < 0.1
    assert np.array_equal(filled[~holes], partial[~holes])


# --- scale and gravity ----------------------------------------------------------------------------


def test_align_to_floor_recovers_a_metric_z_up_world():
    rng = np.random.default_rng(1)
    floor = np.column_stack([rng.uniform(0, 5, 400), rng.uniform(0, 4, 400), np.zeros(400)])
    table = np.column_stack([rng.uniform(1, 2, 300), rng.uniform(1, 2, 300), np.full(300, 0.75)])  # more crowded than the floor
    clutter = rng.uniform([0, 0, 0], [5, 4, 2.5], (200, 3))
    world = np.vstack([floor, table, clutter])
    cams = np.column_stack([np.linspace(1, 4, 10), np.full(10, 2.0), np.full(10, 1.6)])
    # Upright cameras pitched 20° down, turning (yaw) from -60° to 60°: x right, y down, z forward.
    yaw = np.radians(np.linspace(-60, 60, 10))
    pitch = np.radians(-20.0)
    fwd = np.column_stack([np.cos(pitch) * np.sin(yaw), np.cos(pitch) * np.cos(yaw), np.full(10, np.sin(pitch))])
    right = np.column_stack([np.cos(yaw), -np.sin(yaw), np.zeros(10)])
    down = np.cross(fwd, right)
    rotations = np.stack([right, down, fwd], axis=2)
    # An arbitrary similarity (what SfM returns): scale 0.3, some rotation, an offset.
    from scipy.spatial.transform import Rotation

    R = Rotation.from_euler("xyz", [40, -25, 70], degrees=True).as_matrix()
    to_recon = lambda p: 0.3 * p @ R.T + np.array([2.0, -1.0, 0.5])  # noqa: E731
    assert np.allclose(scale.gravity_hint(rotations), [0.0, 0.0, 1.0])
    align = scale.align_to_floor(to_recon(world), to_recon(cams), R @ rotations, camera_height=1.6)
    back = align.apply_points(to_recon(world))
    assert align.scale == pytest.approx(1 / 0.3, rel=1e-3)
    assert np.abs(back[:400, 2]).max() < 1e-3  # floor at z = 0
    assert np.allclose(back[400:700, 2], 0.75, atol=1e-3)  # table top 75 cm up
    cam_world = align.apply_points(to_recon(cams))
    assert np.allclose(cam_world[:, 2], 1.6, atol=1e-3)
    assert np.allclose(cam_world[0, :2], 0.0, atol=1e-6)  # origin under the first camera


def test_interpolated_poses_fill_unregistered_frames():
    from scipy.spatial.transform import Rotation

    poses = np.tile(np.eye(4), (5, 1, 1))
    poses[:, :3, 3] = np.arange(5)[:, None] * np.array([1.0, 0.0, 0.0])
    poses[:, :3, :3] = Rotation.from_euler("z", np.arange(5)[:, None] * 10.0, degrees=True).as_matrix()
    registered = np.array([True, False, True, False, True])
    out = sfm.interpolate_poses(np.where(registered[:, None, None], poses, 0.0), registered)
    assert np.allclose(out, poses, atol=1e-9)


def test_similarity_align_recovers_scale_rotation_and_offset():
    from scipy.spatial.transform import Rotation

    src = np.random.default_rng(2).normal(size=(20, 3))
    R = Rotation.from_euler("zyx", [30, -10, 50], degrees=True).as_matrix()
    s, R_est, t = sfm.similarity_align(src, 2.5 * src @ R.T + np.array([1.0, 2.0, 3.0]))
    assert s == pytest.approx(2.5) and np.allclose(R_est, R) and np.allclose(t, [1.0, 2.0, 3.0])


def test_a_registration_that_breaks_the_camera_motion_is_rejected(rendering):
    poses = rendering.poses.copy()
    registered = np.ones(N_FRAMES, bool)
    registered[5] = False
    assert not sfm.pose_jumps(poses, registered).any()  # a real walk, turns of up to ~35° per frame
    poses[12, :3, 3] += np.array([2.5, -1.0, 0.3])  # a frame registered in the wrong place
    poses[20, :3, :3] = poses[20, :3, :3] @ _rot_y(np.radians(150.0))  # one facing the wrong way
    poses[31, :3, :3] = poses[31, :3, :3] @ _rot_y(np.radians(100.0))  # the last one, too
    assert np.flatnonzero(sfm.pose_jumps(poses, registered)).tolist() == [12, 20, 31]


# --- masks ---------------------------------------------------------------------------------------


def test_region_growing_from_a_pointed_pixel_recovers_objects(scene, rendering):
    """With exact depth, growing from each large object's interior point gives its mask."""
    ious = []
    for i in range(0, N_FRAMES, 4):
        inst, depth, pose = rendering.instance[i], rendering.depth[i], rendering.poses[i]
        heights = world_heights(depth, rendering.K, pose)
        for oid in np.unique(inst):
            mask = inst == oid
            if oid == 0 or mask.sum() < 2000:
                continue
            grown = regions.grow_region(rendering.rgb[i], depth, rendering.K, interior_pixel(mask), height=heights)
            ious.append((grown & mask).sum() / (grown | mask).sum())
    assert len(ious) >= 5
    assert np.median(ious) >= 0.7  # measured 0.78 over 18 objects


# --- the whole pipeline (slow: structure-from-motion) --------------------------------------------


def test_too_few_registered_frames_is_a_perception_error():
    still = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    with pytest.raises(PerceptionError, match="registered"):
        sfm.run_sfm([still] * 5, min_registered=3)


@pytest.fixture(scope="module")
def classical(scene, rendering, tmp_path_factory):
    """The classical backend's reconstruction of the rendered walk, through the backend entry point."""
    from spatialclaw.primitives import perception
    from spatialclaw.primitives.backends import classical as backend
    from spatialclaw.primitives.context import KernelContext

    frames = [Frame(i, i / rendering.fps, rendering.rgb[i]) for i in range(N_FRAMES)]  # the walk's own clock
    context = KernelContext(
        frames=frames,
        source_kind="video",
        perception="reconstruction=classical",
        cache_dir=tmp_path_factory.mktemp("cache"),
        options={"camera_height": scene.path.height},
    )
    context.reconstruct_all = lambda: perception.run_reconstruction(None, context)
    return context, backend._reconstruction_for(frames, context)[0]


@pytest.mark.slow
def test_classical_poses_scale_and_depth_match_ground_truth(classical, rendering):
    _, recon = classical
    assert recon.backend == "classical"
    # A good walk raises no warning (measured: ATE 0.1 % of the path, scale off by 3 %).
    assert recon.quality.ok, recon.quality.warnings
    assert recon.quality.scale_source == "floor+camera-height" and recon.quality.floor_confidence > 0.9
    assert recon.quality.fov_deg == pytest.approx(65.0, abs=2.0)  # the renderer's field of view
    assert recon.quality.registered == int(recon.valid.sum()) and recon.quality.reprojection_px < 1.0
    not_registered = recon.invalid_entries
    assert len(not_registered) <= N_FRAMES // 8
    reg = np.setdiff1d(np.arange(N_FRAMES), not_registered)
    est, gt = recon.pose[reg, :3, 3], rendering.poses[reg, :3, 3]
    s, R, t = sfm.similarity_align(est, gt)
    ate = np.sqrt(np.mean(np.sum((s * est @ R.T + t - gt) ** 2, axis=1)))
    path = np.linalg.norm(np.diff(rendering.poses[:, :3, 3], axis=0), axis=1).sum()
    assert ate <= 0.03 * path
    assert s == pytest.approx(1.0, rel=0.15)  # metric scale from the camera-height prior
    # Gravity: the world is z-up with the floor at z = 0, so camera heights match directly.
    assert np.median(np.abs(recon.pose[reg, 2, 3] - rendering.poses[reg, 2, 3])) < 0.1
    assert np.degrees(np.arccos(np.clip(R[2, 2], -1, 1))) < 5.0
    rel = [abs_rel(recon.depth[i], rendering.depth[i]) for i in reg]
    assert np.mean(rel) <= 0.15
    assert recon.info["sparse_agreement"] == pytest.approx(1.0, abs=0.05)
    checks = recon.info["depth_checks"]  # the depth's self-checks: mostly measured, and the views agree
    assert gates.expected_right_depth(checks["measured_fraction"], 1.0) >= gates.MIN_RIGHT_DEPTH and checks["view_agreement"] > 0.8, checks


@pytest.mark.slow
def test_classical_segment_grows_the_pointed_object(classical, scene, rendering):
    from spatialclaw.primitives.backends import classical as backend

    context, _ = classical
    asked = [8, 9]
    inst = rendering.instance[asked[0]]
    ids, counts = np.unique(inst[inst > 0], return_counts=True)
    target = int(ids[np.argmax(counts)])
    truths = [rendering.instance[i] == target for i in asked]
    calls = []

    def host_call(method: str, payload: dict):
        """A VLM that points at the target's interior in each frame it is shown."""
        assert method == "locate" and payload["image"]
        truth = truths[len(calls)]
        calls.append(payload["description"])
        return list(interior_pixel(truth)) if truth.any() else None

    context.host_call = host_call
    masks = backend.segment("the big thing", [context.frames[i] for i in asked], context)
    assert calls == ["the big thing"] * 2
    assert masks.frame_ids.tolist() == [0, 1] and list(masks.labels) == ["the big thing"] * 2
    for mask, truth in zip(masks.masks, truths):
        iou = (mask & truth).sum() / (mask | truth).sum()
        assert iou >= 0.7, f"IoU {iou:.2f} for the {scene.object(target).label}"
