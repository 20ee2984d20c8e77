"""MindCube (``MLL-Lab/MindCube``): spatial mental modelling from a few views, multiple choice.

Layout (dataset card, the official repository ``mll-lab-nu/MindCube``): one archive ``data.zip``
holding ``data/raw/MindCube_tinybench.jsonl`` (the evaluation split; ``MindCube_train.jsonl``
beside it) and ``data/other_all_image/...``. Each JSONL row has ``id``, ``question`` (options
written inside), ``gt_answer`` (a letter), ``images`` (paths relative to ``data/``),
``category``, ``type``. The archive is read as shipped or unpacked. The tinybench split is the
one read (the full ``MindCube.jsonl`` when it is the only one there).

Scoring (official ``src/evaluation/evaluator.py`` and ``core/base_metrics.py``): exact letter;
the setting comes from the id (``around``, ``rotation``, ``translation``, ``among``, else
``other``); per-setting accuracy, and the overall accuracy over all questions *except*
``translation``, which is tracked but left out of the overall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id, summary_from
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot

SETTINGS = ("around", "rotation", "translation", "among")


def setting_of(question_id: str) -> str:
    """MindCube's setting of a question, from its id (the official rule: first match in this order)."""
    lowered = question_id.lower()
    return next((s for s in SETTINGS if s in lowered), "other")


class MindCube(Benchmark):
    name = "mindcube"
    hf_id = "MLL-Lab/MindCube"
    title = "MindCube"
    media = "images"
    tasks = (*SETTINGS, "other")
    defaults = Defaults(frames=32, max_steps=10)
    files = "data.zip (data/raw/MindCube_tinybench.jsonl, data/other_all_image/...), shipped or unpacked"
    schema_source = "official repo mll-lab-nu/MindCube (README, src/evaluation/evaluator.py, core/extractors.py)"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.table_rows(data.first("data/raw/MindCube_tinybench.jsonl", "raw/MindCube_tinybench.jsonl",
                                          "data/raw/MindCube.jsonl", "raw/MindCube.jsonl"))

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("id",), position)
        images = []
        for k, rel in enumerate(row["images"]):
            path = data.find(f"data/{rel}", required=False) or data.find(str(rel))
            images.append(MediaRef("image", f"view {k + 1}", path))
        question = str(row["question"]).strip()
        return Record(rid, question, options_from_text(question), row["gt_answer"], letter(row["gt_answer"]),
                      setting_of(rid), images, extra={"category": row.get("category"), "type": row.get("type")})

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        summary = summary_from(rows, overall="questions")
        counted = [float(r["score"]) for r in rows if r["task"] != "translation"]
        summary["overall"] = sum(counted) / len(counted) if counted else None
        return summary
