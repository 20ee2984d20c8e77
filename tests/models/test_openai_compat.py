"""The OpenAI-compatible client, through the real `openai` package, against the scripted server."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image as PILImage

from spatialclaw.errors import ConfigError, ModelError
from spatialclaw.models import make_client
from spatialclaw.models.base import Image, Message, Usage
from spatialclaw.models.openai_compat import OpenAICompatClient, to_openai_messages
from spatialclaw.testing.scripted_vlm import Fail, Reply, ScriptedVLM


def client_for(vlm: ScriptedVLM, **kw) -> OpenAICompatClient:
    return OpenAICompatClient(vlm.model, base_url=vlm.base_url, api_key=kw.pop("api_key", "test-key"), **kw)


def hello() -> list[Message]:
    return [Message("user", ["hello"])]


def test_image_is_capped_and_encoded_as_data_url() -> None:
    rgb = np.zeros((600, 1024, 3), np.uint8)
    rgb[:, :512] = (200, 30, 40)
    image = Image.from_array(rgb, max_side=768)
    assert (image.width, image.height) == (768, 450)
    url = image.data_url()
    assert url.startswith("data:image/jpeg;base64,")
    decoded = PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (768, 450)
    left = np.asarray(decoded)[225, 100].astype(int)
    assert np.abs(left - (200, 30, 40)).max() < 12
    small = Image.from_array(np.zeros((240, 320, 3), np.uint8), max_side=768)
    assert (small.width, small.height) == (320, 240)


def test_messages_become_text_and_image_url_parts() -> None:
    image = Image.from_array(np.zeros((8, 8, 3), np.uint8))
    wire = to_openai_messages([Message("system", ["rules"]), Message("user", ["look", image, "now"])])
    assert wire[0] == {"role": "system", "content": "rules"}
    assert [p["type"] for p in wire[1]["content"]] == ["text", "image_url", "text"]
    assert wire[1]["content"][1]["image_url"]["url"] == image.data_url()


def test_request_through_openai_client_carries_images_and_only_known_fields() -> None:
    image = Image.from_array(np.full((48, 64, 3), 90, np.uint8))
    with ScriptedVLM(["a reply with five words"], api_key="test-key") as vlm:
        completion = client_for(vlm).complete([Message("system", ["be brief"]), Message("user", ["what is it?", image])])
        request = vlm.requests[0]
    assert completion.text == "a reply with five words"
    assert set(request.body) == {"model", "messages"}
    assert request.images() == [image.data]
    assert request.texts() == ["be brief", "what is it?"]
    # usage as the server counted it: 5 words + 64 per image in, 5 words out
    assert completion.usage == Usage(prompt_tokens=5 + 64, completion_tokens=5, requests=1)
    assert completion.request_bytes == request.size_bytes
    assert completion.attempts == 1 and completion.finish_reason == "stop"


def test_max_tokens_and_temperature_are_sent_only_when_set() -> None:
    with ScriptedVLM(["x", "y"]) as vlm:
        client = client_for(vlm, temperature=0.2)
        client.complete(hello(), max_tokens=77)
        client_for(vlm).complete(hello())
    assert vlm.requests[0].body["max_tokens"] == 77 and vlm.requests[0].body["temperature"] == 0.2
    assert set(vlm.requests[1].body) == {"model", "messages"}


def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    with ScriptedVLM([Fail(429, "slow down", retry_after=1.0), "ok"]) as vlm:
        start = time.perf_counter()
        completion = client_for(vlm).complete(hello())
        elapsed = time.perf_counter() - start
    assert completion.text == "ok" and completion.attempts == 2
    assert len(vlm.requests) == 2
    assert elapsed >= 1.0  # waited what Retry-After asked, not the client's first back-off (at most 0.5 s)


def test_plain_text_500_that_drops_the_connection_is_retried() -> None:
    with ScriptedVLM([Fail(500, "Internal Server Error", plain_text=True, close=True), "fine"]) as vlm:
        completion = client_for(vlm).complete(hello())
    assert completion.text == "fine" and completion.attempts == 2


def test_persistent_server_error_gives_up_after_bounded_retries() -> None:
    with ScriptedVLM([Fail(503, "overloaded")] * 10) as vlm:
        with pytest.raises(ModelError) as err:
            client_for(vlm, max_retries=2).complete(hello())
        assert len(vlm.requests) == 3
    message = str(err.value)
    assert "HTTP 503" in message and "overloaded" in message and "3 attempts" in message
    assert "\n" not in message


def test_timeout_is_retried() -> None:
    with ScriptedVLM([Reply("late", delay_s=1.0), "on time"]) as vlm:
        completion = client_for(vlm, timeout=0.3, max_retries=1).complete(hello())
    assert completion.text == "on time" and completion.attempts == 2


def test_bad_key_is_one_clear_line_without_retries() -> None:
    with ScriptedVLM(["never"], api_key="right") as vlm:
        with pytest.raises(ModelError) as err:
            client_for(vlm, api_key="wrong").complete(hello())
        assert len(vlm.requests) == 1
    message = str(err.value)
    assert "HTTP 401" in message and "--api-key" in message and "OPENAI_API_KEY" in message
    assert "\n" not in message


def test_unknown_model_names_what_to_check() -> None:
    with ScriptedVLM(["never"], model="served-name") as vlm:
        client = OpenAICompatClient("served-name/", base_url=vlm.base_url)
        with pytest.raises(ModelError) as err:
            client.complete(hello())
    assert "served-name/" in str(err.value) and "--model" in str(err.value) and "HTTP 404" in str(err.value)


def test_unreachable_server_names_the_url() -> None:
    client = OpenAICompatClient("m", base_url="http://127.0.0.1:9/v1", max_retries=1)
    with pytest.raises(ModelError) as err:
        client.complete(hello())
    assert "cannot reach" in str(err.value) and "http://127.0.0.1:9/v1" in str(err.value)


def test_settings_flags_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedVLM(["from env"], model="env-model", api_key="env-key") as vlm:
        monkeypatch.setenv("OPENAI_BASE_URL", vlm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "env-key")
        monkeypatch.setenv("SPATIALCLAW_MODEL", "env-model")
        client = make_client()
        assert client.describe() == {"backend": "openai", "model": "env-model", "base_url": vlm.base_url}
        assert client.complete(hello()).text == "from env"
        flagged = make_client("flag-model", base_url="http://127.0.0.1:9/v1", api_key="k")
        assert flagged.describe()["model"] == "flag-model" and flagged.describe()["base_url"] == "http://127.0.0.1:9/v1"


def test_missing_model_takes_the_servers_only_model() -> None:
    with ScriptedVLM(["hi"], model="the-only-one") as vlm:
        assert OpenAICompatClient(None, base_url=vlm.base_url).model == "the-only-one"


def test_hosted_api_without_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAICompatClient("gpt-x")


def _post(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_scripted_server_is_as_strict_as_transformers_serve() -> None:
    with ScriptedVLM(["ok"] * 3) as vlm:
        url = vlm.base_url + "/chat/completions"
        messages = [{"role": "user", "content": "hi"}]
        assert _post(url, {"model": vlm.model, "messages": messages, "stop": ["```"]}) == (500, "Internal Server Error")
        status, body = _post(url, {"model": vlm.model, "messages": messages, "logprobs": True})
        assert status == 422 and "logprobs" in body
        status, _ = _post(url, {"model": vlm.model, "messages": messages})
        assert status == 200
        assert vlm.remaining == 2  # rejected requests consume nothing
