"""VSTI-Bench (``Journey9ni/vstibench``): spatio-temporal questions on indoor videos (VLM-3R).

Layout (the authors' lmms-eval task, ``VITA-Group/VLM-3R`` ``thinking-in-space/lmms_eval/tasks/vstibench``):
a parquet test split (read as any ``*.parquet`` under the root) with ``question_type``,
``question``, ``options`` (list), ``mc_answer`` (letter, multiple choice), ``ground_truth``
(number, numeric types) and ``video_path`` (relative to the root, or inside a shipped archive).
The parquet file name is not established here.

Scoring (same task): multiple choice by exact letter of ``mc_answer``; numeric
(``camera_obj_abs_dist``, ``camera_displacement``, ``camera_obj_dist_change``) by MRA over
``linspace(0.5, 0.95, 10)``; overall = mean of the per-question-type scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id, summary_from
from spatialclaw.eval.benchmarks.rules import choice_score, letter, lettered, number_score
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score

NUMERIC = ("camera_obj_abs_dist", "camera_displacement", "camera_obj_dist_change")
CHOICE = ("obj_obj_relative_pos_nf", "obj_obj_relative_pos_ud", "obj_obj_relative_pos_lr", "camera_obj_rel_dist_v1",
          "camera_obj_rel_dist_v2", "camera_obj_rel_dist_v3", "camera_movement_direction")


class VSTIBench(Benchmark):
    name = "vstibench"
    hf_id = "Journey9ni/vstibench"
    title = "VSTI-Bench"
    media = "video"
    tasks = CHOICE + NUMERIC
    defaults = Defaults(frames=16, max_steps=12)
    files = "*.parquet (question_type, question, options, mc_answer, ground_truth, video_path) and the videos"
    schema_source = "VLM-3R thinking-in-space/lmms_eval/tasks/vstibench/{utils.py,vstibench.yaml}; frames=16 as its paper"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/test*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        task = str(row["question_type"])
        numeric = task in NUMERIC
        rel = str(row["video_path"])
        answer = row["ground_truth"] if numeric else row["mc_answer"]
        options = None if numeric or row.get("options") is None else lettered(row["options"])
        return Record(row_id(row, ("id",), position), str(row["question"]).strip(), options, answer,
                      float(answer) if numeric else letter(answer), task, [MediaRef("video", rel, data.find(rel))])

    def score(self, record: Record, prediction: object) -> Score:
        if record.task in NUMERIC:
            return number_score(prediction, record.target)
        return choice_score(prediction, record.target, record.options)

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summary_from(rows, overall="tasks")
