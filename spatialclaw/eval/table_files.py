"""Files of question rows: reading a parquet, JSON, JSONL or CSV file by its suffix, and keeping
the records made from the rows only while their ids are unique.

Two kinds of file are read here, each with its own words for what went wrong: a VSI-Bench
question file the user gives (`spatialclaw.eval.records`) and a benchmark's released files
(`spatialclaw.eval.benchmarks.storage`). A `RowFiles` says what differs between them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from spatialclaw.errors import InputError


@dataclass(frozen=True)
class RowFiles:
    """What a caller accepts as a file of rows, and what its errors tell the user to do.

    Attributes:
        suffixes: the accepted suffixes, lower case, in the order an error lists them; any of
            ``.parquet``, ``.jsonl``, ``.json``, ``.csv``.
        wrappers: keys of a JSON object whose value is the list of rows; the first one present wins.
        object_values: whether a JSON object with none of ``wrappers`` holds the rows as its values.
        parquet_fix: what to do about a parquet file that cannot be read (the end of the message).
        json_fix: what to do about a JSON file that does not parse.
        line_fix: what to do about a JSONL line that does not parse.
        not_rows: the error for a JSON file that holds no list of rows, given its path.
    """

    suffixes: tuple[str, ...]
    wrappers: tuple[str, ...]
    object_values: bool
    parquet_fix: str
    json_fix: str
    line_fix: str
    not_rows: Callable[[Path], InputError]

    def read(self, path: Path) -> list[Any]:
        """The rows of ``path``, by its suffix (rows are dicts unless the file says otherwise).

        Raises:
            InputError: the suffix is not one of `suffixes`, or the file does not parse or holds no list of rows.
        """
        suffix = path.suffix.lower()
        if suffix not in self.suffixes:
            raise InputError.unknown_table_type(path, suffix, self.suffixes)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                return pq.read_table(path).to_pylist()
            except Exception as err:  # pyarrow raises several types for unreadable files
                raise InputError.unreadable_parquet(path, err, self.parquet_fix) from None
        if suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                return list(csv.DictReader(f))
        text = path.read_text(encoding="utf-8")
        if suffix == ".jsonl":
            return [self._line(path, number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        return self._json_rows(path, text)

    def _line(self, path: Path, number: int, line: str) -> Any:
        try:
            return json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError.not_json_line(path, number, err.msg, self.line_fix) from None

    def _json_rows(self, path: Path, text: str) -> list[Any]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError.not_json(path, err.msg, err.lineno, self.json_fix) from None
        if isinstance(data, dict):
            key = next((k for k in self.wrappers if k in data), None)
            if key is not None:
                data = data[key]
            elif self.object_values:
                data = list(data.values())
        if not isinstance(data, list):
            raise self.not_rows(path)
        return data


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Record = TypeVar("Record", bound=_Identified)


def unique_ids(records: Iterable[Record], repeated: Callable[[int, str], InputError]) -> list[Record]:
    """``records`` in order, read one at a time (an error in a later one comes after a repeated id).

    Raises:
        InputError: ``repeated(position, id)`` for the first record (``position`` from 0) whose id
            an earlier one had.
    """
    kept: list[Record] = []
    seen: set[str] = set()
    for position, record in enumerate(records):
        if record.id in seen:
            raise repeated(position, record.id)
        seen.add(record.id)
        kept.append(record)
    return kept
