"""Reading VSI-Bench records (JSONL, JSON, parquet) and resolving each record's input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialclaw.errors import InputError
from spatialclaw.eval.records import check_inputs, read_records

RECORDS = [
    {
        "id": 0,
        "dataset": "scannet",
        "scene_name": "scene0000_00",
        "question_type": "object_counting",
        "question": "How many chair(s) are in this room?",
        "options": None,
        "ground_truth": "4",
    },
    {
        "id": 1,
        "dataset": "arkitscenes",
        "scene_name": "41069025",
        "question_type": "object_rel_direction_easy",
        "question": "If I am standing by the sofa and facing the tv, is the lamp to my left or right?",
        "options": ["A. left", "B. right"],
        "ground_truth": "B",
        "prompt": "kept as extra",
    },
]


def _write(tmp_path: Path, suffix: str, rows: list[dict]) -> Path:
    path = tmp_path / f"questions{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    elif suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {key: [row.get(key) for row in rows] for row in rows for key in row}
        pq.write_table(pa.Table.from_pydict(columns), path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_read_records_in_each_format(tmp_path: Path, suffix: str) -> None:
    records = read_records(_write(tmp_path, suffix, RECORDS))
    assert [r.id for r in records] == ["0", "1"]
    count, direction = records
    assert count.options is None and count.ground_truth == "4" and count.question_type == "object_counting"
    assert direction.options == ["A. left", "B. right"]
    assert direction.ground_truth == "B"
    assert direction.extra == {"prompt": "kept as extra"}
    assert count.extra in ({}, {"prompt": None})  # parquet has every column in every row


def test_read_records_json_with_data_key(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"data": RECORDS}))
    assert [r.scene_name for r in read_records(path)] == ["scene0000_00", "41069025"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scene_name": None}, "lacks field(s) scene_name"),
        ({"ground_truth": ""}, "lacks field(s) ground_truth"),
        ({"options": None}, "is multiple choice but the record has no options"),
        ({"options": "left or right"}, "'options' must be a list of strings"),
        ({"ground_truth": "C"}, "is not one of the options"),
    ],
)
def test_malformed_records_name_the_record(tmp_path: Path, change: dict, message: str) -> None:
    rows = [RECORDS[0], {**RECORDS[1], **change}]
    with pytest.raises(InputError) as err:
        read_records(_write(tmp_path, ".jsonl", rows))
    assert "record 2" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_records(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2 is not valid JSON"):
        read_records(bad)
    with pytest.raises(InputError, match="appears twice"):
        read_records(_write(tmp_path, ".json", [RECORDS[0], RECORDS[0]]))
    other = tmp_path / "q.csv"
    other.write_text("id\n")
    with pytest.raises(InputError, match="unknown question-file type"):
        read_records(other)
    with pytest.raises(InputError, match="numeric|not a number"):
        read_records(_write(tmp_path, ".jsonl", [{**RECORDS[0], "ground_truth": "many"}]))


def test_resolve_inputs_video_or_folder(tmp_path: Path) -> None:
    records = read_records(_write(tmp_path, ".jsonl", RECORDS))
    root = tmp_path / "data"
    (root / "scannet").mkdir(parents=True)
    (root / "scannet" / "scene0000_00.mp4").write_bytes(b"")
    (root / "arkitscenes" / "41069025").mkdir(parents=True)
    resolved = check_inputs(records, root)
    assert resolved == {"0": root / "scannet" / "scene0000_00.mp4", "1": root / "arkitscenes" / "41069025"}
    (root / "scannet" / "scene0000_00").mkdir()  # a scene folder (e.g. RGB-D) wins over the video
    assert check_inputs(records, root)["0"] == root / "scannet" / "scene0000_00"


def test_missing_scene_is_one_line_naming_scene_and_fix(tmp_path: Path) -> None:
    records = read_records(_write(tmp_path, ".jsonl", RECORDS))
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(InputError) as err:
        check_inputs(records, root)
    text = str(err.value)
    assert "scene0000_00" in text and "scannet" in text and "--data-root" in text
    assert "(2 scenes missing in all)" in text and "\n" not in text
    with pytest.raises(InputError, match="is not a folder"):
        check_inputs(records, tmp_path / "absent")
