"""Configuration resolved as: explicit argument (CLI flag) > environment variable > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def hub_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The Hugging Face hub cache folder under ``env`` (default: this process's environment, now).

    huggingface_hub's own rule (``huggingface_hub.constants``: ``HF_HUB_CACHE``, then the legacy
    ``HUGGINGFACE_HUB_CACHE``, then ``HF_HOME/hub``, then ``$XDG_CACHE_HOME/huggingface/hub``
    with its ``default_home``), read at call time rather than at import time, so a changed
    environment or another process's environment (the kernel's) is honoured.
    """
    from huggingface_hub import constants

    env = os.environ if env is None else env
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or constants.default_home, "huggingface")
    hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(hub)))
