"""Several inputs for one question (multi-view image sets, several videos): `load_inputs`.

Each input is loaded and sampled on its own (``load_input``), then the frames are put one input
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
from collections.abc import Sequence
from pathlib import Path

from spatialclaw.config import DEFAULT_FRAMES, NOT_GIVEN, NotGiven
from spatialclaw.errors import InputError
from spatialclaw.inputs.frame import Frame, InputInfo
from spatialclaw.inputs.load import (
    IMAGE_SUFFIXES,
    LoadedInput,
    PathLike,
    _cache_path,
    _cached,
    _store,
    load_input,
)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _part_kind(loaded: LoadedInput) -> str:
    return "image" if loaded.kind == "images" and len(loaded.paths) == 1 else loaded.kind


def load_inputs(
    inputs: Sequence[PathLike],
    *,
    names: Sequence[str] | None = None,
    frames: int | None | NotGiven = NOT_GIVEN,
    fps: float | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> LoadedInput:
    """Load several inputs of one question into one frame list.

    Args:
        inputs: video files, image files, image folders or RGB-D folders, in the question's order.
        names: a name per input (default: the file or folder name); the kernel's ``inputs`` shows it.
        frames: frame budget (see the module docstring; not given: `DEFAULT_FRAMES`, or all frames
            at the ``fps`` rate); None takes every frame of every input.
        fps: sample videos at this rate instead.
        cache_dir: root of the caches.
        progress: show progress bars on stderr.

    Returns:
        A `LoadedInput` of kind ``"images"`` when every input is an image file, else ``"multi"``.

    Raises:
        InputError: an input is missing or unreadable, or ``names`` does not match ``inputs``.
    """
    if frames is NOT_GIVEN:
        frames = None if fps is not None else DEFAULT_FRAMES
    paths = [Path(p).expanduser() for p in inputs]
    if not paths:
        raise InputError("an empty list of inputs was given: pass a video, one or more images, or a folder")
    if names is not None and len(names) != len(paths):
        raise InputError(f"{len(names)} names for {len(paths)} inputs: give one name per input")
    if all(_is_image(p) for p in paths):
        loaded = load_input(paths if len(paths) > 1 else paths[0], frames=None if frames is None else max(frames, len(paths)),
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
        single = load_input(path, frames=share if fps is None else None, fps=fps, cache_dir=cache_dir, progress=progress)
        loaded_parts.append(single)
    return _combine(paths, loaded_parts, names, cache_dir)


def _combine(paths: list[Path], parts: list[LoadedInput], names: Sequence[str] | None, cache_dir: Path | None) -> LoadedInput:
    """One frame list from the inputs' frames, cached under a key made of the parts' cache keys."""
    key = hashlib.sha256(json.dumps([str(p.frames_file) for p in parts]).encode()).hexdigest()
    entry = _cache_path(cache_dir, {"kind": "multi", "parts": key})
    infos, merged, start = [], [], 0
    for source, (path, part) in enumerate(zip(paths, parts)):
        count = len(part.frames)
        infos.append(InputInfo(_part_kind(part), names[source] if names else path.name, list(range(start, start + count))))
        merged.extend(Frame(f.index, f.time, f.image, source) for f in part.frames)
        start += count
    if _cached(entry) is None:
        _store(entry, merged, {})
    total = sum(p.source_frame_count for p in parts)
    return LoadedInput("multi", paths, merged, entry, None, total, parts=infos)
