"""ViewSpatial-Bench (``lidingm/ViewSpatial-Bench``): camera- and person-perspective directions.

Layout (dataset files, as read by VLMEvalKit's ``viewspatialbench.py`` and public converters):
``ViewSpatial-Bench.json``, a list of ``{question_type, image_path (list), question, answer
("A. right"), choices ("A. ...\\nB. ...")}``, and the images in ``scannetv2_val.zip`` and
``val2017.zip``; ``image_path`` entries start with ``ViewSpatial-Bench/``, which is stripped. The
rows have no id: a question's id is its position in the file.

Scoring (lmms-eval ``tasks/viewspatial/utils.py``): the letter of the prediction against the
letter of ``answer``; per ``question_type`` accuracy, overall = accuracy over all questions.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot

PREFIX = "ViewSpatial-Bench/"


class ViewSpatial(Benchmark):
    name = "viewspatial"
    hf_id = "lidingm/ViewSpatial-Bench"
    title = "ViewSpatial-Bench"
    media = "images"
    tasks = ("Camera perspective - Relative Direction", "Camera perspective - Object View Orientation",
             "Person perspective - Relative Direction", "Person perspective - Object View Orientation",
             "Person perspective - Scene Simulation Relative Direction")
    defaults = Defaults(frames=32, max_steps=10)
    files = "ViewSpatial-Bench.json with scannetv2_val.zip and val2017.zip (or unpacked)"
    schema_source = "VLMEvalKit vlmeval/dataset/viewspatialbench.py + public loaders; scoring lmms-eval tasks/viewspatial/utils.py"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.table_rows(data.first("ViewSpatial-Bench.json", "**/ViewSpatial-Bench.json"))

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        paths = row["image_path"] if isinstance(row["image_path"], list) else [row["image_path"]]
        images = [MediaRef("image", p.removeprefix(PREFIX), data.find(p.removeprefix(PREFIX))) for p in paths]
        choices = str(row["choices"])
        options = options_from_text(choices)
        question = str(row["question"]).strip() if options else f"{str(row['question']).strip()}\n{choices}"
        return Record(str(position), question, options, row["answer"], letter(row["answer"]), str(row["question_type"]), images)
