"""The synthetic renderer: exact depth and instances, deterministic output, files others can read."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw import rgbd
from spatialclaw.synth import generate_scene, make_test_scene, render_scene, write_rgbd, write_video

W, H, N = 320, 240, 12


@pytest.fixture(scope="module")
def scene():
    return generate_scene(0)


@pytest.fixture(scope="module")
def rendering(scene):
    return render_scene(scene, N, W, H)


def _backproject(rendering, i: int) -> np.ndarray:
    """(H*W, 3) world points of frame i from depth, K and pose."""
    K, pose, z = rendering.K, rendering.poses[i], rendering.depth[i].astype(np.float64)
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=-1).reshape(-1, 3)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def test_generate_scene_is_deterministic_and_objects_do_not_overlap(scene):
    again = generate_scene(0)
    assert again.to_json() == scene.to_json()
    assert generate_scene(1).to_json() != scene.to_json()
    W_, D_, H_ = scene.room_size
    assert 4.0 <= W_ <= 8.0 and 3.0 <= D_ <= 7.0 and 2.6 <= H_ <= 3.0
    assert len(scene.objects) >= 5
    from spatialclaw.synth import object_distance

    for a in scene.objects:
        fp = a.footprint()
        assert fp[:, 0].min() > 0 and fp[:, 1].min() > 0 and fp[:, 0].max() < W_ and fp[:, 1].max() < D_
        assert a.center[2] - a.size[2] / 2 == pytest.approx(0.0, abs=1e-9)  # stands on the floor
        for b in scene.objects:
            if a.id < b.id:
                assert object_distance(a, b) >= 0.1 - 1e-9


def test_render_is_deterministic(scene, rendering):
    again = render_scene(scene, N, W, H)
    assert np.array_equal(again.rgb, rendering.rgb)
    assert np.array_equal(again.depth, rendering.depth)
    assert np.array_equal(again.instance, rendering.instance)
    assert rendering.rgb.shape == (N, H, W, 3) and rendering.depth.dtype == np.float32
    assert rendering.instance.dtype == np.uint16


def test_depth_is_z_depth_to_the_floor(scene, rendering):
    Wr, Dr, _ = scene.room_size
    K = rendering.K
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    checked = 0
    for i in range(N):
        pose = rendering.poses[i]
        dirs = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u, dtype=float)], -1) @ pose[:3, :3].T
        t_floor = -pose[2, 3] / np.minimum(dirs[..., 2], -1e-9)  # z-depth where the ray meets z = 0
        hit = pose[:3, 3] + dirs * t_floor[..., None]
        on_floor = (
            (dirs[..., 2] < -1e-6)
            & (hit[..., 0] > 0.01) & (hit[..., 0] < Wr - 0.01)
            & (hit[..., 1] > 0.01) & (hit[..., 1] < Dr - 0.01)
            & (rendering.instance[i] == 0)
        )
        err = np.abs(rendering.depth[i][on_floor] - t_floor[on_floor])
        assert err.max() < 1e-3
        checked += int(on_floor.sum())
        z = _backproject(rendering, i).reshape(H, W, 3)[..., 2][on_floor]
        assert np.abs(z).max() < 1e-3
    assert checked > N * W * H * 0.05


def test_instance_pixels_lie_inside_their_boxes(scene, rendering):
    seen = set()
    for i in range(N):
        points = _backproject(rendering, i)
        ids = rendering.instance[i].ravel()
        for obj in scene.objects:
            mine = ids == obj.id
            if mine.any():
                seen.add(obj.id)
                assert obj.contains(points[mine], tol=1e-3).all(), obj.label
        # room pixels lie on the room's boundary planes
        room = points[ids == 0]
        Wr, Dr, Hr = scene.room_size
        to_plane = np.min(np.abs(np.stack([room[:, 0], room[:, 0] - Wr, room[:, 1], room[:, 1] - Dr, room[:, 2], room[:, 2] - Hr])), axis=0)
        assert to_plane.max() < 1e-3
    assert len(seen) >= len(scene.objects) - 1


def test_surfaces_are_textured(rendering):
    """Enough corners for feature matching: SIFT finds hundreds of keypoints per frame."""
    import cv2

    sift = cv2.SIFT_create()
    counts = [len(sift.detect(cv2.cvtColor(rendering.rgb[i], cv2.COLOR_RGB2GRAY), None)) for i in range(0, N, 4)]
    assert min(counts) > 150


def test_written_folder_round_trips(tmp_path, scene, rendering):
    root = write_rgbd(scene, rendering, tmp_path / "scene")
    layout = rgbd.scan_rgbd(root)
    assert layout.indices == tuple(range(N))
    assert layout.has_depth and layout.has_pose and layout.has_intrinsics and layout.has_instances
    assert layout.fps == pytest.approx(rendering.fps)
    assert rgbd.read_instance_labels(root) == scene.labels()
    np.testing.assert_allclose(rgbd.read_intrinsics(root), rendering.K, atol=1e-5)
    for i in (0, N - 1):
        np.testing.assert_allclose(rgbd.read_depth(root, i), rendering.depth[i], atol=1e-3)
        np.testing.assert_allclose(rgbd.read_pose(root, i), rendering.poses[i], atol=1e-7)
        assert np.array_equal(rgbd.read_instance(root, i), rendering.instance[i])
        assert np.abs(rgbd.read_color(root, i).astype(int) - rendering.rgb[i]).mean() < 6


def test_video_decodes_with_every_frame(tmp_path, rendering):
    import av

    path = write_video(rendering, tmp_path / "v.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == N
    assert frames[0].shape == (H, W, 3)
    assert np.abs(frames[3].astype(int) - rendering.rgb[3]).mean() < 8


def test_make_test_scene(tmp_path):
    folder = make_test_scene(tmp_path, seed=3, frames=4, width=160, height=120)
    assert folder == tmp_path / "synth" / "synth_3"
    assert rgbd.scan_rgbd(folder).indices == (0, 1, 2, 3)
    assert folder.with_suffix(".mp4").is_file()
    assert (folder / "scene.json").is_file()
