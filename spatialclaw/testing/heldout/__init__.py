"""Held-out synthetic rooms: a second renderer, written apart from `spatialclaw.synth`, for
measuring the perception pipeline on scenes that its own tests never saw.

Everything differs from the tests' renderer on purpose: the room layouts (`room`), the
procedural materials (`textures`), the camera (field of view, radial distortion, an off-centre
principal point) and its hand-held walks (`walk`), the light (a point light with shadows, a lagging
auto-exposure, vignetting, sensor noise, optional motion blur: `render`). One seed gives one
room, and ``walk`` picks one of several walks through it; both are deterministic.

>>> scene = render_heldout(0, frames=4, width=64, height=48)
>>> scene.rgb.shape, scene.depth.shape, scene.poses.shape
((4, 48, 64, 3), (4, 48, 64), (4, 4, 4))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialclaw.inputs.video import write_h264
from spatialclaw.testing.heldout.render import Look, RoomScene, develop, pixel_rays, project, render_view
from spatialclaw.testing.heldout.room import Room, generate_room
from spatialclaw.testing.heldout.walk import Camera, Walk, random_camera, random_walk

__all__ = ["HeldoutScene", "render_heldout", "write_heldout", "read_truth", "project", "pixel_rays", "Camera", "Room", "Walk"]


@dataclass
class HeldoutScene:
    """A rendered walk through a held-out room, with exact ground truth.

    Attributes:
        seed, walk: what made it (`render_heldout`).
        room: the room (metres; +z up, floor at z = 0).
        camera: intrinsics ``camera.K`` (pixels) and radial distortion ``camera.distortion``.
        look: the camera flaws used.
        times: (N,) frame times in seconds (a constant frame rate, ``fps``).
        poses: (N, 4, 4) camera-to-world (x right, y down, z forward; metres).
        rgb: (N, H, W, 3) uint8 frames.
        depth: (N, H, W) float32 z-depth in metres at each (distorted) pixel; 0 = nothing.
        solid: (N, H, W) int16 index into ``room.solids`` of what each pixel sees; -1 = nothing.
    """

    seed: int
    walk: int
    room: Room
    camera: Camera
    look: Look
    times: np.ndarray
    poses: np.ndarray
    rgb: np.ndarray
    depth: np.ndarray
    solid: np.ndarray
    camera_height: float

    @property
    def fps(self) -> float:
        return float((len(self.times) - 1) / max(self.times[-1] - self.times[0], 1e-9))

    def path_length(self) -> float:
        """Length of the camera path (metres)."""
        return float(np.linalg.norm(np.diff(self.poses[:, :3, 3], axis=0), axis=1).sum())


def _look(rng: np.random.Generator) -> Look:
    return Look(
        blur=3 if rng.random() < 0.35 else 1,
        shutter_s=float(1 / rng.uniform(30, 120)),
        vignetting=float(rng.uniform(0.1, 0.45)),
        read_noise=float(rng.uniform(0.5, 3.0)),
        shot_noise=float(rng.uniform(1.0, 5.0)),
        exposure_lag=float(rng.uniform(0.3, 0.8)),
    )


def _between(a: np.ndarray, b: np.ndarray, f: float) -> np.ndarray:
    """The pose a fraction ``f`` of the way from pose ``a`` to pose ``b`` (slerp + lerp)."""
    from scipy.spatial.transform import Rotation, Slerp

    out = np.eye(4)
    out[:3, :3] = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([a[:3, :3], b[:3, :3]])))(f).as_matrix()
    out[:3, 3] = (1 - f) * a[:3, 3] + f * b[:3, 3]
    return out


def _sub_poses(poses: np.ndarray, times: np.ndarray, k: int, look: Look) -> list[np.ndarray]:
    """The poses averaged for frame ``k``: its own, then ``look.blur - 1`` more spread over the
    shutter time around it (towards the neighbouring frames)."""
    out = [poses[k]]
    if look.blur <= 1 or len(poses) < 2:
        return out
    for dt in np.linspace(-look.shutter_s / 2, look.shutter_s / 2, look.blur):
        j = k + 1 if (dt > 0 and k + 1 < len(poses)) or k == 0 else k - 1
        if dt != 0:
            out.append(_between(poses[k], poses[j], min(1.0, abs(float(dt)) / abs(times[j] - times[k]))))
    return out


def render_heldout(seed: int, walk: int = 0, *, frames: int = 48, width: int = 320, height: int = 240,
                   target_brightness: float = 0.35) -> HeldoutScene:
    """Render walk number ``walk`` through the room of ``seed``: ``frames`` frames of width×height.

    ``target_brightness`` is the linear level the auto-exposure aims the median pixel at.
    Deterministic: the same arguments give the same pixels.

    Raises:
        ValueError: the room leaves no free walk (a different seed or walk does).
    """
    room = generate_room(seed)
    rng = np.random.default_rng([seed, walk, 0xC0FFEE])
    camera = random_camera(rng, width, height, distort=bool(rng.random() < 0.5))
    look = _look(rng)
    path = random_walk(rng, room, frames, speed=float(rng.uniform(0.35, 0.7)))
    scene, rays = RoomScene(room), pixel_rays(camera)
    noise = np.random.default_rng([seed, walk, 0x5E7509])
    rgb, depth, solid, gain = [], [], [], None
    for k in range(frames):
        views = [render_view(scene, camera, p, rays) for p in _sub_poses(path.poses, path.times, k, look)]
        radiance = np.mean([v[0] for v in views], axis=0)
        wanted = target_brightness / max(float(np.median(radiance)), 1e-6)
        gain = wanted if gain is None else look.exposure_lag * gain + (1 - look.exposure_lag) * wanted
        rgb.append(develop(radiance, gain, look, noise))
        depth.append(views[0][1])
        solid.append(views[0][2])
    return HeldoutScene(seed, walk, room, camera, look, path.times, path.poses,
                        np.stack(rgb), np.stack(depth), np.stack(solid), path.height)


def write_heldout(scene: HeldoutScene, folder: str | Path, *, crf: int = 18) -> Path:
    """Write ``video.mp4`` (H.264, the frames at the walk's rate) and the ground truth
    (``truth.npz``: ``K``, ``distortion``, ``poses`` camera-to-world, ``world_to_camera``,
    ``depth`` metres, ``times`` s; ``truth.json``: the same small numbers, the floor plane and
    units) into ``folder``; returns the video's path.
    """
    folder = Path(folder)
    video = write_h264(scene.rgb, folder / "video.mp4", scene.fps, crf=crf)
    world_to_camera = np.linalg.inv(scene.poses)
    np.savez(folder / "truth.npz", K=scene.camera.K, distortion=np.array(scene.camera.distortion), poses=scene.poses,
             world_to_camera=world_to_camera, depth=scene.depth, times=scene.times)
    truth = {
        "seed": scene.seed, "walk": scene.walk, "units": "metres", "frames": len(scene.times), "fps": scene.fps,
        "width": scene.camera.width, "height": scene.camera.height, "K": scene.camera.K.tolist(),
        "distortion_k1_k2": list(scene.camera.distortion), "hfov_deg": scene.camera.hfov_deg,
        "pose_convention": "poses: camera-to-world 4x4, camera x right, y down, z forward; world_to_camera: its inverse",
        "world": "+z up, floor plane z = 0", "floor_plane": {"normal": [0.0, 0.0, 1.0], "offset": 0.0},
        "camera_height_m": scene.camera_height, "path_length_m": scene.path_length(), "room_size_m": scene.room.size.tolist(),
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return video


def read_truth(folder: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """``truth.json`` and the arrays of ``truth.npz`` that `write_heldout` wrote into ``folder``."""
    folder = Path(folder)
    with np.load(folder / "truth.npz") as arrays:
        return json.loads((folder / "truth.json").read_text()), {k: arrays[k] for k in arrays.files}
