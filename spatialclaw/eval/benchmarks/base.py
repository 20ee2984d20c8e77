"""What every benchmark module provides: the record type, per-benchmark defaults, and the
`Benchmark` base class (load records from the released files, score one answer, aggregate).

A benchmark module subclasses `Benchmark`, sets its facts (``name``, ``hf_id``, ``media``,
``tasks``, ``defaults``, ``files``, ``schema_source``) and implements ``rows`` (the released rows
as dicts) and ``record`` (one row as a `Record`). Scoring is ``score`` (one prediction) and
``aggregate`` (per-category, then overall, as the benchmark defines it); both default to exact
option letters with the overall the mean over questions, and modules override what differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spatialclaw.config import DEFAULTS
from spatialclaw.errors import InputError
from spatialclaw.eval.benchmarks.rules import choice_score
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score
from spatialclaw.eval.table_files import unique_ids

MediaKind = Literal["image", "video"]


@dataclass(frozen=True)
class MediaRef:
    """One input of a question: an image or a video file on disk (embedded images are written to
    the cache first, archive members extracted).

    Attributes:
        kind: ``"image"`` or ``"video"``.
        name: the benchmark's name for it (a column, a file name, ``"image 2"``).
        path: the file.
    """

    kind: MediaKind
    name: str
    path: Path
    archive: Path | None = None
    """The shipped archive the file still sits in (``path`` is where it will be extracted), or None."""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        entry = {"kind": self.kind, "name": self.name, "path": str(self.path)}
        if self.archive is not None:
            entry["archive"] = str(self.archive)
        return entry


@dataclass(frozen=True)
class Record:
    """One benchmark question, as the benchmark states it.

    Attributes:
        id: the question's id as the benchmark writes it (its row position when it has none).
        question: the question text given to the agent.
        options: the answer options (``"A. left"`` ...), or None for open answers.
        answer: the ground truth as the benchmark states it (``"(A)"``, ``2``, ``"A. right"``).
        target: what a prediction is compared with: an option letter, a number, or text.
        task: the question's category in the benchmark's own words (what scores aggregate by).
        inputs: one entry per image or video, in the benchmark's order.
        extra: other fields the scoring or the report needs (kept as released).
    """

    id: str
    question: str
    options: list[str] | None
    answer: Any
    target: Any
    task: str
    inputs: list[MediaRef]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``spatialclaw benchmarks show`` prints)."""
        return {
            "id": self.id, "question": self.question, "options": self.options, "answer": self.answer,
            "target": self.target, "task": self.task, "inputs": [m.to_dict() for m in self.inputs],
        }


@dataclass(frozen=True)
class Defaults:
    """Per-benchmark run settings (recorded in ``summary.json``).

    Attributes:
        frames: frames sampled per question (shared by a question's videos; images are all kept).
        fps: sample videos at this rate instead of ``frames`` (frames per second), or None.
        max_steps: model steps per question.
    """

    frames: int = DEFAULTS.frames
    fps: float | None = None
    max_steps: int = DEFAULTS.max_steps

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"frames": self.frames, "fps": self.fps, "max_steps": self.max_steps}


class Benchmark(ABC):
    """A benchmark: where its files are, how a row becomes a `Record`, and how it scores."""

    name: str = ""
    hf_id: str = ""
    title: str = ""
    media: str = "image"
    """``"image"``, ``"images"`` (multi-view), ``"video"`` or ``"videos"`` (several per question)."""
    tasks: tuple[str, ...] = ()
    defaults: Defaults = Defaults()
    files: str = ""
    """The released files this module reads, in one line (for ``benchmarks show`` and errors)."""
    schema_source: str = ""
    """Where the layout and the scoring rule come from (dataset card, official code, with where)."""
    gated: bool = False

    @abstractmethod
    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        """The released rows, in file order."""

    @abstractmethod
    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        """One row as a `Record` (``position``: the row's place in file order)."""

    def load(self, data_root: str | Path, cache_dir: Path | None = None, extract: bool = True) -> list[Record]:
        """Every record of the benchmark under ``data_root`` (the dataset repository's files).

        Args:
            data_root: the benchmark's folder.
            cache_dir: root of the caches (embedded images and archive members go there).
            extract: extract the media that sit in shipped archives now (else their `MediaRef`
                names the archive and the path they will have; ``benchmarks show`` uses this).

        Raises:
            InputError: a file is missing or a row is malformed (the message says which and what
                to do).
        """
        data = DataRoot(Path(data_root), cache_dir, self.files)
        data.defer = not extract
        records = unique_ids(
            (self._checked_record(row, position, data) for position, row in enumerate(self.rows(data))),
            lambda _position, record_id: InputError.repeated_benchmark_id(self.name, record_id),
        )
        if not records:
            raise InputError.no_questions(self.name, data_root, self.files)
        if data.pending:  # only when extract is False: find() defers archive members then
            records = [replace(r, inputs=[_in_archive(m, data.pending) for m in r.inputs]) for r in records]
        return records

    def _checked_record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        """`record`, with a row that does not fit the released layout as a one-line InputError."""
        try:
            return self.record(row, position, data)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise InputError.bad_row(self.name, position, err, self.files) from None

    def score(self, record: Record, prediction: object) -> Score:
        """Score one prediction (default: exact option letter)."""
        return choice_score(prediction, record.target, record.options)

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Per-task means and the overall (default: the mean over all questions)."""
        return summary_from(rows, overall="questions")

    def row_fields(self, record: Record) -> dict[str, Any]:
        """Fields of a record that its scored row carries for ``aggregate`` (default: none)."""
        return {}


def _in_archive(media: MediaRef, pending: Mapping[Path, tuple[Path, str]]) -> MediaRef:
    found = pending.get(media.path)
    return media if found is None else replace(media, archive=found[0])


def group_means(rows: Iterable[Mapping[str, Any]], key: str = "task") -> tuple[dict[str, float], dict[str, int]]:
    """Mean ``score`` and count per value of ``key``, sorted by name."""
    groups: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(float(row["score"]))
    names = sorted(groups)
    return {g: float(np.mean(groups[g])) for g in names}, {g: len(groups[g]) for g in names}


def summary_from(rows: Sequence[Mapping[str, Any]], overall: Literal["questions", "tasks"], key: str = "task") -> dict[str, Any]:
    """The summary shape every benchmark reports.

    Args:
        rows: scored rows (``task``, ``score`` in [0, 1], ``unparsed``).
        overall: ``"questions"``: the mean over all questions; ``"tasks"``: the mean of the task means.
        key: the row field the per-task table groups by.

    Returns:
        ``{"overall", "per_task", "n", "n_per_task", "unparsed"}`` (scores as fractions).
    """
    per_task, counts = group_means(rows, key)
    if not rows:
        value = None
    elif overall == "questions":
        value = float(np.mean([float(r["score"]) for r in rows]))
    else:
        value = float(np.mean(list(per_task.values())))
    return {"overall": value, "per_task": per_task, "n": len(rows), "n_per_task": counts,
            "unparsed": sum(bool(r.get("unparsed")) for r in rows)}


def row_id(row: Mapping[str, Any], keys: Sequence[str], position: int) -> str:
    """The row's id from the first of ``keys`` it has, else its position in file order."""
    for key in keys:
        value = row.get(key)
        if value is not None and str(value) != "":
            return str(value)
    return str(position)
