"""Shared fixtures. Tests make their own data; nothing is downloaded."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point SPATIALCLAW_CACHE at a per-test temporary folder, drop any real VLM settings, and run
    perception in the kernels (tests of the perception service start their own)."""
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("SPATIALCLAW_PERCEPTION_SERVICE", "off")
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SPATIALCLAW_MODEL"):
        monkeypatch.delenv(name, raising=False)

