"""The default local VLM of `spatialclaw ask`, with the tiny random VLM standing in for it.

The accelerator check is faked (it answers "cpu", which the client then really uses: the test
machines have no GPU); the Hugging Face cache is a real one in a temporary folder, laid out as
huggingface_hub lays it out, and the download is a stand-in that writes into it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import spatialclaw.models.local_default as local_default  # noqa: E402
from cli_runner import run_cli  # noqa: E402

TINY_ID = "spatialclaw-test/tiny-vlm"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spatialclaw.testing.tiny_vlm import build_tiny_idefics3

    return build_tiny_idefics3(tmp_path_factory.mktemp("tiny") / "model")


def _put_in_cache(checkpoint: Path, hub: Path) -> Path:
    """``checkpoint`` as huggingface_hub caches ``TINY_ID``: snapshots/<revision>/ and refs/main."""
    repo = hub / ("models--" + TINY_ID.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    shutil.copytree(checkpoint, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "hub"
    folder.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(folder))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(local_default, "DEFAULT_LOCAL_VLM", TINY_ID)
    return folder


def _ask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["ask", "none", "What is two plus two?", "--max-steps", "1", "--sandbox", "none",
                    "--out", str(tmp_path / "run"), "--json"], capsys)


def test_no_accelerator_keeps_the_one_line_message(hub: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(local_default, "local_accelerator", lambda: None)
    code, out, err = _ask(tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: no API key for https://api.openai.com/v1: pass --api-key or set OPENAI_API_KEY "
        "(or point --base-url / OPENAI_BASE_URL at a local server)"
    ]


def test_cached_default_runs_the_question_on_the_device(hub: Path, tiny_checkpoint: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(local_default, "local_accelerator", lambda: "cpu")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # cached: no network needed, and none is tried
    _put_in_cache(tiny_checkpoint, hub)
    code, out, err = _ask(tmp_path, capsys)
    assert code == 0, err
    assert f"using the local default model {TINY_ID} on cpu (choose another with --model hf:PATH_OR_ID" in err
    assert json.loads(out)["steps"] == 2  # the random model writes no cell: one step, then the answer turn
    model = json.loads((tmp_path / "run" / "trajectory.json").read_text())["config"]["model"]
    assert model == {"backend": "transformers", "model": f"hf:{TINY_ID}", "device": "cpu", "model_type": "idefics3"}


def test_offline_without_the_model_in_the_cache_is_one_line(hub: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(local_default, "local_accelerator", lambda: "cuda")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = _ask(tmp_path, capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("error: no model endpoint configured and HF_HUB_OFFLINE is set") and TINY_ID in line
    assert "--model hf:PATH_OR_ID" in line and not (tmp_path / "run").exists()


def test_first_use_says_it_downloads_then_downloads(hub: Path, tiny_checkpoint: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    import huggingface_hub

    real = huggingface_hub.snapshot_download
    calls: list[dict] = []

    def download(repo_id: str, **kwargs: object) -> str:
        calls.append({"repo_id": repo_id, **kwargs})
        if not kwargs.get("local_files_only"):  # the network fetch, stood in for by a copy into the cache
            _put_in_cache(tiny_checkpoint, Path(str(kwargs["cache_dir"])))
        return real(repo_id, cache_dir=kwargs["cache_dir"], local_files_only=True)

    monkeypatch.setattr(local_default, "local_accelerator", lambda: "cpu")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)
    code, _, err = _ask(tmp_path, capsys)
    assert code == 0, err
    assert [c.get("local_files_only", False) for c in calls] == [True, False]
    assert f"downloading the default local model {TINY_ID}" in err and "--model hf:PATH_OR_ID" in err


def test_the_default_is_named_in_one_place() -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    hits = subprocess.run(["grep", "-rn", "Qwen/Qwen2.5-VL-7B-Instruct", "spatialclaw", "primitives"], cwd=root,
                          capture_output=True, text=True).stdout.splitlines()
    assert [h.split(":")[0] for h in hits] == ["spatialclaw/models/local_default.py"]
