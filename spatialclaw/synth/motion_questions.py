"""Questions about motion in a synthetic scene whose objects move, with exact answers.

Six task types (``MOTION_QUESTION_TYPES``):

- ``object_moved`` (multiple choice): which of four objects moved during the video;
- ``object_travel_distance`` (metres): how far a moving object travelled between two times;
- ``object_speed`` (metres per second): its average speed;
- ``object_approach`` (multiple choice): whether, between two times, it came closer to another
  (static) object or went away from it (centre to centre, seen from above);
- ``object_move_direction`` (multiple choice): whether it moved to the left or the right as seen
  by the camera of the first frame;
- ``camera_displacement`` (metres): the straight-line distance the camera moved between two times.

Rules that keep answers exact and measurable:

- questions name only objects whose label occurs once in the room; a moving object is asked
  about only when it is seen (``min_pixels``) in at least two frames at least a second apart,
  and the times asked about lie within the time it is seen (rounded inward to 0.1 s);
- it must travel at least ``MIN_TRAVEL`` metres in that time; "closer / farther" needs the centre
  distance to change by ``MIN_TRAVEL``; "left / right" needs the motion at least 25° away from
  the first camera's viewing direction (and its opposite);
- camera times are 0.1 s multiples inside the video, at least ``MIN_TRAVEL`` metres apart; the
  answer is the camera path's exact position at those times.

Times in questions are seconds from the start of the video (frame ``i`` is at ``i / fps``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from spatialclaw.options import letter, lettered
from spatialclaw.synth.render import Rendering
from spatialclaw.synth.scene import Scene, SceneObject
from spatialclaw.tasks import MOTION_QUESTION_TYPES

__all__ = ["MOTION_QUESTION_TYPES", "MIN_TRAVEL", "make_motion_questions"]


MIN_TRAVEL = 0.3
"""Metres an object (or the camera) must move for a question about it to be asked."""

SIDE_MARGIN_DEG = 25.0
"""Degrees the motion must stay away from the first camera's viewing line in left/right questions."""



class _MotionBuilder:
    """Collects the motion questions of one scene."""

    def __init__(self, scene: Scene, rendering: Rendering, min_pixels: int, max_per_type: int):
        self.scene = scene
        self.rendering = rendering
        self.max_per_type = max_per_type
        self.rng = np.random.default_rng([int(scene.seed), 13])
        self.motion = {m.id: m for m in scene.motions}
        counts = rendering.pixel_counts()
        times = rendering.times
        labels = Counter(o.label for o in scene.objects)
        unique = [o for o in scene.objects if labels[o.label] == 1 and o.id < counts.shape[1]]
        self.seen = {o.id: times[counts[:, o.id] >= min_pixels] for o in unique}
        self.static = [o for o in unique if o.id not in self.motion and len(self.seen[o.id])]
        self.windows = {o.id: w for o in unique if o.id in self.motion and (w := self._window(o)) is not None}
        self.movers = [o for o in unique if o.id in self.windows]
        self.records: list[dict[str, Any]] = []

    def _window(self, obj: SceneObject) -> tuple[float, float] | None:
        """(t0, t1): 0.1 s multiples inside the time ``obj`` is seen, over which it travels enough."""
        seen = self.seen[obj.id]
        if len(seen) < 2:
            return None
        t0, t1 = math.ceil(seen[0] * 10 - 1e-9) / 10, math.floor(seen[-1] * 10 + 1e-9) / 10
        if t1 - t0 < 1.0 or self.motion[obj.id].speed * (t1 - t0) < MIN_TRAVEL:
            return None
        return t0, t1

    def centre(self, obj: SceneObject, t: float) -> np.ndarray:
        """(3,) box centre of ``obj`` at time ``t`` seconds, metres."""
        m = self.motion.get(obj.id)
        return obj.center if m is None else obj.center + m.offset(t)

    def add(self, question_type: str, question: str, ground_truth: str, options: list[str] | None = None) -> None:
        self.records.append({"question_type": question_type, "question": question, "options": options, "ground_truth": ground_truth})

    def pick(self, candidates: list, k: int | None = None) -> list:
        k = self.max_per_type if k is None else k
        order = self.rng.permutation(len(candidates)) if candidates else []
        return [candidates[i] for i in order[:k]]

    def moved(self) -> None:
        if len(self.static) < 3:
            return
        for mover in self.pick(self.movers):
            names = [mover.label] + [o.label for o in self.pick(self.static, 3)]
            names = [names[i] for i in self.rng.permutation(len(names))]
            self.add(
                "object_moved",
                f"Which of these objects ({', '.join(names)}) moved during the video?",
                letter(names.index(mover.label)),
                lettered(names),
            )

    def travel(self) -> None:
        for obj in self.pick(self.movers):
            t0, t1 = self.windows[obj.id]
            metres = self.motion[obj.id].speed * (t1 - t0)
            self.add(
                "object_travel_distance",
                f"How far did the {obj.label} travel between {t0:.1f} s and {t1:.1f} s of the video (in meters)?",
                f"{metres:.2f}",
            )

    def speed(self) -> None:
        for obj in self.pick(self.movers):
            self.add(
                "object_speed",
                f"What was the average speed of the {obj.label} while it was moving (in meters per second)?",
                f"{self.motion[obj.id].speed:.3f}",
            )

    def approach(self) -> None:
        pairs = []
        for a in self.movers:
            t0, t1 = self.windows[a.id]
            for b in self.static:
                d0 = np.linalg.norm(self.centre(a, t0)[:2] - b.center[:2])
                d1 = np.linalg.norm(self.centre(a, t1)[:2] - b.center[:2])
                if abs(d1 - d0) >= MIN_TRAVEL:
                    pairs.append((a, b, "closer" if d1 < d0 else "farther away"))
        for a, b, answer in self.pick(pairs):
            t0, t1 = self.windows[a.id]
            texts = ["closer", "farther away"]
            self.add(
                "object_approach",
                f"Between {t0:.1f} s and {t1:.1f} s of the video, did the {a.label} move closer to the {b.label} or farther away from it?",
                letter(texts.index(answer)),
                lettered(texts),
            )

    def direction(self) -> None:
        pose = self.rendering.poses[0]
        forward, right = pose[:2, 2], pose[:2, 0]
        forward, right = forward / np.linalg.norm(forward), right / np.linalg.norm(right)
        usable = []
        for obj in self.movers:
            v = np.asarray(self.motion[obj.id].velocity)
            side = float(v @ right) / np.linalg.norm(v)
            if abs(side) >= math.sin(math.radians(SIDE_MARGIN_DEG)):
                usable.append((obj, "right" if side > 0 else "left"))
        for obj, answer in self.pick(usable):
            texts = ["left", "right"]
            self.add(
                "object_move_direction",
                f"Seen from where the camera is in the first frame, did the {obj.label} move to the left or to the right?",
                letter(texts.index(answer)),
                lettered(texts),
            )

    def camera(self) -> None:
        n, fps = len(self.rendering), self.rendering.fps
        last = math.floor((n - 1) / fps * 10) / 10
        made = 0
        for _ in range(20):
            if made >= self.max_per_type or last < 1.0:
                break
            t0 = round(float(self.rng.uniform(0.0, last / 2)), 1)
            t1 = round(float(self.rng.uniform(t0 + 0.5, last)), 1)
            if t1 <= t0 or t1 > last:
                continue
            poses = self.scene.path.poses_at(np.array([t0, t1]) * fps / n)
            metres = float(np.linalg.norm(poses[1, :3, 3] - poses[0, :3, 3]))
            if metres < MIN_TRAVEL:
                continue
            self.add(
                "camera_displacement",
                f"How far did the camera move in a straight line between {t0:.1f} s and {t1:.1f} s of the video (in meters)?",
                f"{metres:.2f}",
            )
            made += 1


def make_motion_questions(scene: Scene, rendering: Rendering, min_pixels: int, max_per_type: int = 2) -> list[dict[str, Any]]:
    """Records (without ``id``, ``dataset``, ``scene_name``) of the motion task types, in `MOTION_QUESTION_TYPES` order.

    Args:
        scene: the room; questions are made only when ``scene.motions`` is not empty.
        rendering: its frames (decides what is seen and when).
        min_pixels: pixels an object must cover in a frame to be seen in it.
        max_per_type: at most this many questions per type.
    """
    if not scene.motions:
        return []
    b = _MotionBuilder(scene, rendering, min_pixels, max_per_type)
    b.moved()
    b.travel()
    b.speed()
    b.approach()
    b.direction()
    b.camera()
    return b.records
