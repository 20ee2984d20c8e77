"""What the agent does with untrusted kernel output: images that are not images or are
decompression bombs are refused with a notice, nested VLM calls are capped, and the trajectory is
always written."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spatialclaw.agent.kernel_images import images_for_model
from spatialclaw.agent.loop import Agent
from spatialclaw.inputs.frame import Frame
from spatialclaw.inputs.frame import LoadedInput
from spatialclaw.inputs.frame_cache import save_frames
from spatialclaw.kernel.session import KernelSession
from spatialclaw.models.openai_compat import OpenAICompatClient
from spatialclaw.testing.scripted_vlm import ScriptedVLM


def cell(code: str) -> str:
    return f"Next.\n```python\n{code}\n```"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, body: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


class _Current:
    agent: Agent | None = None


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("untrusted")
    frames = [Frame(index=k, time=float(k), image=np.full((48, 64, 3), 60 * k, np.uint8)) for k in range(2)]
    save_frames(folder / "frames.npz", frames)
    loaded = LoadedInput("images", [folder], frames, folder / "frames.npz", None, 2)
    handlers = {"ask_vlm": lambda p: _Current.agent.ask_vlm(p), "locate": lambda p: _Current.agent.locate(p)}
    with KernelSession(loaded, cell_timeout=30, host_handlers=handlers) as kernel:
        yield kernel


def run(session: KernelSession, script: Any, out: Path, **settings: Any):
    with ScriptedVLM(script) as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url), max_steps=3, show_frames=1, **settings)
        _Current.agent = agent
        return agent.run(session, "How many?", None, out=out), vlm


def test_a_png_that_does_not_decode_is_refused_with_a_notice_and_the_trajectory_is_written(
    session: KernelSession, tmp_path: Path
) -> None:
    broken = base64.b64encode(png_header(64, 48, b"not zlib at all")).decode()
    code = f"from IPython.display import publish_display_data\npublish_display_data({{'image/png': {broken!r}}})"
    result, vlm = run(session, [cell(code), cell("answer(1)")], tmp_path / "run")
    assert result.answered and result.answer == 1
    first = result.steps[0]
    assert first.images == [] and "was not sent to you" in first.observation
    assert "was not sent to you" in vlm.requests[1].last_user_text()
    record = json.loads((tmp_path / "run" / "trajectory.json").read_text())
    assert record["answered"] is True


def test_a_decompression_bomb_never_reaches_the_decoder(tmp_path: Path) -> None:
    bomb = png_header(30000, 30000, zlib.compress(b"\0" * 200000))
    kept, sent, notices = images_for_model([bomb, b"GIF89a"], 768)
    assert kept == [] and sent == [] and len(notices) == 2 and "30000×30000" in notices[0]


def test_a_jpeg_goes_out_as_it_came_and_a_forged_one_is_refused() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8)).save(buf, format="JPEG")
    photo = buf.getvalue()
    sof = photo.index(b"\xff\xc0")
    bomb = photo[: sof + 5] + struct.pack(">HH", 30000, 30000) + photo[sof + 9 :]
    kept, sent, notices = images_for_model([photo, bomb, photo[:-100]], 768)
    assert kept == [photo] and sent[0].data is photo and sent[0].mime == "image/jpeg"
    assert (sent[0].width, sent[0].height) == (160, 120)
    assert len(notices) == 2 and "30000×30000" in notices[0] and "truncated" in notices[1]


def test_nested_calls_are_capped_per_cell_and_the_prompt_says_so(session: KernelSession, tmp_path: Path) -> None:
    code = (
        "errors = []\nfor k in range(5):\n    try:\n        ask_vlm('hi')\n    except RuntimeError as err:\n"
        "        errors.append(str(err))\nprint(len(errors), errors[0] if errors else '')"
    )
    replies = [cell(code)] + ["fine"] * 3 + [cell("answer(2)")]
    result, vlm = run(session, replies, tmp_path / "run", vlm_calls_per_cell=3, vlm_calls_per_run=10)
    assert "at most 3 nested VLM calls per cell" in result.steps[0].observation
    assert result.steps[0].observation.startswith("Output:\n2 ") and "ask_vlm refused" in result.steps[0].observation and len(result.steps[0].nested) == 3
    system = vlm.requests[0].texts("system")[0]
    assert "limited to 3 per cell and 10 in the whole task" in system
