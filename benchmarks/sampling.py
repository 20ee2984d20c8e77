"""Frame sampling throughput: ``load_input`` against a bare sequential OpenCV decode, same run.

The video is generated here (H.264, libx264 ``veryfast``: B-frames on, default keyframe interval
of 250, or ``--gop``), then, in alternating rounds:

- baseline: ``cv2.VideoCapture`` reads every frame in order (``grab``) and keeps the same
  sampled frames as RGB (``retrieve`` + ``cvtColor``);
- cold: ``load_input(video, frames=N)`` with an empty cache (index, decode, write the cache);
- cached: the same call again, served from the frame cache.

Ratios are baseline time / our time (higher is better). Goals: cold >= 0.8x, cached >= 10x.
Wall-clock ratios are the goal; CPU-time ratios (``time.process_time``: all threads of this
process) are printed beside them because they hold steady on a shared, busy machine.

    python benchmarks/sampling.py                 # 600 frames 640x480, sample 32
    python benchmarks/sampling.py --gop 30        # keyframe every second: seeking pays off
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from spatialclaw.inputs.load import load_input, uniform_positions


@dataclass
class SamplingNumbers:
    """Medians over the rounds, in seconds (wall clock, and CPU of all threads); ratios are baseline / ours."""

    frames: int
    width: int
    height: int
    gop: int
    sampled: int
    baseline_s: float
    cold_s: float
    cached_s: float
    cold_ratio: float
    cached_ratio: float
    baseline_cpu_s: float
    cold_cpu_s: float
    cached_cpu_s: float
    cold_cpu_ratio: float
    cached_cpu_ratio: float
    max_pixel_diff_vs_opencv: float


class _Clock:
    """Wall and CPU seconds of one block: ``with _Clock() as c: ...`` then ``c.wall``, ``c.cpu``."""

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu


def write_test_video(path: Path, frames: int = 600, width: int = 640, height: int = 480, fps: int = 30, gop: int = 250) -> Path:
    """A panning textured scene with a bright bar at x = frame number, H.264 (libx264, veryfast)."""
    import av

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (height // 8, (width + frames) // 8 + 1, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture, 8, axis=0), 8, axis=1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "x264-params": f"keyint={gop}"}
        for i in range(frames):
            image = np.ascontiguousarray(texture[:height, i : i + width])
            image[:, i % width] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def opencv_sequential(path: Path, keep: list[int]) -> dict[int, np.ndarray]:
    """The baseline: decode every frame in order with OpenCV, keep ``keep`` as RGB."""
    import cv2

    wanted = set(keep)
    kept: dict[int, np.ndarray] = {}
    cap = cv2.VideoCapture(str(path))
    i = 0
    while cap.grab():
        if i in wanted:
            ok, bgr = cap.retrieve()
            if ok:
                kept[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        i += 1
    cap.release()
    return kept


def measure(frames: int = 600, width: int = 640, height: int = 480, sample: int = 32, gop: int = 250, rounds: int = 5) -> SamplingNumbers:
    """Generate the video, then time baseline, cold and cached loads in ``rounds`` alternating rounds."""
    with tempfile.TemporaryDirectory(prefix="spatialclaw-sampling-") as tmp:
        root = Path(tmp)
        video = write_test_video(root / "bench.mp4", frames, width, height, gop=gop)
        keep = uniform_positions(frames, sample)
        baseline, cold, cached = [], [], []
        diff = 0.0
        for r in range(rounds):
            with _Clock() as clock:
                reference = opencv_sequential(video, keep)
            baseline.append(clock)
            cache = root / f"cache{r}"
            with _Clock() as clock:
                loaded = load_input(video, frames=sample, cache_dir=cache)
            cold.append(clock)
            with _Clock() as clock:
                again = load_input(video, frames=sample, cache_dir=cache)
            cached.append(clock)

            got = [f.index for f in loaded.frames]
            if got != keep or [f.index for f in again.frames] != keep or sorted(reference) != keep:
                raise RuntimeError(f"sampled frames differ: load_input {got}, OpenCV {sorted(reference)}, plan {keep}")
            diff = max(diff, max(float(np.abs(f.image.astype(np.int16) - reference[f.index]).mean()) for f in loaded.frames))
    b, c, h = (statistics.median(k.wall for k in runs) for runs in (baseline, cold, cached))
    bc, cc, hc = (statistics.median(k.cpu for k in runs) for runs in (baseline, cold, cached))
    return SamplingNumbers(frames, width, height, gop, sample, b, c, h, b / c, b / h, bc, cc, hc, bc / cc, bc / max(hc, 1e-6), diff)


def report(numbers: SamplingNumbers) -> str:
    n = numbers
    return "\n".join([
        f"frame sampling: {n.frames} frames {n.width}x{n.height} H.264 (keyframe every {n.gop}), sample {n.sampled}, medians",
        "                                          wall    ratio |      CPU    ratio",
        f"  OpenCV sequential decode (baseline) {n.baseline_s * 1000:7.1f} ms          | {n.baseline_cpu_s * 1000:7.1f} ms",
        f"  load_input, cold (no cache)         {n.cold_s * 1000:7.1f} ms {n.cold_ratio:6.2f}x | {n.cold_cpu_s * 1000:7.1f} ms {n.cold_cpu_ratio:6.2f}x"
        "   (goal >= 0.8x)",
        f"  load_input, from the frame cache    {n.cached_s * 1000:7.1f} ms {n.cached_ratio:6.1f}x | {n.cached_cpu_s * 1000:7.1f} ms {n.cached_cpu_ratio:6.1f}x"
        "   (goal >= 10x)",
        f"  mean |pixel difference| vs OpenCV: {n.max_pixel_diff_vs_opencv:.2f} (of 255; colour conversion only)",
    ])


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the report, return the numbers as a dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="frames in the generated video")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--sample", type=int, default=32, help="frames to sample (load_input frames=N)")
    parser.add_argument("--gop", type=int, default=250, help="keyframe interval of the generated video")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    args = parser.parse_args(argv)
    numbers = measure(args.frames, args.width, args.height, args.sample, args.gop, args.rounds)
    print(report(numbers))
    return asdict(numbers)


if __name__ == "__main__":
    main()
