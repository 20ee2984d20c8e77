"""Writing a rendering to disk: a ScanNet-layout RGB-D folder, an H.264 video, and ``scene.json``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from spatialclaw.inputs import rgbd
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
    """Write the RGB frames as an H.264 (yuv420p) mp4 with PyAV.

    Args:
        rendering: the frames (width and height must be even for yuv420p).
        path: the ``.mp4`` to write (parent folders are created).
        fps: frames per second (default: ``rendering.fps``).
        crf: x264 constant rate factor (lower = better quality; 18 is visually lossless).
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps if fps is not None else rendering.fps).limit_denominator(1000)
    width, height = rendering.size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        stream.codec_context.thread_count = 1
        for image in rendering.rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
