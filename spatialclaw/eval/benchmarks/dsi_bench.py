"""DSI-Bench (``Viglong/DSI-Bench``): dynamic spatial intelligence (object and camera motion in videos).

Layout (as public loaders describe the release; official evaluation
``SpatialVision/dsibench/evaluate.py``): ``metadatas/<aug>.csv`` for the four renderings
``std``, ``hflip``, ``reverse``, ``reverse_hflip`` with columns ``cate`` (0–5), ``relative_path``
(under ``videos/<aug>/``), ``video_type``, ``question``, ``options`` (``"A: x; B: y; ..."``),
``GT`` (a letter). A question's id is ``<aug>/<row>``; the renderings present are read (all four
for the official protocol). Not verified against the dataset card.

Scoring (the official sample-wise protocol): every (question, rendering) is one sample scored by
exact letter; overall = accuracy over all samples; per-category accuracies beside it.
"""

from __future__ import annotations

import re
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.rules import letter
from spatialclaw.eval.benchmarks.storage import DataRoot

AUGMENTATIONS = ("std", "hflip", "reverse", "reverse_hflip")
CATEGORIES = ("Obj:static cam", "Obj:moving cam", "Cam:static scene", "Cam:dynamic scene", "Obj-Cam distance", "Obj-Cam orientation")


def parse_options(text: str) -> list[str]:
    """``"A: x; B: y"`` → ``["A. x", "B. y"]``."""
    parts = re.split(r"(?:^|;)\s*([A-H])\s*[:.)]\s*", text)
    return [f"{parts[i]}. {parts[i + 1].strip().rstrip(';').strip()}" for i in range(1, len(parts) - 1, 2)]


class DSIBench(Benchmark):
    name = "dsi_bench"
    hf_id = "Viglong/DSI-Bench"
    title = "DSI-Bench"
    media = "video"
    tasks = CATEGORIES
    defaults = Defaults(frames=32, max_steps=10)
    files = "metadatas/{std,hflip,reverse,reverse_hflip}.csv and videos/<aug>/<relative_path>"
    schema_source = "public loaders citing SpatialVision/dsibench evaluate.py; not verified against the card"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        rows = []
        for aug in AUGMENTATIONS:
            path = data.find(f"metadatas/{aug}.csv", required=False, lazy=False)
            if path is not None:
                rows.extend({**row, "_aug": aug, "_row": k} for k, row in enumerate(data.table_rows(path)))
        if not rows:
            data.first(*(f"metadatas/{aug}.csv" for aug in AUGMENTATIONS))  # raises, naming what is expected
        return rows

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        aug, rel = row["_aug"], str(row["relative_path"]).strip()
        cate = int(row["cate"])
        task = CATEGORIES[cate] if 0 <= cate < len(CATEGORIES) else f"cate_{cate}"
        return Record(f"{aug}/{row['_row']}", str(row["question"]).strip(), parse_options(str(row["options"])), row["GT"],
                      letter(row["GT"]), task, [MediaRef("video", rel, data.find(f"videos/{aug}/{rel}"))], extra={"aug": aug})
