"""Writing a rendering to disk: a ScanNet-layout RGB-D folder, an H.264 video, and ``scene.json``."""

from __future__ import annotations

import json
from pathlib import Path

from spatialclaw.inputs import rgbd
from spatialclaw.inputs.video import write_h264
from spatialclaw.synth.render import Rendering
from spatialclaw.synth.scene import Scene


def write_rgbd(scene: Scene, rendering: Rendering, out_dir: str | Path) -> Path:
    """Write ``out_dir`` in the ScanNet exported layout (see :mod:`spatialclaw.inputs.rgbd`).

    Writes ``color/<i>.jpg``, ``depth/<i>.png`` (uint16 mm), ``pose/<i>.txt``,
    ``instance/<i>.png``, ``intrinsic/``, ``instance_labels.json``, ``meta.json`` (fps) and
    ``scene.json`` (room size, objects' oriented boxes, camera path: exact ground truth; with
    moving objects also ``times`` per frame and ``motions``: each mover's velocity and exact box
    centre per frame, see `spatialclaw.synth.motion.motions_to_json`).

    Returns:
        ``out_dir`` as a Path.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(len(rendering)):
        rgbd.write_frame(root, i, rendering.rgb[i], rendering.depth[i], rendering.poses[i], rendering.instance[i])
    rgbd.write_intrinsics(root, rendering.K)
    rgbd.write_meta(root, labels=scene.labels(), fps=rendering.fps)
    truth = scene.to_json(n_frames=len(rendering))
    if scene.motions:
        from spatialclaw.synth.motion import motions_to_json

        truth.update(motions_to_json(scene, scene.motions, rendering.times))
    (root / "scene.json").write_text(json.dumps(truth, indent=1) + "\n")
    return root


def write_video(rendering: Rendering, path: str | Path, fps: float | None = None, crf: int = 18) -> Path:
    """Write the RGB frames as an H.264 (yuv420p) mp4 (`write_h264`: the same frames every time).

    Args:
        rendering: the frames (width and height must be even for yuv420p).
        path: the ``.mp4`` to write (parent folders are created).
        fps: frames per second (default: ``rendering.fps``).
        crf: x264 constant rate factor (lower = better quality; 18 is visually lossless).
    """
    return write_h264(rendering.rgb, path, fps if fps is not None else rendering.fps, crf=crf)
