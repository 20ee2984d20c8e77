"""Configuration resolvers: the Hugging Face hub cache, read as huggingface_hub reads it."""

from __future__ import annotations

from pathlib import Path

from spatialclaw.config import hub_cache_dir


def test_hub_cache_follows_huggingface_hub_precedence(tmp_path: Path) -> None:
    assert hub_cache_dir({"HF_HUB_CACHE": str(tmp_path / "a"), "HF_HOME": str(tmp_path / "h")}) == tmp_path / "a"
    assert hub_cache_dir({"HUGGINGFACE_HUB_CACHE": str(tmp_path / "legacy")}) == tmp_path / "legacy"
    assert hub_cache_dir({"HF_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "hub"
    assert hub_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "hub"
    assert hub_cache_dir({}) == Path.home() / ".cache" / "huggingface" / "hub"


def test_hub_cache_reads_the_environment_at_call_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "now"))
    assert hub_cache_dir() == tmp_path / "now"
