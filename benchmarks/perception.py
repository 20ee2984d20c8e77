"""Time each perception backend on one synthetic room, uncached and from the perception cache.

    python benchmarks/perception.py [--frames 32] [--width 640] [--height 480] [--seed 3]
                                    [--skip-classical] [--sfm] [--repeats 1] [--service-memory] [--kernels 4]
                                    [--sfm-inputs synthetic,cube] [--sfm-effort normal|thorough]

``--sfm`` instead compares the classical backend's structure-from-motion (`sfm.run_sfm`: several
scored attempts, motion checks, PnP) with a plain pycolmap reconstruction of the same frames
(library defaults: SIMPLE_RADIAL, exhaustive matching, incremental mapping), timed interleaved in
the same run (plain, ours, plain, ours, ...; the ratio of the medians, goal <= 1.5x), on a
synthetic room (camera path error after a similarity alignment, focal error) and, where Debian's
``visp-images-data`` is installed, ViSP's hand-held desk sequence (focal error against ViSP's
calibration, 547.7 px). It prints the stages' seconds, each attempt's score and the attempts the
budget left out (`sfm.NORMAL_ATTEMPTS`; ``--sfm-effort thorough`` runs them all).

``--service-memory`` instead measures host memory, in one run: ``--kernels`` kernels (4) that each
segment with the tiny learned models (`spatialclaw.testing.tiny_models`, SAM 3) loaded in the
kernel, against as many kernels that ask one perception service: resident memory (RSS, MiB)
summed over each kernel's processes, plus the service's. RSS counts pages shared between
processes once per process; the tiny models weigh a few MiB, so the difference is mostly torch
and transformers in each kernel, and grows by one copy of the real weights per extra kernel.

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

import numpy as np

import spatialclaw.primitives as primitives
from spatialclaw.testing.heldout.accuracy import path_accuracy
from spatialclaw.inputs import rgbd
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends
from spatialclaw.primitives.context import KernelContext


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_steps(ctx_factory: Callable[[], KernelContext], steps: dict[str, Callable[[dict], Any]]) -> dict[str, tuple[float, float]]:
    """{step: (uncached seconds, cached seconds)}; each pass installs a new context."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(2):
        namespace: dict = {}
        primitives.install(namespace, ctx_factory())
        for name, step in steps.items():
            seconds, _ = timed(lambda: step(namespace))
            times[name].append(seconds)
    return {name: (t[0], t[1]) for name, t in times.items()}


CUBE = Path("/usr/share/visp-images-data/ViSP-images/mbt/cube")
CUBE_FOCAL_PX = 0.5 * (547.74 + 542.07)


def plain_pycolmap(images: list[np.ndarray]) -> tuple[int, float, np.ndarray, np.ndarray]:
    """A plain pycolmap reconstruction: (registered frames, focal px, N×3 centres (NaN if not), N bool)."""
    import cv2
    import pycolmap

    from spatialclaw.primitives.backends.classical.sfm_colmap import quiet

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        names = [f"{i:05d}.png" for i in range(len(images))]
        for name, im in zip(names, images):
            cv2.imwrite(str(root / "images" / name), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
        with quiet():
            pycolmap.extract_features(root / "db", root / "images", camera_mode=pycolmap.CameraMode.SINGLE,
                                      reader_options=pycolmap.ImageReaderOptions(camera_model="SIMPLE_RADIAL"), device=pycolmap.Device.cpu)
            pycolmap.match_exhaustive(root / "db", device=pycolmap.Device.cpu)
            models = pycolmap.incremental_mapping(root / "db", root / "images", root)
    best = max(models.values(), key=lambda r: r.num_reg_images(), default=None)
    centres = np.full((len(images), 3), np.nan)
    registered = np.zeros(len(images), bool)
    if best is None:
        return 0, float("nan"), centres, registered
    for image in best.images.values():
        if image.has_pose:
            k = names.index(image.name)
            centres[k], registered[k] = image.projection_center(), True
    return best.num_reg_images(), float(next(iter(best.cameras.values())).focal_length), centres, registered


def path_error(centres: np.ndarray, mask: np.ndarray, truth: np.ndarray) -> float:
    """Camera path error over the ``mask`` frames as a fraction of the true path (`heldout.accuracy.path_accuracy`)."""
    return path_accuracy(centres, truth, mask)[0]


def compare_sfm(name: str, images: list[np.ndarray], repeats: int, truth_centres: np.ndarray | None, truth_focal: float,
                effort: str = "normal") -> None:
    """Time ours against plain pycolmap, interleaved, and print registration and accuracy."""
    from spatialclaw.primitives.backends.classical.sfm import run_sfm

    plain_t, ours_t = [], []
    for _ in range(repeats):
        seconds, plain = timed(lambda: plain_pycolmap(images))
        plain_t.append(seconds)
        seconds, ours = timed(lambda: run_sfm(images, effort=effort))
        ours_t.append(seconds)
    ratio = float(np.median(ours_t) / np.median(plain_t))
    print(f"{name}: {len(images)} frames {images[0].shape[1]}x{images[0].shape[0]}: plain pycolmap {np.median(plain_t):.1f} s, "
          f"classical SfM {np.median(ours_t):.1f} s, ratio {ratio:.2f}x (goal <= 1.5x)")
    print("  stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in ours.timings.items()))
    print("  attempts: " + ", ".join(f"{q.attempt} score {q.score:.2f} ({q.registered_fraction:.0%} registered, {q.reprojection_px:.2f} px, "
                                     f"fov {q.fov_deg:.0f}°)" for q in ours.attempts))
    print(f"  left out by the budget of attempts ({effort} effort): " + (", ".join(ours.skipped) or "none"))
    n_plain, f_plain, c_plain, r_plain = plain
    rows = [("plain pycolmap", n_plain, f_plain, c_plain, r_plain),
            (f"classical ({ours.quality.attempt}, score {ours.quality.score:.2f})", ours.n_registered, ours.focal,
             ours.pose[:, :3, 3], ours.registered)]
    for label, n_reg, focal, centres, registered in rows:
        line = f"  {label:40s} registered {n_reg}/{len(images)}, focal {focal:8.1f} px ({100 * (focal / truth_focal - 1):+.1f}%)"
        if truth_centres is not None:
            line += f", path error {100 * path_error(centres, registered, truth_centres):.2f}% of the path"
        print(line)


def sfm_benchmark(args: argparse.Namespace) -> None:
    from spatialclaw.synth import generate_scene, render_scene

    if "synthetic" in args.sfm_inputs:
        rendering = render_scene(generate_scene(args.seed), args.frames, args.width, args.height)
        compare_sfm(f"synthetic room (seed {args.seed})", list(rendering.rgb), args.repeats, rendering.poses[:, :3, 3],
                    float(rendering.K[0, 0]), args.sfm_effort)
    if "cube" not in args.sfm_inputs:
        return
    if not CUBE.is_dir():
        print("ViSP desk sequence: skipped (apt-get install visp-images-data)")
        return
    import cv2

    files = sorted(CUBE.glob("image*.pgm"))
    picks = np.round(np.linspace(0, len(files) - 1, args.frames)).astype(int)
    images = [cv2.cvtColor(cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB) for i in picks]
    compare_sfm("ViSP hand-held desk (mbt/cube)", images, args.repeats, None, CUBE_FOCAL_PX, args.sfm_effort)


def kernels_memory(video: Path, count: int, service: Any) -> tuple[list[int], int, float]:
    """(RSS bytes of each of ``count`` kernels after each segmented its own frame, models the
    kernels loaded, seconds taken); all ``count`` kernels are alive when measured."""
    from contextlib import ExitStack

    from spatialclaw.kernel.session import KernelSession

    start = time.perf_counter()
    with ExitStack() as stack:
        sessions = [stack.enter_context(KernelSession(video, frames=count, perception="segmentation=learned,reconstruction=classical",
                                                      perception_service=service)) for _ in range(count)]
        for k, session in enumerate(sessions):
            result = session.execute(f"m = segment('chair', frames=[{k}])", timeout=600)
            if result.error is not None:
                raise RuntimeError(f"kernel {k}: {result.error.ename}: {result.error.evalue}")
        loads = sum(sum((s.perception_info.get("model_loads") or {}).values()) for s in sessions)
        return [s.resident_bytes() for s in sessions], loads, time.perf_counter() - start


def service_memory_benchmark(args: argparse.Namespace) -> None:
    """Host memory of ``args.kernels`` kernels loading the tiny models themselves vs sharing one service."""
    import os

    from spatialclaw.perception_service.client import ManagedService
    from spatialclaw.perception_service.folder import ServiceFolder
    from spatialclaw.synth import make_test_scene
    from spatialclaw.testing import tiny_models

    with tempfile.TemporaryDirectory(prefix="scm-") as tmp:
        root = Path(tmp)
        tiny_models.write_hf_cache(root / "hub", {"facebook/sam3": tiny_models.sam3})
        os.environ.update(HF_HUB_CACHE=str(root / "hub"), HF_HUB_OFFLINE="1", SPATIALCLAW_CACHE=str(root / "cache"))
        video = make_test_scene(root, seed=args.seed, frames=args.kernels, width=args.width, height=args.height).with_suffix(".mp4")
        alone, alone_loads, alone_s = kernels_memory(video, args.kernels, None)
        service = ManagedService(ServiceFolder(root / "svc" / "service.sock"), root / "cache" / "perception")
        try:
            shared, shared_loads, shared_s = kernels_memory(video, args.kernels, service)
            stats = service.call("stats")
            service_rss = int(Path(f"/proc/{stats['pid']}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        finally:
            service.request("shutdown")
    mib = 2**20
    print(f"{args.kernels} kernels, segment() with a tiny SAM 3 at {args.width}x{args.height}; RSS in MiB")
    print(f"{'':22s} {'kernels':>9s} {'service':>9s} {'total':>9s} {'per kernel':>11s} {'loads':>7s} {'wall s':>7s}")
    print(f"{'models in each kernel':22s} {sum(alone) / mib:9.0f} {0:9.0f} {sum(alone) / mib:9.0f} "
          f"{sum(alone) / len(alone) / mib:11.0f} {alone_loads:7d} {alone_s:7.1f}")
    print(f"{'one service':22s} {sum(shared) / mib:9.0f} {service_rss / mib:9.0f} {(sum(shared) + service_rss) / mib:9.0f} "
          f"{sum(shared) / len(shared) / mib:11.0f} {shared_loads + sum(stats['model_loads'].values()):7d} {shared_s:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-classical", action="store_true", help="do not time COLMAP + stereo (tens of seconds)")
    parser.add_argument("--sfm", action="store_true", help="compare the classical SfM with plain pycolmap instead (minutes)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved timing rounds of --sfm")
    parser.add_argument("--service-memory", action="store_true", help="host memory of kernels with and without the perception service")
    parser.add_argument("--kernels", type=int, default=4, help="kernels of --service-memory")
    parser.add_argument("--sfm-inputs", default="synthetic,cube", help="what --sfm runs on: synthetic, cube or both (comma list)")
    parser.add_argument("--sfm-effort", default="normal", choices=["normal", "thorough"],
                        help="how hard --sfm's classical SfM searches: within its budget of attempts, or every attempt")
    args = parser.parse_args()
    if args.sfm:
        sfm_benchmark(args)
        return
    if args.service_memory:
        service_memory_benchmark(args)
        return

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
