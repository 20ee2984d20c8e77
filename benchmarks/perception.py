"""Time each perception backend on one synthetic room, uncached and from the perception cache.

    python benchmarks/perception.py [--frames 32] [--width 640] [--height 480] [--seed 3]
                                    [--skip-classical]

Renders a room with `spatialclaw.synth` (32 frames at 640×480 by default), then for each backend
that can run here times ``reconstruct()``, ``segment("*")`` and ``objects3d("*")``:

- *uncached*: a fresh cache folder, nothing in memory (what the first question about an input costs);
- *cached*: a new kernel context on the same input (the in-memory results forgotten), reading the
  perception cache from disk (what every later question costs).

gt uses the RGB-D folder; classical sees the colour frames only (as from a video) and is timed on
``reconstruct()``; its segmentation needs a VLM to point and is not timed here. learned runs when
its weights are found offline, else the reason is printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import spatialclaw.primitives as primitives
from spatialclaw.inputs import rgbd
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends, cache
from spatialclaw.primitives.context import KernelContext


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_steps(ctx_factory: Callable[[], KernelContext], steps: dict[str, Callable[[dict], Any]]) -> dict[str, tuple[float, float]]:
    """{step: (uncached seconds, cached seconds)}; each pass installs a new context."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(2):
        cache.clear_memory()
        namespace: dict = {}
        primitives.install(namespace, ctx_factory())
        for name, step in steps.items():
            seconds, _ = timed(lambda: step(namespace))
            times[name].append(seconds)
    return {name: (t[0], t[1]) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-classical", action="store_true", help="do not time COLMAP + stereo (tens of seconds)")
    args = parser.parse_args()

    from spatialclaw.synth import make_test_scene

    with tempfile.TemporaryDirectory() as tmp:
        seconds, root = timed(lambda: make_test_scene(Path(tmp), seed=args.seed, frames=args.frames, width=args.width, height=args.height))
        layout = rgbd.scan_rgbd(root)
        frames = [Frame(i, i / layout.fps, rgbd.read_color(root, i)) for i in layout.indices]
        print(f"scene: seed {args.seed}, {len(frames)} frames at {args.width}x{args.height} (rendered in {seconds:.1f} s)")
        cache_dir = Path(tmp) / "cache"

        def context(kind: str, perception: str) -> Callable[[], KernelContext]:
            return lambda: KernelContext(frames=frames, source_kind=kind, source_path=root if kind == "rgbd" else None,
                                         perception=perception, cache_dir=cache_dir)

        full = {
            "reconstruct()": lambda ns: ns["reconstruct"](),
            'segment("*")': lambda ns: ns["segment"]("*"),
            'objects3d("*")': lambda ns: ns["objects3d"]("*"),
        }
        runs: list[tuple[str, dict[str, tuple[float, float]]]] = [("gt", run_steps(context("rgbd", "gt"), full))]

        probe = context("video", "auto")()
        reason = backends.unavailable_reason("learned", "segmentation", probe)
        if reason is None:
            runs.append(("learned (segmentation)", run_steps(context("video", "segmentation=learned"),
                                                             {"segment(\"chair, table\")": lambda ns: ns["segment"]("chair, table")})))
        else:
            print(f"learned: skipped ({reason})")
        if args.skip_classical:
            print("classical: skipped (--skip-classical)")
        else:
            runs.append(("classical", run_steps(context("video", "reconstruction=classical"), {"reconstruct()": lambda ns: ns["reconstruct"]()})))

    print(f"{'backend':24s} {'step':18s} {'uncached s':>11s} {'cached s':>9s} {'speed-up':>9s}")
    for backend, steps in runs:
        for step, (uncached, cached) in steps.items():
            print(f"{backend:24s} {step:18s} {uncached:11.3f} {cached:9.3f} {uncached / max(cached, 1e-9):8.1f}x")


if __name__ == "__main__":
    main()
