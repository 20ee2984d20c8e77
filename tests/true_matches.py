"""A stand-in feature matcher that knows the scene: true correspondences from rendered depth and poses.

Its keypoints are projections of surface points the depth puts in view (occluded ones left out),
its matches the points two frames share, exact to the float. Tests of the SfM plumbing
(`sfm_matches`, the learned matcher's hook) use it to prove the geometry without learned weights.
"""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.backends.classical.sfm_matches import MatchedFeatures


def walk_frames(frames: int, width: int, height: int, seed: int = 3, of: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``frames`` of an ``of``-frame walk through synthetic room ``seed`` (short steps).

    Returns:
        (rgb (N, H, W, 3) uint8, depth (N, H, W) float32 m, poses (N, 4, 4) camera-to-world, K 3×3).
    """
    from spatialclaw.synth import Renderer, generate_scene

    scene = generate_scene(seed)
    renderer = Renderer(scene, width, height)
    poses = scene.path.poses(of)[:frames]
    rendered = [renderer.render(pose) for pose in poses]
    return np.stack([r[0] for r in rendered]), np.stack([r[1] for r in rendered]), poses, renderer.K


class TrueCorrespondences:
    """Keypoints and matches from the rendered depth and poses (pixel positions exact to the float)."""

    name = "ground-truth"

    def __init__(self, depth: np.ndarray, poses: np.ndarray, K: np.ndarray, per_frame: int = 300, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        points = []
        for d, pose in zip(depth, poses):
            v, u = rng.integers(0, d.shape[0], per_frame), rng.integers(0, d.shape[1], per_frame)
            z = d[v, u]
            cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], 1)
            points.append(cam @ pose[:3, :3].T + pose[:3, 3])
        self.points = np.concatenate(points)
        self.depth, self.poses, self.K = depth, poses, K
        self.calls: list[list[tuple[int, int]]] = []

    def _visible(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids of the world points frame ``i`` sees, their (n, 2) pixels)."""
        w2c = np.linalg.inv(self.poses[i])
        cam = self.points @ w2c[:3, :3].T + w2c[:3, 3]
        z = cam[:, 2]
        uv = (cam[:, :2] / np.maximum(z[:, None], 1e-9)) * np.diag(self.K)[:2] + self.K[:2, 2]
        h, w = self.depth[i].shape
        inside = (z > 0.1) & (uv[:, 0] > 0) & (uv[:, 1] > 0) & (uv[:, 0] < w - 1) & (uv[:, 1] < h - 1)
        ids = np.flatnonzero(inside)
        seen = self.depth[i][np.round(uv[ids, 1]).astype(int), np.round(uv[ids, 0]).astype(int)]
        ids = ids[np.abs(seen - z[ids]) < 0.02 * z[ids]]  # not hidden behind something nearer
        return ids, uv[ids]

    def __call__(self, images: list[np.ndarray], pairs: list[tuple[int, int]]) -> MatchedFeatures:
        self.calls.append(list(pairs))
        seen = [self._visible(i) for i in range(len(images))]
        matches = {}
        for i, j in pairs:
            _, a, b = np.intersect1d(seen[i][0], seen[j][0], return_indices=True)
            matches[(i, j)] = np.stack([a, b], 1)
        return MatchedFeatures([uv.astype(np.float32) for _, uv in seen], matches)
