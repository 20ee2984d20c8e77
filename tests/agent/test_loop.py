"""The agent loop end to end: the real `openai` client, the scripted server on 127.0.0.1, a real kernel."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from spatialclaw.agent.loop import Agent, Result, key_frame_positions
from spatialclaw.errors import ModelError
from spatialclaw.inputs.frame import Frame
from spatialclaw.kernel.session import KernelSession
from spatialclaw.models.openai_compat import OpenAICompatClient
from spatialclaw.testing.scripted_vlm import ChatRequest, Fail, ScriptedVLM

# Frame k is a flat colour (40k+20, 200-40k, 90) at 960×720, so the first request's images can be told apart.
COLOURS = [(40 * k + 20, 200 - 40 * k, 90) for k in range(4)]


def cell(code: str, prose: str = "Next step.") -> str:
    return f"{prose}\n```python\n{code}\n```"


def make_input(folder: Path):
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames

    frames = [Frame(index=10 * k, time=0.5 * k, image=np.full((720, 960, 3), COLOURS[k], np.uint8)) for k in range(4)]
    save_frames(folder / "frames.npz", frames)
    return LoadedInput(
        kind="video",
        paths=[folder / "room.mp4"],
        frames=frames,
        frames_file=folder / "frames.npz",
        source_fps=20.0,
        source_frame_count=40,
        rgbd=None,
    )


class _Current:
    agent: Agent | None = None


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    """One kernel for the module; its nested-call handlers reach whichever agent runs now."""
    handlers = {
        "ask_vlm": lambda payload: _Current.agent.ask_vlm(payload),
        "locate": lambda payload: _Current.agent.locate(payload),
    }
    loaded = make_input(tmp_path_factory.mktemp("input"))
    with KernelSession(loaded, question="q", cell_timeout=30, host_handlers=handlers) as s:
        yield s


def run(session: KernelSession, script: Any, out: Path, *, options: list[str] | None = None, **kw: Any) -> tuple[Result, ScriptedVLM]:
    kw.setdefault("max_steps", 6)
    kw.setdefault("show_frames", 3)
    with ScriptedVLM(script) as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url), **kw)
        _Current.agent = agent
        result = agent.run(session, "How many chairs are there?", options, out=out)
    return result, vlm


def mean_colour(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)


def test_multi_step_state_first_turn_and_outputs_fed_back(session: KernelSession, tmp_path: Path) -> None:
    script = [cell("x = 21\nprint('x is', x)", "Let me set x."), cell("answer(x * 2)", "Done.")]
    result, vlm = run(session, script, tmp_path / "run", options=["A. 42", "B. 7"])
    assert result.answered and result.answer == 42
    assert [s.kind for s in result.steps] == ["cell", "cell"]

    first = vlm.requests[0]
    assert [m["role"] for m in first.messages] == ["system", "user"]
    assert "## Primitives" in first.texts("system")[0]
    user_text = "\n".join(first.texts("user"))
    assert "Question: How many chairs are there?" in user_text
    assert "Options:\nA. 42\nB. 7" in user_text
    assert "You have 6 cells" in user_text
    assert "frames[0]: frame 0, 0.00 s" in user_text and "frames[3]: frame 30, 1.50 s" in user_text
    images = first.images(1)
    assert len(images) == 3  # show_frames=3 of 4: positions 0, 2, 3
    for data, k in zip(images, key_frame_positions(4, 3)):
        pil = PILImage.open(io.BytesIO(data))
        assert pil.format == "JPEG" and pil.size == (768, 576)  # long edge capped at 768
        assert np.abs(mean_colour(data) - COLOURS[k]).max() < 4

    second = vlm.requests[1]
    assert second.messages[2] == {"role": "assistant", "content": script[0]}
    assert "x is 21" in second.last_user_text() and "[5 of 6 cells left]" in second.last_user_text()
    usage = result.usage
    assert usage["requests"] == 2
    assert usage["prompt_tokens"] == sum(s.usage.prompt_tokens for s in result.steps) > 0


def test_model_errors_become_observations_and_the_loop_goes_on(session: KernelSession, tmp_path: Path) -> None:
    script = [
        "I think there are two chairs.",
        cell("a = 1") + "\n" + cell("b = 2"),
        cell("def f(:\n    pass"),
        cell("def inner(v):\n    return v / 0\n\ndef outer():\n    return inner(3)\n\nkept = 'yes'\nouter()"),
        cell("import time\ntime.sleep(30)"),
        cell("answer(kept)"),
    ]
    result, vlm = run(session, script, tmp_path / "run", cell_timeout=1.0)
    kinds = [s.kind for s in result.steps]
    assert kinds == ["no_cell", "many_cells", "cell", "cell", "cell", "cell"]
    seen = [r.last_user_text() for r in vlm.requests[1:]]
    assert "no ```python cell" in seen[0]
    assert "2 ```python cells" in seen[1] and result.steps[1].code is None
    assert "SyntaxError" in seen[2]
    # the exception: the last frames and the error line, no separator rules
    assert "return v / 0" in seen[3] and "ZeroDivisionError: division by zero" in seen[3] and "-----" not in seen[3]
    assert "TimeoutError" in seen[4] and "interrupted" in seen[4] and result.steps[4].result.timed_out
    assert result.answered and result.answer == "yes"  # state survived the error and the interrupt


def test_step_budget_ends_with_a_code_free_answer_turn(session: KernelSession, tmp_path: Path) -> None:
    script = [cell("print(1)"), cell("print(2)"), "The chairs are on the left.\nAnswer: B"]
    result, vlm = run(session, script, tmp_path / "run", options=["A. 1", "B. 2"], max_steps=2)
    assert [s.kind for s in result.steps] == ["cell", "cell", "final"]
    assert result.answered and result.answer == "B"
    final_request = vlm.requests[2]
    assert "You have used all 2 cells" in final_request.last_user_text()
    assert "[0 of 2 cells left]" in final_request.texts("user")[-2]


def test_missing_answer_at_the_budget_is_recorded(session: KernelSession, tmp_path: Path) -> None:
    result, _ = run(session, [cell("print(1)"), "I cannot tell."], tmp_path / "run", max_steps=1)
    assert not result.answered and result.answer is None
    saved = json.loads((tmp_path / "run" / "trajectory.json").read_text())
    assert saved["answered"] is False and saved["answer"] is None and saved["steps"][-1]["kind"] == "final"


def test_old_step_images_are_elided_but_frames_stay(session: KernelSession, tmp_path: Path) -> None:
    script = [cell("show(frames[1])"), cell("show(frames[2])"), cell("answer(0)")]
    result, vlm = run(session, script, tmp_path / "run", image_budget=1)
    third = vlm.requests[2]
    assert len(third.images(1)) == 3  # the first turn's key frames, always
    assert "[image 1 of step 1 no longer shown" in "\n".join(third.texts())
    step_images = third.images()[3:]
    assert len(step_images) == 1 and np.abs(mean_colour(step_images[0]) - COLOURS[2]).max() < 2
    assert result.steps[2].images_elided == 1 and result.steps[2].images_sent == 4


def _nested_reply(request: ChatRequest) -> str:
    """Answers nested calls (no system message) by what they ask; the main loop by step."""
    if request.messages[0]["role"] != "system":
        text = request.last_user_text()
        if text.startswith("Point at"):
            return "The chair is at (384, 128)."
        return "It is red."
    step = sum(1 for m in request.messages if m["role"] == "assistant")
    if step == 0:
        return cell(
            "from spatialclaw.kernel.bootstrap import host_call, to_png\nimport base64\n"
            "png = base64.b64encode(to_png(frames[0])).decode()\n"
            "print(host_call('ask_vlm', {'prompt': 'What colour is it?', 'images': [png]}))\n"
            "print(host_call('locate', {'description': 'the chair', 'image': png}))"
        )
    return cell("answer('red')")


def test_nested_ask_vlm_and_locate_reach_the_same_model(session: KernelSession, tmp_path: Path) -> None:
    result, vlm = run(session, _nested_reply, tmp_path / "run")
    assert result.answered and result.answer == "red"
    step = result.steps[0]
    assert [c.method for c in step.nested] == ["ask_vlm", "locate"]
    assert step.result.text.splitlines() == ["It is red.", "[480.0, 160.0]"]  # 768-px point scaled back to 960 px
    nested = [r for r in vlm.requests if r.messages[0]["role"] != "system"]
    assert len(nested) == 2 and len(nested[0].images()) == 1
    assert "768×576 pixels" in nested[1].last_user_text()
    assert result.usage["requests"] == 4
    assert result.usage["completion_tokens"] == sum(
        s.usage.completion_tokens + s.nested_usage.completion_tokens for s in result.steps
    )


def test_rate_limit_then_success_inside_a_run(session: KernelSession, tmp_path: Path) -> None:
    result, vlm = run(session, [Fail(429, "busy", retry_after=0.05), cell("answer(3)")], tmp_path / "run")
    assert result.answered and result.answer == 3 and len(vlm.requests) == 2


def test_bad_credentials_stop_the_run_with_one_line_and_a_trajectory(session: KernelSession, tmp_path: Path) -> None:
    with ScriptedVLM([cell("answer(1)")], api_key="right") as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url, api_key="wrong"))
        with pytest.raises(ModelError) as err:
            agent.run(session, "How many chairs are there?", out=tmp_path / "run")
    assert "HTTP 401" in str(err.value) and "\n" not in str(err.value)
    saved = json.loads((tmp_path / "run" / "trajectory.json").read_text())
    assert saved["error"] == str(err.value) and saved["steps"] == []


def test_nested_call_server_failure_stops_the_run(session: KernelSession, tmp_path: Path) -> None:
    script = [
        cell("from spatialclaw.kernel.bootstrap import host_call\nhost_call('ask_vlm', {'prompt': 'hi', 'images': []})"),
        Fail(401, "bad key"),
    ]
    with ScriptedVLM(script) as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url))
        _Current.agent = agent
        with pytest.raises(ModelError, match="HTTP 401"):
            agent.run(session, "q", out=tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "trajectory.json").read_text())
    assert len(saved["steps"]) == 1 and "HTTP 401" in saved["error"]


def test_key_frame_positions() -> None:
    assert key_frame_positions(32, 8) == [0, 4, 9, 13, 18, 22, 27, 31]
    assert key_frame_positions(3, 8) == [0, 1, 2]
    assert key_frame_positions(10, 1) == [5]
    assert key_frame_positions(0, 4) == [] and key_frame_positions(5, 0) == []


def test_kernel_primitives_ask_vlm_and_locate_reach_the_agent(session: KernelSession, tmp_path: Path) -> None:
    if not {"ask_vlm", "locate"} <= set(session.perception_info.get("primitives", [])):
        pytest.skip("the kernel has no ask_vlm/locate primitives")

    def reply(request: ChatRequest) -> str:
        if request.messages[0]["role"] != "system":
            return "(384, 128)" if request.last_user_text().startswith("Point at") else "It is red."
        if not any(m["role"] == "assistant" for m in request.messages):
            return cell("print(ask_vlm('What colour is it?', [frames[1]]))\nprint(locate('the chair', frames[1]))")
        return cell("answer('done')")

    result, vlm = run(session, reply, tmp_path / "run")
    assert result.steps[0].result.text.splitlines() == ["It is red.", "(480.0, 160.0)"]
    nested_images = [r.images() for r in vlm.requests if r.messages[0]["role"] != "system"]
    assert [len(images) for images in nested_images] == [1, 1]
    assert np.abs(mean_colour(nested_images[0][0]) - COLOURS[1]).max() < 4


def test_ctrl_c_still_writes_the_trajectory(session: KernelSession, tmp_path: Path) -> None:
    def interrupt(event) -> None:
        if event.kind == "model" and event.index == 2:
            raise KeyboardInterrupt

    with ScriptedVLM([cell("print('first')"), cell("answer(1)")]) as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url), on_event=interrupt)
        with pytest.raises(KeyboardInterrupt):
            agent.run(session, "How many chairs are there?", out=tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "trajectory.json").read_text())
    assert "interrupted" in saved["error"] and len(saved["steps"]) == 1 and saved["answered"] is False
    assert (tmp_path / "run" / "trajectory.html").is_file()
