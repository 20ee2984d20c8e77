"""The VSI-Bench task taxonomy: which question types exist, which are multiple choice, and how
they group into the eight tasks its tables report. Scoring (`spatialclaw.eval.scoring`) and the
synthetic benchmark (`spatialclaw.synth`) both read it from here.

Beside VSI-Bench's ten question types, the six motion types of dynamic synthetic scenes
(`MOTION_QUESTION_TYPES`) are scored the same way: by letter or by MRA.

>>> len(QUESTION_TYPES), len(TASK_ORDER)
(10, 8)
>>> task_of("object_rel_direction_hard")
'object_rel_direction'
"""

from __future__ import annotations

REL_DIRECTION_TASK = "object_rel_direction"
REL_DIRECTION_SPLITS: tuple[str, ...] = (
    "object_rel_direction_easy",
    "object_rel_direction_medium",
    "object_rel_direction_hard",
)
NUMERIC_TASKS: tuple[str, ...] = (
    "object_counting",
    "object_abs_distance",
    "object_size_estimation",
    "room_size_estimation",
)
"""Answered by a number, scored by Mean Relative Accuracy."""

MULTIPLE_CHOICE_TASKS: tuple[str, ...] = (
    "object_rel_distance",
    *REL_DIRECTION_SPLITS,
    "route_planning",
    "obj_appearance_order",
)
"""Answered by an option letter, scored by exact match."""

QUESTION_TYPES: tuple[str, ...] = NUMERIC_TASKS + MULTIPLE_CHOICE_TASKS
"""Every ``question_type`` of a VSI-Bench record, in the order of its papers' tables."""

TASK_ORDER: tuple[str, ...] = (*NUMERIC_TASKS, "object_rel_distance", REL_DIRECTION_TASK, "route_planning", "obj_appearance_order")
"""VSI-Bench's eight tasks (the direction splits as one), as its papers' tables print them."""

MOTION_NUMERIC_TASKS: tuple[str, ...] = ("object_travel_distance", "object_speed", "camera_displacement")
"""Motion answered by a number: metres, metres per second, metres (`spatialclaw.synth.motion_questions`)."""

MOTION_MULTIPLE_CHOICE_TASKS: tuple[str, ...] = ("object_moved", "object_approach", "object_move_direction")
"""Motion answered by an option letter."""

MOTION_QUESTION_TYPES: tuple[str, ...] = (
    "object_moved",
    "object_travel_distance",
    "object_speed",
    "object_approach",
    "object_move_direction",
    "camera_displacement",
)
"""The motion question types of dynamic scenes, in the order the synthetic benchmark asks them."""

SCORED_NUMERIC_TASKS: tuple[str, ...] = NUMERIC_TASKS + MOTION_NUMERIC_TASKS
"""Every question type scored by Mean Relative Accuracy."""

SCORED_MULTIPLE_CHOICE_TASKS: tuple[str, ...] = MULTIPLE_CHOICE_TASKS + MOTION_MULTIPLE_CHOICE_TASKS
"""Every question type scored by exact option letter."""

SUMMARY_ORDER: tuple[str, ...] = TASK_ORDER + MOTION_QUESTION_TYPES
"""The order of tasks in a summary: VSI-Bench's eight, then the motion tasks."""


def task_of(question_type: str) -> str:
    """The task a question type is reported under (the direction splits share one)."""
    return REL_DIRECTION_TASK if question_type in REL_DIRECTION_SPLITS else question_type
