"""The `reconstruct` primitive: metric depth and camera poses for the input frames."""

from __future__ import annotations

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.perception import run_reconstruction
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.types import Reconstruction


@primitive(group="reconstruction")
def reconstruct(frames: list[Frame] | list[int] | None = None, *, context: KernelContext) -> Reconstruction:
    """Metric 3D reconstruction: per-frame depth and camera poses in one world frame.

    The world frame is metric (metres) and gravity-aligned: +z up, the floor at z = 0.
    Camera axes: x right, y down, z forward. Results are cached: calling it again is free,
    and so is a failure (the same one-line PerceptionError says what the input lacks).

    Check `r.quality` before trusting numbers (`print(r)` shows it; its warnings are also
    printed once, by the first cell that reconstructs):
    `r.quality.ok` True means no check failed; `r.quality.warnings` are sentences saying what
    is wrong and what is still usable; `r.quality.registered` / `r.quality.total` frames had
    their pose measured (`r.valid[i]` False: pose guessed, depth 0: skip that entry);
    `r.quality.scale_source`: "gt" or "metric-depth" (metres are real),
    "floor+camera-height" (metres assume the camera was carried 1.5 m above the floor: as
    right as that guess, and a warning says so), "unknown" (only ratios of lengths and directions are meaningful;
    say the answer is an estimate); also `reprojection_px`, `fov_deg`, `path_m`.

    Args:
        frames: which frames (Frame objects from `frames`, or their positions); all by default.

    Returns:
        Reconstruction `r` with, for entry i (i-th requested frame):
        `r.depth[i]` H×W float32 metres (0 = unknown); `r.pose[i]` 4×4 camera-to-world;
        `r.K[i]` 3×3 intrinsics; `r.frame_ids[i]` its position in `frames`; `r.valid[i]`;
        `r.distortion` None or (N, 2) radial lens terms k1, k2 (pixels → rays need them as well
        as K: use `r.points` / `r.project`, which apply them);
        `r.points(i, mask=None)` -> (N, 3) world points of the pixels (inside an H×W bool mask);
        `r.project(points, i)` -> (N, 2) pixel x, y of world points (NaN behind the camera);
        `r.camera_centers()` -> (N, 3); `r.point_cloud(stride=4)` -> (M, 3);
        `r.render_bev(objects=None)` -> top-down image; `show(r)` displays it.

    Example:
        r = reconstruct()
        print(r.quality)                      # ok? registered frames, scale source, warnings
        p = r.points(0)                       # world points seen in frames[0]
        print(r.camera_centers()[-1] - r.camera_centers()[0])
    """
    return run_reconstruction(frames, context)
