"""Configuration resolved as: explicit argument (CLI flag) > environment variable > default."""

from __future__ import annotations

import os
from pathlib import Path

ENV_MODEL = "SPATIALCLAW_MODEL"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
ENV_CACHE = "SPATIALCLAW_CACHE"


def cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The root of SpatialClaw's on-disk caches (frames, perception results).

    ``explicit`` wins, then ``$SPATIALCLAW_CACHE``, then ``$XDG_CACHE_HOME/spatialclaw``,
    then ``~/.cache/spatialclaw``. The folder is created if missing.
    """
    if explicit is not None:
        root = Path(explicit)
    elif os.environ.get(ENV_CACHE):
        root = Path(os.environ[ENV_CACHE])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "spatialclaw"
    else:
        root = Path.home() / ".cache" / "spatialclaw"
    root = root.expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def setting(explicit: str | None, env_name: str, default: str | None = None) -> str | None:
    """``explicit`` if given, else the environment variable ``env_name`` if set, else ``default``."""
    if explicit:
        return explicit
    value = os.environ.get(env_name)
    return value if value else default
