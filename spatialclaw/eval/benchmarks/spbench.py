"""SPBench (``hongxingli/SPBench``, from SpatialLadder): VSI-Bench-style questions on a single image
(SPBench-SI) or on several views of a scene (SPBench-MV).

Layout (official evaluation ``ZJU-REAL/SpatialLadder`` ``eval_spld/evaluator.py`` and
``data_utils/spbench.py``): ``SPBench-SI/SPBench-SI.parquet`` and ``SPBench-MV/SPBench-MV.parquet``
with VSI-Bench's columns ``id, dataset, scene_name, question_type, question, options,
ground_truth`` plus ``images`` (frame file names), the images at
``<split>/images/<scene_name>/<frame>``. The Hugging Face repository ships them in zip archives
(VLMEvalKit unpacks every ``*.zip`` at its root); they are read as shipped or unpacked, found by
``<scene_name>/<frame>``. The exact archive names are not established here.

Scoring (``evaluator.py``: SPBench uses ``vsibench_eval``): VSI-Bench's rules — exact letter for
``object_rel_direction`` / ``object_rel_distance``, MRA for counting, distance and size; the
overall is the mean of the task means (`spatialclaw.eval.scoring`).
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.benchmarks.vsibench import VSIBench
from spatialclaw.eval.records import parse_record
from spatialclaw.eval.scoring import normalise_ground_truth


class SPBench(VSIBench):
    name = "spbench"
    hf_id = "hongxingli/SPBench"
    title = "SPBench"
    media = "image"
    split = "SPBench-SI"
    tasks = ("object_counting", "object_abs_distance", "object_size_estimation", "object_rel_distance", "object_rel_direction")
    defaults = Defaults(frames=32, max_steps=12)
    files = "SPBench-SI/SPBench-SI.parquet and SPBench-SI/images/<scene_name>/<frame> (or the shipped zips)"
    schema_source = "official ZJU-REAL/SpatialLadder eval_spld (evaluator.py, data_utils/spbench.py, vsibench.py); archive names not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        path = data.first(f"{self.split}/{self.split}.parquet", f"{self.split}.parquet", f"**/{self.split}.parquet")
        self._folder = path.parent
        return data.table_rows(path)

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        parsed = parse_record({k: v for k, v in row.items() if k != "images"}, f"{self.name} row {position}")
        images = []
        for frame in row["images"]:
            local = self._folder / "images" / parsed.scene_name / str(frame)
            path = local if local.is_file() else data.find(f"{parsed.scene_name}/{frame}")
            images.append(MediaRef("image", str(frame), path))
        target = normalise_ground_truth(parsed.ground_truth, parsed.question_type, parsed.options)
        return Record(parsed.id, parsed.question, parsed.options, row["ground_truth"], target, parsed.question_type, images,
                      extra={"dataset": parsed.dataset, "scene_name": parsed.scene_name})


class SPBenchMV(SPBench):
    name = "spbench_mv"
    title = "SPBench-MV"
    media = "images"
    split = "SPBench-MV"
    files = "SPBench-MV/SPBench-MV.parquet and SPBench-MV/images/<scene_name>/<frame> (or the shipped zips)"
