"""SPAR-Bench (``jasonzhango/SPAR-Bench``): spatial perception and reasoning over one or several views.

Layout (lmms-eval ``tasks/sparbench/utils.py``: ``doc["image"]``, ``doc["question"]``,
``doc["answer"]``, ``doc["task"]``): a parquet test split (read as any ``*.parquet`` under the
root; the file name is not established here) whose ``image`` column holds a list of Hugging Face
Image structs (one image, or several views for the ``_mv`` tasks); options are written inside
``question``. Rows with an ``id`` column keep it; otherwise the id is the row position.

Scoring (same file): multiple-choice tasks by exact letter; depth and distance tasks by MRA over
``linspace(0.5, 0.95, 10)`` (a ground truth of 0 compares the absolute error); ``view_change_infer`` by the mean MRA of the five signed movement
components (``move_right - move_left``, ``move_up - move_down``, ``move_forward - move_backward``,
``rotate_right - rotate_left``, ``rotate_up - rotate_down``) parsed from ``"name:value, ..."``.
Overall = mean of the task scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id, summary_from
from spatialclaw.eval.benchmarks.rules import MRA_THRESHOLDS, choice_score, letter, mra, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score, parse_number

NUMERIC = ("depth_prediction_oc", "depth_prediction_oo", "distance_prediction_oc", "distance_prediction_oo",
           "depth_prediction_oc_mv", "depth_prediction_oo_mv", "distance_prediction_oo_mv", "distance_prediction_oc_mv")
VIEW_CHANGE = "view_change_infer"
AXES = (("move_right", "move_left"), ("move_up", "move_down"), ("move_forward", "move_backward"),
        ("rotate_right", "rotate_left"), ("rotate_up", "rotate_down"))


def spar_mra(pred: float, target: float) -> float:
    """SPAR-Bench's MRA: VSI-Bench's, except that a ground truth of 0 compares the absolute error
    (``|pred|``) with the tolerances ``1 - θ`` (the official ``abs_dist_norm``)."""
    if target == 0.0:
        return float(np.mean(abs(float(pred)) <= 1.0 - MRA_THRESHOLDS))
    return mra(pred, target)


def movements(text: str) -> list[float]:
    """The five signed components of a ``"move_left:0.3,rotate_right:20"`` instruction.

    Raises:
        ValueError: the text is not ``name:value`` pairs.
    """
    values: dict[str, float] = {}
    for item in str(text).split(","):
        key, value = item.split(":")
        values[key.strip()] = float(value)
    return [values.get(a, 0.0) - values.get(b, 0.0) for a, b in AXES]


def view_change_score(prediction: object, answer: str) -> Score:
    """SPAR-Bench's view-change metric: the mean MRA of the five components (0 when unreadable)."""
    try:
        pred = movements(str(prediction))
    except ValueError:
        return Score(0.0, None, "numeric")
    gt = movements(answer)
    return Score(float(np.mean([spar_mra(p, g) for p, g in zip(pred, gt)])), str(prediction), "numeric")


class SPARBench(Benchmark):
    name = "spar_bench"
    hf_id = "jasonzhango/SPAR-Bench"
    title = "SPAR-Bench"
    media = "images"
    tasks = ("obj_spatial_relation_oo", "obj_spatial_relation_oc_mv", "obj_spatial_relation_oo_mv", "spatial_imagination_oc",
             "spatial_imagination_oo", "spatial_imagination_oc_mv", "spatial_imagination_oo_mv", "position_matching",
             "camera_motion_infer", "distance_infer_center_oo", "distance_infer_center_oo_mv", *NUMERIC, VIEW_CHANGE)
    defaults = Defaults(frames=32, max_steps=12)
    files = "*.parquet (image, question, answer, task)"
    schema_source = "lmms-eval tasks/sparbench/utils.py (fields, metrics); parquet file name not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/test*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("id",), position)
        cells = row["image"] if isinstance(row["image"], list) else [row["image"]]
        images = [MediaRef("image", f"view {k + 1}", data.image(c, f"row {rid} image[{k}]")) for k, c in enumerate(cells)]
        task, question = str(row["task"]), str(row["question"]).strip()
        if task in NUMERIC:
            target: Any = float(row["answer"])
        elif task == VIEW_CHANGE:
            target = str(row["answer"])
        else:
            target = letter(row["answer"])
        options = None if task in NUMERIC or task == VIEW_CHANGE else options_from_text(question)
        return Record(rid, question, options, row["answer"], target, task, images)

    def score(self, record: Record, prediction: object) -> Score:
        if record.task in NUMERIC:
            value = parse_number(prediction)
            return Score(0.0, None, "numeric") if value is None else Score(spar_mra(value, record.target), value, "numeric")
        if record.task == VIEW_CHANGE:
            return view_change_score(prediction, record.target)
        return choice_score(prediction, record.target, record.options)

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summary_from(rows, overall="tasks")
