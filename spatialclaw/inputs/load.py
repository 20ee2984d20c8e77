"""Loading an input (video, images, RGB-D folder) or several as sampled `Frame`s, through the frame cache.

``load_input`` is what the CLI and ``KernelSession`` call; ``load_inputs`` loads several inputs
of one question (`spatialclaw.inputs.multi` puts their frames in one list); ``describe_input``
is ``spatialclaw info``. The frames are kept in the on-disk cache of
`spatialclaw.inputs.frame_cache`, which the kernel reads back with ``load_frames``.

Sampling: ``frames=N`` takes N frames spread uniformly over the source's frame numbers, first
and last included; ``fps=R`` takes the frame nearest to each time 0, 1/R, 2/R, ... seconds.
Neither ever returns more frames than the source has.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.config import DEFAULT_FRAMES, NOT_GIVEN, NotGiven
from spatialclaw.errors import InputError
from spatialclaw.inputs.frame import Frame, InputInfo, InputKind, LoadedInput, PathLike
from spatialclaw.inputs.frame_cache import cache_path, cached, file_identity, store
from spatialclaw.inputs.multi import load_several

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm"})
RGBD_SUBFOLDERS = ("color", "depth", "pose", "intrinsic")


# --------------------------------------------------------------------------- sampling


def _check_sampling(frames: int | None | NotGiven, fps: float | None) -> tuple[int | None, float | None]:
    """Validate the sampling arguments; ``frames`` not given is `DEFAULT_FRAMES`, or None (all, at
    the rate) when ``fps`` is given."""
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
            raise InputError.bad_fps(fps)
        if frames is not None and frames is not NOT_GIVEN:
            raise InputError.frames_and_fps(frames, fps)
        return None, float(fps)
    if frames is NOT_GIVEN:
        return DEFAULT_FRAMES, None
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, numbers.Integral) or frames < 1):
        raise InputError.bad_frames(frames, DEFAULT_FRAMES)
    return (None if frames is None else int(frames)), None


def uniform_positions(count: int, n: int | None) -> list[int]:
    """``n`` positions spread evenly over ``range(count)``, first and last included (all when n is None or >= count)."""
    if n is None or n >= count:
        return list(range(count))
    if n == 1:
        return [0]
    # floor(x + 0.5), not np.round: round-half-even could map two neighbours to one position.
    return np.floor(np.linspace(0, count - 1, n) + 0.5).astype(int).tolist()


def rate_positions(times: np.ndarray, fps: float) -> list[int]:
    """Positions of the frames nearest to 0, 1/fps, 2/fps, ... seconds (``times`` increasing; ties go earlier)."""
    if len(times) == 0:
        return []
    steps = int(math.floor(float(times[-1] - times[0]) * fps + 1e-9))
    targets = times[0] + np.arange(steps + 1) / fps
    after = np.clip(np.searchsorted(times, targets), 1, len(times) - 1) if len(times) > 1 else np.zeros(len(targets), int)
    before = np.maximum(after - 1, 0)
    nearer_after = (times[after] - targets) < (targets - times[before]) - 1e-9
    chosen = np.where(nearer_after, after, before)
    return sorted(set(chosen.tolist()))


# --------------------------------------------------------------------------- resolving the input


def _natural_key(path: Path) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name.lower())]


def _list_images(folder: Path) -> list[Path]:
    found = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found, key=_natural_key)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError.missing(path)


def _resolve(path: PathLike | Sequence[PathLike]) -> tuple[InputKind, list[Path]]:
    """Which kind of input ``path`` is, and its files (for images) or its one path."""
    if isinstance(path, (str, os.PathLike)):
        paths = [Path(path).expanduser()]
    else:
        paths = [Path(p).expanduser() for p in path]
        if not paths:
            raise InputError.no_inputs()
    if len(paths) > 1:
        for p in paths:
            _check_exists(p)
            if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
                raise InputError.not_all_images(p, ", ".join(sorted(IMAGE_SUFFIXES)))
        return "images", paths
    p = paths[0]
    _check_exists(p)
    if p.is_dir():
        if any((p / sub).is_dir() for sub in RGBD_SUBFOLDERS):
            return "rgbd", [p]
        images = _list_images(p)
        if images:
            return "images", images
        videos = sorted((q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES), key=_natural_key)
        if videos:
            raise InputError.folder_of_videos(p, len(videos), videos[0].name)
        raise InputError.no_images_in_folder(p, ", ".join(sorted(IMAGE_SUFFIXES)))
    suffix = p.suffix.lower()
    if p.is_file() and suffix in VIDEO_SUFFIXES:
        return "video", [p]
    if p.is_file() and suffix in IMAGE_SUFFIXES:
        return "images", [p]
    raise InputError.unknown_kind(p, suffix, ", ".join(sorted(VIDEO_SUFFIXES)))



@contextmanager
def _progress(enabled: bool, total: int, description: str) -> Iterator[Callable[[], None]]:
    """A callable that advances a rich progress bar on stderr (a no-op when disabled)."""
    from spatialclaw.terminal import progress_console, shows_progress

    if not (enabled and shows_progress()):
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console(), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


# --------------------------------------------------------------------------- loading


def load_input(
    path: PathLike | Sequence[PathLike] | None,
    *,
    frames: int | None | NotGiven = NOT_GIVEN,
    fps: float | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> LoadedInput:
    """Load and sample an input, reading the frame cache when it holds this input and sampling.

    Args:
        path: a video file; an image; several images; a folder of images (natural order:
            ``2.jpg`` before ``10.jpg``); an RGB-D folder in the ScanNet layout; or None (no input).
        frames: how many frames to sample uniformly (first and last included); None = all; not
            given: `spatialclaw.config.DEFAULT_FRAMES`, or all at the rate when ``fps`` is given.
        fps: sample this many frames per second of the source instead (videos, RGB-D). When
            ``fps`` is given, ``frames`` must be None or not given; anything else is an error.
        cache_dir: root of the caches (frames go to ``<cache_dir>/frames``); default
            ``spatialclaw.config.cache_dir()``.
        progress: show a progress bar on stderr while decoding.

    Raises:
        InputError: a one-line message naming what is wrong with the input and how to fix it.
    """
    n, rate = _check_sampling(frames, fps)
    if path is None:
        return LoadedInput("none", [], [], None, None, 0)
    if _is_mixed_list(path):
        return load_inputs(list(path), frames=frames, fps=fps, cache_dir=cache_dir, progress=progress)  # type: ignore[arg-type]
    kind, paths = _resolve(path)
    if kind == "video":
        return _load_video(paths[0], n, rate, cache_dir, progress)
    if kind == "rgbd":
        return _load_rgbd(paths[0], n, rate, cache_dir, progress)
    separate = not isinstance(path, (str, os.PathLike)) and len(paths) > 1
    return _load_images(paths, n, rate, cache_dir, progress, separate)


def load_inputs(
    inputs: Sequence[PathLike],
    *,
    names: Sequence[str] | None = None,
    frames: int | None | NotGiven = NOT_GIVEN,
    fps: float | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> LoadedInput:
    """Load several inputs of one question into one frame list (`spatialclaw.inputs.multi`).

    Args:
        inputs: video files, image files, image folders or RGB-D folders, in the question's order.
        names: a name per input (default: the file or folder name); the kernel's ``inputs`` shows it.
        frames: frame budget (see `spatialclaw.inputs.multi`; not given: `DEFAULT_FRAMES`, or all
            frames at the ``fps`` rate); None takes every frame of every input.
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
        raise InputError.no_inputs()
    if names is not None and len(names) != len(paths):
        raise InputError.names_mismatch(len(names), len(paths))
    all_images = all(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in paths)
    return load_several(paths, load_input, all_images=all_images, names=names, frames=frames, fps=fps,
                        cache_dir=cache_dir, progress=progress)


def _is_mixed_list(path: PathLike | Sequence[PathLike]) -> bool:
    """True for a list of several inputs that are not all image files (videos, folders)."""
    if isinstance(path, (str, os.PathLike)) or len(path) < 2:
        return False
    return any(not (Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file()) for p in path)


def _load_video(path: Path, n: int | None, rate: float | None, cache_dir: Path | None, progress: bool) -> LoadedInput:
    from spatialclaw.inputs.video import decode_frames, probe_video

    entry = cache_path(cache_dir, {"kind": "video", "file": file_identity(path), "frames": n, "fps": rate})
    hit = cached(entry)
    if hit is not None:
        sampled, meta = hit
        return LoadedInput("video", [path], sampled, entry, meta["source_fps"], int(meta["source_frame_count"]))
    index = probe_video(path)
    images: dict[int, np.ndarray] = {}
    while True:
        plan = uniform_positions(index.count, n) if rate is None else rate_positions(index.times, rate)
        with _progress(progress, len(plan), f"decoding {path.name}") as advance:
            last = decode_frames(index, plan, images, advance)
        missing = [i for i in plan if i not in images]
        if not missing:
            break
        if not images:
            raise InputError.undecodable_video(path, "no frame decodes")
        if last + 1 < index.count and max(missing) > last:
            index = index.truncated(last + 1)  # the file ends early: sample what does decode
            continue
        plan = [i for i in plan if i in images]  # a damaged frame in the middle: leave it out
        break
    sampled = [Frame(i, float(index.times[i]), images[i]) for i in plan]
    store(entry, sampled, {"source_fps": index.fps, "source_frame_count": index.count})
    return LoadedInput("video", [path], sampled, entry, index.fps, index.count)


def _read_image(path: Path) -> np.ndarray:
    from spatialclaw.images import read_rgb

    rgb = read_rgb(path)
    if rgb is None:
        raise InputError.undecodable_image(path)
    return rgb


def _load_images(
    paths: list[Path], n: int | None, rate: float | None, cache_dir: Path | None, progress: bool, separate: bool = False
) -> LoadedInput:
    """Images as frames. ``separate``: the images were given one by one (a multi-view question),
    so each sampled image is an input of its own (``Frame.source`` = its position among them);
    else they are one input."""
    if rate is not None:
        raise InputError.fps_for_images()
    plan = uniform_positions(len(paths), n)
    description: dict[str, Any] = {"kind": "images", "count": len(paths), "plan": plan, "files": [file_identity(paths[i]) for i in plan]}
    if separate:
        description["separate"] = True
    entry = cache_path(cache_dir, description)
    hit = cached(entry)
    if hit is not None:
        sampled = hit[0]
    else:
        sampled = []
        with _progress(progress, len(plan), "reading images") as advance:
            for pos, i in enumerate(plan):
                sampled.append(Frame(i, float(i), _read_image(paths[i]), pos if separate else 0))
                advance()
        store(entry, sampled, {})
    parts = [InputInfo("image", paths[i].name, [pos]) for pos, i in enumerate(plan)] if separate else []
    return LoadedInput("images", paths, sampled, entry, None, len(paths), parts=parts)


def _load_rgbd(root: Path, n: int | None, rate: float | None, cache_dir: Path | None, progress: bool) -> LoadedInput:
    from spatialclaw.inputs.rgbd import read_color, scan_rgbd

    layout = scan_rgbd(root)
    indices = layout.indices
    times = np.asarray(indices, dtype=np.float64) / layout.fps
    positions = uniform_positions(len(indices), n) if rate is None else rate_positions(times, rate)
    plan = [(indices[p], float(times[p])) for p in positions]
    files = [file_identity(root / "color" / f"{i}.jpg") for i, _ in plan]
    entry = cache_path(cache_dir, {"kind": "rgbd", "count": len(indices), "plan": plan, "files": files})
    hit = cached(entry)
    if hit is not None:
        return LoadedInput("rgbd", [root], hit[0], entry, layout.fps, len(indices), layout)
    sampled = []
    with _progress(progress, len(plan), f"reading {root.name}/color") as advance:
        for i, t in plan:
            sampled.append(Frame(i, t, read_color(root, i)))
            advance()
    store(entry, sampled, {})
    return LoadedInput("rgbd", [root], sampled, entry, layout.fps, len(indices), layout)


# --------------------------------------------------------------------------- spatialclaw info


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
    except (OSError, UnidentifiedImageError):
        raise InputError.undecodable_image(path) from None
    return width, height


def _resolution(sizes: list[tuple[int, int]]) -> str:
    distinct = sorted(set(sizes))
    if len(distinct) == 1:
        return f"{distinct[0][0]}x{distinct[0][1]}"
    return f"mixed: {len(distinct)} sizes from {distinct[0][0]}x{distinct[0][1]} to {distinct[-1][0]}x{distinct[-1][1]}"


def describe_input(path: PathLike | Sequence[PathLike] | None) -> dict[str, Any]:
    """What an input holds, for ``spatialclaw info``: JSON-ready, nothing decoded beyond one frame.

    Keys: ``kind``, ``paths``, ``frames`` (in the source), ``width``/``height`` (pixels, of the
    first frame), ``resolution`` (``"WxH"`` or a range when images differ), ``fps``,
    ``duration_s`` (seconds), ``has_depth``, ``has_pose``, ``has_intrinsics``, ``has_instances``.

    Raises:
        InputError: as ``load_input``.
    """
    info: dict[str, Any] = {
        "kind": "none", "paths": [], "frames": 0, "width": None, "height": None, "resolution": None,
        "fps": None, "duration_s": None, "has_depth": False, "has_pose": False, "has_intrinsics": False,
        "has_instances": False,
    }
    if path is None:
        return info
    kind, paths = _resolve(path)
    info.update(kind=kind, paths=[str(p) for p in paths])
    if kind == "video":
        from spatialclaw.inputs.video import probe_video

        index = probe_video(paths[0])
        info.update(frames=index.count, width=index.width, height=index.height, resolution=f"{index.width}x{index.height}",
                    fps=index.fps, duration_s=index.duration)
    elif kind == "images":
        sizes = [_image_size(p) for p in paths]
        info.update(frames=len(paths), width=sizes[0][0], height=sizes[0][1], resolution=_resolution(sizes))
    else:
        from spatialclaw.inputs.rgbd import scan_rgbd

        layout = scan_rgbd(paths[0])
        width, height = _image_size(paths[0] / "color" / f"{layout.indices[0]}.jpg")
        info.update(frames=len(layout.indices), width=width, height=height, resolution=f"{width}x{height}", fps=layout.fps,
                    duration_s=layout.indices[-1] / layout.fps + 1.0 / layout.fps, has_depth=layout.has_depth,
                    has_pose=layout.has_pose, has_intrinsics=layout.has_intrinsics, has_instances=layout.has_instances)
    return info
