"""VSI-Bench question records: reading JSONL / JSON / parquet files and finding each record's input.

A record has the fields ``id, dataset, scene_name, question_type, question, options,
ground_truth`` (VSI-Bench's columns; extra columns are kept in ``extra``). Its input is
the folder ``<data-root>/<dataset>/<scene_name>/`` (an RGB-D folder in the ScanNet layout, or a
folder of images) when it exists, else the video ``<data-root>/<dataset>/<scene_name>.mp4``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialclaw.errors import QUESTION_FILE_FIX, QUESTION_JSON_FIX, RECORD_LINE_FIX, InputError
from spatialclaw.eval.scoring import normalise_ground_truth, task_kind
from spatialclaw.eval.table_files import RowFiles, unique_ids

REQUIRED_FIELDS: tuple[str, ...] = ("id", "dataset", "scene_name", "question_type", "question", "ground_truth")
VIDEO_SUFFIX = ".mp4"
QUESTION_FILES = RowFiles(
    suffixes=(".jsonl", ".json", ".parquet"),
    wrappers=("data",),
    object_values=False,
    parquet_fix=QUESTION_FILE_FIX,
    json_fix=QUESTION_JSON_FIX,
    line_fix=RECORD_LINE_FIX,
    not_rows=InputError.not_records,
)
"""A VSI-Bench question file: JSONL, a JSON list of records (or ``{"data": [...]}``), or parquet."""


@dataclass(frozen=True)
class BenchmarkRecord:
    """One benchmark question.

    Attributes:
        id: the record's id, as text (VSI-Bench's ids are integers).
        dataset: the source dataset, e.g. ``"scannet"``, ``"arkitscenes"``; a folder under the data root.
        scene_name: the scene, e.g. ``"scene0011_00"``; ``<scene_name>.mp4`` or a folder.
        question_type: VSI-Bench's question type, e.g. ``"object_counting"``.
        question: the question text.
        options: the options (``["A. left", "B. right", ...]``) for multiple choice, else ``None``.
        ground_truth: the answer: an option letter or a number written as text.
        extra: any other fields of the record, unchanged.
    """

    id: str
    dataset: str
    scene_name: str
    question_type: str
    question: str
    options: list[str] | None
    ground_truth: str
    extra: dict[str, Any] = field(default_factory=dict)

    def input_candidates(self, data_root: Path) -> tuple[Path, Path]:
        """The two places this record's input may be: the video file and the folder."""
        base = Path(data_root) / self.dataset
        return base / f"{self.scene_name}{VIDEO_SUFFIX}", base / self.scene_name

    def resolve_input(self, data_root: str | Path) -> Path:
        """This record's input under ``data_root``: the scene folder if present, else the ``.mp4``.

        The folder wins because it holds the same frames and possibly more (an RGB-D folder's
        depth, poses and instance masks, which ``--perception gt`` needs); VSI-Bench itself
        ships only the videos.

        Raises:
            InputError: neither exists.
        """
        video, folder = self.input_candidates(Path(data_root))
        if folder.is_dir():
            return folder
        if video.is_file():
            return video
        raise InputError.no_scene(self.scene_name, self.dataset, self.id, video, folder)


def _options(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError.bad_options(where, value) from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(o, str) for o in value):
        raise InputError.bad_options(where, value)
    return list(value) or None


def parse_record(row: Any, where: str) -> BenchmarkRecord:
    """Validate one raw row (a dict) into a :class:`BenchmarkRecord`.

    Args:
        row: the row as read from the file.
        where: where the row came from (``"questions.jsonl:12"``), for the error message.

    Raises:
        InputError: a field is missing or malformed, or the ground truth does not fit the question type.
    """
    if not isinstance(row, dict):
        raise InputError.not_a_record(where, REQUIRED_FIELDS)
    missing = [name for name in REQUIRED_FIELDS if row.get(name) is None or str(row.get(name)).strip() == ""]
    if missing:
        raise InputError.record_lacks(where, missing, REQUIRED_FIELDS)
    for name in ("dataset", "scene_name", "question_type", "question"):
        if not isinstance(row[name], str):
            raise InputError.field_not_text(where, name, row[name])
    options = _options(row.get("options"), where)
    record = BenchmarkRecord(
        id=str(row["id"]),
        dataset=row["dataset"],
        scene_name=row["scene_name"],
        question_type=row["question_type"],
        question=row["question"],
        options=options,
        ground_truth=str(row["ground_truth"]).strip(),
        extra={k: v for k, v in row.items() if k not in REQUIRED_FIELDS and k != "options"},
    )
    if task_kind(record.question_type, options) == "multiple_choice" and not options:
        raise InputError.no_options(where, record.question_type)
    try:
        normalise_ground_truth(record.ground_truth, record.question_type, options)
    except ValueError as err:
        raise InputError.bad_ground_truth(where, err) from None
    return record


def read_records(path: str | Path) -> list[BenchmarkRecord]:
    """Read and validate all records of a VSI-Bench question file.

    Args:
        path: a ``.jsonl`` file (one record a line), a ``.json`` file (a list of records, or
            ``{"data": [...]}``) or a ``.parquet`` file (VSI-Bench's own format).

    Raises:
        InputError: the file is missing, unreadable, has a malformed record, or repeats an id.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.no_question_file(path)
    rows = QUESTION_FILES.read(path)
    records = unique_ids(
        (parse_record(row, f"{path.name} record {number}") for number, row in enumerate(rows, start=1)),
        lambda position, record_id: InputError.repeated_record_id(f"{path.name} record {position + 1}", record_id),
    )
    if not records:
        raise InputError.no_records(path)
    return records


def check_inputs(records: Sequence[BenchmarkRecord], data_root: str | Path) -> dict[str, Path]:
    """Resolve every record's input, failing once for all missing scenes.

    Returns:
        ``{record id: input path}``.

    Raises:
        InputError: the data root is missing, or scenes are missing (the message names the first
            and how many there are).
    """
    root = Path(data_root)
    if not root.is_dir():
        raise InputError.no_data_root(root, released=False)
    resolved: dict[str, Path] = {}
    missing: list[InputError] = []
    missing_scenes: set[tuple[str, str]] = set()
    for record in records:
        try:
            resolved[record.id] = record.resolve_input(root)
        except InputError as err:
            missing.append(err)
            missing_scenes.add((record.dataset, record.scene_name))
    if missing:
        raise InputError.scenes_missing(missing[0], len(missing_scenes))
    return resolved
