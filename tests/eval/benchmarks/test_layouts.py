"""Every supported benchmark loads from a folder in its released layout (written by
``tests/benchmark_layouts.py``) with the right ids, answers, tasks and media, and scores its
correct predictions 1 and its wrong ones 0 by its own rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmark_layouts import WRITERS, Layout

from spatialclaw.eval.benchmarks import benchmark_names, get_benchmark
from spatialclaw.eval.benchmarks.scored import score_predictions


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(tmp_path / "cache"))


def test_every_registered_benchmark_has_a_layout_fixture() -> None:
    assert sorted(WRITERS) == sorted(benchmark_names())


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_loads_released_layout(name: str, tmp_path: Path) -> None:
    layout: Layout = WRITERS[name](tmp_path / name)
    bench = get_benchmark(name)
    records = bench.load(layout.root)
    assert [r.id for r in records] == layout.ids
    for r in records:
        assert r.target == layout.targets[r.id], r.id
        assert r.task == layout.tasks[r.id], r.id
        assert len(r.inputs) == layout.n_inputs[r.id], r.id
        assert all(m.path.is_file() for m in r.inputs), r.id
        kinds = [m.kind for m in r.inputs]
        if bench.media.startswith("video"):
            assert "video" in kinds and set(kinds) <= {"video", "image"}, r.id  # videos, and reference images
        else:
            assert set(kinds) == {"image"}, r.id


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_scores_right_and_wrong_predictions(name: str, tmp_path: Path) -> None:
    layout = WRITERS[name](tmp_path / name)
    bench = get_benchmark(name)
    records = bench.load(layout.root)
    rows, summary = score_predictions(bench, records, layout.correct)
    assert [r["score"] for r in rows] == [1.0] * len(rows), rows
    assert summary["overall"] == pytest.approx(1.0)
    assert summary["unparsed"] == 0 and summary["missing"] == 0
    rows, summary = score_predictions(bench, records, layout.wrong)
    assert summary["overall"] == pytest.approx(0.0), rows


def test_embedded_images_are_written_once_keyed_by_content(tmp_path: Path) -> None:
    from benchmark_layouts import mmsi_bench

    layout = mmsi_bench(tmp_path / "mmsi")
    first = get_benchmark("mmsi_bench").load(layout.root)
    media = sorted((tmp_path / "cache" / "media").glob("*.png"))
    again = get_benchmark("mmsi_bench").load(layout.root)
    assert [m.path for r in first for m in r.inputs] == [m.path for r in again for m in r.inputs]
    assert sorted((tmp_path / "cache" / "media").glob("*.png")) == media
    assert len(media) == len({m.path for r in first for m in r.inputs})  # same bytes, same file


def test_missing_files_say_what_is_expected(tmp_path: Path) -> None:
    from spatialclaw.errors import InputError

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="MMSI_Bench.parquet"):
        get_benchmark("mmsi_bench").load(tmp_path / "empty")
    with pytest.raises(InputError, match="is not a folder"):
        get_benchmark("erqa").load(tmp_path / "nope")


def test_show_leaves_archives_packed_until_the_media_are_needed(tmp_path: Path) -> None:
    from benchmark_layouts import viewspatial

    layout = viewspatial(tmp_path / "vs")
    bench = get_benchmark("viewspatial")
    lazy = bench.load(layout.root, extract=False)
    assert [m.archive.name for r in lazy for m in r.inputs] == ["scannetv2_val.zip", "val2017.zip"]
    assert not any(m.path.exists() for r in lazy for m in r.inputs)
    loaded = bench.load(layout.root)
    assert [m.path for r in loaded for m in r.inputs] == [m.path for r in lazy for m in r.inputs]
    assert all(m.path.is_file() and m.archive is None for r in loaded for m in r.inputs)


def test_dsi_bench_reads_the_renderings_present(tmp_path: Path) -> None:
    from benchmark_layouts import dsi_bench

    layout = dsi_bench(tmp_path / "dsi")
    for aug in ("hflip", "reverse", "reverse_hflip"):
        (layout.root / "metadatas" / f"{aug}.csv").unlink()
    assert [r.id for r in get_benchmark("dsi_bench").load(layout.root)] == ["std/0"]
