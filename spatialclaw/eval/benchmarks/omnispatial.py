"""OmniSpatial (``qizekun/OmniSpatial``): single-image spatial reasoning, four choices.

Layout (official repository ``qizekun/OmniSpatial``, README and ``api_eval.py``): the leaderboard
split ``OmniSpatial-test.zip`` unpacks to ``data.json`` and one folder per task type
(``Complex_Logic/``, ``Dynamic_Reasoning/``, ``Perspective_Taking/``, ``Spatial_Interaction/``).
A row has ``id`` (``"15_1"``), ``question``, ``options`` (texts), ``answer`` (0-based index),
``task_type``, ``sub_task_type``; its image is ``<task_type>/<id before "_">.png``. The archive is
read as shipped (with or without an ``OmniSpatial-test/`` folder inside) or unpacked.

Scoring (``api_eval.py``): exact letter; accuracy per task type and sub-task, overall = correct /
all questions.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.rules import index_letter, lettered
from spatialclaw.eval.benchmarks.storage import DataRoot


class OmniSpatial(Benchmark):
    name = "omnispatial"
    hf_id = "qizekun/OmniSpatial"
    title = "OmniSpatial"
    media = "image"
    tasks = ("Complex_Logic", "Dynamic_Reasoning", "Perspective_Taking", "Spatial_Interaction")
    defaults = Defaults(frames=32, max_steps=10)
    files = "OmniSpatial-test.zip (data.json, <task_type>/<n>.png), shipped or unpacked"
    schema_source = "official repo qizekun/OmniSpatial (README, api_eval.py)"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        path = data.first("data.json", "OmniSpatial-test/data.json", "*/data.json")
        self._base = path.parent
        return data.table_rows(path)

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = str(row["id"])
        rel = f"{row['task_type']}/{rid.split('_')[0]}.png"
        local = self._base / rel
        image = local if local.is_file() else data.find(str(PurePosixPath("OmniSpatial-test") / rel), required=False) or data.find(rel)
        return Record(f"{row['task_type']}/{rid}", str(row["question"]).strip(), lettered(row["options"]), row["answer"],
                      index_letter(row["answer"]), str(row["task_type"]), [MediaRef("image", rel, image)],
                      extra={"sub_task_type": row.get("sub_task_type")})
