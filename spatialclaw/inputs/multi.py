"""Several inputs for one question (multi-view image sets, several videos): `load_several`.

Each input is loaded and sampled on its own (by the ``load_one`` it is given: `load_input`, which
calls this through `spatialclaw.inputs.load.load_inputs`), then the frames are put one input
after the other into one frame list; ``Frame.source`` says which input a frame came from and
``LoadedInput.parts`` describes each input (kind, name, frame positions), which the kernel
exposes as ``inputs``.

Frame budget: images are all kept (a multi-view question needs every view, up to ``frames``
images in all); videos and folders share ``frames`` evenly (at least one frame each), so four
videos at ``frames=32`` give 8 frames each. With ``fps`` each video is sampled at that rate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from spatialclaw.inputs.frame import Frame, InputInfo, LoadedInput
from spatialclaw.inputs.frame_cache import cache_path, cached, store

LoadOne = Callable[..., LoadedInput]
"""``load_one(path_or_image_paths, *, frames, fps, cache_dir, progress) -> LoadedInput`` (`load_input`)."""


def _part_kind(loaded: LoadedInput) -> str:
    return "image" if loaded.kind == "images" and len(loaded.paths) == 1 else loaded.kind


def load_several(
    paths: list[Path],
    load_one: LoadOne,
    *,
    all_images: bool,
    names: Sequence[str] | None,
    frames: int | None,
    fps: float | None,
    cache_dir: Path | None,
    progress: bool,
) -> LoadedInput:
    """Load each of ``paths`` with ``load_one`` under the frame budget (module docstring) and
    combine them; ``all_images``: every path is an image file (they load as one image list)."""
    if all_images:
        loaded = load_one(paths if len(paths) > 1 else paths[0], frames=None if frames is None else max(frames, len(paths)),
                          cache_dir=cache_dir, progress=progress)
        if len(paths) == 1:
            info = loaded.inputs[0]
            loaded.parts = [InputInfo(info.kind, names[0] if names else info.name, info.frames)]
        elif names:
            by_file = {p.name: name for p, name in zip(paths, names)}
            loaded.parts = [InputInfo(part.kind, by_file.get(part.name, part.name), part.frames) for part in loaded.parts]
        return loaded
    share = None if frames is None or fps is not None else max(1, frames // len(paths))
    loaded_parts = []
    for path in paths:
        single = load_one(path, frames=share if fps is None else None, fps=fps, cache_dir=cache_dir, progress=progress)
        loaded_parts.append(single)
    return _combine(paths, loaded_parts, names, cache_dir)


def _combine(paths: list[Path], parts: list[LoadedInput], names: Sequence[str] | None, cache_dir: Path | None) -> LoadedInput:
    """One frame list from the inputs' frames, cached under a key made of the parts' cache keys."""
    key = hashlib.sha256(json.dumps([str(p.frames_file) for p in parts]).encode()).hexdigest()
    entry = cache_path(cache_dir, {"kind": "multi", "parts": key})
    infos, merged, start = [], [], 0
    for source, (path, part) in enumerate(zip(paths, parts)):
        count = len(part.frames)
        infos.append(InputInfo(_part_kind(part), names[source] if names else path.name, list(range(start, start + count))))
        merged.extend(Frame(f.index, f.time, f.image, source) for f in part.frames)
        start += count
    if cached(entry) is None:
        store(entry, merged, {})
    total = sum(p.source_frame_count for p in parts)
    return LoadedInput("multi", paths, merged, entry, None, total, parts=infos)
