"""A synthetic room: walls, furniture with exact meshes and oriented boxes, and the camera's walking path.

World frame: metric, +z up, floor at z = 0; the room spans ``[0, W] × [0, D] × [0, H]``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

import spatialclaw.synth.geometry as geometry
from spatialclaw.synth.shapes import BASE_COLORS, WALL_LABELS, Part, build_parts, local_bounds

if TYPE_CHECKING:
    import open3d as o3d

    from spatialclaw.synth.motion import ObjectMotion


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One piece of furniture.

    Attributes:
        id: instance id (>= 1; 0 is the room itself in instance images).
        label: category name, e.g. ``"chair"``.
        position: (x, y) metres where the object's local origin (footprint centre) stands on the floor.
        yaw: rotation about +z, radians; the object's front faces ``(-sin(yaw), cos(yaw))``.
        parts: the solids it is made of, in its local frame.
        color: (3,) base RGB in [0, 1].
    """

    id: int
    label: str
    position: tuple[float, float]
    yaw: float
    parts: tuple[Part, ...]
    color: tuple[float, float, float]

    def _local_box(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = local_bounds(list(self.parts))
        return (lo + hi) / 2.0, hi - lo

    @property
    def size(self) -> np.ndarray:
        """(3,) extents of the oriented box along the object's own x (width), y (depth), z (height), metres."""
        return self._local_box()[1]

    @property
    def center(self) -> np.ndarray:
        """(3,) world centre of the oriented box, metres."""
        c, _ = self._local_box()
        xy = geometry.rotation_z(self.yaw) @ c[:2] + np.asarray(self.position, dtype=np.float64)
        return np.array([xy[0], xy[1], c[2]])

    def footprint(self) -> np.ndarray:
        """(4, 2) counter-clockwise corners of the box on the floor, metres."""
        return geometry.footprint(self.center[:2], self.size[:2], self.yaw)

    def contains(self, points: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """(N,) bool: which world points (N, 3) lie inside the oriented box grown by ``tol`` metres."""
        p = np.asarray(points, dtype=np.float64) - self.center
        local_xy = p[:, :2] @ geometry.rotation_z(self.yaw)
        half = self.size / 2.0 + tol
        return (np.abs(local_xy[:, 0]) <= half[0]) & (np.abs(local_xy[:, 1]) <= half[1]) & (np.abs(p[:, 2]) <= half[2])

    def world_transform(self) -> np.ndarray:
        """4×4 local-to-world transform (yaw about z, then the floor position)."""
        T = np.eye(4)
        T[:2, :2] = geometry.rotation_z(self.yaw)
        T[:2, 3] = self.position
        return T

    def part_meshes(self) -> list["o3d.geometry.TriangleMesh"]:
        """One legacy open3d mesh per part, in world coordinates."""
        T = self.world_transform()
        return [p.mesh().transform(T) for p in self.parts]

    def mesh(self) -> "o3d.geometry.TriangleMesh":
        """The whole object as one legacy open3d mesh in world coordinates."""
        import open3d as o3d

        out = o3d.geometry.TriangleMesh()
        for m in self.part_meshes():
            out += m
        return out

    @functools.cached_property
    def _solids(self) -> tuple["_Solid", ...]:
        """The parts as world-frame convex solids (the triangles of :meth:`part_meshes`), built once."""
        return tuple(_Solid.of(part.kind, m) for part, m in zip(self.parts, self.part_meshes()))

    def to_json(self) -> dict:
        """``{"id", "label", "center", "size", "yaw"}`` (metres, radians), rounded to 0.1 mm."""
        return {
            "id": self.id,
            "label": self.label,
            "center": [round(float(v), 4) for v in self.center],
            "size": [round(float(v), 4) for v in self.size],
            "yaw": round(float(self.yaw), 6),
        }


@dataclass(frozen=True, eq=False)
class _Solid:
    """One convex part in world coordinates (metres).

    Attributes:
        vertices: (N, 3) vertices of its mesh.
        triangles: (M, 3) vertex indices.
        lo: (3,) minimum corner of its axis-aligned bounding box.
        hi: (3,) maximum corner.
        footprint: (K, 2) counter-clockwise footprint when the part is a vertical prism (a box
            turned about z, or a cylinder), else None.
    """

    vertices: np.ndarray
    triangles: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    footprint: np.ndarray | None

    @staticmethod
    def of(kind: str, mesh: "o3d.geometry.TriangleMesh") -> "_Solid":
        """The solid of one part's world-frame mesh (``kind`` as in :class:`~spatialclaw.synth.shapes.Part`)."""
        v = np.asarray(mesh.vertices, dtype=np.float64)
        t = np.asarray(mesh.triangles, dtype=np.int64)
        footprint = None
        if kind in ("box", "cylinder"):
            from scipy.spatial import ConvexHull

            xy = np.unique(v[:, :2], axis=0)
            footprint = xy[ConvexHull(xy).vertices]
        for array in (v, t):
            array.flags.writeable = False
        return _Solid(v, t, v.min(axis=0), v.max(axis=0), footprint)

    def distance(self, other: "_Solid", box_gap: float) -> float:
        """Exact closest-point distance in metres between the two convex parts (0 when they touch).

        ``box_gap`` is the distance between their bounding boxes: the parts can overlap only where it is 0.
        """
        if self.footprint is not None and other.footprint is not None:
            return geometry.prism_distance(self.footprint, (self.lo[2], self.hi[2]), other.footprint, (other.lo[2], other.hi[2]))
        if box_gap == 0.0 and geometry.convex_overlap(self.vertices, self.triangles, other.vertices, other.triangles):
            return 0.0
        return geometry.surface_distance(self.vertices, self.triangles, other.vertices, other.triangles)


def _box_gaps(a: tuple["_Solid", ...], b: tuple["_Solid", ...]) -> np.ndarray:
    """(len(a), len(b)) distances between the parts' axis-aligned bounding boxes, metres (lower bounds)."""
    lo_a, hi_a = np.array([s.lo for s in a]), np.array([s.hi for s in a])
    lo_b, hi_b = np.array([s.lo for s in b]), np.array([s.hi for s in b])
    gap = np.maximum(np.maximum(lo_b[None] - hi_a[:, None], lo_a[:, None] - hi_b[None]), 0.0)
    return np.linalg.norm(gap, axis=2)


@dataclass(frozen=True)
class CameraPath:
    """A smooth walk around an ellipse while turning to look into the room.

    The camera walks once around the ellipse (``direction`` +1 counter-clockwise, -1 clockwise)
    and looks between 20° outward and 80° inward of its heading, swinging back and forth twice
    (``phase`` near -π/2 starts looking outward, so the room comes into view bit by bit); it
    pitches down by 12°–22° and bobs by 3 cm around ``height``.

    Attributes:
        center: (x, y) of the ellipse, metres.
        radii: (a, b) semi-axes along x and y, metres.
        start_angle: where on the ellipse the walk starts, radians.
        direction: +1 or -1.
        height: eye height, metres.
        phase: phase of the look-around swing, radians.
    """

    center: tuple[float, float]
    radii: tuple[float, float]
    start_angle: float = 0.0
    direction: int = 1
    height: float = 1.5
    phase: float = 0.0

    def _angle(self, t: np.ndarray) -> np.ndarray:
        return self.start_angle + self.direction * 2.0 * np.pi * t

    def ground_points(self, n: int = 256) -> np.ndarray:
        """(n, 2) points of the walk on the floor, metres, evenly spaced in time."""
        th = self._angle(np.arange(n) / n)
        return np.stack([self.center[0] + self.radii[0] * np.cos(th), self.center[1] + self.radii[1] * np.sin(th)], axis=1)

    def poses(self, n: int) -> np.ndarray:
        """(n, 4, 4) camera-to-world poses of n frames (camera x right, y down, z forward)."""
        return self.poses_at(np.arange(n) / n)

    def poses_at(self, t: np.ndarray) -> np.ndarray:
        """(len(t), 4, 4) camera-to-world poses at fractions ``t`` of the walk (0 = start, 1 = once around)."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        n = len(t)
        th = self._angle(t)
        xy = np.stack([self.center[0] + self.radii[0] * np.cos(th), self.center[1] + self.radii[1] * np.sin(th)], axis=1)
        heading = np.arctan2(self.direction * self.radii[1] * np.cos(th), -self.direction * self.radii[0] * np.sin(th))
        look = heading + self.direction * np.radians(30.0 + 50.0 * np.sin(2 * np.pi * 2 * t + self.phase))
        pitch = np.radians(-17.0 + 5.0 * np.sin(2 * np.pi * 3 * t + 2.0 * self.phase))
        z = self.height + 0.03 * np.sin(2 * np.pi * 6 * t)
        out = np.zeros((n, 4, 4))
        for i in range(n):
            out[i] = look_pose(np.array([xy[i, 0], xy[i, 1], z[i]]), float(look[i]), float(pitch[i]))
        return out

    def to_json(self) -> dict:
        """The path's parameters."""
        return {
            "center": [float(v) for v in self.center],
            "radii": [float(v) for v in self.radii],
            "start_angle": float(self.start_angle),
            "direction": int(self.direction),
            "height": float(self.height),
            "phase": float(self.phase),
        }


def look_pose(eye: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """4×4 camera-to-world pose at ``eye`` (3,) looking along ``yaw`` (from +x, ccw) and ``pitch`` (up > 0), radians."""
    f = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch)])
    r = np.cross(f, [0.0, 0.0, 1.0])
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = r, d, f, eye
    return T


@dataclass(frozen=True)
class RoomColors:
    """Base RGB in [0, 1] of the room's surfaces: floor, ceiling and the walls at y=0, x=W, y=D, x=0."""

    floor: tuple[float, float, float] = (0.55, 0.42, 0.30)
    ceiling: tuple[float, float, float] = (0.88, 0.88, 0.86)
    walls: tuple[tuple[float, float, float], ...] = ((0.80, 0.76, 0.68),) * 4


@dataclass(frozen=True, eq=False)
class Scene:
    """A rectangular room spanning ``[0, W] × [0, D] × [0, H]`` metres with furniture and a camera path.

    ``objects`` stand where they are at time 0; ``motions`` (see `spatialclaw.synth.motion`)
    make some of them slide along straight lines at constant speeds (none by default).
    """

    name: str
    seed: int
    room_size: tuple[float, float, float]
    objects: tuple[SceneObject, ...]
    path: CameraPath
    colors: RoomColors = field(default_factory=RoomColors)
    motions: tuple[ObjectMotion, ...] = ()

    @property
    def floor_area(self) -> float:
        """W × D, square metres."""
        return float(self.room_size[0] * self.room_size[1])

    def labels(self) -> dict[int, str]:
        """``{instance id: label}`` of every object."""
        return {o.id: o.label for o in self.objects}

    def object(self, instance_id: int) -> SceneObject:
        """The object with this instance id (KeyError when there is none)."""
        for o in self.objects:
            if o.id == instance_id:
                return o
        raise KeyError(instance_id)

    def to_json(self, n_frames: int | None = None) -> dict:
        """Ground truth as plain data: room size, objects (center, size, yaw) and camera path."""
        out = {
            "name": self.name,
            "seed": self.seed,
            "room_size": [round(float(v), 4) for v in self.room_size],
            "floor_area": round(self.floor_area, 4),
            "objects": [o.to_json() for o in self.objects],
            "camera_path": self.path.to_json(),
        }
        if n_frames is not None:
            out["camera_path"]["frames"] = n_frames
        return out


WALK_SPEED = 0.5
"""Metres per second along the camera path; sets the frame rate of a rendering."""

def frame_rate(scene: Scene, n_frames: int) -> float:
    """Frames per second of a rendering of ``n_frames`` walking at ``WALK_SPEED``, rounded to 0.1 (>= 1)."""
    return max(1.0, round(n_frames * WALK_SPEED / path_length(scene), 1))


def path_length(scene: Scene, samples: int = 1024) -> float:
    """Length in metres of the scene's camera walk."""
    pts = scene.path.ground_points(samples)
    return float(np.linalg.norm(np.diff(np.vstack([pts, pts[:1]]), axis=0), axis=1).sum())


def object_distance(a: SceneObject, b: SceneObject) -> float:
    """Closest-point distance in metres between two objects' meshes (:meth:`SceneObject.mesh`), 0 when they touch.

    Exact up to rounding: each object is a union of convex parts (boxes, 24-sided cylinders,
    faceted spheres), so this is the smallest exact distance between a part of ``a`` and a part
    of ``b``. Part pairs are tried in order of their bounding boxes' distance (a lower bound) and
    the search stops once that bound reaches the best distance found. A table's legs leave the
    space under its top empty, so this is often larger than :func:`object_box_distance`.
    """
    gaps = _box_gaps(a._solids, b._solids)
    best = math.inf
    for flat in np.argsort(gaps, axis=None, kind="stable"):
        i, j = divmod(int(flat), gaps.shape[1])
        if gaps[i, j] >= best:
            break
        best = min(best, a._solids[i].distance(b._solids[j], float(gaps[i, j])))
    return float(best)


def object_box_distance(a: SceneObject, b: SceneObject) -> float:
    """Closest-point distance in metres between the oriented boxes of two objects (a lower bound of :func:`object_distance`)."""
    return geometry.box_distance(a.center, a.size, a.yaw, b.center, b.size, b.yaw)


_WALL_YAWS = (0.0, math.pi / 2, math.pi, -math.pi / 2)  # backs against y=0, x=W, y=D, x=0


def _composition(rng: np.random.Generator, area: float) -> list[str]:
    """Labels to place, largest first: mostly single objects, several chairs, sometimes several plants or cabinets."""
    labels: list[str] = []
    if area > 24 or rng.random() < 0.35:
        labels.append("bed")
    if area > 18 or rng.random() < 0.8:
        labels.append("sofa")
    if rng.random() < 0.7:
        labels.append("bookshelf")
    if rng.random() < 0.85:
        labels.append("tv")
    labels += ["cabinet"] * int(rng.choice([0, 1, 1, 2]))
    if rng.random() < 0.9:
        labels.append("table")
    labels += ["chair"] * int(rng.integers(2, 5))
    labels += ["lamp"] * int(rng.choice([1, 1, 1, 2]))
    labels += ["plant"] * int(rng.choice([1, 1, 2, 3]))
    if rng.random() < 0.6:
        labels.append("trash can")
    return labels


def _try_place(
    parts: list[Part],
    label: str,
    rng: np.random.Generator,
    room: tuple[float, float],
    placed: list[np.ndarray],
    path_points: np.ndarray,
    *,
    gap: float = 0.1,
    clearance: float = 0.45,
    attempts: int = 300,
) -> tuple[tuple[float, float], float] | None:
    """A floor position and yaw for these parts that keeps the room, the other objects and the walk clear."""
    W, D = room
    lo, hi = local_bounds(parts)
    c_local, size = (lo + hi) / 2.0, hi - lo
    for _ in range(attempts):
        if label in WALL_LABELS:
            wall = int(rng.integers(0, 4))
            yaw = _WALL_YAWS[wall]
            R = geometry.rotation_z(yaw)
            along = rng.uniform(0.05, (W if wall in (0, 2) else D) - 0.05)
            back = rng.uniform(0.02, 0.08)
            depth_offset = back + size[1] / 2.0  # from the wall to the box centre
            center = {
                0: (along, depth_offset),
                1: (W - depth_offset, along),
                2: (along, D - depth_offset),
                3: (depth_offset, along),
            }[wall]
            position = np.asarray(center) - R @ c_local[:2]
        else:
            yaw = rng.uniform(-math.pi, math.pi)
            R = geometry.rotation_z(yaw)
            position = np.array([rng.uniform(0.1, W - 0.1), rng.uniform(0.1, D - 0.1)])
        poly = geometry.footprint(R @ c_local[:2] + position, size[:2], yaw)
        if poly[:, 0].min() < 0.02 or poly[:, 1].min() < 0.02 or poly[:, 0].max() > W - 0.02 or poly[:, 1].max() > D - 0.02:
            continue
        if geometry.points_to_polygon(path_points, poly).min() < clearance:
            continue
        if any(geometry.polygon_distance(poly, q) < gap for q in placed):
            continue
        return (float(position[0]), float(position[1])), float(yaw)
    return None


def _jitter(rng: np.random.Generator, rgb: tuple[float, float, float], amount: float = 0.08) -> tuple[float, float, float]:
    """``rgb`` made lighter or darker by up to ``amount`` and its hue shifted by a third of that."""
    shift = rng.uniform(-amount, amount) + rng.uniform(-amount / 3, amount / 3, 3)
    return tuple(float(v) for v in np.clip(np.asarray(rgb) + shift, 0.03, 0.97))


def generate_scene(seed: int, name: str | None = None) -> Scene:
    """A random furnished room, the same for the same ``seed``.

    The room is 4–8 m × 3–7 m with walls 2.6–3.0 m high; objects (sofa, bed, table, 2–4
    chairs, tv, cabinets, bookshelf, lamps, plants, trash can) stand on the floor without
    overlapping each other (>= 10 cm apart) or the camera's walk (>= 45 cm away). An object
    that finds no free spot is left out.

    Args:
        seed: any non-negative integer.
        name: the scene's name (default ``synth_<seed>``).
    """
    rng = np.random.default_rng(seed)
    W, D, H = (round(float(rng.uniform(lo, hi)), 2) for lo, hi in ((4.0, 8.0), (3.0, 7.0), (2.6, 3.0)))
    path = CameraPath(
        center=(W / 2 + float(rng.uniform(-0.15, 0.15)), D / 2 + float(rng.uniform(-0.15, 0.15))),
        radii=(max(0.4, W / 2 - float(rng.uniform(1.4, 1.6))), max(0.3, D / 2 - float(rng.uniform(1.4, 1.6)))),
        start_angle=float(rng.uniform(-math.pi, math.pi)),
        direction=1 if rng.random() < 0.5 else -1,
        height=float(rng.uniform(1.45, 1.55)),
        phase=float(rng.uniform(-0.5, 0.5)) - math.pi / 2,
    )
    path_points = path.ground_points(256)
    objects: list[SceneObject] = []
    polys: list[np.ndarray] = []
    for label in _composition(rng, W * D):
        parts = build_parts(label, rng)
        color = _jitter(rng, BASE_COLORS[label])
        spot = _try_place(parts, label, rng, (W, D), polys, path_points)
        if spot is None:
            continue
        obj = SceneObject(len(objects) + 1, label, spot[0], spot[1], tuple(parts), color)
        objects.append(obj)
        polys.append(obj.footprint())
    colors = RoomColors(
        floor=_jitter(rng, (0.55, 0.42, 0.30), 0.12),
        ceiling=_jitter(rng, (0.88, 0.88, 0.86), 0.04),
        walls=tuple(_jitter(rng, (0.78, 0.74, 0.66), 0.1) for _ in range(4)),
    )
    return Scene(name or f"synth_{seed}", seed, (W, D, H), tuple(objects), path, colors)
