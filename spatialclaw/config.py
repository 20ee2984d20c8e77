"""Configuration resolved as: explicit argument (CLI flag) > environment variable > default.

`RunConfig` is the one description of a run (API, CLI and eval); `DEFAULTS` holds its defaults.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

ENV_MODEL = "SPATIALCLAW_MODEL"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
ENV_CACHE = "SPATIALCLAW_CACHE"
ENV_PERCEPTION_SERVICE = "SPATIALCLAW_PERCEPTION_SERVICE"


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


DEFAULT_FRAMES = 32
ALL_FRAMES = "all"


class NotGiven(enum.Enum):
    """The type of `NOT_GIVEN`: an argument left out, where None already means something (all frames)."""

    NOT_GIVEN = "not given"


NOT_GIVEN = NotGiven.NOT_GIVEN


@dataclass(frozen=True)
class RunConfig:
    """How one question is answered: the settings `spatialclaw.ask`, `spatialclaw.agent.Agent`,
    the CLI and eval share. Every field is None when not given; `resolved` fills in `DEFAULTS`.

    Attributes:
        model: the served model name, or ``hf:PATH_OR_ID`` (> ``$SPATIALCLAW_MODEL``).
        base_url: the OpenAI-compatible API root (> ``$OPENAI_BASE_URL``).
        api_key: (> ``$OPENAI_API_KEY``); never written to logs (`public`).
        perception: ``"auto"``, ``"gt"``, ``"learned"``, ``"classical"`` or per family.
        sandbox: kernel isolation: ``"auto"``, ``"bwrap"`` or ``"none"``.
        frames: frames sampled uniformly from the input, or ``"all"``; by default
            `DEFAULT_FRAMES` unless ``fps`` is given.
        fps: sample this many frames per second of the source instead.
        max_steps: cells the model may run before the code-free answer turn.
        cell_timeout: seconds one cell may run.
        show_frames: key frames attached to the first user turn.
        max_side: long edge, in pixels, of every image sent to the model.
        image_budget: cell images kept in the prompt, newest first (older ones are elided).
        max_reply_tokens: reply length cap sent to the server (None: none is sent).
        locate_coords: how ``locate`` replies are read: ``"auto"``, ``"pixel"`` or ``"norm1000"``.
        vlm_calls_per_cell: nested ``ask_vlm``/``locate`` calls one cell may make (the prompt states it).
        vlm_calls_per_run: nested calls the whole run may make.
        perception_service: where the kernel's perception is computed and shared
            (`spatialclaw.perception_service.address.service_for`): ``"auto"`` (this machine's
            service, started on demand; the default), ``"off"`` (in the kernel, never shared),
            ``"ray:APP"`` (a Ray Serve application) or a socket path (> ``$SPATIALCLAW_PERCEPTION_SERVICE``).
    """

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    perception: str | None = None
    sandbox: str | None = None
    frames: int | Literal["all"] | None = None
    fps: float | None = None
    max_steps: int | None = None
    cell_timeout: float | None = None
    show_frames: int | None = None
    max_side: int | None = None
    image_budget: int | None = None
    max_reply_tokens: int | None = None
    locate_coords: Literal["auto", "pixel", "norm1000"] | None = None
    vlm_calls_per_cell: int | None = None
    vlm_calls_per_run: int | None = None
    perception_service: str | None = None

    def merged(self, **settings: Any) -> RunConfig:
        """This configuration with the given (not None) ``settings`` taking its place."""
        given = {name: value for name, value in settings.items() if value is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown run settings: {', '.join(sorted(unknown))}")
        return replace(self, **given)

    def resolved(self) -> RunConfig:
        """Every setting that has a default filled in, but ``frames`` (`sampling` applies its
        default, so that ``fps`` can still be given); the endpoint settings are left to the
        client (flag > environment)."""
        defaults = {
            name: value
            for name, value in asdict(DEFAULTS).items()
            if getattr(self, name) is None and value is not None and name != "frames"
        }
        return replace(self, **defaults)

    def with_endpoint_from_env(self) -> RunConfig:
        """``model``, ``base_url`` and ``api_key`` resolved from the environment where not given,
        so that workers elsewhere need no environment of their own."""
        return replace(
            self,
            model=setting(self.model, ENV_MODEL),
            base_url=setting(self.base_url, ENV_BASE_URL),
            api_key=setting(self.api_key, ENV_API_KEY),
        )

    def sampling(self) -> dict[str, Any]:
        """``frames`` / ``fps`` as `spatialclaw.inputs.load.load_input` takes them (frames None: all)."""
        if self.frames == ALL_FRAMES:
            return {"frames": None, "fps": self.fps}
        if self.frames is None:
            return {"frames": None if self.fps is not None else DEFAULT_FRAMES, "fps": self.fps}
        return {"frames": self.frames, "fps": self.fps}

    def public(self) -> dict[str, Any]:
        """The settings without the API key (for run.json and logs)."""
        data = asdict(self)
        data.pop("api_key")
        return data


DEFAULTS = RunConfig(
    perception="auto",
    sandbox="auto",
    frames=DEFAULT_FRAMES,
    max_steps=12,
    cell_timeout=120.0,
    show_frames=8,
    max_side=768,
    image_budget=8,
    locate_coords="auto",
    vlm_calls_per_cell=20,
    vlm_calls_per_run=60,
)
