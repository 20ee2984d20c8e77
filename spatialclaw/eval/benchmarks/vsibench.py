"""VSI-Bench (``nyu-visionx/VSI-Bench``) and VSI-Bench-Debiased (same repository, ``test_debiased.parquet``).

Layout (dataset card and files of the repository): ``test.jsonl`` / ``test-00000-of-00001.parquet``
(all questions) and ``test_debiased.parquet`` (the questions kept by Iterative Bias Pruning), with
columns ``id, dataset, scene_name, question_type, question, options, ground_truth``; videos in
``arkitscenes.zip``, ``scannet.zip``, ``scannetpp.zip`` as ``<dataset>/<scene_name>.mp4`` (used as
shipped or unpacked). The row → record rules are `spatialclaw.eval.records` (kept for
``spatialclaw eval QUESTIONS``).

Scoring (lmms-eval ``tasks/vsibench/utils.py``, the authors' code): multiple choice by exact
letter, numbers by MRA over ``linspace(0.5, 0.95, 10)``; overall = mean of the task means with the
three ``object_rel_direction_*`` splits averaged first (`spatialclaw.eval.scoring`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.records import parse_record
from spatialclaw.eval.scoring import Score, normalise_ground_truth, score_prediction, summarise
from spatialclaw.tasks import MULTIPLE_CHOICE_TASKS, NUMERIC_TASKS


class VSIBench(Benchmark):
    name = "vsibench"
    hf_id = "nyu-visionx/VSI-Bench"
    title = "VSI-Bench"
    media = "video"
    tasks = MULTIPLE_CHOICE_TASKS + NUMERIC_TASKS
    defaults = Defaults(frames=32, max_steps=12)
    files = "test.jsonl or test-00000-of-00001.parquet, and <dataset>/<scene_name>.mp4 (or arkitscenes.zip, scannet.zip, scannetpp.zip)"
    schema_source = "dataset card + create_pq.py (HF nyu-visionx/VSI-Bench); scoring: lmms-eval tasks/vsibench/utils.py"
    patterns: tuple[str, ...] = ("test.jsonl", "test-*.parquet", "**/test-*.parquet")

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.table_rows(data.first(*self.patterns))

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        parsed = parse_record(row, f"{self.name} row {position}")
        folder = data.root / parsed.dataset / parsed.scene_name
        video = folder if folder.is_dir() else data.find(f"{parsed.dataset}/{parsed.scene_name}.mp4")
        return Record(
            id=parsed.id, question=parsed.question, options=parsed.options, answer=row["ground_truth"],
            target=normalise_ground_truth(parsed.ground_truth, parsed.question_type, parsed.options), task=parsed.question_type,
            inputs=[MediaRef("video", parsed.scene_name, video)], extra={"dataset": parsed.dataset},
        )

    def score(self, record: Record, prediction: object) -> Score:
        return score_prediction(prediction, record.target, record.task, record.options)

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summarise({"question_type": r["task"], "score": r["score"], "unparsed": r.get("unparsed")} for r in rows)


class VSIBenchDebiased(VSIBench):
    name = "vsibench_debiased"
    title = "VSI-Bench-Debiased"
    files = "test_debiased.parquet, and <dataset>/<scene_name>.mp4 (or arkitscenes.zip, scannet.zip, scannetpp.zip)"
    patterns = ("test_debiased.parquet", "**/test_debiased.parquet")
