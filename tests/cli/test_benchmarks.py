"""`spatialclaw benchmarks`, `benchmarks show`, `benchmarks download` (the hub call faked), `eval
--benchmark NAME --predictions FILE` and `eval report`, without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_layouts import mmsi_bench, osi_bench
from cli_runner import run_cli


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(tmp_path / "cache"))


def test_list_as_json_names_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["benchmarks", "--json"], capsys)
    entries = {e["name"]: e for e in json.loads(out)}
    assert code == 0
    assert entries["mmsi_bench"]["hf_id"] == "RunsenXu/MMSI-Bench" and entries["mmsi_bench"]["media"] == "images"
    assert entries["vsibench_debiased"]["hf_id"] == "nyu-visionx/VSI-Bench"
    assert entries["cvbench"]["media"] == "videos" and entries["cvbench"]["supported"]
    assert sum(e["supported"] for e in entries.values()) >= 15
    assert all(e["missing"] for e in entries.values() if not e["supported"])
    code, out, _ = run_cli(["benchmarks"], capsys)
    assert "MMSI-Bench" in out and "not supported yet" in out


def test_show_prints_the_parsed_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = mmsi_bench(tmp_path / "mmsi")
    code, out, _ = run_cli(["benchmarks", "show", "mmsi_bench", "--data-root", str(layout.root), "--json"], capsys)
    records = json.loads(out)
    assert code == 0 and [r["id"] for r in records] == ["0", "1", "2"]
    assert records[2]["answer"] == "C" and records[2]["task"] == "MSR"
    assert [m["kind"] for m in records[2]["inputs"]] == ["image"] * 3
    code, out, _ = run_cli(["benchmarks", "show", "mmsi_bench", "--data-root", str(layout.root), "--limit", "1"], capsys)
    assert "3 records in mmsi_bench" in out and "image: image 2" in out


def test_show_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for args, message in (
        (["benchmarks", "show", "mmsi_bench", "--data-root", str(tmp_path / "empty")], "MMSI_Bench.parquet"),
        (["benchmarks", "show", "nope", "--data-root", str(tmp_path)], "unknown benchmark 'nope'"),
        (["benchmarks", "show", "spatialtree_bench", "--data-root", str(tmp_path)], "not supported yet"),
    ):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_download_calls_snapshot_download_and_explains_gated(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    calls: list[dict[str, object]] = []

    def fake(**kwargs: object) -> str:
        calls.append(kwargs)
        return str(kwargs["local_dir"])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    code, out, _ = run_cli(["benchmarks", "download", "erqa", "--data-root", str(tmp_path / "erqa")], capsys)
    assert code == 0 and calls == [{"repo_id": "FlagEval/ERQA", "repo_type": "dataset", "local_dir": str(tmp_path / "erqa"), "token": None}]
    assert "downloaded into" in out

    class FakeResponse:
        status_code, headers, url, request = 401, {}, "https://huggingface.co", None

    def gated(**kwargs: object) -> str:
        raise GatedRepoError("gated", response=FakeResponse())  # type: ignore[arg-type]

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    code, _, err = run_cli(["benchmarks", "download", "video_mme", "--data-root", str(tmp_path / "v")], capsys)
    assert code == 2 and "lmms-lab/Video-MME is gated: accept its terms" in err and err.count("\n") == 1


def test_predictions_are_scored_without_a_model_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mmsi, osi = mmsi_bench(tmp_path / "mmsi"), osi_bench(tmp_path / "osi")
    preds = tmp_path / "mmsi.jsonl"
    preds.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in (("0", "A"), ("1", "the answer is B"), ("2", "no idea"))))
    out = tmp_path / "runs" / "other-system" / "mmsi"
    code, stdout, _ = run_cli(["eval", "--benchmark", "mmsi_bench", "--data-root", str(mmsi.root), "--predictions", str(preds), "--out", str(out)], capsys)
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0 and summary["overall"] == pytest.approx(2 / 3) and summary["unparsed"] == 1
    assert summary["benchmark"] == "mmsi_bench" and (out / "summary.png").is_file()
    assert [json.loads(line)["score"] for line in (out / "results.jsonl").read_text().splitlines()] == [1.0, 1.0, 0.0]
    assert "1 answers unparsed" in stdout

    preds2 = tmp_path / "osi.jsonl"
    preds2.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in (("0", 10.0), ("1", "0.1 m/s"))))
    out2 = tmp_path / "runs" / "other-system" / "osi"
    code, _, _ = run_cli(["eval", "--benchmark", "osi_bench", "--data-root", str(osi.root), "--predictions", str(preds2), "--out", str(out2)], capsys)
    summary2 = json.loads((out2 / "summary.json").read_text())
    assert code == 0 and summary2["overall"] == pytest.approx(2 / 3) and summary2["missing"] == 1

    table = tmp_path / "table"
    code, stdout, _ = run_cli(["eval", "report", str(out), str(out2), "--out", str(table)], capsys)
    assert code == 0 and (table / "table.png").is_file()
    md = (table / "table.md").read_text()
    assert "| mmsi_bench | 66.7 |" in md and "| osi_bench | 66.7 |" in md and "| **average** | **66.7** |" in md


def test_predictions_need_a_benchmark_and_valid_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = mmsi_bench(tmp_path / "mmsi")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "0"}\n')
    for args, message in (
        (["eval", "--data-root", str(layout.root), "--predictions", str(bad), "--out", str(tmp_path / "o")], "--predictions needs --benchmark"),
        (["eval", "--benchmark", "mmsi_bench", "--data-root", str(layout.root), "--predictions", str(bad), "--out", str(tmp_path / "o")], 'lacks "id" or "prediction"'),
        (["eval", "report", str(tmp_path / "nowhere")], "summary.json is missing"),
    ):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and message in err and err.count("\n") == 1
