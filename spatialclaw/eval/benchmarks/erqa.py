"""ERQA (``FlagEval/ERQA``): embodied reasoning questions over one or more images, multiple choice.

Layout: a parquet split (``data/test-*.parquet``, read as any ``*.parquet`` under the root) with
``question_id``, ``question`` (options written inside), ``question_type``, ``answer`` (a letter)
and ``images`` (a list of Hugging Face Image structs). Source: lmms-eval ``tasks/erqa/utils.py``
(``doc["images"]``, ``doc["answer"]``, ``doc["question_type"]``, ``doc["question_id"]``). The exact
parquet file name is not established here (any parquet under the root is read).

Scoring (same file): exact letter among A–D; the reported ERQA accuracy is over all questions,
with per-``question_type`` accuracies beside it.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot


class ERQA(Benchmark):
    name = "erqa"
    hf_id = "FlagEval/ERQA"
    title = "ERQA"
    media = "image"
    defaults = Defaults(frames=32, max_steps=10)
    files = "*.parquet (question_id, question, question_type, answer, images)"
    schema_source = "lmms-eval tasks/erqa/utils.py; parquet file name not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/test*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("question_id", "id"), position)
        images = [MediaRef("image", f"image {k + 1}", data.image(cell, f"question {rid} images[{k}]"))
                  for k, cell in enumerate(row["images"]) if cell is not None]
        question = str(row["question"]).strip()
        return Record(rid, question, options_from_text(question), row["answer"], letter(row["answer"]),
                      str(row.get("question_type") or "erqa"), images)
