"""`spatialclaw info` and the help text through the entry point: flags, long path lists, mixed sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_runner import run_cli


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    """Nine images: eight 40×30 PNGs and one 64×48 grey PGM (the Netpbm format of many datasets)."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for k in range(8):
        Image.new("RGB", (40, 30), (20 * k, 0, 0)).save(folder / f"img{k}.png")
    Image.fromarray(np.full((48, 64), 128, np.uint8)).save(folder / "img8.pgm")
    return folder


def test_help_shows_flags_without_a_value_and_every_placeholder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["info", "--help"], capsys)
    assert code == 0 and "--json" in out and "<bool>" not in out
    code, out, _ = run_cli(["eval", "--help"], capsys)
    assert code == 0 and "<bool>" not in out
    assert "DATASET/SCENE_NAME.mp4" in out  # the placeholders survive the markdown rendering


def test_info_flag_given_a_value_is_one_line(mixed_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["info", str(mixed_folder), "--json", "true"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == "error: 'true' is not an input: flags such as --json take no value (write --json alone)"


def test_info_mixed_sizes_and_many_paths(mixed_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["info", str(mixed_folder)], capsys)
    assert code == 0, err
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines["frames"] == "9"
    assert lines["resolution"] == "mixed: 2 sizes from 40x30 to 64x48"
    assert "width" not in lines and "height" not in lines  # one width would describe the first image only
    assert lines["paths"].count(str(mixed_folder)) == 5 and lines["paths"].endswith("... and 4 more (--json lists them all)")
