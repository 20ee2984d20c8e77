"""Files of question rows (`spatialclaw.eval.table_files`), as a benchmark's released files are read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from spatialclaw.errors import InputError
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.table_files import unique_ids


def test_released_tables_by_suffix(tmp_path: Path) -> None:
    data = DataRoot(tmp_path, cache_dir=tmp_path / "cache", expected="questions.json")
    (tmp_path / "a.json").write_text(json.dumps({"questions": [{"id": 1}]}))
    (tmp_path / "b.json").write_text(json.dumps({"q1": {"id": 1}, "q2": {"id": 2}}))  # rows keyed by id
    (tmp_path / "c.jsonl").write_text('{"id": 1}\n\n{"id": 2}\n')
    (tmp_path / "d.csv").write_text("id,question\n1,how many?\n")
    assert data.table_rows(tmp_path / "a.json") == [{"id": 1}]
    assert data.table_rows(tmp_path / "b.json") == [{"id": 1}, {"id": 2}]
    assert data.table_rows(tmp_path / "c.jsonl") == [{"id": 1}, {"id": 2}]
    assert data.table_rows(tmp_path / "d.csv") == [{"id": "1", "question": "how many?"}]


def test_released_table_errors_say_download_again(tmp_path: Path) -> None:
    data = DataRoot(tmp_path, cache_dir=tmp_path / "cache", expected="questions.json")
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2 is not valid JSON \(.*\); download it again$"):
        data.table_rows(tmp_path / "bad.jsonl")
    (tmp_path / "bad.json").write_text("[1,\n")
    with pytest.raises(InputError, match=r"bad.json is not valid JSON \(.* at line 2\); download it again$"):
        data.table_rows(tmp_path / "bad.json")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"cannot read .*bad.parquet as parquet \(.*\); download it again$"):
        data.table_rows(tmp_path / "bad.parquet")
    (tmp_path / "one.json").write_text(json.dumps({"data": {"id": 1}}))
    with pytest.raises(InputError, match=r"one.json holds no list of questions; expected questions.json$"):
        data.table_rows(tmp_path / "one.json")
    (tmp_path / "q.txt").write_text("[]")
    with pytest.raises(InputError, match=r"unknown question-file type '.txt'; give a .parquet, .json, .jsonl or .csv file$"):
        data.table_rows(tmp_path / "q.txt")


@dataclass(frozen=True)
class _Row:
    id: str


def test_unique_ids_stops_at_the_first_repeat() -> None:
    read: list[str] = []

    def rows():  # noqa: ANN202 - a generator of rows, read one at a time
        for name in ("a", "b", "a", "c"):
            read.append(name)
            yield _Row(name)

    assert unique_ids([_Row("a"), _Row("b")], lambda p, i: InputError("unused")) == [_Row("a"), _Row("b")]
    with pytest.raises(InputError, match=r"^row 2: 'a' again$"):
        unique_ids(rows(), lambda position, record_id: InputError(f"row {position}: {record_id!r} again"))
    assert read == ["a", "b", "a"]
