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

from spatialclaw.errors import InputError
from spatialclaw.eval.scoring import normalise_ground_truth, task_kind

REQUIRED_FIELDS: tuple[str, ...] = ("id", "dataset", "scene_name", "question_type", "question", "ground_truth")
VIDEO_SUFFIX = ".mp4"


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
        raise InputError(
            f"scene {self.scene_name!r} of dataset {self.dataset!r} (question {self.id}) not found: expected "
            f"{video} or the folder {folder}/; put the benchmark's videos under --data-root as "
            f"<data-root>/<dataset>/<scene_name>.mp4"
        )


def _load_rows(path: Path) -> list[Any]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        except Exception as err:  # pyarrow raises several types for unreadable files
            raise InputError(f"cannot read {path} as parquet ({err}); give a VSI-Bench .parquet, .jsonl or .json file") from None
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise InputError(f"{path}:{number} is not valid JSON ({err.msg}); each line must be one record") from None
        return rows
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}); fix the file") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            return data["data"]
        if isinstance(data, list):
            return data
        raise InputError(f"{path} holds neither a list of records nor {{\"data\": [...]}}; give a VSI-Bench records file")
    raise InputError(f"{path}: unknown question-file type {suffix!r}; give a .jsonl, .json or .parquet file")


def _options(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"{where}: 'options' must be a list of strings, got {value!r}") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(o, str) for o in value):
        raise InputError(f"{where}: 'options' must be a list of strings, got {value!r}")
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
        raise InputError(f"{where}: a record must be an object with fields {', '.join(REQUIRED_FIELDS)}")
    missing = [name for name in REQUIRED_FIELDS if row.get(name) is None or str(row.get(name)).strip() == ""]
    if missing:
        raise InputError(f"{where}: record lacks field(s) {', '.join(missing)}; VSI-Bench records need {', '.join(REQUIRED_FIELDS)}")
    for name in ("dataset", "scene_name", "question_type", "question"):
        if not isinstance(row[name], str):
            raise InputError(f"{where}: field {name!r} must be text, got {row[name]!r}")
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
        raise InputError(f"{where}: {record.question_type} is multiple choice but the record has no options")
    try:
        normalise_ground_truth(record.ground_truth, record.question_type, options)
    except ValueError as err:
        raise InputError(f"{where}: {err}; fix the record") from None
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
        raise InputError(f"question file {path} not found; give the path of a VSI-Bench .jsonl, .json or .parquet file")
    rows = _load_rows(path)
    records: list[BenchmarkRecord] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        record = parse_record(row, f"{path.name} record {number}")
        if record.id in seen:
            raise InputError(f"{path.name} record {number}: id {record.id!r} appears twice; ids must be unique")
        seen.add(record.id)
        records.append(record)
    if not records:
        raise InputError(f"{path} holds no records")
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
        raise InputError(f"data root {root} is not a folder; pass --data-root with <dataset>/<scene_name>.mp4 files under it")
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
        more = f" ({len(missing_scenes)} scenes missing in all)" if len(missing_scenes) > 1 else ""
        raise InputError(f"{missing[0]}{more}")
    return resolved
