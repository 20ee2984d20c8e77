"""BLINK (``BLINK-Benchmark/BLINK``), its spatial subsets.

Layout (repository tree and lmms-eval ``tasks/blink``): one folder per subtask
(``Relative_Depth/val-00000-of-00001.parquet``, ``test-...``) with ``idx``, ``question``,
``sub_task``, ``image_1`` … ``image_4`` (Hugging Face Image structs, absent ones null),
``choices`` (list of texts), ``answer`` (``"(A)"``), ``prompt`` (the question with its choices, as
the benchmark words it). The validation split is the one with answers.

Subsets: which BLINK subsets the published table calls "spatial" is not established; the default
is ``Relative_Depth``, ``Spatial_Relation``, ``Multi-view_Reasoning``, ``Object_Localization``,
``Visual_Correspondence`` and ``Counting`` (BLINK's perception tasks about 3D and layout). Set
``SUBSETS`` to change it.

Scoring (lmms-eval ``blink_process_results``): the letter against ``answer`` without brackets;
per-subtask accuracy, overall = the mean of the subtask accuracies (BLINK's table averages tasks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id, summary_from
from spatialclaw.eval.benchmarks.rules import lettered, letter
from spatialclaw.eval.benchmarks.storage import DataRoot

SUBSETS = ("Counting", "Multi-view_Reasoning", "Object_Localization", "Relative_Depth", "Spatial_Relation", "Visual_Correspondence")


class BLINK(Benchmark):
    name = "blink"
    hf_id = "BLINK-Benchmark/BLINK"
    title = "BLINK (spatial)"
    media = "images"
    tasks = SUBSETS
    defaults = Defaults(frames=32, max_steps=10)
    files = "<Subtask>/val-00000-of-00001.parquet for " + ", ".join(SUBSETS)
    schema_source = "repository tree + lmms-eval tasks/blink/utils.py; spatial subset list is an assumption"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for subset in SUBSETS:
            files = data.glob(f"{subset}/val-*.parquet")
            rows.extend(r for f in files for r in data.table_rows(f))
        if not rows:
            data.parquet_rows(*(f"{s}/val-*.parquet" for s in SUBSETS))
        return rows

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("idx",), position)
        keys = sorted((k for k in row if re.fullmatch(r"image_\d+", k)), key=lambda k: int(k.split("_")[1]))
        images = [MediaRef("image", key, data.image(row[key], f"{rid} {key}")) for key in keys if row[key] is not None]
        question = str(row.get("prompt") or row["question"]).strip()
        return Record(rid, question, lettered(row["choices"]), row["answer"], letter(row["answer"]), str(row["sub_task"]), images)

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summary_from(rows, overall="tasks")
