"""Loading an input (video, images, RGB-D folder) as sampled `Frame`s, with an on-disk frame cache.

``load_input`` is what the CLI and ``KernelSession`` call; ``load_frames`` is what the kernel
calls to read the cached frames back (it needs nothing but numpy). ``describe_input`` is
``spatialclaw info``.

Sampling: ``frames=N`` takes N frames spread uniformly over the source's frame numbers, first
and last included; ``fps=R`` takes the frame nearest to each time 0, 1/R, 2/R, ... seconds.
Neither ever returns more frames than the source has.

Cache: ``<cache_dir>/frames/<key>.npz``. For a video the key hashes the file's identity (size,
modification time in ns, SHA-256 of its first and last MiB: cheap, and any re-encode or edit
changes it while a move or rename keeps it) and the sampling parameters, so a hit reads the
.npz and never opens the video. For images and RGB-D folders the key hashes the sampled files'
identities and the sampling plan. Writes go to a temporary file renamed into place.

The cache is the host's: a sandboxed kernel sees only its own session's frames file, read-only.
Still, nothing found there is trusted blindly: a symlink in place of the ``frames`` folder or of
an entry is removed (never followed), and an entry that does not read back is removed and the
frames are sampled again.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import struct
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spatialclaw.atomic import real_folder, write_npz
from spatialclaw.config import DEFAULT_FRAMES, NOT_GIVEN, NotGiven
from spatialclaw.errors import InputError
from spatialclaw.inputs.frame import Frame, InputInfo
from spatialclaw.inputs.rgbd import RGBDLayout

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm"})
RGBD_SUBFOLDERS = ("color", "depth", "pose", "intrinsic")
CACHE_VERSION = 1
_HASHED_BYTES = 1 << 20  # bytes hashed at each end of a file for its identity

InputKind = Literal["video", "images", "rgbd", "multi", "none"]
PathLike = str | os.PathLike[str]


@dataclass
class LoadedInput:
    """An input after loading and sampling.

    Attributes:
        kind: ``"video"``, ``"images"``, ``"rgbd"``, ``"multi"`` (several videos or folders, see
            `load_inputs`), or ``"none"`` (no input given).
        paths: the video file, the image files (all of them, in natural order: ``Frame.index``
            of an image is its position here), or the RGB-D folder (one entry).
        frames: the sampled frames, in source order.
        frames_file: the cached .npz of ``frames`` (read it with ``load_frames``); None for ``"none"``.
        source_fps: frame rate of a video or RGB-D sequence (frames per second); None for images.
        source_frame_count: frames in the source before sampling.
        rgbd: what the RGB-D folder holds, when ``kind == "rgbd"``.
        parts: the question's inputs (one per image of an image list, one per video or folder);
            empty means one input: the whole of ``paths``. ``Frame.source`` indexes it.
    """

    kind: InputKind
    paths: list[Path]
    frames: list[Frame]
    frames_file: Path | None
    source_fps: float | None
    source_frame_count: int
    rgbd: RGBDLayout | None = None
    parts: list[InputInfo] = field(default_factory=list)

    @property
    def inputs(self) -> list[InputInfo]:
        """The inputs the frames came from (the kernel's ``inputs``): ``parts``, or one entry."""
        if self.parts:
            return list(self.parts)
        if self.kind == "none":
            return []
        kind = "image" if self.kind == "images" and len(self.paths) == 1 else self.kind
        name = self.paths[0].name if len(self.paths) == 1 else self.paths[0].parent.name
        return [InputInfo(kind, name, list(range(len(self.frames))))]


# --------------------------------------------------------------------------- frames on disk


def save_frames(path: Path, frames: list[Frame]) -> None:
    """Write ``frames`` (sizes may differ) to the .npz ``path``, atomically (temporary file + rename)."""
    _write_npz(Path(path), frames, {})


def load_frames(path: Path) -> list[Frame]:
    """Read frames written by ``save_frames`` / ``load_input``. Needs only numpy (runs in the kernel)."""
    frames, _ = _read_npz(Path(path))
    return frames


def _write_npz(path: Path, frames: list[Frame], meta: dict[str, float]) -> None:
    shapes = np.array([f.image.shape[:2] for f in frames], dtype=np.int64).reshape(-1, 2)
    pixels = np.concatenate([f.image.reshape(-1) for f in frames]) if frames else np.zeros(0, np.uint8)
    arrays: dict[str, np.ndarray] = {
        "version": np.array(CACHE_VERSION),
        "index": np.array([f.index for f in frames], dtype=np.int64),
        "source": np.array([f.source for f in frames], dtype=np.int64),
        "time": np.array([f.time for f in frames], dtype=np.float64),
        "shape": shapes,
        "pixels": pixels,
    }
    arrays.update({f"meta_{k}": np.array(v, dtype=np.float64) for k, v in meta.items()})
    write_npz(path, arrays)


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in an .npz. Stored (uncompressed) members are read straight from the file with
    one ``np.fromfile`` each, skipping zipfile's chunked reads and CRC pass (3x faster on 30 MB)."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            raw.seek(info.header_offset)
            local = raw.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"{path}: bad zip member header for {info.filename}")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            arrays[name] = np.lib.format.read_array(raw, allow_pickle=False)
    return arrays


def _read_npz(path: Path) -> tuple[list[Frame], dict[str, float]]:
    data = _npz_arrays(path)
    index, times, shapes, pixels = data["index"], data["time"], data["shape"], data["pixels"]
    sources = data.get("source", np.zeros(len(index), dtype=np.int64))
    meta = {k[5:]: float(v) for k, v in data.items() if k.startswith("meta_")}
    sizes = shapes[:, 0] * shapes[:, 1] * 3
    chunks = np.split(pixels, np.cumsum(sizes)[:-1]) if len(sizes) else []
    frames = [
        Frame(int(i), float(t), chunk.reshape(int(h), int(w), 3), int(src))
        for i, t, (h, w), chunk, src in zip(index, times, shapes, chunks, sources)
    ]
    return frames, meta


# --------------------------------------------------------------------------- sampling


def _check_sampling(frames: int | None | NotGiven, fps: float | None) -> tuple[int | None, float | None]:
    """Validate the sampling arguments; ``frames`` not given is `DEFAULT_FRAMES`, or None (all, at
    the rate) when ``fps`` is given."""
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
            raise InputError(f"fps={fps!r} is not a positive number of frames per second: use e.g. --fps 1")
        if frames is not None and frames is not NOT_GIVEN:
            raise InputError(f"both frames={frames} and fps={fps} given: sample by count (--frames) or by rate (--fps), not both")
        return None, float(fps)
    if frames is NOT_GIVEN:
        return DEFAULT_FRAMES, None
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, numbers.Integral) or frames < 1):
        raise InputError(f"frames={frames!r} is not a positive whole number: use e.g. --frames {DEFAULT_FRAMES} (or --fps R)")
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
        raise InputError(f"{path} does not exist: check the path (give a video, an image, a folder of images or an RGB-D folder)")


def _resolve(path: PathLike | Sequence[PathLike]) -> tuple[InputKind, list[Path]]:
    """Which kind of input ``path`` is, and its files (for images) or its one path."""
    if isinstance(path, (str, os.PathLike)):
        paths = [Path(path).expanduser()]
    else:
        paths = [Path(p).expanduser() for p in path]
        if not paths:
            raise InputError("an empty list of inputs was given: pass a video, one or more images, or a folder")
    if len(paths) > 1:
        for p in paths:
            _check_exists(p)
            if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
                raise InputError(
                    f"{p} is not an image ({', '.join(sorted(IMAGE_SUFFIXES))}): several inputs must all be images; "
                    "pass a video or a folder on its own"
                )
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
            raise InputError(f"{p} holds no images but {len(videos)} video(s), e.g. {videos[0].name}: pass one video file instead")
        raise InputError(f"{p} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}): put images in it, or pass a video or an RGB-D folder")
    suffix = p.suffix.lower()
    if p.is_file() and suffix in VIDEO_SUFFIXES:
        return "video", [p]
    if p.is_file() and suffix in IMAGE_SUFFIXES:
        return "images", [p]
    raise InputError(
        f"{p} is not a video or an image (suffix {suffix or 'none'!r}): pass a video ({', '.join(sorted(VIDEO_SUFFIXES))}), "
        "an image (.jpg, .png, ...), a folder of images or an RGB-D folder"
    )


# --------------------------------------------------------------------------- the cache


def _file_identity(path: Path) -> list[Any]:
    """What identifies a file's content cheaply: size, mtime (ns), SHA-256 of its first and last MiB."""
    try:
        st = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            digest.update(f.read(_HASHED_BYTES))
            if st.st_size > 2 * _HASHED_BYTES:
                f.seek(-_HASHED_BYTES, os.SEEK_END)
            digest.update(f.read(_HASHED_BYTES))
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}; check that it exists and is readable") from None
    return [path.name, st.st_size, st.st_mtime_ns, digest.hexdigest()]


def _cache_path(cache_dir: Path | None, description: dict[str, Any]) -> Path:
    from spatialclaw.config import cache_dir as default_cache_dir

    key = hashlib.sha256(json.dumps({"v": CACHE_VERSION, **description}, sort_keys=True).encode()).hexdigest()[:40]
    try:
        folder = real_folder(default_cache_dir(cache_dir) / "frames")
    except OSError as err:
        raise InputError(f"cannot create the cache folder ({err}): set SPATIALCLAW_CACHE to a writable folder") from None
    return folder / f"{key}.npz"


def _cached(path: Path) -> tuple[list[Frame], dict[str, float]] | None:
    """The cached frames and metadata, or None on a miss (an unreadable entry counts as a miss)."""
    if path.is_symlink():
        path.unlink()
        return None
    if not path.is_file():
        return None
    try:
        return _read_npz(path)
    except Exception:  # a corrupt entry is removed and sampled again, never fatal
        path.unlink(missing_ok=True)
        return None


def _store(path: Path, frames: list[Frame], meta: dict[str, float]) -> None:
    try:
        _write_npz(path, frames, meta)
    except OSError as err:
        raise InputError(f"cannot write the frame cache {path} ({err.strerror or err}): set SPATIALCLAW_CACHE to a writable folder") from None


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
        from spatialclaw.inputs.multi import load_inputs

        return load_inputs(list(path), frames=frames, fps=fps, cache_dir=cache_dir, progress=progress)  # type: ignore[arg-type]
    kind, paths = _resolve(path)
    if kind == "video":
        return _load_video(paths[0], n, rate, cache_dir, progress)
    if kind == "rgbd":
        return _load_rgbd(paths[0], n, rate, cache_dir, progress)
    separate = not isinstance(path, (str, os.PathLike)) and len(paths) > 1
    return _load_images(paths, n, rate, cache_dir, progress, separate)


def _is_mixed_list(path: PathLike | Sequence[PathLike]) -> bool:
    """True for a list of several inputs that are not all image files (videos, folders)."""
    if isinstance(path, (str, os.PathLike)) or len(path) < 2:
        return False
    return any(not (Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file()) for p in path)


def _load_video(path: Path, n: int | None, rate: float | None, cache_dir: Path | None, progress: bool) -> LoadedInput:
    from spatialclaw.inputs.video import decode_frames, not_decodable, probe_video

    entry = _cache_path(cache_dir, {"kind": "video", "file": _file_identity(path), "frames": n, "fps": rate})
    hit = _cached(entry)
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
            raise not_decodable(path, "no frame decodes")
        if last + 1 < index.count and max(missing) > last:
            index = index.truncated(last + 1)  # the file ends early: sample what does decode
            continue
        plan = [i for i in plan if i in images]  # a damaged frame in the middle: leave it out
        break
    sampled = [Frame(i, float(index.times[i]), images[i]) for i in plan]
    _store(entry, sampled, {"source_fps": index.fps, "source_frame_count": index.count})
    return LoadedInput("video", [path], sampled, entry, index.fps, index.count)


def _read_image(path: Path) -> np.ndarray:
    from spatialclaw.images import read_rgb

    rgb = read_rgb(path)
    if rgb is None:
        raise InputError(f"cannot decode the image {path}: it is damaged or not an image; replace or remove it")
    return rgb


def _load_images(
    paths: list[Path], n: int | None, rate: float | None, cache_dir: Path | None, progress: bool, separate: bool = False
) -> LoadedInput:
    """Images as frames. ``separate``: the images were given one by one (a multi-view question),
    so each sampled image is an input of its own (``Frame.source`` = its position among them);
    else they are one input."""
    if rate is not None:
        raise InputError("fps sampling needs a video or an RGB-D folder (images have no times): use --frames N for images")
    plan = uniform_positions(len(paths), n)
    description: dict[str, Any] = {"kind": "images", "count": len(paths), "plan": plan, "files": [_file_identity(paths[i]) for i in plan]}
    if separate:
        description["separate"] = True
    entry = _cache_path(cache_dir, description)
    hit = _cached(entry)
    if hit is not None:
        sampled = hit[0]
    else:
        sampled = []
        with _progress(progress, len(plan), "reading images") as advance:
            for pos, i in enumerate(plan):
                sampled.append(Frame(i, float(i), _read_image(paths[i]), pos if separate else 0))
                advance()
        _store(entry, sampled, {})
    parts = [InputInfo("image", paths[i].name, [pos]) for pos, i in enumerate(plan)] if separate else []
    return LoadedInput("images", paths, sampled, entry, None, len(paths), parts=parts)


def _load_rgbd(root: Path, n: int | None, rate: float | None, cache_dir: Path | None, progress: bool) -> LoadedInput:
    from spatialclaw.inputs.rgbd import read_color, scan_rgbd

    layout = scan_rgbd(root)
    indices = layout.indices
    times = np.asarray(indices, dtype=np.float64) / layout.fps
    positions = uniform_positions(len(indices), n) if rate is None else rate_positions(times, rate)
    plan = [(indices[p], float(times[p])) for p in positions]
    files = [_file_identity(root / "color" / f"{i}.jpg") for i, _ in plan]
    entry = _cache_path(cache_dir, {"kind": "rgbd", "count": len(indices), "plan": plan, "files": files})
    hit = _cached(entry)
    if hit is not None:
        return LoadedInput("rgbd", [root], hit[0], entry, layout.fps, len(indices), layout)
    sampled = []
    with _progress(progress, len(plan), f"reading {root.name}/color") as advance:
        for i, t in plan:
            sampled.append(Frame(i, t, read_color(root, i)))
            advance()
    _store(entry, sampled, {})
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
        raise InputError(f"cannot decode the image {path}: it is damaged or not an image; replace or remove it") from None
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
