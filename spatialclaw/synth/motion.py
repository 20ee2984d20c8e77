"""Objects that move: constant-velocity straight paths on the floor, chosen so nothing collides.

A moving object keeps its yaw and slides from where `generate_scene` put it (time 0) along a
straight line at a constant speed until the last frame. Its swept footprint (the convex hull
of its footprints at the start and the end) stays inside the room, ``clearance`` metres from
the camera's walk, and ``gap`` metres from every other object's footprint or swept footprint.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spatialclaw.synth import geometry
from spatialclaw.synth.scene import Scene, SceneObject, frame_rate
from spatialclaw.synth.shapes import WALL_LABELS

TRAVEL_M = (0.8, 2.0)
"""Range of the distance a moving object travels over the whole video, metres."""


@dataclass(frozen=True)
class ObjectMotion:
    """The motion of one object.

    Attributes:
        id: the object's instance id.
        velocity: (vx, vy) metres per second on the floor, constant from time 0 on.
    """

    id: int
    velocity: tuple[float, float]

    @property
    def speed(self) -> float:
        """Metres per second."""
        return float(math.hypot(*self.velocity))

    def offset(self, t: float) -> np.ndarray:
        """(3,) displacement of the object at time ``t`` seconds from where it stood at time 0, metres."""
        return np.array([self.velocity[0] * t, self.velocity[1] * t, 0.0])


def _swept(obj: SceneObject, travel: np.ndarray) -> np.ndarray:
    """(K, 2) counter-clockwise convex footprint the object covers while moving by ``travel`` (2,)."""
    from scipy.spatial import ConvexHull

    start = obj.footprint()
    corners = np.vstack([start, start + travel])
    return corners[ConvexHull(corners).vertices]


def _clear(poly: np.ndarray, room: tuple[float, float], others: list[np.ndarray], walk: np.ndarray, gap: float, clearance: float) -> bool:
    W, D = room
    if poly[:, 0].min() < 0.02 or poly[:, 1].min() < 0.02 or poly[:, 0].max() > W - 0.02 or poly[:, 1].max() > D - 0.02:
        return False
    if geometry.points_to_polygon(walk, poly).min() < clearance:
        return False
    return all(geometry.polygon_distance(poly, q) >= gap for q in others)


def choose_motions(
    scene: Scene, k: int, duration: float, seed: int, *, gap: float = 0.1, clearance: float = 0.45, attempts: int = 80
) -> tuple[ObjectMotion, ...]:
    """Up to ``k`` floor-standing objects of ``scene`` with straight constant-speed paths that collide with nothing.

    Objects whose label occurs once in the room are tried first (questions can name them).

    Args:
        scene: the room at time 0.
        k: how many objects should move.
        duration: seconds from the first to the last frame.
        seed: seeds the choice (the same seed, the same motions).
        gap: smallest distance between any two objects' footprints over the whole video, metres.
        clearance: smallest distance from a swept footprint to the camera's walk, metres.
        attempts: random paths tried per object.
    """
    if k <= 0 or duration <= 0:
        return ()
    rng = np.random.default_rng([int(seed), 11])
    counts: dict[str, int] = {}
    for o in scene.objects:
        counts[o.label] = counts.get(o.label, 0) + 1
    candidates = [o for o in scene.objects if o.label not in WALL_LABELS]
    order = rng.permutation(len(candidates))
    candidates = sorted((candidates[i] for i in order), key=lambda o: counts[o.label] > 1)
    footprints = {o.id: o.footprint() for o in scene.objects}
    walk = scene.path.ground_points(256)
    motions: list[ObjectMotion] = []
    for obj in candidates:
        if len(motions) >= k:
            break
        others = [p for i, p in footprints.items() if i != obj.id]
        for _ in range(attempts):
            angle = rng.uniform(-math.pi, math.pi)
            travel = rng.uniform(*TRAVEL_M) * np.array([math.cos(angle), math.sin(angle)])
            swept = _swept(obj, travel)
            if _clear(swept, scene.room_size[:2], others, walk, gap, clearance):
                footprints[obj.id] = swept
                motions.append(ObjectMotion(obj.id, (float(travel[0] / duration), float(travel[1] / duration))))
                break
    return tuple(motions)


def objects_at(scene: Scene, motions: tuple[ObjectMotion, ...], t: float) -> tuple[SceneObject, ...]:
    """The scene's objects where they are at time ``t`` seconds."""
    by_id = {m.id: m for m in motions}
    out = []
    for o in scene.objects:
        m = by_id.get(o.id)
        if m is None:
            out.append(o)
        else:
            dx, dy, _ = m.offset(t)
            out.append(dataclasses.replace(o, position=(o.position[0] + float(dx), o.position[1] + float(dy))))
    return tuple(out)


def motions_to_json(scene: Scene, motions: tuple[ObjectMotion, ...], times: np.ndarray) -> dict:
    """``{"times": [...], "motions": [{"id", "label", "velocity", "speed", "positions"}]}``: exact
    per-frame box centres (metres) of the moving objects, rounded to 0.1 mm, at the frames' times (s)."""
    out = []
    for m in motions:
        obj = scene.object(m.id)
        positions = [[round(float(v), 4) for v in obj.center + m.offset(float(t))] for t in times]
        out.append(
            {"id": m.id, "label": obj.label, "velocity": [round(v, 6) for v in m.velocity], "speed": round(m.speed, 6), "positions": positions}
        )
    return {"times": [round(float(t), 6) for t in times], "motions": out}


def with_motion(scene: Scene, k: int, n_frames: int) -> Scene:
    """``scene`` with up to ``k`` of its objects moving over a rendering of ``n_frames`` (``k = 0``: unchanged)."""
    if k <= 0:
        return scene
    duration = (n_frames - 1) / frame_rate(scene, n_frames)
    return dataclasses.replace(scene, motions=choose_motions(scene, k, duration, scene.seed))
