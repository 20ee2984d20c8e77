"""Result types and 3D math on analytic data: planes, boxes, hand-made point sets."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import math3d, output, vocabulary
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.types import Masks, Object3D, Reconstruction

from geometry_scenes import box_surface, downward_camera




# -- Reconstruction ---------------------------------------------------------------------------

def test_points_of_a_downward_camera_lie_on_the_floor_under_it():
    r = downward_camera(2.0, center_xy=(1.0, 3.0))
    pts = r.points(0)
    assert pts.shape == (200 * 100, 3)
    assert np.allclose(pts[:, 2], 0.0)
    # footprint: 200 px * 2 m / 100 px = 4 m wide, centred under the camera
    assert pts[:, 0].min() == pytest.approx(1.0 - 2.0)
    assert pts[:, 0].max() == pytest.approx(1.0 + 2.0 - 0.02)
    assert pts[:, 1].max() == pytest.approx(3.0 + 1.0)  # image y down = world -y


def test_project_inverts_points_and_masks_select_pixels():
    r = downward_camera(1.5)
    mask = np.zeros((100, 200), bool)
    mask[10:20, 30:35] = True
    pts = r.points(0, mask=mask)
    assert len(pts) == 50
    uv = r.project(pts, 0)
    vs, us = np.nonzero(mask)
    assert np.allclose(uv, np.column_stack([us, vs]), atol=1e-9)


def test_project_gives_nan_behind_the_camera():
    r = downward_camera(1.0)
    uv = r.project(np.array([[0.0, 0.0, 5.0], [0.0, 0.0, 0.0]]), 0)
    assert np.isnan(uv[0]).all() and np.isfinite(uv[1]).all()


def test_reconstruction_validation_names_the_field():
    good = downward_camera(1.0)
    with pytest.raises(ValueError, match="depth must be"):
        Reconstruction(depth=np.zeros((4, 4)), pose=good.pose, K=good.K)
    with pytest.raises(ValueError, match="pose must be"):
        Reconstruction(depth=good.depth, pose=np.eye(4), K=good.K)
    bad = good.pose.copy()
    bad[0, 0, 3] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        Reconstruction(depth=good.depth, pose=bad, K=good.K)
    with pytest.raises(ValueError, match="images must be"):
        Reconstruction(depth=good.depth, pose=good.pose, K=good.K, images=np.zeros((1, 100, 200, 3), np.float32))


def test_reconstruction_validity_per_frame_is_typed():
    depth, pose, K = np.ones((3, 2, 2), np.float32), np.repeat(np.eye(4)[None], 3, 0), np.repeat(np.eye(3)[None], 3, 0)
    assert Reconstruction(depth, pose, K).valid.tolist() == [True, True, True]
    r = Reconstruction(depth, pose, K, valid=np.array([True, False, True]))
    assert r.invalid_entries == [1]
    with pytest.raises(ValueError, match="valid must be"):
        Reconstruction(depth, pose, K, valid=np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="valid must be"):
        Reconstruction(depth, pose, K, valid=np.array([True]))


def _distorted_downward_camera(k1: float) -> tuple[Reconstruction, np.ndarray]:
    """`downward_camera` 2 m above the floor through a lens with ``k1``, and the true floor point (N, 3)
    each pixel sees (its ray from OpenCV's undistortion, not `lens`)."""
    import cv2

    plain = downward_camera(2.0, w=320, h=240, f=300.0)  # corners at r 0.67, inside the fold (0.86)
    r = Reconstruction(plain.depth, plain.pose, plain.K, distortion=np.array([[k1, 0.0]]))
    v, u = np.nonzero(r.depth[0] > 0)
    rays = cv2.undistortPoints(np.c_[u, v].astype(np.float64).reshape(-1, 1, 2), r.K[0], np.array([k1, 0, 0, 0.0]),
                               criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14)).reshape(-1, 2)
    cam = np.c_[rays * 2.0, np.full(len(rays), 2.0)]
    return r, cam @ r.pose[0, :3, :3].T + r.pose[0, :3, 3]


def test_points_of_a_distorted_camera_land_on_the_true_points():
    r, truth = _distorted_downward_camera(-0.2)
    assert np.linalg.norm(r.points(0) - truth, axis=1).max() < 1e-3  # within a millimetre everywhere
    pinhole = Reconstruction(r.depth, r.pose, r.K)
    assert np.linalg.norm(pinhole.points(0) - truth, axis=1).max() > 0.1  # K alone puts the corners decimetres off


def test_project_of_points_gives_back_the_distorted_pixels():
    r, _ = _distorted_downward_camera(-0.2)
    v, u = np.nonzero(r.depth[0] > 0)
    assert np.abs(r.project(r.points(0), 0) - np.c_[u, v]).max() < 1e-6


def test_reconstruction_distortion_is_checked():
    good = downward_camera(1.0)
    assert good.distortion is None and good.lens(0) is None
    with pytest.raises(ValueError, match="distortion must be"):
        Reconstruction(good.depth, good.pose, good.K, distortion=np.array([-0.1, 0.0]))
    with pytest.raises(ValueError, match="distortion must be"):
        Reconstruction(good.depth, good.pose, good.K, distortion=np.array([[np.nan, 0.0]]))
    assert Reconstruction(good.depth, good.pose, good.K, distortion=[[-0.1, 0.01]]).lens(0).tolist() == [-0.1, 0.01]


def test_reconstruction_index_maps_frame_positions():
    r = downward_camera(1.0)
    r2 = Reconstruction(depth=np.repeat(r.depth, 2, 0), pose=np.repeat(r.pose, 2, 0), K=np.repeat(r.K, 2, 0), frame_ids=[5, 9])
    assert r2.index(9) == 1
    with pytest.raises(KeyError):
        r2.index(3)


# -- Masks ------------------------------------------------------------------------------------

def _masks() -> Masks:
    m = np.zeros((3, 10, 20), bool)
    m[0, 2:5, 3:8] = True
    m[1, 0:10, 0:1] = True
    m[2, 9, 19] = True
    return Masks.from_masks(m, labels=["chair", "table", "chair"], frame_ids=[0, 0, 2], scores=np.array([0.9, 0.5, 0.7]))


def test_masks_boxes_are_tight_and_exclusive():
    m = _masks()
    assert m.boxes.tolist() == [[3, 2, 8, 5], [0, 0, 1, 10], [19, 9, 20, 10]]
    assert m.areas.tolist() == [15, 10, 1]


def test_masks_boolean_and_integer_indexing():
    m = _masks()
    chairs = m[m.labels == "chair"]
    assert len(chairs) == 2 and chairs.frame_ids.tolist() == [0, 2]
    assert len(m[m.scores > 0.6]) == 2
    one = m[1]
    assert len(one) == 1 and one.labels.tolist() == ["table"] and one.masks.shape == (1, 10, 20)
    assert len(m[m.frame_ids == 7]) == 0


def test_masks_empty_and_validation():
    e = Masks.empty(10, 20)
    assert len(e) == 0 and e.masks.shape == (0, 10, 20)
    with pytest.raises(ValueError, match="bool"):
        Masks(np.zeros((1, 4, 4), np.uint8), np.zeros((1, 4)), [1.0], ["a"], [0])
    with pytest.raises(ValueError, match="labels must have 1"):
        Masks(np.zeros((1, 4, 4), bool), np.zeros((1, 4)), [1.0], ["a", "b"], [0])
    with pytest.raises(ValueError, match="boxes"):
        Masks(np.zeros((2, 4, 4), bool), np.zeros((1, 4)), [1.0, 1.0], ["a", "b"], [0, 0])


def test_masks_concat_keeps_order_frames_and_identities():
    a = Masks.from_masks(np.ones((1, 4, 6), bool), ["cup"], [0], instance_ids=np.array([7]))
    b = Masks.from_masks(np.zeros((2, 4, 6), bool), ["cup", "mug"], [3, 5], scores=np.array([0.2, 0.9]))
    m = Masks.concat([a, Masks.empty(4, 6), b])
    assert len(m) == 3 and m.masks.shape == (3, 4, 6)
    assert m.frame_ids.tolist() == [0, 3, 5] and m.instance_ids.tolist() == [7, -1, -1]
    assert m.labels.tolist() == ["cup", "cup", "mug"] and m.scores.tolist() == pytest.approx([1.0, 0.2, 0.9])
    assert Masks.concat([], 4, 6).masks.shape == (0, 4, 6)
    with pytest.raises(ValueError, match="one frame size"):
        Masks.concat([a, Masks.empty(5, 6)])


def test_masks_render_draws_over_the_kernel_frames():
    frames = [Frame(i, float(i), np.full((10, 20, 3), 40 * i + 20, np.uint8)) for i in range(3)]
    image = output.in_context(_masks(), KernelContext(frames=frames))
    assert image.shape == (10, 2 * 20 + 2 * 4, 3) and image.dtype == np.uint8
    assert not np.array_equal(image[3, 5], frames[0].image[3, 5])  # tinted inside the first mask
    assert np.array_equal(image[9, 19], frames[0].image[9, 19])  # the frame itself outside the masks
    alone = _masks().render()  # without the frames: the masks on black
    assert alone.shape == image.shape and not alone[9, 19].any() and alone[3, 5].any()


# -- Object3D and boxes -----------------------------------------------------------------------

@pytest.mark.parametrize("yaw_deg", [0.0, 30.0, -60.0, 89.0])
def test_oriented_box_recovers_size_yaw_and_center(yaw_deg):
    pts = box_surface((1.2, 0.5, 0.8), np.radians(yaw_deg), (2.0, -1.0, 0.4))
    center, size, yaw = math3d.oriented_box(pts)
    assert np.allclose(size, (1.2, 0.5, 0.8), atol=1e-6)
    assert np.allclose(center, (2.0, -1.0, 0.4), atol=1e-6)
    assert np.degrees(yaw) == pytest.approx(yaw_deg, abs=1e-4)


def test_object3d_from_points_and_corners():
    pts = box_surface((1.0, 0.4, 0.6), np.radians(20), (0.5, 0.5, 0.3))
    o = Object3D.from_points("cabinet", pts, frames=[7, 3, 3])
    assert o.frames == [3, 7] and o.first_frame == 3
    assert o.height_above_floor == pytest.approx(0.0, abs=1e-9)
    corners = o.corners()
    assert corners.shape == (8, 3)
    assert np.allclose(math3d.oriented_box(corners)[1], o.size)
    assert np.allclose(corners.mean(axis=0), o.center)


def test_object3d_validation():
    with pytest.raises(ValueError, match="points is empty"):
        Object3D("x", np.zeros((0, 3)), np.zeros(3), np.ones(3), 0.0, [0])
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        Object3D("x", np.zeros((5, 2)), np.zeros(3), np.ones(3), 0.0, [0])
    with pytest.raises(ValueError, match="size"):
        Object3D("x", np.zeros((1, 3)), np.zeros(3), -np.ones(3), 0.0, [0])
    with pytest.raises(ValueError, match="frames is empty"):
        Object3D("x", np.zeros((1, 3)), np.zeros(3), np.ones(3), 0.0, [])


# -- planes and levelling ---------------------------------------------------------------------

def _room_points(rng: np.random.Generator) -> np.ndarray:
    floor = np.column_stack([rng.uniform(0, 5, 6000), rng.uniform(0, 4, 6000), rng.normal(0, 0.003, 6000)])
    wall = np.column_stack([rng.uniform(0, 5, 3000), np.full(3000, 4.0), rng.uniform(0, 2.6, 3000)])
    table = np.column_stack([rng.uniform(1, 2, 1500), rng.uniform(1, 2, 1500), np.full(1500, 0.75)])
    return np.concatenate([floor, wall, table])


def _tilted(angle_deg: float, shift: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = math3d.rotation_between([0, 0, 1], [np.sin(np.radians(angle_deg)), 0, np.cos(np.radians(angle_deg))])
    T[:3, 3] = shift
    return T


def _level_cameras(n: int = 6) -> np.ndarray:
    poses = np.repeat(np.eye(4)[None], n, 0)
    for k in range(n):
        yaw = 2 * np.pi * k / n
        fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        right = np.cross(fwd, [0, 0, 1.0])
        poses[k, :3, :3] = np.column_stack([right, np.cross(fwd, right), fwd])
        poses[k, :3, 3] = (2.5, 2.0, 1.5)
    return poses


def test_ransac_plane_finds_the_floor_among_walls_and_outliers():
    rng = np.random.default_rng(0)
    pts = np.concatenate([_room_points(rng), rng.uniform(-1, 6, (500, 3))])
    normal, offset, inliers = math3d.ransac_plane(pts, up=np.array([0, 0, 1.0]))
    assert normal @ [0, 0, 1] > np.cos(np.radians(0.5))
    assert offset == pytest.approx(0.0, abs=0.005)
    assert inliers[:6000].mean() > 0.99


def test_levelling_is_identity_for_a_level_input():
    rng = np.random.default_rng(1)
    T, info = math3d.levelling_transform(_room_points(rng), _level_cameras())
    assert np.array_equal(T, np.eye(4)) and info["applied"].startswith("identity")


@pytest.mark.parametrize("angle_deg", [12.0, 90.0])
def test_levelling_makes_a_tilted_shifted_world_z_up_with_floor_at_zero(angle_deg):
    rng = np.random.default_rng(2)
    pts = _room_points(rng)
    tilt = _tilted(angle_deg, np.array([0.3, -1.0, 0.7]))
    pts_in = pts @ tilt[:3, :3].T + tilt[:3, 3]
    poses_in = tilt[None] @ _level_cameras()
    T, info = math3d.levelling_transform(pts_in, poses_in)
    out = pts_in @ T[:3, :3].T + T[:3, 3]
    assert info["applied"] == "re-levelled"
    assert np.abs(out[:6000, 2]).max() < 0.015          # floor at z = 0
    assert np.median(out[-1500:, 2]) == pytest.approx(0.75, abs=0.005)  # table top height kept
    cams = (T[None] @ poses_in)[:, :3, 3]
    assert np.allclose(cams[:, 2], 1.5, atol=0.01)


def test_voxel_downsample_keeps_one_point_per_voxel():
    pts = np.array([[0.001, 0.001, 0.001], [0.004, 0.002, 0.003], [0.5, 0.5, 0.5]])
    out = math3d.voxel_downsample(pts, 0.01)
    assert len(out) == 2
    assert np.allclose(sorted(out[:, 0]), [0.0025, 0.5])


def test_rotation_between_handles_opposite_directions():
    R = math3d.rotation_between([0, 0, 1], [0, 0, -1])
    assert np.allclose(R @ [0, 0, 1], [0, 0, -1]) and np.isclose(np.linalg.det(R), 1.0)


# -- vocabulary -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("query", "labels", "expected"),
    [
        ("Chairs", ["chair", "table"], {"chair"}),
        ("couches and TVs", ["sofa", "tv", "bed"], {"sofa", "tv"}),
        ("bookshelves", ["bookshelf", "shelf"], {"bookshelf"}),
        ("boxes", ["box", "lamp"], {"box"}),
        ("trash bin", ["trash can"], {"trash can"}),
        ("office chair", ["chair", "table"], {"chair"}),
        ("chair", ["office chair", "table"], {"office chair"}),
        ("*", ["a", "b"], {"a", "b"}),
        ("piano", ["chair"], set()),
    ],
)
def test_query_matching(query, labels, expected):
    assert set(vocabulary.match_labels(query, labels)) == expected
