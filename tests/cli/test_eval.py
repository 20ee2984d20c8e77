"""`spatialclaw eval` on the command line: help and one-line errors (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialclaw.cli import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def _questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    record = {
        "id": 7,
        "dataset": "scannet",
        "scene_name": "scene0000_00",
        "question_type": "object_counting",
        "question": "How many chair(s) are in this room?",
        "options": None,
        "ground_truth": "3",
    }
    path.write_text(json.dumps(record) + "\n")
    return path


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["eval", "--help"], capsys)
    assert code == 0
    for flag in ("--data-root", "--model", "--base-url", "--api-key", "--perception", "--frames", "--max-steps",
                 "--workers", "--limit", "--resume", "--executor", "--ray-address", "--out"):  # fmt: skip
        assert flag in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--perception", "magic"], "unknown perception 'magic'"),
        (["--executor", "slurm"], "unknown --executor 'slurm'"),
        ([], "scene 'scene0000_00' of dataset 'scannet' (question 7) not found"),
    ],
)
def test_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    (tmp_path / "data").mkdir()
    args = ["eval", str(_questions(tmp_path)), "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out"), *extra]
    code, _, err = _run(args, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_ray_address_needs_the_ray_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data" / "scannet"
    data.mkdir(parents=True)
    (data / "scene0000_00.mp4").write_bytes(b"")
    args = ["eval", str(_questions(tmp_path)), "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--ray-address", "auto"]
    code, _, err = _run(args, capsys)
    assert code == 2 and "--ray-address needs --executor ray" in err


@pytest.mark.slow
def test_ctrl_c_says_rerun_with_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    from PIL import Image

    from cli_runner import interrupt_when, run_cli

    from spatialclaw.testing.scripted_vlm import ScriptedVLM

    scene = tmp_path / "data" / "scannet" / "scene0000_00"
    scene.mkdir(parents=True)
    for k in range(2):
        Image.fromarray(np.full((30, 40, 3), 80 * k, np.uint8)).save(scene / f"{k}.png")
    records = [json.loads(_questions(tmp_path).read_text()) | {"id": i} for i in range(2)]
    questions = tmp_path / "two.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    script = ["```python\nanswer(3)\n```", "```python\nimport time\ntime.sleep(60)\n```"]
    with ScriptedVLM(script, model="vlm-x") as vlm:
        watcher = interrupt_when((out / "results.jsonl").exists)
        code, _, err = run_cli(["eval", str(questions), "--data-root", str(tmp_path / "data"), "--out", str(out),
                                "--model", "vlm-x", "--base-url", vlm.base_url, "--sandbox", "none", "--frames", "2"], capsys)
        watcher.join()
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"interrupted: finished questions are saved in {out / 'results.jsonl'}; rerun the same command with --resume to go on from there"
    )
    assert not (out / ".eval.lock").exists()
