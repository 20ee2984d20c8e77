"""Configuration: `RunConfig` (None means "not given", defaults live in `DEFAULTS`, sampling resolves
frames vs fps) and the Hugging Face hub cache, read as huggingface_hub reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialclaw.config import DEFAULT_FRAMES, DEFAULTS, RunConfig, hub_cache_dir


def test_hub_cache_follows_huggingface_hub_precedence(tmp_path: Path) -> None:
    assert hub_cache_dir({"HF_HUB_CACHE": str(tmp_path / "a"), "HF_HOME": str(tmp_path / "h")}) == tmp_path / "a"
    assert hub_cache_dir({"HUGGINGFACE_HUB_CACHE": str(tmp_path / "legacy")}) == tmp_path / "legacy"
    assert hub_cache_dir({"HF_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "hub"
    assert hub_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "hub"
    assert hub_cache_dir({}) == Path.home() / ".cache" / "huggingface" / "hub"


def test_hub_cache_reads_the_environment_at_call_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "now"))
    assert hub_cache_dir() == tmp_path / "now"


def test_not_given_takes_the_default_and_given_wins() -> None:
    config = RunConfig(max_steps=3).merged(max_steps=None, show_frames=2).resolved()
    assert (config.max_steps, config.show_frames) == (3, 2)
    assert config.cell_timeout == DEFAULTS.cell_timeout and config.perception == DEFAULTS.perception
    assert config.model is None and config.max_reply_tokens is None  # left to the client / no cap


def test_sampling_frames_default_gives_way_to_fps() -> None:
    assert RunConfig().resolved().sampling() == {"frames": DEFAULT_FRAMES, "fps": None}
    assert RunConfig(fps=2.0).resolved().sampling() == {"frames": None, "fps": 2.0}
    assert RunConfig(frames="all").sampling() == {"frames": None, "fps": None}
    assert RunConfig(frames=8, fps=2.0).sampling() == {"frames": 8, "fps": 2.0}  # load_input refuses both


def test_unknown_settings_and_the_api_key_stay_out() -> None:
    with pytest.raises(TypeError, match="unknown run settings: colour"):
        RunConfig().merged(colour="red")
    assert "api_key" not in RunConfig(api_key="secret").public()


def test_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPATIALCLAW_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    config = RunConfig(model="flag-model").with_endpoint_from_env()
    assert (config.model, config.base_url) == ("flag-model", "http://127.0.0.1:9/v1")


def test_the_agent_takes_a_config_and_single_settings() -> None:
    from spatialclaw.agent.loop import Agent

    agent = Agent(client=None, config=RunConfig(max_steps=4, cell_timeout=5.0), show_frames=1)  # type: ignore[arg-type]
    assert (agent.config.max_steps, agent.config.cell_timeout, agent.config.show_frames) == (4, 5.0, 1)
    with pytest.raises(ValueError, match="max_steps must be at least 1"):
        Agent(client=None, max_steps=0)  # type: ignore[arg-type]


def test_run_config_is_public_api() -> None:
    import spatialclaw

    assert spatialclaw.RunConfig is RunConfig and "RunConfig" in spatialclaw.__all__
