"""Ray-cast frames of a held-out room: textures, a point light with shadows, a camera's flaws.

The image chain, per frame: rays through each pixel of a camera with radial distortion (so the
images are distorted, as a real lens's are), open3d's `RaycastingScene` for the first hit,
albedo from the hit solid's material at its own surface coordinates, Lambertian shading from a
point light (hard shadows by an occlusion ray) plus a hemispherical ambient term, optional
motion blur (sub-frame poses averaged), an auto-exposure that lags the scene's brightness,
vignetting, gamma, shot and read noise, 8-bit quantisation. Depth is the z-depth of the central
pose's first hit at each (distorted) pixel, in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.testing.heldout.room import Room, Solid
from spatialclaw.testing.heldout.textures import albedo
from spatialclaw.testing.heldout.walk import Camera


@dataclass(frozen=True)
class Look:
    """How the camera's flaws are set for one walk.

    Attributes:
        blur: sub-frame poses averaged per frame (1 = no motion blur), spread over the
            ``shutter_s`` around the frame's time.
        shutter_s: how long the shutter is open (seconds; with ``blur`` > 1).
        vignetting: brightness lost at the image corners (0–1).
        read_noise: standard deviation of the additive noise (8-bit levels).
        shot_noise: noise that grows with brightness (8-bit levels at full white).
        exposure_lag: how much of the last frame's exposure the next one keeps (0 = instant).
    """

    blur: int = 1
    shutter_s: float = 1 / 60
    vignetting: float = 0.3
    read_noise: float = 1.5
    shot_noise: float = 3.0
    exposure_lag: float = 0.6


def pixel_rays(camera: Camera) -> np.ndarray:
    """H×W×3 camera-frame ray directions with z = 1 through each (distorted) pixel centre.

    The distortion is undone by fixed-point iteration, so a ray's hit distance is its z-depth.
    """
    v, u = np.indices((camera.height, camera.width), dtype=np.float64)
    K = camera.K
    xd, yd = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    k1, k2 = camera.distortion
    x, y = xd.copy(), yd.copy()
    for _ in range(20):
        r2 = x * x + y * y
        factor = 1 + k1 * r2 + k2 * r2 * r2
        x, y = xd / factor, yd / factor
    return np.stack([x, y, np.ones_like(x)], -1)


def project(camera: Camera, world_to_camera: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) distorted pixel coordinates and (N,) z-depths (metres) of (N, 3) world points."""
    cam = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    x, y = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    r2 = x * x + y * y
    k1, k2 = camera.distortion
    factor = 1 + k1 * r2 + k2 * r2 * r2
    K = camera.K
    return np.c_[K[0, 0] * x * factor + K[0, 2], K[1, 1] * y * factor + K[1, 2]], cam[:, 2]


def _mesh(solid: Solid):
    import open3d as o3d

    if solid.kind == "cylinder":
        legacy = o3d.geometry.TriangleMesh.create_cylinder(radius=solid.size[0] / 2, height=solid.size[2], resolution=64)
    else:
        legacy = o3d.geometry.TriangleMesh.create_box(*solid.size)
        legacy.translate(-0.5 * solid.size)
    legacy.rotate(solid.rotation, center=np.zeros(3))
    legacy.translate(solid.centre)
    return o3d.t.geometry.TriangleMesh.from_legacy(legacy)


class RoomScene:
    """The room's solids in one `RaycastingScene`; geometry id ``k`` is ``room.solids[k]``."""

    def __init__(self, room: Room) -> None:
        import open3d as o3d

        self.room = room
        self.scene = o3d.t.geometry.RaycastingScene()
        for k, solid in enumerate(room.solids):
            if self.scene.add_triangles(_mesh(solid)) != k:
                raise RuntimeError("open3d numbered the room's solids out of order")

    def cast(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N,) hit distance along each direction (inf for none), (N,) solid index (-1), (N, 3) face normals."""
        import open3d as o3d

        rays = o3d.core.Tensor(np.c_[origins, directions].astype(np.float32))
        hit = self.scene.cast_rays(rays)
        t = hit["t_hit"].numpy().astype(np.float64)
        ids = hit["geometry_ids"].numpy().astype(np.int64)
        ids[~np.isfinite(t)] = -1
        return t, ids, hit["primitive_normals"].numpy().astype(np.float64)

    def occluded(self, origins: np.ndarray, to_light: np.ndarray) -> np.ndarray:
        """(N,) True where something lies between each origin and ``origin + to_light``."""
        import open3d as o3d

        rays = o3d.core.Tensor(np.c_[origins, to_light].astype(np.float32))
        return self.scene.test_occlusions(rays, tnear=1e-3, tfar=0.999).numpy().astype(bool)


def _surface_coordinates(solid: Solid, local: np.ndarray, local_normal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v) texture coordinates of local hit points, and the (smooth) local normals."""
    if solid.kind == "cylinder":
        side = np.abs(local_normal[:, 2]) < 0.5
        radial = np.c_[local[:, :2], np.zeros(len(local))]
        radial /= np.maximum(np.linalg.norm(radial, axis=1, keepdims=True), 1e-9)
        normal = np.where(side[:, None], radial, local_normal)
        angle = np.arctan2(local[:, 1], local[:, 0]) * solid.size[0] / 2
        return np.where(side, angle, local[:, 0]), np.where(side, local[:, 2], local[:, 1]), normal
    axis = np.argmax(np.abs(local_normal), axis=1)
    others = np.array([[1, 2], [0, 2], [0, 1]])[axis]
    rows = np.arange(len(local))
    a, b = local[rows, others[:, 0]], local[rows, others[:, 1]]
    if solid.material.pattern == "poster":
        a = a / solid.size[others[:, 0]] + 0.5
        b = b / solid.size[others[:, 1]] + 0.5
    return a, b, local_normal


def shade(scene: RoomScene, points: np.ndarray, ids: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(N, 3) linear radiance at the (N, 3) hit points of solids ``ids`` (-1: black)."""
    room = scene.room
    out = np.zeros((len(points), 3))
    order = np.argsort(ids, kind="stable")
    kinds, starts = np.unique(ids[order], return_index=True)
    for k, a, b in zip(kinds, starts, np.r_[starts[1:], len(order)]):
        if k < 0:
            continue
        solid, rows = room.solids[int(k)], order[a:b]
        p, R = points[rows], solid.rotation
        u, v, local_n = _surface_coordinates(solid, (p - solid.centre) @ R, normals[rows] @ R)
        n = local_n @ R.T
        to_light = room.light - p
        dist2 = np.sum(to_light**2, axis=1)
        lambert = np.clip(np.sum(n * to_light, axis=1) / np.sqrt(dist2), 0, None)
        lit = ~scene.occluded(p + 1e-3 * n, to_light)
        irradiance = room.ambient * (0.8 + 0.2 * n[:, 2]) + room.light_power * lambert * lit / dist2
        out[rows] = albedo(solid.material, u, v) * irradiance[:, None]
    return out


def render_view(scene: RoomScene, camera: Camera, pose: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One view from camera-to-world ``pose``: H×W×3 linear radiance, H×W z-depth (metres, 0 =
    nothing hit), H×W solid index (-1 = none)."""
    h, w = camera.height, camera.width
    directions = rays.reshape(-1, 3) @ pose[:3, :3].T
    origins = np.broadcast_to(pose[:3, 3], directions.shape)
    t, ids, normals = scene.cast(origins, directions)
    hit = ids >= 0
    points = origins + directions * np.where(hit, t, 0)[:, None]
    facing = np.where(np.sum(normals * directions, axis=1, keepdims=True) > 0, -normals, normals)
    radiance = shade(scene, points, ids, facing)
    depth = np.where(hit, t, 0.0).astype(np.float32)
    return radiance.reshape(h, w, 3), depth.reshape(h, w), ids.reshape(h, w).astype(np.int16)


def develop(radiance: np.ndarray, gain: float, look: Look, rng: np.random.Generator) -> np.ndarray:
    """H×W×3 linear radiance → H×W×3 uint8 sRGB-like image: exposure, vignetting, gamma, noise."""
    h, w = radiance.shape[:2]
    v, u = np.indices((h, w), dtype=np.float64)
    r2 = ((u - w / 2) ** 2 + (v - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    exposed = radiance * gain * (1 - look.vignetting * r2 ** 1.5)[..., None]
    tone = 1 - np.exp(-2.2 * np.clip(exposed, 0, None))  # soft shoulder, no hard clipping
    levels = 255 * tone ** (1 / 2.2)
    noise = rng.normal(size=levels.shape) * np.sqrt(look.read_noise**2 + look.shot_noise**2 * levels / 255)
    return np.clip(np.round(levels + noise), 0, 255).astype(np.uint8)
