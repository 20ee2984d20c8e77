"""The kernel-side context every primitive reads: the frames, the input and the backends' settings.

The bootstrap builds one `KernelContext` at kernel start and hands it to
`spatialclaw.primitives.install`, which binds it to every primitive that declares a ``context``
parameter (`registry.bind`); what those primitives call below them gets it (or the frames it
needs) as an argument. There is no current context: each kernel's lives in its namespace's
functions. The kernel side knows nothing about the agent: nested VLM questions go through
``host_call``, a hook the host installs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from spatialclaw.inputs.frame import Frame

if TYPE_CHECKING:
    from spatialclaw.primitives.types import Reconstruction

HostCall = Callable[[str, dict], Any]


@dataclass
class KernelContext:
    """What the primitives know about this kernel.

    Attributes:
        frames: the sampled input frames (the kernel's ``frames``).
        source_kind: ``"video"``, ``"images"``, ``"rgbd"`` or ``"none"``.
        source_path: the video file, first image, or RGB-D folder; None without input.
        source_files: the image files of an image-sequence input (one folder), in natural
            order (``Frame.index`` of an image is its position here; the sandbox lets the
            kernel read them); empty for other inputs.
        perception: the requested backend: ``"auto"``, ``"gt"``, ``"learned"`` or ``"classical"``.
        cache_dir: where perception results are cached on disk (shared; read-only in a session).
        cache_layer: the session's own folder for new perception results (the host shares the
            valid ones after the session); None writes to ``cache_dir``.
        host_call: ``host_call(method, payload) -> result``: a request to the host
            (``"ask_vlm"``, ``"locate"``, ``"perception"``); None when the host installed no handlers.
        perception_service: the host relays perception requests to its perception service
            (`spatialclaw.primitives.remote`).
        options: backend settings (e.g. ``{"camera_height": 1.5}``), free-form.
        backends: the backend chosen per perception family (``{"reconstruction": "gt", ...}``),
            set by `install`.
        loaded: what this kernel keeps for its life, by owner: the learned backend's model
            pool (``"learned"``), the gt backend's folder (``"gt"``), the perception caches with
            their in-memory results (``"cache"``), which checkpoints served (``"served"``).
        announced: cache keys of the reconstructions whose warnings were already printed in
            this kernel (they are printed once, in the first cell that computes them).
        reconstruct_all: ``reconstruct_all() -> Reconstruction``: the chosen backend's cached
            reconstruction of all the frames, as the ``reconstruct`` primitive gives it (set by
            `install`; None before). What sits below the primitives and needs the room's geometry
            (a backend's region growing, a track's picture) calls it instead of importing them.
        setup: what the kernel's bootstrap set up (``{"frames": N, "perception": <install()'s
            report>}``), which the kernel reports to the host after every (re)start.
    """

    frames: list[Frame]
    source_kind: str = "none"
    source_path: Path | None = None
    source_files: list[Path] = field(default_factory=list)
    perception: str = "auto"
    cache_dir: Path | None = None
    cache_layer: Path | None = None
    host_call: HostCall | None = None
    perception_service: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    loaded: dict[str, Any] = field(default_factory=dict)
    announced: set[str] = field(default_factory=set)
    reconstruct_all: Callable[[], Reconstruction] | None = None
    setup: dict[str, Any] = field(default_factory=dict)

    def select_frames(self, frames: Sequence[Frame | int] | None) -> tuple[list[int], list[Frame]]:
        """Resolve a primitive's ``frames`` argument to (positions in ``self.frames``, the Frames).

        None means every frame; ints are positions (negative ones count from the end); a Frame
        must be one of ``self.frames`` (matched by identity, else by its ``index``).

        Raises:
            ValueError: a position out of range or a Frame that is not one of the input's.
        """
        n = len(self.frames)
        if frames is None:
            return list(range(n)), list(self.frames)
        if isinstance(frames, (Frame, int)):
            frames = [frames]
        by_index = {f.index: k for k, f in enumerate(self.frames)}
        positions: list[int] = []
        for item in frames:
            if isinstance(item, Frame):
                pos = next((k for k, f in enumerate(self.frames) if f is item), by_index.get(item.index))
                if pos is None:
                    raise ValueError(f"{item!r} is not one of the input's frames: pass frames[i] or the position i")
            elif isinstance(item, (int, np.integer)):
                pos = int(item) + n if int(item) < 0 else int(item)
                if not 0 <= pos < n:
                    raise ValueError(f"frame position {int(item)} is out of range: there are {n} frames (0..{n - 1})")
            else:
                raise ValueError(f"frames must hold Frame objects or integer positions, got {type(item).__name__}")
            positions.append(pos)
        return positions, [self.frames[p] for p in positions]

