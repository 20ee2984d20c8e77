"""Geometry, drawing and VLM primitives on hand-made scenes with known answers."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

import spatialclaw.primitives as primitives
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.geometry import distance, relative_direction
from spatialclaw.primitives.types import Object3D, Reconstruction
from geometry_scenes import box_surface, downward_camera


def kernel(frames: list[Frame] | None = None, host_call=None) -> dict:
    """The primitives as a kernel over ``frames`` has them (bound to its context)."""
    namespace: dict = {}
    primitives.install(namespace, KernelContext(frames=list(frames or []), host_call=host_call))
    return namespace


def level_pose(position, yaw_deg: float) -> np.ndarray:
    """A level camera at ``position`` looking along compass angle ``yaw_deg`` (ccw from +x)."""
    yaw = np.radians(yaw_deg)
    fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, np.cross(fwd, right), fwd])
    pose[:3, 3] = position
    return pose


def two_camera_recon(pose_a: np.ndarray, pose_b: np.ndarray) -> Reconstruction:
    K = np.array([[50.0, 0, 20], [0, 50.0, 15], [0, 0, 1]])
    return Reconstruction(depth=np.ones((2, 30, 40), np.float32), pose=np.stack([pose_a, pose_b]), K=np.stack([K, K]))


def camera_motion(*args, **kwargs) -> dict:
    """`camera_motion` in a kernel of two frames, one second apart."""
    return kernel([Frame(i, float(i), np.zeros((30, 40, 3), np.uint8)) for i in range(2)])["camera_motion"](*args, **kwargs)


# -- distance ---------------------------------------------------------------------------------

def test_distance_between_two_boxes_is_the_gap():
    a = Object3D.from_points("a", box_surface((1.0, 1.0, 1.0), 0.0, (0.0, 0.0, 0.5), step=0.01), [0])
    b = Object3D.from_points("b", box_surface((0.5, 0.5, 0.5), 0.0, (1.5, 0.0, 0.25), step=0.01), [0])
    assert distance(a, b) == pytest.approx(0.75, abs=1e-9)  # faces at x = 0.5 and x = 1.25
    assert distance(b, a) == distance(a, b)


def test_distance_accepts_points_and_is_zero_for_touching_sets():
    pts = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    assert distance(pts, np.array([1.0, 2.0, 0.0])) == pytest.approx(2.0)
    assert distance(pts, pts[1:]) == 0.0
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        distance(np.zeros((3, 2)), pts)


# -- camera motion ----------------------------------------------------------------------------

def test_camera_motion_turn_left_and_translation_in_the_first_heading():
    r = two_camera_recon(level_pose((0, 0, 1.5), 0.0), level_pose((1.0, 0.5, 1.6), 90.0))
    m = camera_motion(0, 1, recon=r)
    assert m["forward_m"] == pytest.approx(1.0)
    assert m["right_m"] == pytest.approx(-0.5)  # +y is to the left of a camera looking along +x
    assert m["up_m"] == pytest.approx(0.1)
    assert m["turn_deg"] == pytest.approx(90.0) and m["turn"] == "left"
    assert m["distance_m"] == pytest.approx(np.sqrt(1 + 0.25 + 0.01), abs=1e-4)


def test_camera_motion_turn_right_across_the_wrap_around():
    r = two_camera_recon(level_pose((0, 0, 1.5), 170.0), level_pose((0, 0, 1.5), -150.0))
    m = camera_motion(0, 1, recon=r)
    assert m["turn_deg"] == pytest.approx(40.0)  # 170° → 210°: a left turn through 180°
    r = two_camera_recon(level_pose((0, 0, 1.5), -150.0), level_pose((0, 0, 1.5), 170.0))
    assert camera_motion(0, 1, recon=r)["turn"] == "right"


def test_camera_motion_ignores_pitch_for_the_heading():
    pitched = level_pose((0, 0, 1.5), 30.0)
    tilt = np.radians(-20.0)
    rx = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    pitched[:3, :3] = pitched[:3, :3] @ rx
    r = two_camera_recon(level_pose((0, 0, 1.5), 30.0), pitched)
    assert camera_motion(0, 1, recon=r)["turn_deg"] == pytest.approx(0.0, abs=1e-6)


# -- relative direction -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("target", "side", "quadrant", "three_way", "angle"),
    [
        ((0.0, 1.0, 0.0), "left", "front-left", "left", 90.0),
        ((1.0, -1.0, 0.0), "right", "front-right", "right", -45.0),
        ((-1.0, 0.2, 0.0), "left", "back-left", "back", 168.69),
        ((-0.5, -1.0, 0.0), "right", "back-right", "right", -116.57),
    ],
)
def test_relative_direction_from_a_facing_b(target, side, quadrant, three_way, angle):
    d = relative_direction(np.array([0.0, 0.0, 0.0]), np.array([2.0, 0.0, 1.0]), np.array(target))
    assert d["side"] == side and d["quadrant"] == quadrant and d["left_right_back"] == three_way
    assert d["angle_deg"] == pytest.approx(angle, abs=0.01)


def test_relative_direction_uses_object_centres():
    a = Object3D.from_points("bed", box_surface((2, 1.6, 0.5), 0.0, (0, 0, 0.25)), [0])
    b = Object3D.from_points("door", box_surface((0.1, 0.9, 2.0), 0.0, (0, 3, 1.0)), [0])
    c = Object3D.from_points("lamp", box_surface((0.3, 0.3, 1.5), 0.0, (2, 1, 0.75)), [0])
    assert relative_direction(a, b, c)["quadrant"] == "front-right"
    with pytest.raises(ValueError, match="same place"):
        relative_direction(a, a, c)


# -- floor, room size, pictures ---------------------------------------------------------------

def test_ground_plane_and_camera_height():
    g = kernel()["ground_plane"](recon=downward_camera(2.0))
    assert g["tilt_deg"] == pytest.approx(0.0, abs=0.01)
    assert g["offset_m"] == pytest.approx(0.0, abs=1e-6)
    assert g["camera_heights_m"] == [pytest.approx(2.0)]


def test_room_size_of_the_footprint_of_a_downward_camera():
    # 200×100 px at f = 100 px from 2 m up: a 4 m × 2 m floor patch, its edges inside raster cells.
    size = kernel()["room_size"](recon=downward_camera(2.0, center_xy=(0.025, 0.025)), cell=0.05)
    assert size["floor_area_m2"] == pytest.approx(8.0, rel=0.03)
    assert size["length_m"] == pytest.approx(4.0, abs=0.06)
    assert size["width_m"] == pytest.approx(2.0, abs=0.06)


def test_top_down_map_and_point_cloud_image_are_rgb_pictures():
    r = downward_camera(2.0)
    obj = Object3D.from_points("box", box_surface((0.5, 0.5, 0.5), 0.3, (0.5, 0.2, 0.25)), [0])
    ns = kernel([Frame(0, 0.0, np.zeros((100, 200, 3), np.uint8))])
    top_down_map, point_cloud_image = ns["top_down_map"], ns["point_cloud_image"]
    for image in (top_down_map([obj], recon=r), point_cloud_image([obj], recon=r), r.render(), obj.render()):
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        assert image.std() > 5  # not blank
    with pytest.raises(TypeError, match="list of Object3D"):
        top_down_map([r])
    # the reconstruction passed first is the reconstruction (what `show(top_down_map(r))` means)
    assert np.array_equal(top_down_map(r), top_down_map(recon=r))
    assert np.array_equal(point_cloud_image(r), point_cloud_image(recon=r))
    assert np.array_equal(top_down_map(obj, recon=r), top_down_map([obj], recon=r))
    with pytest.raises(TypeError, match="two reconstructions"):
        top_down_map(r, recon=r)


# -- nested VLM calls -------------------------------------------------------------------------

def test_ask_vlm_sends_prompt_and_png_images_through_host_call():
    calls = []

    def host_call(method, payload):
        calls.append((method, payload))
        return "a red chair"

    image = np.random.default_rng(0).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    frames = [Frame(0, 0.0, image)]
    assert kernel(frames, host_call)["ask_vlm"]("what colour?", images=[frames[0]]) == "a red chair"
    method, payload = calls[0]
    assert method == "ask_vlm" and payload["prompt"] == "what colour?"
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(payload["images"][0]))))
    assert np.array_equal(decoded, image)


def test_locate_returns_clamped_pixels_or_none():
    replies = iter([[5.5, 99.0], None])
    frames = [Frame(0, 0.0, np.zeros((20, 30, 3), np.uint8))]
    locate = kernel(frames, lambda m, p: next(replies))["locate"]
    assert locate("the chair", 0) == (5.5, 19.0)
    assert locate("the chair", frames[0]) is None


def test_vlm_without_a_host_says_so():
    with pytest.raises(RuntimeError, match="no VLM configured"):
        kernel()["ask_vlm"]("hello")
