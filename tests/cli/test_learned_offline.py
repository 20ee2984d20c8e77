"""The whole learned path offline: tiny random checkpoints under their Hub ids, SAM 3 as segmenter.

`spatialclaw.testing.tiny_models` writes the default checkpoints into a Hugging Face cache
layout; ``HF_HUB_CACHE`` points the kernel at it. ``exec --json`` and the trajectory must say
which checkpoint served each perception family, and each is loaded once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.cli import main  # noqa: E402
from spatialclaw.testing import tiny_models  # noqa: E402
from spatialclaw.testing.scripted_vlm import ScriptedVLM  # noqa: E402
from cli_runner import run_cli  # noqa: E402

pytestmark = pytest.mark.slow

SERVED = {
    "reconstruction": {"depth": "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", "match": "ETH-CVG/lightglue_superpoint"},
    "segmentation": {"text_segment": "facebook/sam3"},
    "tracking": {"track": "facebook/sam3"},
}
CELLS = [
    "r = reconstruct(); print(r.quality.scale_source, r.depth.shape)",
    "m = segment('chair'); print(len(m), sorted(set(m.labels)))",
    "o = objects3d('chair'); print(type(o).__name__, all(x.label == 'chair' for x in o))",
]


@pytest.fixture(scope="module")
def offline_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(hub cache with the tiny defaults, a synthetic walk-through video, a perception cache folder)."""
    from spatialclaw.synth import make_test_scene  # noqa: F401  (the renderer is importable)

    root = tmp_path_factory.mktemp("learned-offline")
    tiny_models.write_hf_cache(root / "hub")
    main_args = ["synth", str(root / "demo"), "--scenes", "1", "--frames", "12", "--width", "256", "--height", "192"]
    with pytest.raises(SystemExit) as done:
        main(main_args)
    assert done.value.code in (None, 0)
    return root / "hub", root / "demo" / "synth" / "synth_0.mp4", root / "cache"


@pytest.fixture()
def offline_env(offline_world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    hub, video, cache = offline_world
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(cache))
    return video


def test_exec_runs_the_learned_path_and_names_the_checkpoints(offline_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["exec", str(offline_env), "--frames", "12", "--perception", "learned", "--timeout", "600", "--json"]
    code, out, err = run_cli(args + [arg for cell in CELLS for arg in ("-c", cell)], capsys)
    assert code == 0, err
    document = json.loads(out)
    cells = document["cells"]
    assert [c["error"] for c in cells] == [None, None, None], [c["error"] for c in cells]
    assert "metric-depth (12, 192, 256)" in cells[0]["text"]
    assert "['chair']" in cells[1]["text"] and "list True" in cells[2]["text"]
    perception = document["perception"]
    assert {f: c["backend"] for f, c in perception["backends"].items()} == {"reconstruction": "learned",
                                                                             "segmentation": "learned"}
    assert perception["models"] == SERVED
    assert perception["model_loads"] == {"depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf": 1,
                                         "ETH-CVG/lightglue_superpoint": 1, "facebook/sam3": 1}


def test_the_trajectory_records_which_checkpoint_served(offline_env: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    script = ["Segment first.\n```python\nm = segment('chair')\nprint(len(m))\n```",
              "Now count.\n```python\nanswer(len(objects3d('chair')))\n```"]
    out = tmp_path / "run"
    with ScriptedVLM(script, model="vlm-x") as vlm:
        code, _, err = run_cli(["ask", str(offline_env), "How many chairs?", "--model", "vlm-x", "--base-url",
                                vlm.base_url, "--frames", "12", "--perception", "learned", "--timeout", "600",
                                "--out", str(out)], capsys)
    assert code == 0, err
    info = json.loads((out / "trajectory.json").read_text())["config"]["perception_info"]
    assert info["models"] == {"segmentation": SERVED["segmentation"], "tracking": SERVED["tracking"],
                              "reconstruction": SERVED["reconstruction"]}
    assert set(info.get("model_loads", {}).values()) <= {1}  # nothing loaded where exec's results were cached


def test_one_photo_gets_monocular_metric_depth_under_auto(offline_env: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)).save(photo)
    cell = "r = reconstruct(); print(r.backend, r.quality.scale_source, r.quality.registered, r.depth.shape, bool(r.depth.all()))"
    code, out, err = run_cli(["exec", str(photo), "--json", "-c", cell], capsys)
    assert code == 0, err
    document = json.loads(out)
    cell_out = document["cells"][0]
    assert cell_out["error"] is None, cell_out["error"]
    assert "learned metric-depth 1 (1, 96, 128) True" in cell_out["text"]
    assert "one image: depth and metric scale come from the monocular depth model alone" in cell_out["text"]
    assert document["perception"]["backends"]["reconstruction"]["backend"] == "learned"
