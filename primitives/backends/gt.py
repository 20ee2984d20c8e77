"""Ground-truth perception from an RGB-D folder (ScanNet layout, see `spatialclaw.inputs.rgbd`).

- ``reconstruction``: the folder's depth (resampled onto each kernel frame's pixel grid through
  the depth and colour intrinsics), camera-to-world poses and colour intrinsics (scaled to the
  kernel frame's size). If the folder's world frame is not gravity-aligned with the floor at
  z = 0, it is re-levelled (`math3d.levelling_transform` on the depth points of the kernel's
  frames); the transform is in ``info["world_from_input"]``.
- ``segmentation``: the folder's instance masks, one mask per instance per frame, labelled from
  ``instance_labels.json`` and matched to the query by `vocabulary.match_labels`; the instance id
  is kept in ``Masks.instance_ids``.

- ``tracking``: the same masks; the folder's instance ids are identities across frames.

Frames without a valid pose (ScanNet writes ``inf`` when tracking was lost) get their nearest
posed neighbour's pose and no depth, and ``valid`` False in the Reconstruction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spatialclaw.inputs import rgbd
from spatialclaw.errors import InputError, PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import math3d, vocabulary
from spatialclaw.primitives.backends.base import BackendBase, Family
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Masks, Reconstruction

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

LEVEL_STRIDE = 8


def available(family: str, context: KernelContext) -> str | None:
    """None when the input carries ground truth for ``family``, else why not."""
    if context.source_kind != "rgbd" or context.source_path is None:
        return f"gt needs an RGB-D folder, the input is {context.source_kind!r}"
    try:
        layout = rgbd.scan_rgbd(context.source_path)
    except InputError as err:
        return str(err)
    if family == "reconstruction" and not (layout.has_depth and layout.has_pose and layout.has_intrinsics):
        return "the RGB-D folder lacks depth, poses or intrinsics"
    if family == "segmentation" and not layout.has_instances:
        return "the RGB-D folder has no instance masks"
    return None


def _root(context: KernelContext) -> Path:
    if context.source_kind != "rgbd" or context.source_path is None:
        raise PerceptionError.gt_needs_rgbd(context.source_kind)
    return Path(context.source_path)


@dataclass
class _Folder:
    """What the backend read from one RGB-D folder, kept on the kernel context for the kernel's life.

    Attributes:
        root: the folder.
        k_color: 3×3 colour intrinsics (pixels of the folder's colour images).
        k_depth: 3×3 depth intrinsics (the colour ones when the folder has none for depth).
        color_size: (h, w) of the folder's colour images, pixels.
        levelling: the levelling transform and its report, by the frames it was fitted on.
    """

    root: Path
    k_color: np.ndarray
    k_depth: np.ndarray
    color_size: tuple[int, int]
    levelling: dict[tuple, tuple[np.ndarray, dict]] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> _Folder:
        k_color = rgbd.read_intrinsics(root, "color")
        depth_file = root / "intrinsic" / "intrinsic_depth.txt"
        k_depth = rgbd.read_intrinsics(root, "depth") if depth_file.is_file() else k_color
        index = rgbd.scan_rgbd(root).indices[0]
        h, w = rgbd.read_color(root, index).shape[:2]
        return cls(root, k_color, k_depth, (h, w))


def _folder(context: KernelContext) -> _Folder:
    """The input folder's `_Folder`, read once per kernel (``context.loaded["gt"]``)."""
    root = _root(context)
    folders = context.loaded.setdefault("gt", {})
    if str(root) not in folders:
        folders[str(root)] = _Folder.read(root)
    return folders[str(root)]


def _frame_intrinsics(folder: _Folder, frame: Frame) -> np.ndarray:
    """The colour K scaled to the kernel frame's size (the frame may be a resized colour image)."""
    h, w = folder.color_size
    sx, sy = frame.width / w, frame.height / h
    K = folder.k_color.copy()
    K[0] *= sx
    K[1] *= sy
    return K


def _depth_on_frame(folder: _Folder, frame: Frame, K_frame: np.ndarray) -> np.ndarray:
    """The frame's depth (metres) resampled (nearest) onto the kernel frame's pixel grid."""
    import cv2

    depth = rgbd.read_depth(folder.root, frame.index)
    k_depth = folder.k_depth
    u, v = np.meshgrid(np.arange(frame.width, dtype=np.float32), np.arange(frame.height, dtype=np.float32))
    map_x = ((u - K_frame[0, 2]) / K_frame[0, 0] * k_depth[0, 0] + k_depth[0, 2]).astype(np.float32)
    map_y = ((v - K_frame[1, 2]) / K_frame[1, 1] * k_depth[1, 1] + k_depth[1, 2]).astype(np.float32)
    return cv2.remap(depth, map_x, map_y, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _read_poses(root: Path, frames: list[Frame]) -> tuple[np.ndarray, list[int]]:
    poses = np.stack([rgbd.read_pose(root, f.index) for f in frames])
    bad = [k for k in range(len(frames)) if not np.isfinite(poses[k]).all()]
    good = [k for k in range(len(frames)) if k not in bad]
    if not good:
        raise PerceptionError.no_valid_pose(root)
    for k in bad:
        poses[k] = poses[min(good, key=lambda g: abs(g - k))]
    return poses, bad


def _levelling(folder: _Folder, frames: list[Frame]) -> tuple[np.ndarray, dict]:
    """The levelling transform of the folder, from the depth points of ``frames`` (kept in ``folder``)."""
    key = tuple((f.index, f.height, f.width) for f in frames)
    if key not in folder.levelling:
        folder.levelling[key] = _compute_levelling(folder, frames)
    T, info = folder.levelling[key]
    return T.copy(), dict(info)


def _compute_levelling(folder: _Folder, frames: list[Frame]) -> tuple[np.ndarray, dict]:
    poses, bad = _read_poses(folder.root, frames)
    clouds = []
    for k, f in enumerate(frames):
        if k in bad:
            continue
        K = _frame_intrinsics(folder, f)
        clouds.append(math3d.backproject(_depth_on_frame(folder, f, K), K, poses[k], stride=LEVEL_STRIDE))
    points = np.concatenate(clouds) if clouds else np.zeros((0, 3))
    return math3d.levelling_transform(points, poses)


def reconstruct(frames: list[Frame], context: KernelContext) -> Reconstruction:
    """Depth, poses and intrinsics of ``frames`` from the RGB-D folder, in a levelled world frame."""
    folder = _folder(context)
    root = folder.root
    T, level_info = _levelling(folder, list(context.frames) or frames)
    poses, bad = _read_poses(root, frames)
    Ks = np.stack([_frame_intrinsics(folder, f) for f in frames])
    depth = np.stack([_depth_on_frame(folder, f, K) for f, K in zip(frames, Ks)]).astype(np.float32)
    for k in bad:
        depth[k] = 0.0
    info = {"source": str(root), "levelling": level_info, "world_from_input": T.tolist()}
    valid = np.array([k not in bad for k in range(len(frames))], bool)
    quality = ReconstructionQuality(registered=int(valid.sum()), total=len(frames), scale_source="gt")
    return Reconstruction(
        depth=depth,
        pose=T[None] @ poses,
        K=Ks,
        images=np.stack([f.image for f in frames]),
        backend="gt",
        info=info,
        valid=valid,
        quality=quality,
    )


def _instances_on_frame(root: Path, frame: Frame) -> np.ndarray:
    import cv2

    inst = rgbd.read_instance(root, frame.index)
    if inst.shape != (frame.height, frame.width):
        inst = cv2.resize(inst, (frame.width, frame.height), interpolation=cv2.INTER_NEAREST)
    return inst


def segment(query: str, frames: list[Frame], context: KernelContext) -> Masks:
    """Every ground-truth instance whose label matches ``query``, one mask per instance per frame."""
    root = _root(context)
    labels = rgbd.read_instance_labels(root)
    matched = vocabulary.match_labels(query, sorted(set(labels.values())))
    wanted = {iid for iid, label in labels.items() if label in matched}
    if not wanted:
        warnings.warn(
            f"segment({query!r}): no such object in this input; its labels are: {', '.join(sorted(set(labels.values())))}",
            stacklevel=3,
        )
    masks, mask_labels, frame_ids, ids = [], [], [], []
    for k, frame in enumerate(frames):
        inst = _instances_on_frame(root, frame)
        for iid in np.unique(inst):
            if int(iid) in wanted:
                masks.append(inst == iid)
                mask_labels.append(labels[int(iid)])
                frame_ids.append(k)
                ids.append(int(iid))
    if not masks:
        h, w = (frames[0].height, frames[0].width) if frames else (0, 0)
        return Masks.empty(h, w)
    return Masks.from_masks(np.stack(masks), mask_labels, frame_ids, instance_ids=np.array(ids))


class GroundTruthBackend(BackendBase):
    """The `PerceptionBackend` of an RGB-D folder's own depth, poses and instance masks."""

    name = "gt"
    families: tuple[Family, ...] = ("reconstruction", "segmentation", "tracking")
    identities = "exact"

    def available(self, family: str, context: KernelContext) -> str | None:
        if family not in self.families:
            return self.not_served(family)
        return available("segmentation" if family == "tracking" else family, context)

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        return reconstruct(frames, context)

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return segment(query, frames, context)

    def track(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        return segment(query, frames, context)
