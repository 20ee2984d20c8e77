"""OSI-Bench (``HarmlessSR07/OSI-Bench``): object-centric spatial intelligence in videos of moving scenes.

Layout (lmms-eval ``tasks/osi_bench/utils.py``: fields and video lookup): a parquet split
(read as any ``*.parquet`` under the root) with ``question``, ``answer``, ``category``,
``question_type`` (``"numerical"`` or ``"mcq"``), ``options`` (``["A. ...", ...]``), ``file_name``
(else ``video`` + ``.mp4``), ``video_length`` (s); videos at the root or under ``videos/``.

Scoring (same file): numeric categories by MRA over ``linspace(0.5, 0.95, 10)``; for
``absolute_speed`` and ``absolute_displacement`` a ground truth of 0 counts any prediction below
0.30 as right and otherwise scores against 0.30 (``trajectory_length``: 2.0); multiple choice by
exact letter. Overall = the mean over all questions; per-category means beside it.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import choice_score, letter, lettered, mra
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score, parse_number

NUMERIC = ("absolute_distance", "relative_direction_angular", "trajectory_length", "absolute_speed",
           "absolute_displacement", "object_3d_localization", "depth_aware_counting")
ZERO_THRESHOLD = {"absolute_speed": 0.30, "absolute_displacement": 0.30, "trajectory_length": 2.0}


def osi_mra(pred: float, target: float, category: str) -> float:
    """OSI-Bench's MRA: VSI-Bench's, with the zero-ground-truth rule of the motion categories."""
    threshold = ZERO_THRESHOLD.get(category)
    if threshold is not None and target == 0.0:
        if pred < threshold:
            return 1.0
        target = threshold
    return mra(pred, target)


class OSIBench(Benchmark):
    name = "osi_bench"
    hf_id = "HarmlessSR07/OSI-Bench"
    title = "OSI-Bench"
    media = "video"
    tasks = (*NUMERIC, "relative_distance", "relative_direction_categorical", "relative_direction_categorical_cardinal",
             "relative_direction_categorical_ordinal", "trajectory_description")
    defaults = Defaults(frames=32, max_steps=12)
    files = "*.parquet (question, answer, category, question_type, options, file_name) and the .mp4 files"
    schema_source = "lmms-eval tasks/osi_bench/utils.py (fields, scoring); parquet file name not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/test*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        category = str(row.get("category") or "unknown")
        numeric = row.get("question_type") == "numerical" or category in NUMERIC
        name = str(row.get("file_name") or f"{row['video']}.mp4")
        video = data.find(f"videos/{name}", required=False) or data.find(name)
        options = lettered(row["options"]) if row.get("options") is not None and len(row["options"]) else None
        target = float(row["answer"]) if numeric else letter(row["answer"])
        return Record(row_id(row, ("id", "question_id"), position), str(row["question"]).strip(), None if numeric else options,
                      row["answer"], target, category, [MediaRef("video", name, video)],
                      extra={"numeric": numeric, "video_length": row.get("video_length")})

    def score(self, record: Record, prediction: object) -> Score:
        if not record.extra["numeric"]:
            return choice_score(prediction, record.target, record.options)
        value = parse_number(prediction)
        if value is None:
            return Score(0.0, None, "numeric")
        return Score(osi_mra(value, record.target, record.task), value, "numeric")
