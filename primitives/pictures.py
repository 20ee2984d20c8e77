"""Pictures of perception results: what each result's ``render()`` and `draw`'s primitives display.

Every function returns an H×W×3 uint8 RGB image. Matplotlib draws off-screen (an Agg canvas,
not pyplot), so nothing appears by itself and no figure leaks. Nothing here computes a
perception result: what a picture needs (a reconstruction, the kernel's frames' images) is
passed in, so the result types draw themselves without reaching up into the primitives that
make them (`spatialclaw.primitives.output.in_context` passes them what the kernel has).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from spatialclaw.primitives.types import Masks, Object3D, Reconstruction, Track3D

MAX_SCATTER = 60000
CEILING_CUT_M = 2.0
PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40], [128, 0, 0]], np.uint8)


def _figure(size: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size / 100, size / 100), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _to_array(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def _subsample(n: int, limit: int) -> np.ndarray:
    return np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(np.int64)


def top_down(
    recon: Reconstruction | None,
    objects: list[Object3D] | None = None,
    size: int = 640,
    stride: int = 4,
    show_path: bool = True,
    tracks: list[Track3D] | None = None,
) -> np.ndarray:
    """A top-down map (size×size×3 uint8): points below 2 m in their colours, camera path, object boxes, track paths."""
    fig = _figure(size)
    ax = fig.add_subplot(1, 1, 1)
    if recon is not None:
        pts = np.concatenate([recon.points(i, stride=stride) for i in range(len(recon))])
        cols = np.concatenate([recon.colors(i, stride=stride) for i in range(len(recon))])
        keep = pts[:, 2] < CEILING_CUT_M
        pts, cols = pts[keep], cols[keep]
        order = np.argsort(pts[:, 2])
        pick = order[_subsample(len(order), MAX_SCATTER)]
        ax.scatter(pts[pick, 0], pts[pick, 1], c=cols[pick] / 255.0, s=4.0, marker="s", linewidths=0)
        if show_path:
            centers = recon.camera_centers()
            ax.plot(centers[:, 0], centers[:, 1], "-", color="black", lw=1.5)
            ax.scatter(centers[:, 0], centers[:, 1], c="black", s=8)
            heading = recon.camera_forward()[:, :2]
            heading /= np.maximum(np.linalg.norm(heading, axis=1, keepdims=True), 1e-9)
            step = max(1, len(centers) // 8)
            for k in list(range(0, len(centers), step)) + [len(centers) - 1]:
                ax.annotate("", xy=centers[k, :2] + 0.3 * heading[k], xytext=centers[k, :2],
                            arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})
                ax.text(centers[k, 0], centers[k, 1], f" f{int(recon.frame_ids[k])}", fontsize=7)
    for n, obj in enumerate(objects or []):
        color = PALETTE[n % len(PALETTE)] / 255.0
        if recon is None:
            pick = _subsample(len(obj.points), MAX_SCATTER)
            ax.scatter(obj.points[pick, 0], obj.points[pick, 1], color=color, s=1.0, marker=".", alpha=0.5)
        box = obj.corners()[:4, :2]
        ax.fill(box[:, 0], box[:, 1], facecolor=(*color, 0.15), edgecolor=color, lw=2)
        ax.text(obj.center[0], obj.center[1], f"{n}:{obj.label}", fontsize=8, ha="center", va="center",
                color="black", bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "lw": 0})
    _draw_tracks(ax, tracks or [], first_colour=len(objects or []))
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, lw=0.3)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title("top-down view (+z up; objects numbered in list order)", fontsize=9)
    fig.tight_layout()
    return _to_array(fig)


def _draw_tracks(ax, tracks: list[Track3D], first_colour: int = 0) -> None:
    """Each track's smoothed path: a line through its positions, dots per frame, an arrow at the end."""
    for n, track in enumerate(tracks):
        color = PALETTE[(first_colour + n) % len(PALETTE)] / 255.0
        path = track.smoothed()
        ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=2)
        ax.scatter(path[:, 0], path[:, 1], color=color, s=10)
        if len(path) > 1 and np.linalg.norm(path[-1, :2] - path[-2, :2]) > 1e-6:
            ax.annotate("", xy=path[-1, :2], xytext=path[-2, :2], arrowprops={"arrowstyle": "->", "color": color, "lw": 2})
        moved = f" {track.distance_travelled():.2f} m" if track.moved else ""
        ax.text(path[0, 0], path[0, 1], f"{n}:{track.label} t={track.times[0]:.1f}s{moved}", fontsize=8, color="black",
                bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "lw": 0})


def tracks_map(tracks: list[Track3D], recon: Reconstruction | None = None, size: int = 640) -> np.ndarray:
    """Tracks' paths seen from above, over the room's points and camera path when ``recon`` is
    given, H×W×3 uint8; tracks numbered in list order, labelled with their start time."""
    return top_down(recon, objects=None, size=size, tracks=tracks)


def masks_overlay(masks: Masks, images: Sequence[np.ndarray] | None = None, max_frames: int = 4) -> np.ndarray:
    """The first ``max_frames`` frames with masks, each mask tinted and boxed, side by side.

    ``images``: the kernel's frames' H×W×3 uint8 images (``images[frame id]``); a frame without
    one (None, or a frame id beyond them) is drawn black.
    """
    images = [] if images is None else images
    ids = list(dict.fromkeys(masks.frame_ids.tolist()))[:max_frames]
    if not ids:
        return np.full((64, 256, 3), 255, np.uint8)
    tiles = []
    for fid in ids:
        img = images[fid].astype(np.float32) if fid < len(images) else np.zeros((*masks.masks.shape[1:], 3), np.float32)
        for k in np.nonzero(masks.frame_ids == fid)[0]:
            color = PALETTE[k % len(PALETTE)].astype(np.float32)
            m = masks.masks[k]
            img[m] = 0.5 * img[m] + 0.5 * color
            x0, y0, x1, y1 = masks.boxes[k].astype(int)
            img[y0:y1, [x0, max(x0, x1 - 1)]] = color
            img[[y0, max(y0, y1 - 1)], x0:x1] = color
        tiles.append(img.astype(np.uint8))
    h = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 4), (0, 0)), constant_values=255) for t in tiles]
    return np.concatenate(tiles, axis=1)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4×4 camera-to-world of a camera at ``eye`` looking at ``target`` with the world +z up on screen."""
    fwd = target - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= max(np.linalg.norm(right), 1e-9)
    down = np.cross(fwd, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, fwd, eye
    return pose


def perspective_view(
    points: np.ndarray, colors: np.ndarray, pose: np.ndarray, width: int = 640, height: int = 480, fov_deg: float = 70.0
) -> tuple[np.ndarray, np.ndarray]:
    """Splat coloured points into a virtual pinhole camera (z-buffered, 2×2 pixel splats).

    Returns:
        ``(image, K)``: H×W×3 uint8 (white background) and the 3×3 intrinsics used.
    """
    from spatialclaw.primitives import math3d

    f = width / (2 * np.tan(np.radians(fov_deg) / 2))
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    uv, z = math3d.project(points, K, pose)
    ok = np.isfinite(uv[:, 0]) & (z > 0.05)
    uv, z, colors = uv[ok], z[ok], colors[ok]
    image = np.full((height, width, 3), 255, np.uint8)
    order = np.argsort(-z)
    for du in (0, 1):
        for dv in (0, 1):
            u = uv[order, 0].astype(np.int64) + du
            v = uv[order, 1].astype(np.int64) + dv
            inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
            image[v[inside], u[inside]] = colors[order][inside]
    return image, K
