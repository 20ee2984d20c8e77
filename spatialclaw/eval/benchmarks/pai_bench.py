"""PAI-Bench understanding (``shi-labs/physical-ai-bench-understanding``): physical-AI video questions.

Layout (lmms-eval ``tasks/physical_ai_understanding``: ``doc["question"]``, ``doc["index2ans"]``,
``doc["video_path"]``, target ``answer``; parquet path from public loaders):
``data/test-00000-of-00001.parquet`` with ``question``, ``index2ans`` (``{"A": text, ...}``,
unused letters null), ``answer`` (a letter), ``video_path`` (relative to the root, videos under
``videos/``), ``category``, ``subcategory``. Rows carry no id: the id is the row position.

Scoring (the lmms-eval task: ``exact_match`` with ``mean`` aggregation after extracting ``(X)``):
exact letter, overall = accuracy over all questions; per-category accuracies beside it.
"""

from __future__ import annotations

import json
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import letter
from spatialclaw.eval.benchmarks.storage import DataRoot


class PAIBench(Benchmark):
    name = "pai_bench"
    hf_id = "shi-labs/physical-ai-bench-understanding"
    title = "PAI-Bench"
    media = "video"
    tasks = ("Embodied Reasoning", "Common Sense")
    defaults = Defaults(frames=32, max_steps=10)
    files = "data/test-00000-of-00001.parquet and videos/... (video_path)"
    schema_source = "lmms-eval tasks/physical_ai_understanding/utils.py + yaml; parquet path from public loaders"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("data/test-*.parquet", "**/test-*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        choices = row["index2ans"] or {}
        if isinstance(choices, str):
            choices = json.loads(choices)
        options = [f"{k}. {v}" for k, v in sorted(choices.items()) if v is not None]
        rel = str(row["video_path"])
        video = data.find(rel, required=False) or data.find(f"videos/{rel}")
        return Record(row_id(row, ("id", "index"), position), str(row["question"]).strip(), options or None, row["answer"],
                      letter(row["answer"]), str(row.get("category") or "pai_bench"), [MediaRef("video", rel, video)],
                      extra={"subcategory": row.get("subcategory")})
