"""`spatialclaw models list` / `models pull`: the hub call is faked, nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run_cli

SAM3 = "facebook/sam3"


def _cached(root: Path, repo: str) -> Path:
    """A checkpoint in the Hugging Face cache layout (config + weights files, contents irrelevant)."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_text("{}")
    return snapshot


@pytest.fixture(autouse=True)
def _hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return tmp_path / "hub"


def test_list_says_what_is_on_disk_and_what_would_be_used(_hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = _cached(_hub, "depth-anything/Depth-Anything-V2-Metric-Indoor-Base-hf")
    code, out, _ = run_cli(["models", "list", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    depth = [r for r in rows if r["task"] == "depth"]
    assert [r["model"] for r in depth if r["default"]] == ["depth-anything/Depth-Anything-V2-Metric-Indoor-Base-hf"]
    assert [r["path"] for r in depth if r["path"]] == [str(snapshot)]
    assert {r["task"] for r in rows} == {"depth", "detect", "segment", "text_segment", "track", "match", "reconstruct"}
    assert [r["model"] for r in rows if r["task"] == "reconstruct"] == ["depth-anything/DA3-BASE", "depth-anything/DA3-SMALL"]
    assert [r["model"] for r in rows if r["task"] == "match"] == ["ETH-CVG/lightglue_superpoint"]
    assert not any(r["default"] for r in rows if r["task"] == "track")  # SAM 3 is not on disk
    code, out, _ = run_cli(["models", "list"], capsys)
    assert code == 0 and "text_segment (text-prompted segmentation):" in out and "not on disk" in out


def test_pull_default_fetches_the_first_choice_of_each_task_with_the_token(
    _hub: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import huggingface_hub

    from spatialclaw.primitives.backends.learned.da3 import package_available

    calls: list[dict[str, object]] = []

    def fake(**kwargs: object) -> str:
        calls.append(kwargs)
        return str(_hub / str(kwargs["repo_id"]).replace("/", "--"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    code, out, _ = run_cli(["models", "pull", "--default", SAM3], capsys)
    assert code == 0
    assert [c["repo_id"] for c in calls] == [
        "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", "IDEA-Research/grounding-dino-tiny",
        "facebook/sam2.1-hiera-tiny", SAM3,  # SAM 3 serves two tasks and is named again: fetched once
        "ETH-CVG/lightglue_superpoint",
        *(["depth-anything/DA3-BASE"] if package_available() else []),  # only where its package can load it
    ]
    assert all(c["token"] == "hf_secret" and c["cache_dir"] == str(_hub) for c in calls)
    assert f"{SAM3}: " in out


def test_gated_offline_and_unnamed_pulls_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    class FakeResponse:
        status_code, headers, url, request = 401, {}, "https://huggingface.co", None

    def gated(**kwargs: object) -> str:
        raise GatedRepoError("gated", response=FakeResponse())  # type: ignore[arg-type]

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    code, _, err = run_cli(["models", "pull", SAM3], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{SAM3} is gated: accept Meta's SAM licence on https://huggingface.co/{SAM3}" in err and "HF_TOKEN" in err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run_cli(["models", "pull", SAM3], capsys)
    assert code == 2 and "HF_HUB_OFFLINE is set" in err and err.count("\n") == 1
    code, _, err = run_cli(["models", "pull"], capsys)
    assert code == 2 and "--default" in err
