"""VSI-Bench-style questions about a synthetic scene, with answers computed from its geometry.

Eight task types (VSI-Bench's names): ``object_counting``, ``object_size_estimation``,
``room_size_estimation``, ``object_abs_distance``, ``object_rel_distance``,
``object_rel_direction_easy`` / ``_medium`` / ``_hard``, ``route_planning``,
``obj_appearance_order``.

Rules that keep every answer exact and unambiguous:

- an object is *seen* when it covers at least ``min_pixels`` pixels in some rendered frame;
- questions name only seen objects; a question naming one object names a label that occurs
  exactly once in the room; counting asks only about labels whose every instance is seen;
- distances are closest-point distances between the objects' meshes (exact, see
  :func:`spatialclaw.synth.scene.object_distance`); positions for directions and routes are box
  centres on the floor;
- multiple-choice questions are asked only when the right option wins by a margin (distance
  0.25 m; angles 15° away from any boundary; appearance frames ``gap`` frames apart);
- in a scene whose objects move (``scene.motions``), distance, direction and route questions
  name only objects that stay put, and the questions of
  :mod:`spatialclaw.synth.motion_questions` follow the eight task types.

Records: ``{id, dataset, scene_name, question_type, question, options, ground_truth}``;
``options`` is a list of ``"A. ..."`` strings (None for numeric questions); ``ground_truth`` is
the option letter or the number as text (counts and centimetres as integers, metres and square
metres with two decimals).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import numpy as np

from spatialclaw.options import letter, lettered
from spatialclaw.synth.motion_questions import make_motion_questions
from spatialclaw.synth.render import Rendering
from spatialclaw.synth.scene import Scene, SceneObject, object_distance

DISTANCE_MARGIN = 0.25
"""Metres by which the closest object must beat the runner-up in ``object_rel_distance``."""

ANGLE_MARGIN = 15.0
"""Degrees a direction must stay away from any boundary between answers."""

TURN_LABELS = {"left": "Turn Left", "right": "Turn Right", "back": "Turn Back"}


def default_min_pixels(width: int, height: int) -> int:
    """Pixels an object must cover in one frame to count as seen: 0.2% of the image, at least 20."""
    return max(20, round(0.002 * width * height))


def signed_angle(forward: np.ndarray, to: np.ndarray) -> float:
    """Angle in degrees from 2D vector ``forward`` to ``to``, counter-clockwise (to the left) positive, in (-180, 180]."""
    a = math.degrees(math.atan2(to[1], to[0]) - math.atan2(forward[1], forward[0]))
    a = (a + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else a


def _far_from(angle: float, boundaries: tuple[float, ...], margin: float = ANGLE_MARGIN) -> bool:
    return all(abs((angle - b + 180.0) % 360.0 - 180.0) >= margin for b in boundaries)


def direction_easy(angle: float) -> str | None:
    """``left`` / ``right`` of the facing line, or None within the margin of straight ahead or behind."""
    if not _far_from(angle, (0.0, 180.0)):
        return None
    return "left" if angle > 0 else "right"


def direction_medium(angle: float) -> str | None:
    """``left`` / ``right`` / ``back`` (back: a turn of at least 135°), or None near a boundary."""
    if not _far_from(angle, (0.0, 135.0, -135.0)):
        return None
    if abs(angle) >= 135.0:
        return "back"
    return "left" if angle > 0 else "right"


def direction_hard(angle: float) -> str | None:
    """``front-left`` / ``front-right`` / ``back-left`` / ``back-right`` quadrant, or None near an axis."""
    if not _far_from(angle, (0.0, 90.0, -90.0, 180.0)):
        return None
    return ("front" if abs(angle) < 90.0 else "back") + "-" + ("left" if angle > 0 else "right")


def turn(angle: float) -> str | None:
    """The turn a route takes: ``left`` (50°–130°), ``right`` (-130°–-50°), ``back`` (>= 150°), else None."""
    if 50.0 <= angle <= 130.0:
        return "left"
    if -130.0 <= angle <= -50.0:
        return "right"
    if abs(angle) >= 150.0:
        return "back"
    return None


class _Builder:
    """Collects the questions of one scene."""

    def __init__(self, scene: Scene, rendering: Rendering, min_pixels: int, max_per_type: int, rng: np.random.Generator):
        self.scene = scene
        self.rng = rng
        self.max_per_type = max_per_type
        self.min_pixels = min_pixels
        first = rendering.first_visible(min_pixels)
        self.first_frame = first
        self.n_frames = len(rendering)
        counts = Counter(o.label for o in scene.objects)
        self.counts = counts
        self.seen = [o for o in scene.objects if o.id in first]
        self.unique = sorted((o for o in self.seen if counts[o.label] == 1), key=lambda o: o.label)
        moving = {m.id for m in scene.motions}
        self.still = [o for o in self.unique if o.id not in moving]  # where they stand is one place
        self.records: list[dict[str, Any]] = []

    def add(self, question_type: str, question: str, ground_truth: str, options: list[str] | None = None) -> None:
        self.records.append(
            {"question_type": question_type, "question": question, "options": options, "ground_truth": ground_truth}
        )

    def pick(self, candidates: list, k: int | None = None) -> list:
        """Up to ``k`` (default ``max_per_type``) candidates in a seeded random order."""
        k = self.max_per_type if k is None else k
        order = self.rng.permutation(len(candidates)) if candidates else []
        return [candidates[i] for i in order[:k]]

    # -- numeric ------------------------------------------------------------------------------
    def counting(self) -> None:
        labels = sorted(
            label for label, n in self.counts.items() if n >= 2 and all(o.id in self.first_frame for o in self.scene.objects if o.label == label)
        )
        for label in self.pick(labels):
            self.add("object_counting", f"How many {label}(s) are in this room?", str(self.counts[label]))

    def size(self) -> None:
        for obj in self.pick(self.unique):
            cm = round(float(np.max(obj.size)) * 100.0)
            self.add(
                "object_size_estimation",
                f"What is the length of the longest dimension (length, width, or height) of the {obj.label}, measured in centimeters?",
                str(cm),
            )

    def room(self) -> None:
        self.add(
            "room_size_estimation",
            "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the combined space.",
            f"{self.scene.floor_area:.2f}",
        )

    def abs_distance(self) -> None:
        pairs = [(a, b) for a, b in itertools.combinations(self.still, 2) if object_distance(a, b) >= 0.2]
        for a, b in self.pick(pairs):
            a, b = (a, b) if self.rng.random() < 0.5 else (b, a)
            self.add(
                "object_abs_distance",
                f"Measuring from the closest point of each object, what is the direct distance between the {a.label} and the {b.label} (in meters)?",
                f"{object_distance(a, b):.2f}",
            )

    # -- multiple choice ----------------------------------------------------------------------
    def rel_distance(self) -> None:
        made = 0
        for target in self.pick(self.still, len(self.still)):
            if made >= self.max_per_type:
                break
            others = [o for o in self.still if o is not target]
            if len(others) < 3:
                return
            choices = self.pick(others, 4)
            dist = sorted((object_distance(target, o), i) for i, o in enumerate(choices))
            if dist[1][0] - dist[0][0] < DISTANCE_MARGIN:
                continue
            names = ", ".join(o.label for o in choices)
            self.add(
                "object_rel_distance",
                f"Measuring from the closest point of each object, which of these objects ({names}) is the closest to the {target.label}?",
                letter(dist[0][1]),
                lettered([o.label for o in choices]),
            )
            made += 1

    def _angles(self) -> list[tuple[SceneObject, SceneObject, SceneObject, float]]:
        out = []
        for a, b, c in itertools.permutations(self.still, 3):
            ab = b.center[:2] - a.center[:2]
            ac = c.center[:2] - a.center[:2]
            if np.linalg.norm(ab) < 0.5 or np.linalg.norm(ac) < 0.5:
                continue
            out.append((a, b, c, signed_angle(ab, ac)))
        return out

    def rel_direction(self) -> None:
        triples = self._angles()
        stem = "If I am standing by the {a} and facing the {b}, "
        kinds = (
            ("object_rel_direction_easy", direction_easy, ["left", "right"], "is the {c} to the left or the right of the {b}?"),
            (
                "object_rel_direction_medium",
                direction_medium,
                ["left", "right", "back"],
                "is the {c} to my left, right, or back? An object is to my back if I would have to turn at least 135 degrees in order to face it.",
            ),
            (
                "object_rel_direction_hard",
                direction_hard,
                ["front-left", "front-right", "back-left", "back-right"],
                "is the {c} to my front-left, front-right, back-left, or back-right? The directions refer to the quadrants "
                "of a Cartesian plane (if I am standing at the origin and facing along the positive y-axis).",
            ),
        )
        for question_type, classify, answers, tail in kinds:
            usable = [(a, b, c, classify(angle)) for a, b, c, angle in triples if classify(angle) is not None]
            for a, b, c, answer in self.pick(usable):
                text = (stem + tail).format(a=a.label, b=b.label, c=c.label)
                self.add(question_type, text, letter(answers.index(answer)), lettered(answers))

    def route(self) -> None:
        routes = []
        for s, f, m, e in itertools.permutations(self.still, 4):
            legs = [f.center[:2] - s.center[:2], m.center[:2] - f.center[:2], e.center[:2] - m.center[:2]]
            if min(np.linalg.norm(v) for v in legs) < 0.8:
                continue
            turns = (turn(signed_angle(legs[0], legs[1])), turn(signed_angle(legs[1], legs[2])))
            if None not in turns:
                routes.append((s, f, m, e, turns))
        for s, f, m, e, turns in self.pick(routes, 1):
            right = ", ".join(TURN_LABELS[t] for t in turns)
            combos = [", ".join(TURN_LABELS[t] for t in c) for c in itertools.product(("left", "right", "back"), repeat=2)]
            wrong = self.pick([c for c in combos if c != right], 3)
            texts = wrong + [right]
            texts = [texts[i] for i in self.rng.permutation(len(texts))]
            question = (
                f"You are a robot beginning at the {s.label} facing the {f.label}. You want to navigate to the {e.label}. "
                "You will perform the following actions (Note: for each [please fill in], choose either 'turn back,' "
                f"'turn left,' or 'turn right.'): 1. Go forward until the {f.label} 2. [please fill in] "
                f"3. Go forward until the {m.label} 4. [please fill in] 5. Go forward until the {e.label}. "
                "You have reached the final destination."
            )
            self.add("route_planning", question, letter(texts.index(right)), lettered(texts))

    def appearance_order(self, gap: int) -> None:
        first_by_label: dict[str, int] = {}
        for obj in self.seen:
            first_by_label[obj.label] = min(first_by_label.get(obj.label, self.n_frames), self.first_frame[obj.id])
        labels = sorted(first_by_label)
        sets = []
        for group in itertools.combinations(labels, 4):
            frames = sorted(first_by_label[g] for g in group)
            if min(np.diff(frames)) >= gap:
                sets.append(group)
        for group in self.pick(sets, 1):
            asked = [group[i] for i in self.rng.permutation(4)]
            right = sorted(asked, key=lambda g: first_by_label[g])
            perms = [list(p) for p in itertools.permutations(asked) if list(p) != right]
            texts = [", ".join(p) for p in self.pick(perms, 3)] + [", ".join(right)]
            texts = [texts[i] for i in self.rng.permutation(4)]
            self.add(
                "obj_appearance_order",
                f"What will be the first-time appearance order of the following categories in the video: {', '.join(asked)}?",
                letter(texts.index(", ".join(right))),
                lettered(texts),
            )


def make_questions(
    scene: Scene,
    rendering: Rendering,
    *,
    dataset: str = "synth",
    start_id: int = 0,
    max_per_type: int = 2,
    min_pixels: int | None = None,
    appearance_gap: int | None = None,
) -> list[dict[str, Any]]:
    """VSI-Bench records about ``scene`` as ``rendering`` shows it, grouped by question type
    (counting, sizes, distances, directions, route, appearance order).

    Args:
        scene: the room and its objects.
        rendering: its frames (decides which objects are seen and when they first appear).
        dataset: the records' ``dataset`` field.
        start_id: ``id`` of the first record; the rest count up from it.
        max_per_type: at most this many questions per task type (route planning and appearance order: 1).
        min_pixels: pixels an object must cover in a frame to be seen (default :func:`default_min_pixels`).
        appearance_gap: frames between first appearances in an appearance-order question
            (default ``max(1, n_frames // 32)``, so sampling 32 frames keeps the order).

    Returns:
        A list of record dicts; the same scene and rendering give the same list.
    """
    width, height = rendering.size
    rng = np.random.default_rng([int(scene.seed), 7])
    b = _Builder(scene, rendering, min_pixels or default_min_pixels(width, height), max_per_type, rng)
    b.counting()
    b.size()
    b.room()
    b.abs_distance()
    b.rel_distance()
    b.rel_direction()
    b.route()
    b.appearance_order(appearance_gap or max(1, len(rendering) // 32))
    b.records += make_motion_questions(scene, rendering, b.min_pixels, max_per_type)
    out = []
    for i, rec in enumerate(b.records):
        out.append({"id": start_id + i, "dataset": dataset, "scene_name": scene.name, **rec})
    return out
