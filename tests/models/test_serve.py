"""The OpenAI-compatible client and the agent against a real server: `transformers serve` on 127.0.0.1
serving a tiny random Idefics3 built offline. Skipped where `transformers[serving]` is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("fastapi", reason="needs transformers[serving] (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="needs transformers[serving] (fastapi, uvicorn)")

START_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """``(base_url, model_name)`` of a running ``transformers serve``; stopped after the module."""
    from spatialclaw.testing.tiny_vlm import build_tiny_idefics3

    if shutil.which("transformers") is None:
        pytest.skip("the `transformers` command is not on PATH")
    model_dir = build_tiny_idefics3(tmp_path_factory.mktemp("served-idefics3"))
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        ["transformers", "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not come up (exit status {process.poll()})")
                time.sleep(0.5)
        yield base_url, str(model_dir)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_client_talks_to_a_real_server(served: tuple[str, str]) -> None:
    from spatialclaw.models.base import Image, Message
    from spatialclaw.models.openai_compat import OpenAICompatClient

    base_url, model_name = served
    client = OpenAICompatClient(None, base_url=base_url)  # the server's only model
    assert client.model == model_name
    image = Image.from_array(np.full((48, 64, 3), 128, np.uint8))
    completion = client.complete([Message("system", ["be brief"]), Message("user", ["what is this?", image])], max_tokens=8)
    assert completion.usage.prompt_tokens > 20 and 1 <= completion.usage.completion_tokens <= 8
    assert completion.attempts == 1 and completion.request_bytes > len(image.data)


def test_agent_loop_runs_against_a_real_server(served: tuple[str, str], tmp_path: Path) -> None:
    from spatialclaw.agent.loop import Agent
    from spatialclaw.models.openai_compat import OpenAICompatClient

    base_url, model_name = served
    agent = Agent(OpenAICompatClient(model_name, base_url=base_url), max_steps=1, max_reply_tokens=8)
    result = agent.run(None, "How many chairs?", out=tmp_path / "run")
    assert len(result.steps) == 2 and result.steps[-1].kind == "final"  # random weights never answer in code
    assert result.usage["requests"] == 2 and result.usage["prompt_tokens"] > 500
