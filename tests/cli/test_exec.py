"""`spatialclaw exec` and `spatialclaw info`, and the CLI's fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_runner import run_cli


@pytest.fixture()
def image_folder(tmp_path: Path) -> Path:
    """Three 40×30 RGB images whose red channel is 50, 100, 150."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for k in range(3):
        Image.new("RGB", (40, 30), (50 * (k + 1), 0, 0)).save(folder / f"img{k}.png")
    return folder


def test_help_imports_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from spatialclaw.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "for name in ('torch', 'open3d', 'transformers', 'cv2', 'jupyter_client', 'spatialclaw.kernel.session'):\n"
        "    print(name, name in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "exec" in out and "info" in out
    lines = dict(line.split() for line in out.splitlines() if line.endswith((" True", " False")))
    assert lines == {name: "False" for name in ("torch", "open3d", "transformers", "cv2", "jupyter_client", "spatialclaw.kernel.session")}


def test_exec_without_input_runs_cells_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["exec", "none", "-c", "x = 2", "-c", "print(x * 21)", "-c", "answer(x)"], capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("── cell 1 (")
    assert "42\n" in out and "answer: 2" in out
    assert "perception: reconstruction=none, segmentation=none; sandbox: " in err


def test_exec_json_with_images_errors_and_file(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cell_file = tmp_path / "cell.py"
    cell_file.write_text("print(sorted(int(f.image[0, 0, 0]) for f in frames))\n")
    out_dir = tmp_path / "out"
    args = ["exec", str(image_folder), "-c", "show(frames[2])", "-c", "1 / 0", "--file", str(cell_file), "--json", "--out", str(out_dir)]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["frames"] == 3
    shown, failed, from_file = report["cells"]
    assert set(shown) >= {"text", "images", "error", "timed_out", "duration_s"}
    assert shown["images"] == [str(out_dir / "cell1-1.png")]
    assert np.asarray(Image.open(shown["images"][0]))[0, 0].tolist() == [150, 0, 0]
    assert failed["error"]["ename"] == "ZeroDivisionError" and "\x1b" not in failed["error"]["traceback"]
    assert from_file["text"] == "[50, 100, 150]\n" and from_file["error"] is None


def test_exec_prints_image_paths_and_tracebacks(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(["exec", str(image_folder), "--frames", "2", "--out", str(out_dir), "-c", "show(*frames)", "-c", "len(frames)", "-c", "undefined_name"], capsys)
    assert code == 0
    assert f"image: {out_dir / 'cell1-1.png'}" in out and f"image: {out_dir / 'cell1-2.png'}" in out
    assert "\n2\n" in out
    assert "NameError: name 'undefined_name' is not defined" in out


def test_exec_timeout_is_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["exec", "none", "--timeout", "0.5", "--json", "-c", "import time\ntime.sleep(20)", "-c", "'still here'"], capsys)
    assert code == 0
    slow, after = json.loads(out)["cells"]
    assert slow["timed_out"] and slow["error"]["ename"] == "TimeoutError" and slow["duration_s"] < 5
    assert after["text"] == "'still here'\n"


def test_exec_bad_input_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["exec", str(tmp_path / "missing.mp4"), "-c", "1"], capsys)
    assert code != 0 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "missing.mp4" in err


def test_exec_needs_a_cell(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["exec", "none"], capsys)
    assert code != 0 and err.startswith("error: no cells to run")


def test_exec_rejects_unknown_perception(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["exec", "none", "--perception", "magic", "-c", "1"], capsys)
    assert code != 0 and "--perception" in err and err.count("\n") == 1


def test_info_human_and_json(image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["info", str(image_folder)], capsys)
    assert code == 0
    assert "kind: images" in out and "frames: 3" in out and "resolution: 40x30" in out
    code, out, _ = run_cli(["info", str(image_folder), "--json"], capsys)
    info = json.loads(out)
    assert (info["kind"], info["frames"], info["width"], info["height"], info["has_depth"]) == ("images", 3, 40, 30, False)


def test_info_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["info", str(empty)], capsys)
    assert code != 0 and err.startswith("error: ") and err.count("\n") == 1


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_one_photo_auto_says_what_one_image_allows(photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["exec", str(photo), "--sandbox", "none", "-c", "r = reconstruct()", "-c", "print(frames[0])"], capsys)
    assert code == 0, err
    message = out.splitlines()[[i for i, line in enumerate(out.splitlines()) if line.startswith("── cell 2")][0] - 1]
    assert message.startswith("PerceptionError: no reconstruction backend can run on this input")
    assert "one image has no camera motion" in message and "2D work can run" in message
    assert "monocular depth" in message  # what the learned backend would add
    assert "install the classical" not in message and "--perception auto" not in message
    assert "Frame(index=0" in out  # the kernel goes on: 2D work runs


def test_one_photo_classical_refuses_in_one_line_without_pointing_back(photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["exec", str(photo), "--perception", "classical", "--sandbox", "none", "-c", "1"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: --perception classical cannot serve reconstruction: classical reconstruction needs at least 4 frames")
    assert "one image has no camera motion" in lines[-1]
    assert "--perception auto" not in lines[-1] and "continue)" not in lines[-1] and "Traceback" not in err


def test_exec_nested_calls_use_the_model_options_of_ask(image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spatialclaw.testing.scripted_vlm import ScriptedVLM

    cell = "print(locate('the red image', frames[0]))\nprint(ask_vlm('what colour?', [frames[1]]))"
    with ScriptedVLM(["(20, 15)", "red"], model="vlm-x") as vlm:
        code, out, err = run_cli(["exec", str(image_folder), "--sandbox", "none", "-c", cell,
                                  "--model", "vlm-x", "--base-url", vlm.base_url], capsys)
        methods = [r.messages[0]["content"][0]["type"] for r in vlm.requests]
    assert code == 0, err
    assert "(20.0, 15.0)" in out and "red" in out.splitlines()
    assert methods == ["image_url", "image_url"]


def test_exec_without_a_model_says_so_in_one_line(
    image_folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SPATIALCLAW_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(["exec", str(image_folder), "--sandbox", "none", "-c", "locate('the red image', frames[0])"], capsys)
    assert code == 0, err
    summary = [line for line in out.splitlines() if "no model for locate" in line]
    assert summary and "--model and --base-url (as for `spatialclaw ask`)" in summary[-1]
    assert "host_handlers" not in out


def test_exec_fps_above_the_video_rate_says_what_was_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import av

    video = tmp_path / "slow.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            image = np.full((48, 64, 3), 40 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    code, out, err = run_cli(["exec", str(video), "--fps", "1000", "--sandbox", "none", "-c", "print(len(frames))"], capsys)
    assert code == 0, err
    assert "note: --fps 1000 is above the video's 2 fps: sampled every frame (5)" in err.splitlines()
    assert "5" in out.splitlines()
    code, _, err = run_cli(["exec", str(video), "--fps", "2", "--frames", "4", "-c", "1"], capsys)
    assert code == 2 and "not both" in err.strip().splitlines()[-1]
