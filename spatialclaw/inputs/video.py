"""Video files: index the frames without decoding, then decode only the frames asked for.

PyAV (FFmpeg) does the work; OpenCV is the fallback for files PyAV cannot open.

How little is decoded:

- ``probe_video`` reads the packets (no decoding) to learn every frame's presentation time and
  which frames are keyframes, so sampling plans are exact even for variable frame rates.
- ``decode_frames`` jumps (seeks) to the keyframe before a wanted frame when that skips more
  than ``SEEK_GAP`` frames, tells the decoder to skip non-reference frames that are not wanted
  (nothing depends on them), and converts to RGB only the frames it keeps. Only the kept
  frames are ever held in memory.

Nothing here is imported at module level beyond numpy: ``av`` and ``cv2`` load on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from spatialclaw.errors import InputError

SEEK_GAP = 8
"""Seek forward only when it skips more than this many frames (a seek flushes the decoder)."""

FALLBACK_FPS = 30.0
"""Frame rate assumed when neither the container nor OpenCV reports one."""


@dataclass(frozen=True)
class VideoIndex:
    """The frames of one video in presentation order, learned without decoding pixels.

    Attributes:
        path: the video file.
        times: (N,) float64 seconds of each frame from the first frame, increasing.
        fps: average frame rate (frames per second).
        width: displayed width in pixels (after the file's rotation metadata, when known).
        height: displayed height in pixels.
        backend: ``"pyav"`` or ``"opencv"`` (OpenCV when PyAV could not open the file).
        pts: (N,) int64 presentation timestamps in the stream's time base, or None when the
            container gives none (frames are then counted in decode order and never seeked).
        keyframes: sorted frame numbers of keyframes (the places a seek can land).
    """

    path: Path
    times: np.ndarray
    fps: float
    width: int
    height: int
    backend: str
    pts: np.ndarray | None = None
    keyframes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def count(self) -> int:
        """Number of frames in the video."""
        return int(len(self.times))

    @property
    def duration(self) -> float:
        """Seconds the video covers: the last frame's time plus one frame period."""
        return float(self.times[-1] + 1.0 / self.fps) if self.count else 0.0

    def truncated(self, count: int) -> VideoIndex:
        """The same index limited to its first ``count`` frames (for files that end early)."""
        pts = None if self.pts is None else self.pts[:count]
        return VideoIndex(
            self.path, self.times[:count], self.fps, self.width, self.height, self.backend, pts, self.keyframes[self.keyframes < count]
        )

    def keyframe_at_or_before(self, i: int) -> int:
        """Frame number of the last keyframe at or before frame ``i`` (0 when there is none)."""
        j = int(np.searchsorted(self.keyframes, i, side="right")) - 1
        return int(self.keyframes[j]) if j >= 0 else 0


def probe_video(path: Path) -> VideoIndex:
    """Index ``path``'s frames (PyAV, else OpenCV). Reads packets only; decodes one frame for its size.

    Raises:
        InputError: the file cannot be opened as a video or holds no frames.
    """
    path = Path(path)
    index = _probe_pyav(path)
    if index is None:
        index = _probe_opencv(path)
    if index is None:
        raise InputError.undecodable_video(path, "neither PyAV nor OpenCV can open it")
    return index


def _probe_pyav(path: Path) -> VideoIndex | None:
    """None when PyAV cannot open the file; raises InputError when it opens but holds no frames."""
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
    with container:
        if not container.streams.video:
            raise InputError.no_video_track(path)
        stream = container.streams.video[0]
        stamps: list[int | None] = []
        keys: list[bool] = []
        damaged = False
        try:
            for packet in container.demux(stream):
                if packet.size:
                    stamps.append(packet.pts)
                    keys.append(packet.is_keyframe)
        except av.FFmpegError:
            damaged = True  # index what was read; decode_frames finds out what decodes
        if not stamps:
            raise InputError.undecodable_video(path, "no video packets")
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = _first_frame_rotation(container, stream)
        declared = _declared_duration(container, stream)
        damaged = damaged or 0 < len(stamps) < stream.frames
        tb = stream.time_base
    if rotation % 180:
        width, height = height, width
    have_pts = all(s is not None for s in stamps) and len(set(stamps)) == len(stamps)
    if not have_pts:
        fps = fps or FALLBACK_FPS
        return VideoIndex(path, np.arange(len(stamps)) / fps, fps, width, height, "pyav")
    raw = np.asarray(stamps, dtype=np.int64)
    order = np.argsort(raw, kind="stable")
    pts = raw[order]
    keyframes = np.flatnonzero(np.asarray(keys)[order]).astype(np.int64)
    # Exact integer arithmetic, one rounding: pts 1024·i at time base 1/10240 gives exactly i/10.
    times = (pts - pts[0]) * tb.numerator / tb.denominator
    if not fps:
        fps = (len(pts) - 1) / times[-1] if len(pts) > 1 and times[-1] > 0 else FALLBACK_FPS
    index = VideoIndex(path, times, fps, width, height, "pyav", pts, keyframes)
    if damaged or (declared is not None and index.duration < declared - max(0.5, 2.0 / fps)):
        # The file ends early. Frames shown before a frame that was cut off may still be
        # here (B-frames are stored after the frames they precede on screen), so the last
        # few positions could be numbered one too low: drop that many, and one more (the
        # last packet may itself be cut short).
        index = index.truncated(max(1, len(pts) - _reorder_depth(order) - 1))
    return index


def _declared_duration(container, stream) -> float | None:
    """Seconds the container's header says the video lasts (None when it does not say)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000
    return None


def _reorder_depth(order: np.ndarray) -> int:
    """How many places a packet lies after its frame's screen position at most (B-frame delay).

    ``order[p]`` is the decode position of the frame shown at position ``p``.
    """
    return max(0, int(np.max(order - np.arange(len(order)))))


def _first_frame_rotation(container, stream) -> int:
    """Degrees counter-clockwise the first frame must turn to display upright (0 if unknown)."""
    import av

    try:
        container.seek(0, stream=stream)
        for frame in container.decode(stream):
            return int(frame.rotation or 0)
    except av.FFmpegError:
        pass
    return 0


def _open_capture(path: Path):
    """``cv2.VideoCapture`` without FFmpeg's log lines on stderr (unless the user set a level)."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when a capture opens
    return cv2.VideoCapture(str(path))


def _probe_opencv(path: Path) -> VideoIndex | None:
    import cv2

    cap = _open_capture(path)
    try:
        if not cap.isOpened():
            return None
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or FALLBACK_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if count <= 0:
            count = 0
            while cap.grab():
                count += 1
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if count <= 0:
        raise InputError.undecodable_video(path, "OpenCV opens it but reads no frames")
    return VideoIndex(path, np.arange(count) / fps, fps, width, height, "opencv")


def decode_frames(
    index: VideoIndex,
    wanted: Collection[int],
    images: dict[int, np.ndarray],
    on_frame: Callable[[], None] | None = None,
) -> int:
    """Decode the frames numbered ``wanted`` (positions in ``index``) into ``images``.

    Frames already in ``images`` are not decoded again. Frames that do not decode (a damaged
    file) are simply absent afterwards: the caller decides what to do about them.

    Args:
        index: from ``probe_video``.
        wanted: frame numbers to keep.
        images: filled with frame number -> H×W×3 uint8 RGB.
        on_frame: called once per frame kept (progress).

    Returns:
        The highest frame number the decoder produced (-1 when none decoded).
    """
    need = {int(i) for i in wanted} - images.keys()
    if not need:
        return -1
    keep = on_frame or (lambda: None)
    if index.backend == "opencv":
        return _decode_opencv(index, need, images, keep)
    return _decode_pyav(index, need, images, keep)


def _decode_pyav(index: VideoIndex, need: set[int], images: dict[int, np.ndarray], keep: Callable[[], None]) -> int:
    import av

    by_pts = index.pts is not None  # else frames are numbered by decode output order
    frame_of_pts = {int(p): i for i, p in enumerate(index.pts)} if by_pts else {}
    can_seek = by_pts
    last = -1
    output_count = 0
    try:
        container = av.open(str(index.path))
    except (av.FFmpegError, OSError) as err:
        raise InputError.undecodable_video(index.path, f"cannot reopen it: {err}") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        ctx = stream.codec_context
        sent = -1  # highest frame number handed to the decoder
        accept_from = 0  # after a seek, frames shown before its keyframe may be garbage (open GOP)

        def worth_seeking() -> bool:
            return can_seek and index.keyframe_at_or_before(min(need)) > sent + SEEK_GAP

        while need:
            if worth_seeking():
                keyframe = index.keyframe_at_or_before(min(need))
                try:
                    container.seek(int(index.pts[keyframe]), stream=stream, backward=True, any_frame=False)
                    sent = accept_from = keyframe
                except av.FFmpegError:
                    can_seek = False  # not seekable after all: decode on from here
            packets = container.demux(stream)
            stopped_early = False
            while not stopped_early:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.FFmpegError:
                    packet = None  # damaged data: drain what the decoder holds, then stop
                if packet is not None and packet.size and by_pts:
                    i = frame_of_pts.get(packet.pts, -1)
                    sent = max(sent, i)
                    # Nothing depends on a non-reference frame: skip decoding it unless it is wanted.
                    ctx.skip_frame = "DEFAULT" if i in need else "NONREF"
                try:
                    frames = ctx.decode(packet)
                except av.FFmpegError:
                    frames = []
                for frame in frames:
                    if by_pts:
                        i = frame_of_pts.get(frame.pts, -1)
                    else:
                        i, output_count = output_count, output_count + 1
                    last = max(last, i)
                    if i in need and i >= accept_from:
                        images[i] = _rgb(frame)
                        need.discard(i)
                        keep()
                if packet is None:
                    break
                stopped_early = not need or worth_seeking()
            if not stopped_early:
                break  # the end of the stream: what is still needed does not decode
    return last


def _rgb(frame) -> np.ndarray:
    """An ``av.VideoFrame`` as H×W×3 uint8 RGB, turned upright by its rotation metadata."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def _decode_opencv(index: VideoIndex, need: set[int], images: dict[int, np.ndarray], keep: Callable[[], None]) -> int:
    import cv2

    cap = _open_capture(index.path)
    last = -1
    try:
        stop = max(need)
        i = 0
        while i <= stop and cap.grab():
            last = i
            if i in need:
                ok, bgr = cap.retrieve()
                if ok:
                    images[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    keep()
            i += 1
    finally:
        cap.release()
    return last


def write_h264(frames, path: str | Path, fps: float, *, crf: int = 18, preset: str = "medium") -> Path:
    """Write RGB frames as an H.264 (yuv420p) mp4 that decodes to the same frames every time.

    Args:
        frames: iterable of ``(H, W, 3)`` uint8 RGB images, all one size (width and height even).
        path: the ``.mp4`` to write (parent folders are created).
        fps: frames per second.
        crf: x264 constant rate factor (lower = better quality; 18 is visually lossless).
        preset: x264 speed preset.

    One encoder thread and ``mbtree=0``: libx264's macroblock-tree rate control otherwise gives
    different frames on each encode of the same input, and a benchmark reading such videos
    measures different pictures from run to run.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = None
        for image in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset, "x264-params": "mbtree=0"}
                stream.codec_context.thread_count = 1
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        if stream is None:
            raise ValueError("write_h264 needs at least one frame")
        container.mux(stream.encode())
    return path
