"""A room with two identical chairs side by side that slide apart: the identity test scene of the trackers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

W, H, N = 200, 150, 10
SPEED = 0.08
"""Metres per second of each chair, in opposite directions along x."""


def twin_chairs(folder: Path):
    """Render the scene (a camera that drifts slowly, one frame per second) as an RGB-D folder.

    Returns:
        (the RGB-D folder, the `Rendering`).
    """
    from spatialclaw.synth import write_rgbd
    from spatialclaw.synth.motion import ObjectMotion
    from spatialclaw.synth.render import Renderer, Rendering
    from spatialclaw.synth.scene import CameraPath, Scene, SceneObject, look_pose
    from spatialclaw.synth.shapes import BASE_COLORS, build_parts

    parts = tuple(build_parts("chair", np.random.default_rng(1)))
    chairs = tuple(SceneObject(i + 1, "chair", (2.2 + 0.65 * i, 2.6), 0.0, parts, BASE_COLORS["chair"]) for i in range(2))
    scene = Scene("twins", 1, (5.0, 4.5, 2.8), chairs, CameraPath((2.5, 1.0), (0.3, 0.3)),
                  motions=(ObjectMotion(1, (-SPEED, 0.0)), ObjectMotion(2, (SPEED, 0.0))))
    renderer = Renderer(scene, W, H)
    poses = np.stack([look_pose(np.array([2.4 + 0.02 * i, 0.6, 1.4]), np.pi / 2, -0.45) for i in range(N)])
    shots = [renderer.render(p, float(i)) for i, p in enumerate(poses)]
    rendering = Rendering(*(np.stack(x) for x in zip(*shots)), poses, renderer.K, 1.0)
    return write_rgbd(scene, rendering, folder), rendering
