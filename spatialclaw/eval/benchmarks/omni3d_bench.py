"""Omni3D-Bench (``dmarsili/Omni3D-Bench``, from VADAR): 3D questions on single real images with
yes/no, one-word, count and metric answers.

Layout: a parquet ``train`` split (read as any ``*.parquet`` under the root) with ``image`` (a
Hugging Face Image struct), ``image_index``, ``q_index``, ``question``, ``answer_type``
(``"int"``, ``"str"``, ``"float"``) and ``answer``; the repository also ships
``omni3d-bench.zip`` (``annotations.json`` + images), not read here. Source: public loaders of
the Hugging Face split (``image_index``, ``q_index``, ``question``, ``answer_type``, ``answer``;
501 questions on 201 images); the parquet file name is not verified. A question's id is
``<image_index>_<q_index>``.

Scoring (VLMEvalKit ``dataset/utils/omni3dbench.py``, ported from the authors' evaluation):
``int`` answers by exact count; ``str`` answers ``yes``/``no`` by the word appearing in the
prediction (``true``/``false`` count as yes/no), other ``str`` answers by exact lower-case match;
``float`` answers by MRA with *strict* thresholds: the mean over t ∈ {0.50, 0.45, …, 0.05} of
``|gt - pred| / gt < t``. The four kinds are reported separately; the overall here is the mean of
the four kinds present (the official code reports no single number: an assumption).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, summary_from
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score, parse_number

STRICT_THRESHOLDS = tuple(round(0.5 - 0.05 * k, 2) for k in range(10))
KINDS = {"int": "count", "float": "numeric (other)"}


def strict_mra(pred: float, gt: float) -> float:
    """Omni3D-Bench's MRA: the fraction of t in 0.50 ... 0.05 with ``|gt - pred| / gt < t``."""
    if gt == 0 or not math.isfinite(pred):
        return 0.0
    return float(np.mean([abs(gt - pred) / gt < t for t in STRICT_THRESHOLDS]))


def _kind(answer_type: str, answer: str) -> str:
    if answer_type in KINDS:
        return KINDS[answer_type]
    return "yes/no" if answer.strip().lower() in ("yes", "no") else "multiple choice"


class Omni3DBench(Benchmark):
    name = "omni3d_bench"
    hf_id = "dmarsili/Omni3D-Bench"
    title = "Omni3D-Bench"
    media = "image"
    tasks = ("yes/no", "multiple choice", "count", "numeric (other)")
    defaults = Defaults(frames=32, max_steps=12)
    files = "*.parquet (image, image_index, q_index, question, answer_type, answer)"
    schema_source = "VLMEvalKit dataset/utils/omni3dbench.py (scoring) + public loaders of the HF split (columns); parquet name not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/train*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = f"{row['image_index']}_{row['q_index']}"
        answer_type, answer = str(row["answer_type"]), str(row["answer"]).strip()
        target: Any = int(float(answer)) if answer_type == "int" else float(answer) if answer_type == "float" else answer.lower()
        image = data.image(row["image"], f"question {rid} image")
        return Record(rid, str(row["question"]).strip(), None, row["answer"], target, _kind(answer_type, answer),
                      [MediaRef("image", f"image {row['image_index']}", image)], extra={"answer_type": answer_type})

    def score(self, record: Record, prediction: object) -> Score:
        kind = record.task
        if kind in ("count", "numeric (other)"):
            value = parse_number(prediction)
            if value is None:
                return Score(0.0, None, "numeric")
            if kind == "count":
                return Score(float(value == record.target), value, "numeric")
            return Score(strict_mra(value, record.target), value, "numeric")
        text = str(prediction).strip().lower() if isinstance(prediction, (str, bool)) else None
        if text is None or not text:
            return Score(0.0, None, "multiple_choice")
        if kind == "yes/no":
            said = record.target in text or (record.target == "yes" and "true" in text) or (record.target == "no" and "false" in text)
            return Score(float(said), text, "multiple_choice")
        return Score(float(text == record.target), text, "multiple_choice")

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summary_from(rows, overall="tasks")
