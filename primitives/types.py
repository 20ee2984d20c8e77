"""Result types of the perception primitives: `Reconstruction`, `Masks`, `Object3D` (and `Track3D`,
defined in `tracks_types` and re-exported here).

Each is a dataclass of numpy arrays, checked when it is built (a wrong shape is a `ValueError`
that names the field and the expected shape), with a ``render()`` that `show()` uses.

Frame numbering: ``frame_ids`` are positions in the kernel's ``frames`` list (``frames[i]``),
so ``masks.frame_ids == 3`` are the masks of ``frames[3]``.

World frame: metric (metres), gravity-aligned, +z up, the floor at z = 0. Camera axes: x
right, y down, z forward. Poses are camera-to-world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from spatialclaw.primitives import math3d
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.tracks_types import Track3D  # noqa: F401  (re-exported beside Object3D)

NO_QUALITY_REPORT = "this reconstruction was built without a quality report: nothing about it was checked"


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclass(eq=False)
class Reconstruction:
    """Per-frame metric depth and camera poses in one gravity-aligned world frame.

    Attributes:
        depth: (N, H, W) float32 depth along each camera's z axis, metres; 0 = unknown.
        pose: (N, 4, 4) float64 camera-to-world (camera x right, y down, z forward).
        K: (N, 3, 3) float64 intrinsics, pixels.
        frame_ids: (N,) int64 position in the kernel's ``frames`` of each entry
            (``depth[i]`` belongs to ``frames[frame_ids[i]]``).
        images: optional (N, H, W, 3) uint8 RGB, for coloured point clouds and pictures.
        backend: which backend made it (``gt``, ``learned``, ``classical``).
        info: backend notes (e.g. how the world frame was levelled, depth fits).
        valid: (N,) bool, True where the entry's pose and depth were measured (registered by
            structure from motion, posed in the RGB-D input); False where the pose is a guess
            filled in from neighbours and the depth is 0. All True by default.
        quality: how far it can be trusted (`ReconstructionQuality`: frames registered,
            reprojection error, where the metric scale came from, warnings, ``ok``). Backends
            always fill it in; one built by hand gets a report saying it was not checked.
        distortion: None (pinhole lens) or (N, 2) float64 radial lens terms k1, k2 (COLMAP's
            RADIAL model): the ray with normalised coordinates x = (X/Z, Y/Z), r = |x|, is seen
            at x·(1 + k1·r² + k2·r⁴), which ``K`` maps to pixels. ``points`` and ``project``
            apply it; ``K`` alone is then not the pixel → ray map (`spatialclaw.primitives.lens` is).

    >>> r = Reconstruction(depth=np.full((1, 4, 4), 2.0, np.float32), pose=np.eye(4)[None],
    ...                    K=np.array([[[2.0, 0, 2], [0, 2.0, 2], [0, 0, 1]]]))
    >>> r.points(0).shape
    (16, 3)
    >>> r.project(np.array([[0.0, 0.0, 2.0]]), 0).tolist()
    [[2.0, 2.0]]
    """

    depth: np.ndarray
    pose: np.ndarray
    K: np.ndarray
    frame_ids: np.ndarray | None = None
    images: np.ndarray | None = None
    backend: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    valid: np.ndarray | None = None
    quality: ReconstructionQuality | None = None
    distortion: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.depth = np.asarray(self.depth, dtype=np.float32)
        _check(self.depth.ndim == 3, f"Reconstruction.depth must be (N, H, W) metres, got shape {self.depth.shape}")
        n, h, w = self.depth.shape
        self.pose = np.asarray(self.pose, dtype=np.float64)
        _check(self.pose.shape == (n, 4, 4), f"Reconstruction.pose must be ({n}, 4, 4) camera-to-world, got {self.pose.shape}")
        _check(bool(np.isfinite(self.pose).all()), "Reconstruction.pose has non-finite entries (lost tracking?)")
        self.K = np.asarray(self.K, dtype=np.float64)
        _check(self.K.shape == (n, 3, 3), f"Reconstruction.K must be ({n}, 3, 3) intrinsics, got {self.K.shape}")
        if self.distortion is not None:
            self.distortion = np.asarray(self.distortion, dtype=np.float64)
            _check(
                self.distortion.shape == (n, 2) and bool(np.isfinite(self.distortion).all()),
                f"Reconstruction.distortion must be None or ({n}, 2) finite radial k1, k2, got {self.distortion.shape}",
            )
        if self.frame_ids is None:
            self.frame_ids = np.arange(n, dtype=np.int64)
        self.frame_ids = np.asarray(self.frame_ids, dtype=np.int64).reshape(-1)
        _check(len(self.frame_ids) == n, f"Reconstruction.frame_ids must have {n} entries, got {len(self.frame_ids)}")
        if self.images is not None:
            self.images = np.asarray(self.images)
            _check(
                self.images.shape == (n, h, w, 3) and self.images.dtype == np.uint8,
                f"Reconstruction.images must be ({n}, {h}, {w}, 3) uint8, got {self.images.shape} {self.images.dtype}",
            )
        self.valid = np.ones(n, bool) if self.valid is None else np.asarray(self.valid).reshape(-1)
        _check(
            self.valid.shape == (n,) and self.valid.dtype == bool,
            f"Reconstruction.valid must be ({n},) bool, got {self.valid.shape} {self.valid.dtype}",
        )
        if self.quality is None:
            self.quality = ReconstructionQuality(int(self.valid.sum()), n, "unknown", warnings=[NO_QUALITY_REPORT])
        _check(isinstance(self.quality, ReconstructionQuality), "Reconstruction.quality must be a ReconstructionQuality")
        _check(self.quality.total == n, f"Reconstruction.quality describes {self.quality.total} frames, the reconstruction has {n}")

    @property
    def invalid_entries(self) -> list[int]:
        """Entries whose pose is a guess and whose depth is unknown (``valid`` False)."""
        return [int(i) for i in np.flatnonzero(~self.valid)]

    def __len__(self) -> int:
        return int(self.depth.shape[0])

    def __repr__(self) -> str:
        n, h, w = self.depth.shape
        head = f"Reconstruction({n} frames {w}x{h}, frame_ids={self.frame_ids.tolist()}, backend={self.backend!r})"
        return f"{head}, {self.quality!r}"

    def index(self, frame_id: int) -> int:
        """The entry of ``frames[frame_id]`` in this reconstruction (raises KeyError if absent)."""
        hits = np.nonzero(self.frame_ids == int(frame_id))[0]
        if len(hits) == 0:
            raise KeyError(f"frames[{frame_id}] is not in this reconstruction (frame_ids {self.frame_ids.tolist()})")
        return int(hits[0])

    def points(self, i: int, mask: np.ndarray | None = None, stride: int = 1) -> np.ndarray:
        """World points (N, 3), metres, of entry ``i``'s valid depth pixels, optionally inside an H×W bool mask."""
        return math3d.backproject(self.depth[i], self.K[i], self.pose[i], mask=mask, stride=stride, distortion=self.lens(i))

    def colors(self, i: int, mask: np.ndarray | None = None, stride: int = 1) -> np.ndarray:
        """(N, 3) uint8 RGB of the same pixels as ``points(i, mask, stride)`` (grey without images)."""
        d = self.depth[i]
        valid = np.isfinite(d) & (d > 0)
        if mask is not None:
            valid &= np.asarray(mask, dtype=bool)
        if stride > 1:
            sub = np.zeros_like(valid)
            sub[::stride, ::stride] = True
            valid &= sub
        if self.images is None:
            return np.full((int(valid.sum()), 3), 160, np.uint8)
        return self.images[i][valid]

    def point_cloud(self, stride: int = 4, voxel: float = 0.0) -> np.ndarray:
        """All entries' points, (N, 3) metres, every ``stride``-th pixel, optionally voxel-downsampled."""
        pts = [self.points(i, stride=stride) for i in range(len(self))]
        cloud = np.concatenate(pts) if pts else np.zeros((0, 3))
        return math3d.voxel_downsample(cloud, voxel) if voxel > 0 else cloud

    def project(self, points: np.ndarray, i: int) -> np.ndarray:
        """Pixel coordinates (N, 2) (x right, y down) of world points in entry ``i``; NaN behind the camera
        (or past the edge of a barrel lens's view)."""
        return math3d.project(points, self.K[i], self.pose[i], self.lens(i))[0]

    def lens(self, i: int) -> np.ndarray | None:
        """Entry ``i``'s radial lens terms (2,) ``k1, k2``, None for a pinhole lens."""
        return None if self.distortion is None else self.distortion[i]

    def camera_centers(self) -> np.ndarray:
        """(N, 3) camera positions in the world, metres."""
        return self.pose[:, :3, 3].copy()

    def camera_forward(self) -> np.ndarray:
        """(N, 3) unit viewing directions (camera +z) in the world."""
        return self.pose[:, :3, 2].copy()

    def render_bev(self, objects: list[Object3D] | None = None, size: int = 640, stride: int = 4) -> np.ndarray:
        """A top-down picture (size×size×3 uint8): points coloured by height, camera path, optional objects."""
        from spatialclaw.primitives import pictures

        return pictures.top_down(self, objects=objects, size=size, stride=stride)

    def render(self) -> np.ndarray:
        """What ``show(recon)`` displays: the top-down picture."""
        return self.render_bev()


@dataclass(eq=False)
class Masks:
    """Instance masks over frames, one row per (instance, frame).

    Attributes:
        masks: (N, H, W) bool.
        boxes: (N, 4) float32 pixel boxes ``x0, y0, x1, y1`` (x1, y1 exclusive).
        scores: (N,) float32 confidence in [0, 1].
        labels: (N,) str labels.
        frame_ids: (N,) int64 position in the kernel's ``frames`` of each mask's frame.
        instance_ids: (N,) int64 identity of the physical object when the backend knows it
            (ground truth, tracking), else -1.

    Indexing works like numpy: ``m[m.frame_ids == 3]``, ``m[m.scores > 0.5]``, ``m[0]``.

    >>> m = Masks.from_masks(np.zeros((1, 4, 6), bool), labels=["chair"], frame_ids=[0])
    >>> len(m), len(m[m.labels == "table"])
    (1, 0)
    """

    masks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    frame_ids: np.ndarray
    instance_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.masks = np.asarray(self.masks)
        _check(
            self.masks.ndim == 3 and self.masks.dtype == bool,
            f"Masks.masks must be an (N, H, W) bool array, got shape {self.masks.shape} dtype {self.masks.dtype}",
        )
        n = self.masks.shape[0]
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4) if n else np.zeros((0, 4), np.float32)
        _check(self.boxes.shape == (n, 4), f"Masks.boxes must be ({n}, 4) xyxy pixels, got {self.boxes.shape}")
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        _check(self.scores.shape == (n,), f"Masks.scores must have {n} entries, got {self.scores.shape}")
        self.labels = np.asarray(list(self.labels), dtype=object).reshape(-1)
        _check(self.labels.shape == (n,), f"Masks.labels must have {n} entries, got {self.labels.shape}")
        _check(all(isinstance(x, str) for x in self.labels), "Masks.labels must be strings")
        self.frame_ids = np.asarray(self.frame_ids, dtype=np.int64).reshape(-1)
        _check(self.frame_ids.shape == (n,), f"Masks.frame_ids must have {n} entries, got {self.frame_ids.shape}")
        if self.instance_ids is None:
            self.instance_ids = np.full(n, -1, np.int64)
        self.instance_ids = np.asarray(self.instance_ids, dtype=np.int64).reshape(-1)
        _check(self.instance_ids.shape == (n,), f"Masks.instance_ids must have {n} entries, got {self.instance_ids.shape}")

    @classmethod
    def empty(cls, height: int = 0, width: int = 0) -> Masks:
        """No masks (of frames H×W)."""
        return cls(np.zeros((0, height, width), bool), np.zeros((0, 4)), np.zeros(0), [], np.zeros(0, np.int64))

    @classmethod
    def from_masks(
        cls,
        masks: np.ndarray,
        labels: list[str],
        frame_ids: list[int] | np.ndarray,
        scores: np.ndarray | None = None,
        instance_ids: np.ndarray | None = None,
    ) -> Masks:
        """Build from (N, H, W) bool masks; boxes are the masks' tight bounding boxes (zeros for empty masks)."""
        masks = np.asarray(masks, dtype=bool)
        boxes = np.zeros((len(masks), 4), np.float32)
        for k, m in enumerate(masks):
            ys, xs = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
            if len(ys):
                boxes[k] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
        scores = np.ones(len(masks), np.float32) if scores is None else scores
        return cls(masks, boxes, scores, labels, frame_ids, instance_ids)

    @classmethod
    def concat(cls, parts: Sequence[Masks], height: int | None = None, width: int | None = None) -> Masks:
        """All masks of ``parts`` in order, as one Masks (frame ids and identities kept as they are).

        Args:
            parts: Masks of frames of one size (empty ones included, they give the size).
            height, width: the frames' size when ``parts`` is empty.

        Raises:
            ValueError: parts of different frame sizes.

        >>> a = Masks.from_masks(np.ones((1, 2, 3), bool), ["cup"], [0])
        >>> b = Masks.from_masks(np.ones((2, 2, 3), bool), ["cup", "mug"], [4, 4])
        >>> m = Masks.concat([a, Masks.empty(2, 3), b])
        >>> len(m), m.frame_ids.tolist()
        (3, [0, 4, 4])
        """
        sizes = {p.masks.shape[1:] for p in parts}
        _check(len(sizes) <= 1, f"Masks.concat needs masks of one frame size, got {sorted(sizes)}")
        if not parts:
            return cls.empty(height or 0, width or 0)
        return cls(
            np.concatenate([p.masks for p in parts]),
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            [label for p in parts for label in p.labels],
            np.concatenate([p.frame_ids for p in parts]),
            np.concatenate([p.instance_ids for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    def __getitem__(self, index: Any) -> Masks:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Masks(
            self.masks[index],
            self.boxes[index],
            self.scores[index],
            self.labels[index],
            self.frame_ids[index],
            self.instance_ids[index],
        )

    def __repr__(self) -> str:
        frames = sorted(set(self.frame_ids.tolist()))
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return f"Masks({len(self)} masks, labels={counts}, frames={frames})"

    @property
    def areas(self) -> np.ndarray:
        """(N,) pixel count of each mask."""
        return self.masks.reshape(len(self), -1).sum(axis=1)

    def render(self, max_frames: int = 4, images: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Masks drawn over their frames (up to ``max_frames`` frames side by side), H×W×3 uint8.

        ``images``: the frames' H×W×3 uint8 images, indexed by ``frame_ids`` (the kernel's frames'
        images: ``show(m)`` passes them, `output.in_context`); without them the masks are
        drawn on black.
        """
        from spatialclaw.primitives import pictures

        return pictures.masks_overlay(self, images, max_frames=max_frames)


@dataclass(eq=False)
class Object3D:
    """One physical object in the world frame, fused over the frames that saw it.

    Attributes:
        label: what it is (``"chair"``).
        points: (N, 3) float64 surface points seen by the cameras, metres (world frame).
        center: (3,) centre of its gravity-aligned oriented box, metres.
        size: (3,) box extents ``(length, width, height)`` in metres, length >= width;
            ``max(size)`` is the object's longest dimension.
        yaw: direction of the length side, radians counter-clockwise from world +x, in [-pi/2, pi/2).
        frames: sorted positions in the kernel's ``frames`` where it is visible.
        score: mean mask confidence.
        instance_id: the backend's identity of the object (ground-truth instance id), else -1.
        notes: plain sentences about the object, e.g. that it moves during the video (then it is
            described where it was first seen; `tracks3d` follows it).

    ``first_frame`` is ``frames[0]``; ``height_above_floor`` is the bottom of its box (z, metres).

    >>> o = Object3D.from_points("box", np.array([[0, 0, 0], [2, 0, 0], [2, 1, 0], [0, 1, 0.5]]), frames=[4, 2])
    >>> o.size.tolist(), o.first_frame
    ([2.0, 1.0, 0.5], 2)
    """

    label: str
    points: np.ndarray
    center: np.ndarray
    size: np.ndarray
    yaw: float
    frames: list[int]
    score: float = 1.0
    instance_id: int = -1
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.notes = [str(n) for n in self.notes]
        _check(isinstance(self.label, str), f"Object3D.label must be a string, got {type(self.label).__name__}")
        self.points = math3d.as_points(self.points, "Object3D.points")
        _check(len(self.points) > 0, "Object3D.points is empty: an object needs at least one 3D point")
        self.center = np.asarray(self.center, dtype=np.float64).reshape(-1)
        _check(self.center.shape == (3,), f"Object3D.center must be (3,) metres, got {self.center.shape}")
        self.size = np.asarray(self.size, dtype=np.float64).reshape(-1)
        _check(self.size.shape == (3,) and bool((self.size >= 0).all()), f"Object3D.size must be (3,) non-negative metres, got {self.size}")
        self.yaw = float(self.yaw)
        self.frames = sorted({int(f) for f in self.frames})
        _check(len(self.frames) > 0, "Object3D.frames is empty: an object is seen in at least one frame")

    @classmethod
    def from_points(
        cls, label: str, points: np.ndarray, frames: list[int], score: float = 1.0, instance_id: int = -1,
        notes: list[str] | None = None,
    ) -> Object3D:
        """An object whose box is fitted to ``points`` (see `math3d.oriented_box`)."""
        center, size, yaw = math3d.oriented_box(points)
        return cls(label, points, center, size, yaw, list(frames), score, int(instance_id), list(notes or []))

    @property
    def first_frame(self) -> int:
        """The earliest position in ``frames`` where the object is visible."""
        return self.frames[0]

    @property
    def height_above_floor(self) -> float:
        """z of the bottom of its box, metres."""
        return float(self.center[2] - self.size[2] / 2.0)

    def corners(self) -> np.ndarray:
        """(8, 3) box corners, metres: the 4 bottom ones counter-clockwise, then the 4 top ones."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        hx, hy, hz = self.size / 2.0
        local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
        xy = local @ np.array([[c, s], [-s, c]]) + self.center[:2]
        bottom = np.column_stack([xy, np.full(4, self.center[2] - hz)])
        top = np.column_stack([xy, np.full(4, self.center[2] + hz)])
        return np.vstack([bottom, top])

    def __repr__(self) -> str:
        c = ", ".join(f"{v:.2f}" for v in self.center)
        s = ", ".join(f"{v:.2f}" for v in self.size)
        return (
            f"Object3D({self.label!r}, center=({c}) m, size=({s}) m, yaw={np.degrees(self.yaw):.0f}°, "
            f"frames={self.frames}, {len(self.points)} points)" + "".join(f"\n  note: {n}" for n in self.notes)
        )

    def render(self) -> np.ndarray:
        """A top-down picture of the object's points and box, H×W×3 uint8."""
        from spatialclaw.primitives import pictures

        return pictures.top_down(None, objects=[self], size=400)
