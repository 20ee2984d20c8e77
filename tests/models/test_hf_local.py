"""The local transformers backend (`--model hf:PATH`) on a tiny random Idefics3 built offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatialclaw.errors import ModelError
from spatialclaw.models import make_client
from spatialclaw.models.base import Image, Message

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spatialclaw.testing.tiny_vlm import build_tiny_idefics3

    return build_tiny_idefics3(tmp_path_factory.mktemp("tiny-idefics3"))


@pytest.fixture(scope="module")
def client(tiny_model: Path):
    return make_client(f"hf:{tiny_model}")


def photo(seed: int) -> Image:
    rng = np.random.default_rng(seed)
    return Image.from_array(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def test_make_client_picks_the_local_backend(client, tiny_model: Path) -> None:
    from spatialclaw.models.hf_local import HFLocalClient

    assert isinstance(client, HFLocalClient)
    assert client.describe() == {
        "backend": "transformers", "model": f"hf:{tiny_model}", "device": "cpu", "model_type": "idefics3",
    }


def test_images_reach_the_prompt_and_usage_counts_tokens(client) -> None:
    from spatialclaw.testing.tiny_vlm import IMAGE_SEQ_LEN

    text_only = client.complete([Message("system", ["be brief"]), Message("user", ["what is this?"])], max_tokens=4)
    one_image = client.complete([Message("system", ["be brief"]), Message("user", ["what is this?", photo(0)])], max_tokens=4)
    two_images = client.complete(
        [Message("system", ["be brief"]), Message("user", ["what is this?", photo(0), photo(1)])], max_tokens=4
    )
    per_image = one_image.usage.prompt_tokens - text_only.usage.prompt_tokens
    # a 64×48 photo becomes 2×2 tiles + a global view, each IMAGE_SEQ_LEN image tokens plus markers
    assert per_image >= 5 * IMAGE_SEQ_LEN
    assert two_images.usage.prompt_tokens - one_image.usage.prompt_tokens == per_image
    for completion in (text_only, one_image, two_images):
        assert 1 <= completion.usage.completion_tokens <= 4 and completion.usage.requests == 1
        assert completion.finish_reason in ("stop", "length")


def test_replies_are_greedy_and_repeatable(client) -> None:
    messages = [Message("user", ["describe", photo(2)])]
    first, second = client.complete(messages, max_tokens=6), client.complete(messages, max_tokens=6)
    assert first.text == second.text and first.usage == second.usage


def test_missing_checkpoint_is_a_one_line_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        make_client(f"hf:{tmp_path / 'nothing-here'}")
    assert "--model hf:PATH" in str(err.value) and "\n" not in str(err.value)


def test_agent_runs_on_the_local_backend(client, tmp_path: Path) -> None:
    from spatialclaw.agent.loop import Agent

    agent = Agent(client, max_steps=1, max_reply_tokens=6)
    result = agent.run(None, "How many chairs?", out=tmp_path / "run")
    # random weights write nonsense, never a cell: one corrective step, then the answer turn
    assert [s.kind for s in result.steps] in (["no_cell", "final"], ["cell", "final"], ["many_cells", "final"])
    assert result.usage["requests"] == 2 and result.usage["prompt_tokens"] > 500
    assert (tmp_path / "run" / "trajectory.html").is_file()
