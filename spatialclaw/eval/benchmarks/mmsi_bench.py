"""MMSI-Bench (``RunsenXu/MMSI-Bench``): multi-image spatial reasoning, 1,000 four-choice questions.

Layout: ``MMSI_Bench.parquet`` with ``id``, ``images`` (a list of images embedded as bytes, or
Hugging Face Image structs ``{bytes, path}``), ``question`` (the options are written inside it),
``answer`` (a letter), ``question_type``, ``thought``. Source: the authors' lmms-eval task
(``tasks/mmsi_bench/utils.py``: ``doc["images"]`` decoded from bytes, ``doc["answer"]``,
``doc["question_type"]``) and public converters reading ``MMSI_Bench.parquet``.

Scoring (same file): exact letter; per ``question_type`` accuracy (``Obj.-Obj.`` written with an
en dash, ``Obj.–Obj.``, as its category aliases do) and the overall accuracy over all questions
(the "average" metric). The official extractor reads the letter inside backticks; here
the agent's answer is read by the shared letter parser.
"""

from __future__ import annotations

import re
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot


class MMSIBench(Benchmark):
    name = "mmsi_bench"
    hf_id = "RunsenXu/MMSI-Bench"
    title = "MMSI-Bench"
    media = "images"
    tasks = ("Positional Relationship (Cam.–Obj.)", "Positional Relationship (Obj.–Obj.)", "Positional Relationship (Cam.–Cam.)",
             "Positional Relationship (Obj.–Reg.)", "Positional Relationship (Cam.–Reg.)", "Positional Relationship (Reg.–Reg.)",
             "Attribute (Meas.)", "Attribute (Appr.)", "Motion (Cam.)", "Motion (Obj.)", "MSR")
    defaults = Defaults(frames=32, max_steps=12)
    files = "MMSI_Bench.parquet (id, images, question, answer, question_type)"
    schema_source = "lmms-eval tasks/mmsi_bench/utils.py (authors' task); file name from public converters"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("MMSI_Bench.parquet", "**/MMSI_Bench.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("id",), position)
        images = [MediaRef("image", f"image {k + 1}", data.image(cell, f"row {rid} images[{k}]")) for k, cell in enumerate(row["images"])]
        question = str(row["question"]).strip()
        task = re.sub(r"\((\w+\.)-(\w+\.)\)", r"(\1–\2)", str(row["question_type"]))  # the official aliases
        return Record(rid, question, options_from_text(question), row["answer"], letter(row["answer"]), task, images)
