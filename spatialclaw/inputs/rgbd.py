"""The ScanNet exported RGB-D layout: reading and writing one folder.

::

    <root>/color/<i>.jpg                  RGB frames
    <root>/depth/<i>.png                  uint16 depth, millimetres (0 = no measurement)
    <root>/pose/<i>.txt                   4×4 camera-to-world (camera x right, y down, z forward)
    <root>/intrinsic/intrinsic_color.txt  4×4 (top-left 3×3 is K of the colour images)
    <root>/intrinsic/intrinsic_depth.txt  4×4 (K of the depth images)
    <root>/instance/<i>.png               optional uint16 instance id per pixel (0 = none)
    <root>/instance_labels.json           optional {"<id>": "<label>"}
    <root>/meta.json                      optional {"fps": float}; ScanNet's sensor rate (30) if absent

Used by the input loader (colour frames), the ground-truth perception backend (depth, poses,
masks) and the synthetic scene writer, so the three agree on one format.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialclaw.errors import InputError

DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class RGBDLayout:
    """What one RGB-D folder holds. ``indices`` are the ``<i>`` of ``color/<i>.jpg``, sorted."""

    root: Path
    indices: tuple[int, ...]
    has_depth: bool
    has_pose: bool
    has_intrinsics: bool
    has_instances: bool
    fps: float


def _stems(folder: Path, suffix: str) -> set[int]:
    if not folder.is_dir():
        return set()
    return {int(p.stem) for p in folder.iterdir() if p.suffix.lower() == suffix and p.stem.isdigit()}


def is_rgbd_folder(root: Path) -> bool:
    """True when ``root`` looks like the ScanNet layout (it has a ``color/`` folder of numbered jpgs)."""
    return bool(_stems(Path(root) / "color", ".jpg"))


def scan_rgbd(root: str | Path) -> RGBDLayout:
    """Inspect an RGB-D folder and check it is complete.

    Raises:
        InputError: no colour frames, or depth/pose/intrinsics present for only some frames.
    """
    root = Path(root)
    colors = _stems(root / "color", ".jpg")
    if not colors:
        raise InputError.no_color_frames(root)
    depths = _stems(root / "depth", ".png")
    poses = _stems(root / "pose", ".txt")
    instances = _stems(root / "instance", ".png")
    for name, have in (("depth/<i>.png", depths), ("pose/<i>.txt", poses), ("instance/<i>.png", instances)):
        if have and not colors <= have:
            missing = sorted(colors - have)
            raise InputError.partial_rgbd(root, name, len(missing), len(colors), missing[0])
    has_intr = (root / "intrinsic" / "intrinsic_color.txt").is_file()
    if (depths or poses) and not has_intr:
        raise InputError.no_intrinsics(root)
    if instances and not (root / "instance_labels.json").is_file():
        raise InputError.no_instance_labels(root)
    fps = _read_fps(root / "meta.json") if (root / "meta.json").is_file() else DEFAULT_FPS
    return RGBDLayout(
        root=root,
        indices=tuple(sorted(colors)),
        has_depth=bool(depths),
        has_pose=bool(poses),
        has_intrinsics=has_intr,
        has_instances=bool(instances),
        fps=fps,
    )


def _read_fps(path: Path) -> float:
    """``meta.json``'s frame rate; an unreadable file or a non-positive rate is an InputError."""
    try:
        fps = float(json.loads(path.read_text()).get("fps", DEFAULT_FPS))
    except (OSError, ValueError, TypeError, AttributeError):
        raise InputError.bad_meta(path) from None
    if not math.isfinite(fps) or fps <= 0:
        raise InputError.bad_meta_fps(path, fps)
    return fps


def read_color(root: Path, i: int) -> np.ndarray:
    """``color/<i>.jpg`` as H×W×3 uint8 RGB."""
    from spatialclaw.images import read_rgb

    path = Path(root) / "color" / f"{i}.jpg"
    rgb = read_rgb(path)
    if rgb is None:
        raise InputError.undecodable_frame(path)
    return rgb


def read_depth(root: Path, i: int) -> np.ndarray:
    """``depth/<i>.png`` as H×W float32 metres (0 where there is no measurement)."""
    import cv2

    path = Path(root) / "depth" / f"{i}.png"
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise InputError.bad_depth(path)
    return raw.astype(np.float32) / 1000.0


def read_pose(root: Path, i: int) -> np.ndarray:
    """``pose/<i>.txt`` as a 4×4 float64 camera-to-world matrix (ScanNet marks lost tracking with inf)."""
    return np.loadtxt(Path(root) / "pose" / f"{i}.txt", dtype=np.float64).reshape(4, 4)


def read_intrinsics(root: Path, which: str = "color") -> np.ndarray:
    """The 3×3 K of the ``color`` or ``depth`` images."""
    return np.loadtxt(Path(root) / "intrinsic" / f"intrinsic_{which}.txt", dtype=np.float64).reshape(4, 4)[:3, :3]


def read_instance(root: Path, i: int) -> np.ndarray:
    """``instance/<i>.png`` as H×W uint16 instance ids (0 = none)."""
    import cv2

    raw = cv2.imread(str(Path(root) / "instance" / f"{i}.png"), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError.unreadable_instances(Path(root) / 'instance' / f'{i}.png')
    return raw.astype(np.uint16)


def read_instance_labels(root: Path) -> dict[int, str]:
    """``instance_labels.json`` as ``{id: label}``."""
    data = json.loads((Path(root) / "instance_labels.json").read_text())
    return {int(k): str(v) for k, v in data.items()}


def _as4x4(K: np.ndarray) -> np.ndarray:
    M = np.eye(4)
    M[:3, :3] = K
    return M


def write_intrinsics(root: Path, K_color: np.ndarray, K_depth: np.ndarray | None = None) -> None:
    """Write ``intrinsic/intrinsic_{color,depth}.txt`` from 3×3 matrices (depth defaults to colour)."""
    folder = Path(root) / "intrinsic"
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "intrinsic_color.txt", _as4x4(K_color), fmt="%.6f")
    np.savetxt(folder / "intrinsic_depth.txt", _as4x4(K_color if K_depth is None else K_depth), fmt="%.6f")


def write_frame(
    root: Path,
    i: int,
    color: np.ndarray,
    depth_m: np.ndarray | None = None,
    pose: np.ndarray | None = None,
    instance: np.ndarray | None = None,
    jpeg_quality: int = 95,
) -> None:
    """Write frame ``i``: H×W×3 uint8 RGB, H×W depth in metres, 4×4 camera-to-world, H×W instance ids."""
    import cv2

    root = Path(root)
    (root / "color").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "color" / f"{i}.jpg"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if depth_m is not None:
        (root / "depth").mkdir(exist_ok=True)
        mm = np.clip(np.nan_to_num(depth_m, nan=0.0, posinf=0.0) * 1000.0 + 0.5, 0, 65535).astype(np.uint16)
        cv2.imwrite(str(root / "depth" / f"{i}.png"), mm)
    if pose is not None:
        (root / "pose").mkdir(exist_ok=True)
        np.savetxt(root / "pose" / f"{i}.txt", np.asarray(pose, dtype=np.float64).reshape(4, 4), fmt="%.8f")
    if instance is not None:
        (root / "instance").mkdir(exist_ok=True)
        cv2.imwrite(str(root / "instance" / f"{i}.png"), np.asarray(instance, dtype=np.uint16))


def write_meta(root: Path, labels: dict[int, str] | None = None, fps: float | None = None) -> None:
    """Write ``instance_labels.json`` and/or ``meta.json``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if labels is not None:
        (root / "instance_labels.json").write_text(json.dumps({str(k): v for k, v in sorted(labels.items())}, indent=1))
    if fps is not None:
        (root / "meta.json").write_text(json.dumps({"fps": float(fps)}))
