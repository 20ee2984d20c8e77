"""SIFT against SuperPoint + LightGlue as the features of the classical structure-from-motion.

    python benchmarks/matching.py [--model ETH-CVG/lightglue_superpoint | --tiny] [--device cuda]
                                  [--frames 32] [--width 640] [--height 480] [--seed 3]

Runs `sfm.run_sfm` twice on the same frames, once with COLMAP's SIFT and once with the learned
matcher (`learned.matching.KeypointMatcher`), and prints for each: frames registered, mean
reprojection error (pixels), focal length against the truth, the camera path error after a
similarity alignment (synthetic room only) and seconds (features + matching, then mapping). The
inputs: a synthetic room from `spatialclaw.synth` and, where Debian's ``visp-images-data`` is
installed, ViSP's hand-held desk video (real footage; focal against ViSP's calibration, 547.7 px).

The learned matcher needs its checkpoint on disk (``spatialclaw models pull
ETH-CVG/lightglue_superpoint``) and wants a GPU. ``--tiny`` builds a tiny random checkpoint
instead: its matches are noise, so SfM fails with it; that only checks the plumbing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spatialclaw.testing.heldout.accuracy import path_accuracy

CUBE = Path("/usr/share/visp-images-data/ViSP-images/mbt/cube")
CUBE_FOCAL_PX = 0.5 * (547.74 + 542.07)


def path_error(centres: np.ndarray, mask: np.ndarray, truth: np.ndarray) -> float:
    """Camera path error over the ``mask`` frames as a fraction of the true path (`heldout.accuracy.path_accuracy`)."""
    return path_accuracy(centres, truth, mask)[0]


def compare(name: str, images: list[np.ndarray], matcher, truth_focal: float, truth_centres: np.ndarray | None) -> None:  # noqa: ANN001
    """One line per matcher: registration, error, focal, path error, seconds."""
    from spatialclaw.errors import PerceptionError
    from spatialclaw.primitives.backends.classical.sfm import run_sfm

    print(f"{name}: {len(images)} frames {images[0].shape[1]}x{images[0].shape[0]}")
    for label, chosen in (("SIFT", None), (matcher.name, matcher)):
        start = time.perf_counter()
        try:
            result = run_sfm(images, matcher=chosen)
        except PerceptionError as err:
            print(f"  {label:22s} failed after {time.perf_counter() - start:.1f} s: {err}")
            continue
        seconds = time.perf_counter() - start
        features = result.timings.get("features", float("nan"))
        line = (f"  {label:22s} registered {result.n_registered}/{len(images)}, {result.quality.reprojection_px:.2f} px, "
                f"focal {result.focal:7.1f} px ({100 * (result.focal / truth_focal - 1):+.1f}%)")
        if truth_centres is not None:
            line += f", path error {100 * path_error(result.pose[:, :3, 3], result.registered, truth_centres):.2f}%"
        print(line + f", {seconds:.1f} s (features + matching {features:.1f} s)")


def cube_frames(count: int) -> list[np.ndarray]:
    """``count`` evenly spaced frames of ViSP's hand-held desk sequence, as RGB."""
    import cv2

    files = sorted(CUBE.glob("image*.pgm"))
    picks = np.round(np.linspace(0, len(files) - 1, count)).astype(int)
    return [cv2.cvtColor(cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB) for i in picks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ETH-CVG/lightglue_superpoint", help="LightGlue checkpoint (Hub id in the cache, or a folder)")
    parser.add_argument("--tiny", action="store_true", help="a tiny random checkpoint instead (plumbing only)")
    parser.add_argument("--device", default=None, help="cuda, cpu, ...; default CUDA when available")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    from transformers.utils import logging

    from spatialclaw.errors import PerceptionError
    from spatialclaw.primitives.backends.learned import load_adapter
    from spatialclaw.synth import generate_scene, render_scene
    from spatialclaw.testing import tiny_models

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    with tempfile.TemporaryDirectory() as tmp:
        model = tiny_models.lightglue(Path(tmp) / "lightglue") if args.tiny else args.model
        try:
            matcher = load_adapter("match", model, device=args.device)
        except PerceptionError as err:
            print(f"{err} (or pass --tiny to check the plumbing)", file=sys.stderr)
            return 2
        print(f"{matcher!r}, {matcher.max_keypoints} keypoints per frame")
        rendering = render_scene(generate_scene(args.seed), args.frames, args.width, args.height)
        compare(f"synthetic room (seed {args.seed})", list(rendering.rgb), matcher, float(rendering.K[0, 0]), rendering.poses[:, :3, 3])
        if CUBE.is_dir():
            compare("ViSP hand-held desk (mbt/cube, real footage)", cube_frames(args.frames), matcher, CUBE_FOCAL_PX, None)
        else:
            print("ViSP desk sequence: skipped (apt-get install visp-images-data)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
