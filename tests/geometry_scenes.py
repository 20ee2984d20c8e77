"""Small exact geometric scenes shared by the primitives' tests (cameras, box surfaces)."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.types import Reconstruction


def downward_camera(height: float, center_xy=(0.0, 0.0), w: int = 200, h: int = 100, f: float = 100.0) -> Reconstruction:
    """One camera ``height`` metres above the floor looking straight down (image x = world +x)."""
    pose = np.eye(4)
    pose[:3, :3] = np.diag([1.0, -1.0, -1.0])
    pose[:3, 3] = (*center_xy, height)
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    return Reconstruction(depth=np.full((1, h, w), height, np.float32), pose=pose[None], K=K[None])


def box_surface(size, yaw: float, center, step: float = 0.02) -> np.ndarray:
    """Points on the six faces of an oriented box (yaw about +z), metres."""
    sx, sy, sz = size
    axes = [np.arange(-s / 2, s / 2 + 1e-9, step) for s in size]
    faces = []
    for dim in range(3):
        others = [d for d in range(3) if d != dim]
        a, b = np.meshgrid(axes[others[0]], axes[others[1]], indexing="ij")
        for sign in (-1, 1):
            p = np.zeros((a.size, 3))
            p[:, others[0]], p[:, others[1]], p[:, dim] = a.ravel(), b.ravel(), sign * size[dim] / 2
            faces.append(p)
    pts = np.concatenate(faces)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return pts @ rot.T + np.asarray(center)
