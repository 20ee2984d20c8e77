"""Ray-cast rendering of a synthetic scene (open3d ``RaycastingScene``, no GL).

Per frame: RGB (textured, Lambert-shaded), z-depth in metres, instance ids, the camera-to-world
pose and K. Rays are cast through pixel centres with OpenCV's convention (pixel (u, v) is the
point ``K @ [X/Z, Y/Z, 1] = [u, v, 1]``), so back-projecting ``depth[v, u]`` with ``K`` and the
pose gives the surface point exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

import spatialclaw.synth.texture as texture
from spatialclaw.synth.scene import Scene, frame_rate

DEFAULT_HFOV_DEG = 65.0
"""Horizontal field of view of the synthetic camera, degrees."""

_LIGHTS = (
    (np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8]), 0.5),
    (np.array([-0.6, -0.3, 0.4]) / np.linalg.norm([-0.6, -0.3, 0.4]), 0.25),
)
_AMBIENT = 0.35
_LIGHT_DIRS = np.stack([d for d, _ in _LIGHTS], axis=1).astype(np.float32)  # (3, n_lights)
_LIGHT_WEIGHTS = np.array([w for _, w in _LIGHTS], dtype=np.float32)


def intrinsics(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> np.ndarray:
    """3×3 pinhole K with square pixels and the principal point at the image centre."""
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


@dataclass(eq=False)
class Rendering:
    """The frames of one walk through a scene.

    Attributes:
        rgb: (N, H, W, 3) uint8.
        depth: (N, H, W) float32 z-depth along the optical axis, metres.
        instance: (N, H, W) uint16 instance ids (0 = walls, floor, ceiling).
        poses: (N, 4, 4) float64 camera-to-world (camera x right, y down, z forward).
        K: (3, 3) float64 intrinsics, the same for every frame.
        fps: frame rate of the walk, frames per second.
    """

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    poses: np.ndarray
    K: np.ndarray
    fps: float

    def __len__(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def times(self) -> np.ndarray:
        """(N,) seconds of each frame (``i / fps``)."""
        return np.arange(len(self)) / self.fps

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.rgb.shape[2]), int(self.rgb.shape[1])

    def pixel_counts(self) -> np.ndarray:
        """(N, max_id + 1) int64: pixels of each instance id in each frame."""
        n_ids = int(self.instance.max()) + 1
        return np.stack([np.bincount(f.ravel(), minlength=n_ids) for f in self.instance])

    def first_visible(self, min_pixels: int) -> dict[int, int]:
        """``{instance id: first frame where it covers >= min_pixels}`` for every id seen that well (0 excluded)."""
        counts = self.pixel_counts()
        out: dict[int, int] = {}
        for inst in range(1, counts.shape[1]):
            hits = np.flatnonzero(counts[:, inst] >= min_pixels)
            if hits.size:
                out[inst] = int(hits[0])
        return out


def _quad(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(corners, dtype=np.float32), np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)


class Renderer:
    """Holds the ray-casting scene of one :class:`Scene`; renders any camera pose.

    Geometry ids: 0 floor, 1 ceiling, 2–5 walls (y=0, x=W, y=D, x=0), then one per object part.
    """

    def __init__(self, scene: Scene, width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG):
        self.scene = scene
        self.width, self.height = int(width), int(height)
        self.K = intrinsics(self.width, self.height, hfov_deg)
        W, D, H = scene.room_size
        surfaces = [
            ([[0, 0, 0], [W, 0, 0], [W, D, 0], [0, D, 0]], scene.colors.floor),
            ([[0, 0, H], [W, 0, H], [W, D, H], [0, D, H]], scene.colors.ceiling),
            ([[0, 0, 0], [W, 0, 0], [W, 0, H], [0, 0, H]], scene.colors.walls[0]),
            ([[W, 0, 0], [W, D, 0], [W, D, H], [W, 0, H]], scene.colors.walls[1]),
            ([[0, D, 0], [W, D, 0], [W, D, H], [0, D, H]], scene.colors.walls[2]),
            ([[0, 0, 0], [0, D, 0], [0, D, H], [0, 0, H]], scene.colors.walls[3]),
        ]
        self._surfaces = surfaces
        self._time = 0.0
        self._rc, instance, colors = self._build(scene.objects)
        self._shift = np.zeros((len(colors) + 1, 3), np.float32)
        self._instance = np.asarray(instance + [0], dtype=np.uint16)  # last entry: ray missed everything
        self._color = np.asarray(colors + [(0.0, 0.0, 0.0)], dtype=np.float32)
        g = np.arange(len(colors) + 1, dtype=np.uint64)
        mixed = (g * np.uint64(2654435761) + np.uint64(scene.seed % 100003) * np.uint64(40503)) % np.uint64(1 << 20)
        self._offset = (np.stack([mixed % np.uint64(1024), mixed // np.uint64(1024)], axis=1).astype(np.float32) * np.float32(7.3))
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64))
        dirs_cam = np.stack([(u - self.K[0, 2]) / self.K[0, 0], (v - self.K[1, 2]) / self.K[1, 1], np.ones_like(u)], axis=-1)
        self._dirs_cam = dirs_cam.reshape(-1, 3).astype(np.float32)
        self._ray_len = np.linalg.norm(dirs_cam.reshape(-1, 3), axis=1).astype(np.float32)

    def _build(self, objects: tuple) -> tuple:
        """The ray-casting scene of the room and ``objects``, with each geometry's instance id and colour."""
        import open3d as o3d

        rc = o3d.t.geometry.RaycastingScene()
        instance, colors = [], []
        for corners, color in self._surfaces:
            v, t = _quad(np.asarray(corners, dtype=np.float64))
            rc.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(t))
            instance.append(0)
            colors.append(color)
        for obj in objects:
            for part, mesh in zip(obj.parts, obj.part_meshes()):
                v = np.asarray(mesh.vertices, dtype=np.float32)
                t = np.asarray(mesh.triangles, dtype=np.uint32)
                rc.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(t))
                instance.append(obj.id)
                base = part.color if part.color is not None else obj.color
                colors.append(tuple(min(1.0, c * part.shade) for c in base))
        return rc, instance, colors

    def _move_to(self, t: float) -> None:
        """Put the scene's moving objects where they are at time ``t`` seconds (their texture moves with them)."""
        from spatialclaw.synth.motion import objects_at

        if t == self._time:
            return
        self._rc, _, _ = self._build(objects_at(self.scene, self.scene.motions, t))
        by_id = {m.id: m.offset(t) for m in self.scene.motions}
        self._shift = np.array([by_id.get(int(i), np.zeros(3)) for i in self._instance], np.float32)
        self._time = t

    def render(self, pose: np.ndarray, t: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render one view.

        Args:
            pose: 4×4 camera-to-world (camera x right, y down, z forward).
            t: the time in seconds, which places the scene's moving objects (no effect on a static scene).

        Returns:
            rgb (H, W, 3) uint8, depth (H, W) float32 metres (z along the optical axis),
            instance (H, W) uint16.
        """
        import open3d as o3d

        if self.scene.motions:
            self._move_to(float(t))
        pose = np.asarray(pose, dtype=np.float64)
        eye = pose[:3, 3].astype(np.float32)
        rays = np.empty((len(self._dirs_cam), 6), dtype=np.float32)
        rays[:, :3] = eye
        dirs = rays[:, 3:]
        np.matmul(self._dirs_cam, pose[:3, :3].T.astype(np.float32), out=dirs)
        hit = self._rc.cast_rays(o3d.core.Tensor(rays))
        t = hit["t_hit"].numpy()
        geom = hit["geometry_ids"].numpy().astype(np.int64)
        missed = ~np.isfinite(t)
        if missed.any():
            geom[missed] = len(self._instance) - 1
            t = np.where(missed, np.float32(0.0), t)
        normals = hit["primitive_normals"].numpy()
        points = eye + dirs * t[:, None]

        facing = (normals * dirs).sum(axis=1) / self._ray_len
        normals = normals * -np.sign(np.where(facing == 0.0, np.float32(-1.0), facing))[:, None]
        footprint = t * self._ray_len / np.float32(self.K[0, 0]) / np.maximum(np.abs(facing), np.float32(0.25))
        if self.scene.motions:
            points = points - self._shift[geom]
        pattern = texture.surface_pattern(points, normals, self._offset[geom], footprint)
        light = np.maximum(normals @ _LIGHT_DIRS, np.float32(0.0)) @ _LIGHT_WEIGHTS + np.float32(_AMBIENT)
        shade = (np.float32(0.45) + np.float32(1.1) * pattern) * light * np.float32(255.0)
        rgb = np.minimum(self._color[geom] * shade[:, None] + np.float32(0.5), np.float32(255.0)).astype(np.uint8)
        shape = (self.height, self.width)
        return rgb.reshape(*shape, 3), t.reshape(shape), self._instance[geom].reshape(shape)


def render_scene(
    scene: Scene,
    n_frames: int = 32,
    width: int = 640,
    height: int = 480,
    *,
    hfov_deg: float = DEFAULT_HFOV_DEG,
    fps: float | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> Rendering:
    """Render ``n_frames`` views along the scene's camera path.

    Args:
        scene: what to render.
        n_frames: frames, evenly spaced in time over one walk around the room.
        width: image width, pixels.
        height: image height, pixels.
        hfov_deg: horizontal field of view, degrees.
        fps: frame rate to record; default: walking at `spatialclaw.synth.scene.WALK_SPEED` m/s, rounded to 0.1 fps (>= 1).
        on_frame: called with each frame index after it is rendered (progress bars).

    Frame ``i`` is at time ``i / fps`` seconds; the scene's moving objects are placed there.
    """
    renderer = Renderer(scene, width, height, hfov_deg)
    poses = scene.path.poses(n_frames)
    if fps is None:
        fps = frame_rate(scene, n_frames)
    rgb = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    depth = np.empty((n_frames, height, width), dtype=np.float32)
    instance = np.empty((n_frames, height, width), dtype=np.uint16)
    for i, pose in enumerate(poses):
        rgb[i], depth[i], instance[i] = renderer.render(pose, i / fps)
        if on_frame is not None:
            on_frame(i)
    return Rendering(rgb, depth, instance, poses, renderer.K, float(fps))
