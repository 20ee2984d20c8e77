"""Scored rows of a benchmark run: one per finished question, from the agent (`result_row`) or from
predictions made elsewhere (`score_predictions`: ``{"id", "prediction"}`` per line, no model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spatialclaw.errors import InputError
from spatialclaw.eval.benchmarks.base import Benchmark, Record
from spatialclaw.eval.results import relative_trajectory


def scored_row(bench: Benchmark, record: Record, prediction: object) -> dict[str, Any]:
    """The row of one prediction: id, task, prediction, what it read as, ground truth, score."""
    score = bench.score(record, prediction)
    return {
        "id": record.id, "task": record.task, "prediction": prediction, "parsed": score.parsed,
        "answer": record.answer, "target": record.target, "score": score.score, "unparsed": score.unparsed,
        **bench.row_fields(record),
    }


def result_row(bench: Benchmark, record: Record, outcome: Any, out: Path) -> dict[str, Any]:
    """`scored_row` of an agent's run, with its steps, usage, duration and trajectory folder."""
    trajectory = relative_trajectory(outcome.trajectory, out)
    return {
        **scored_row(bench, record, outcome.prediction), "answered": outcome.answered, "steps": outcome.steps,
        "usage": outcome.usage, "duration_s": round(outcome.duration_s, 3), "trajectory": trajectory,
    }


def read_predictions(path: Path) -> dict[str, Any]:
    """``{id: prediction}`` from a JSONL file of ``{"id", "prediction"}`` lines (ids as text).

    Raises:
        InputError: the file is missing, a line is not such an object, or an id repeats.
    """
    if not path.is_file():
        raise InputError.no_predictions_file(path)
    predictions: dict[str, Any] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError.bad_prediction_line(path, number, err.msg) from None
        if not isinstance(row, dict) or "id" not in row or "prediction" not in row:
            raise InputError.prediction_lacks(path, number)
        key = str(row["id"])
        if key in predictions:
            raise InputError.repeated_prediction(path, number, key)
        predictions[key] = row["prediction"]
    return predictions


def score_predictions(bench: Benchmark, records: list[Record], predictions: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score predictions made elsewhere by the benchmark's rules.

    A question without a prediction scores 0 and counts as unparsed (and as ``missing``); ids
    that are not the benchmark's are counted as ``unknown_ids``.

    Returns:
        The scored rows, and the summary (the benchmark's aggregate plus ``missing``,
        ``unknown_ids``, ``total``, ``errors``).
    """
    rows = [scored_row(bench, r, predictions.get(r.id)) for r in records]
    summary = bench.aggregate(rows)
    known = {r.id for r in records}
    summary.update(missing=sum(r.id not in predictions for r in records), unknown_ids=sum(k not in known for k in predictions),
                   total=len(records), errors=0, benchmark=bench.name, hf_id=bench.hf_id)
    return rows, summary
