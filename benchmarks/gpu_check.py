"""Every learned adapter on a GPU, on tiny random models: does it run there, how fast, how much memory.

    python benchmarks/gpu_check.py [--device cuda] [--dtype float32|float16|bfloat16] [--frames 8]
                                   [--size 240x320] [--repeats 3]

Prepared for a machine with a CUDA GPU (never needed for CI): it builds the tiny checkpoints of
`spatialclaw.testing.tiny_models` in a temporary folder, loads each through its adapter on the
device and prints, per adapter: load time, first call, the median of ``--repeats`` further calls
(seconds) and the peak GPU memory of the call (MiB), then checks the outputs against the same
adapter on the CPU (depth: max abs difference in metres; masks: agreement of the pixels;
keypoints: the share found at the same pixel, and the match counts). With
random weights the numbers say whether the device path works and what it costs per frame at
tiny sizes, not how good a model is. ``--device cpu`` runs the same on the CPU (a smoke test).
Exit status 2 when the device is not available, 1 when an adapter fails there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _frames(count: int, height: int, width: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def _checks(root: Path) -> list[tuple[str, str, Path, Callable[[Any, list[np.ndarray]], Any]]]:
    """(name, task, checkpoint folder, call) of every adapter."""
    from spatialclaw.testing import tiny_models

    built = {name: build(root / name) for name, build in (
        ("depth-anything", tiny_models.depth_anything_metric), ("depth-pro", tiny_models.depth_pro),
        ("grounding-dino", tiny_models.grounding_dino), ("owlv2", tiny_models.owlv2), ("sam", tiny_models.sam),
        ("sam2", tiny_models.sam2), ("sam3", tiny_models.sam3), ("lightglue", tiny_models.lightglue),
    )}
    neighbours = lambda frames: [(i, j) for i in range(len(frames)) for j in (i + 1, i + 2) if j < len(frames)]  # noqa: E731
    boxes = lambda frames: [np.array([[10.0, 10.0, frames[0].shape[1] / 2, frames[0].shape[0] / 2]])] * len(frames)  # noqa: E731
    return [
        ("Depth Anything V2 metric", "depth", built["depth-anything"], lambda a, f: a(f)),
        ("Depth Pro (+ focal)", "depth", built["depth-pro"], lambda a, f: a(f)),
        ("Grounding DINO", "detect", built["grounding-dino"], lambda a, f: a(f, "red chair, table", threshold=0.0)),
        ("OWLv2", "detect", built["owlv2"], lambda a, f: a(f, "red chair, table", threshold=0.0)),
        ("SAM (boxes)", "segment", built["sam"], lambda a, f: a(f, boxes(f))),
        ("SAM 2 (boxes)", "segment", built["sam2"], lambda a, f: a(f, boxes(f))),
        ("SAM 3 (text)", "text_segment", built["sam3"], lambda a, f: a(f, "chair, table", threshold=0.5)),
        ("SAM 3 video (tracks)", "track", built["sam3"], lambda a, f: a.track(f, "chair")),
        ("SuperPoint + LightGlue", "match", built["lightglue"], lambda a, f: a(f, neighbours(f))),
        *_da3_check(root),
    ]


def _da3_check(root: Path) -> list[tuple[str, str, Path, Callable[[Any, list[np.ndarray]], Any]]]:
    """Depth Anything 3 (all frames in one pass), where its package is installed (an optional extra)."""
    from spatialclaw.primitives.backends.learned.da3 import package_available
    from spatialclaw.testing import tiny_models

    if not package_available():
        print("Depth Anything 3: skipped (the depth-anything-3 package is not installed)")
        return []
    return [("Depth Anything 3 (poses + depth)", "reconstruct", tiny_models.da3(root / "da3"), lambda a, f: a(f))]


def _agreement(gpu: Any, cpu: Any) -> str:
    """How far the device's output is from the CPU's, in words."""
    if hasattr(gpu, "matches"):  # keypoints and matches (their order may differ between devices)
        def pixels(points: np.ndarray) -> set:
            return {tuple(p) for p in np.round(points, 1).tolist()}

        same = np.mean([len(pixels(g) & pixels(c)) / max(1, len(g)) for g, c in zip(gpu.keypoints, cpu.keypoints)])
        count = lambda found: sum(len(m) for m in found.matches.values())  # noqa: E731
        return f"keypoints at the CPU's pixels {same:.1%}, {count(gpu)} matches (CPU {count(cpu)})"
    if hasattr(gpu, "pose"):  # Depth Anything 3's geometry of all frames
        return (f"depth max |Δ| {float(np.abs(gpu.depth - cpu.depth).max()):.2e} (model units), "
                f"pose max |Δ| {float(np.abs(gpu.pose - cpu.pose).max()):.2e}")
    if isinstance(gpu, list) and gpu and isinstance(gpu[0], np.ndarray):
        return f"depth max |Δ| {max(float(np.abs(g - c).max()) for g, c in zip(gpu, cpu)):.2e} m"
    masks = [getattr(m, "masks", None) for m in (gpu if isinstance(gpu, list) else [gpu])]
    reference = [getattr(m, "masks", None) for m in (cpu if isinstance(cpu, list) else [cpu])]
    pairs = [(g, c) for g, c in zip(masks, reference) if g is not None and c is not None and g.shape == c.shape]
    if pairs:
        same = np.mean([float((g == c).mean()) if g.size else 1.0 for g, c in pairs])
        return f"mask pixels equal {same:.1%}"
    counts = [len(x) for x in (gpu if isinstance(gpu, list) else [gpu])]
    return f"{sum(counts)} results (CPU {sum(len(x) for x in (cpu if isinstance(cpu, list) else [cpu]))})"


def _time_one(name: str, task: str, folder: Path, call: Callable, frames: list[np.ndarray], args: argparse.Namespace) -> bool:
    import torch

    from spatialclaw.primitives.backends import learned

    cuda = args.device.startswith("cuda")
    start = time.perf_counter()
    adapter = learned.load_adapter(task, folder, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    call(adapter, frames)
    if cuda:
        torch.cuda.synchronize()
    first_s = time.perf_counter() - start
    times = []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.repeats):
        start = time.perf_counter()
        output = call(adapter, frames)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
    reference = call(learned.load_adapter(task, folder, device="cpu"), frames) if args.device != "cpu" else output
    print(f"{name:<26} load {load_s:6.2f} s  first {first_s:6.3f} s  median {statistics.median(times):6.3f} s  "
          f"peak {peak:8.1f} MiB  {_agreement(output, reference)}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", default="240x320", help="frame HEIGHTxWIDTH in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import torch
    from transformers.utils import logging

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device visible to torch: run this on a GPU machine (or pass --device cpu)", file=sys.stderr)
        return 2
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    height, width = (int(v) for v in args.size.lower().split("x"))
    frames = _frames(args.frames, height, width)
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"{device_name}, {args.dtype}, {args.frames} frames of {width}x{height}, torch {torch.__version__}")
    failed = 0
    with tempfile.TemporaryDirectory() as root:
        for name, task, folder, call in _checks(Path(root)):
            try:
                _time_one(name, task, folder, call, frames, args)
            except Exception as err:  # noqa: BLE001 (report every adapter, then fail)
                failed += 1
                print(f"{name:<26} FAILED: {type(err).__name__}: {' '.join(str(err).split())[:300]}")
    print("the perception service is not built yet: nothing to check for it")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
