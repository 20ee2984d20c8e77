"""The kernel-side context every primitive reads: the frames, the input and the backends' settings.

The bootstrap builds one `KernelContext` at kernel start and hands it to
`spatialclaw.primitives.install`; primitives call `current()` to reach it. The kernel side knows
nothing about the agent: nested VLM questions go through ``host_call``, a hook the host installs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from spatialclaw.frame import Frame

HostCall = Callable[[str, dict], Any]


@dataclass
class KernelContext:
    """What the primitives know about this kernel.

    Attributes:
        frames: the sampled input frames (the kernel's ``frames``).
        source_kind: ``"video"``, ``"images"``, ``"rgbd"`` or ``"none"``.
        source_path: the video file, first image, or RGB-D folder; None without input.
        perception: the requested backend: ``"auto"``, ``"gt"``, ``"learned"`` or ``"classical"``.
        cache_dir: where perception results are cached on disk.
        host_call: ``host_call(method, payload) -> result``: a request to the host
            (``"ask_vlm"``, ``"locate"``); None when the host installed no handlers.
        options: backend settings (e.g. ``{"camera_height": 1.5}``), free-form.
    """

    frames: list[Frame]
    source_kind: str = "none"
    source_path: Path | None = None
    perception: str = "auto"
    cache_dir: Path | None = None
    host_call: HostCall | None = None
    options: dict[str, Any] = field(default_factory=dict)


_current: KernelContext | None = None


def set_current(context: KernelContext) -> None:
    """Make ``context`` the one primitives see (called by `install`)."""
    global _current
    _current = context


def current() -> KernelContext:
    """The active context; an empty one (no frames) when nothing was installed."""
    global _current
    if _current is None:
        _current = KernelContext(frames=[])
    return _current
