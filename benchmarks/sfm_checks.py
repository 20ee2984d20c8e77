"""Does the check of each registration against its neighbours flag the wrongly joined models, and only those?

    python benchmarks/sfm_checks.py [--seeds 0-6] [--frames 32] [--width 640] [--height 480]

For each synthetic room (`spatialclaw.synth`, one seed each: layout, textures, walk), builds one
feature database (`sfm_colmap.build_database`) and maps it with COLMAP's incremental and global
mappers (intrinsics held at the 60° prior, as the first attempts of `sfm.run_sfm` do). Each raw
model is judged by `sfm_consistency` (the verified matches of pairs up to 3 frames apart against
the model's relative poses) and by the motion checks of `sfm_motion`, and compared with the
true camera path: a model is *wrong* when its camera path error (RMSE after a similarity
alignment, as a fraction of the path) exceeds 3%. Prints one row per model: registered frames,
path error, the frames the check contradicts and the path error of the frames it keeps, the
frames the motion checks reject, and what both checks together keep (as `sfm.run_sfm` does) with
its path error.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from spatialclaw.testing.heldout.accuracy import path_accuracy

WRONG_PATH_ERROR = 0.03
"""A model whose camera path error exceeds this fraction of the path is wrong."""


def path_error(centres: np.ndarray, mask: np.ndarray, truth: np.ndarray) -> float:
    """Camera path error over the ``mask`` frames as a fraction of the true path (`heldout.accuracy.path_accuracy`)."""
    return path_accuracy(centres, truth, mask)[0]


def judge(recon, db: Path, names: list[str], truth: np.ndarray) -> dict:  # noqa: ANN001 (pycolmap type)
    """The check's verdict on one raw model, beside its true path error."""
    from spatialclaw.primitives.backends.classical import sfm_consistency, sfm_register
    from spatialclaw.primitives.backends.classical.sfm_motion import path_breaks, pose_jumps

    arrays = sfm_register.model_arrays(recon, names)
    camera = next(iter(recon.cameras.values()))
    evidence = sfm_consistency.check_registrations(camera, db, arrays.image_ids, arrays.pose, arrays.registered)
    contradicted = sfm_consistency.contradicted_frames(arrays.registered, evidence)
    motion = pose_jumps(arrays.pose, arrays.registered)
    motion |= path_breaks(arrays.pose, arrays.registered & ~motion)
    centres = arrays.pose[:, :3, 3]
    both = arrays.registered & ~motion
    both &= ~sfm_consistency.contradicted_frames(both, evidence)  # as `sfm.run_sfm` checks a model
    return {
        "registered": int(arrays.registered.sum()),
        "error": path_error(centres, arrays.registered, truth),
        "contradicted": np.flatnonzero(contradicted).tolist(),
        "kept_error": path_error(centres, arrays.registered & ~contradicted, truth),
        "motion_flags": int(motion.sum()),
        "both_kept": int(both.sum()),
        "both_error": path_error(centres, both, truth),
    }


def run_seed(seed: int, frames: int, width: int, height: int) -> list[tuple[str, dict]]:
    """Raw incremental and global models of one room, each judged."""
    import pycolmap

    from spatialclaw.primitives.backends.classical import sfm_colmap
    from spatialclaw.synth import generate_scene, render_scene

    rendering = render_scene(generate_scene(seed), frames, width, height)
    truth = rendering.poses[:, :3, 3]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pycolmap.set_random_seed(0)
        db, image_dir, names = sfm_colmap.build_database(list(rendering.rgb), root, max_features=4096, seed=0)
        camera = sfm_colmap.CameraGuess("SIMPLE_RADIAL", sfm_colmap.prior_focal(width, height), fixed=True)
        for name, mapper in (("incremental", sfm_colmap.map_incremental), ("global", sfm_colmap.map_global)):
            out = root / name
            out.mkdir()
            copy = sfm_colmap.database_copy(db, out, camera)
            try:
                models = mapper(copy, image_dir, out, camera, 0, 3)
            except Exception as exc:  # noqa: BLE001 (COLMAP raises plain RuntimeErrors)
                print(f"  seed {seed} {name}: failed ({exc})")
                continue
            best = max(models, key=lambda m: m.num_reg_images(), default=None)
            if best is not None:
                rows.append((name, judge(best, copy, names, truth)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-6", help="a range a-b or a comma list")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    if "-" in args.seeds:
        lo, hi = (int(x) for x in args.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(x) for x in args.seeds.split(",")]
    print(f"{args.frames} frames at {args.width}x{args.height}; wrong = path error > {WRONG_PATH_ERROR:.0%}")
    print(f"{'seed':>4s} {'mapper':12s} {'reg':>5s} {'path err':>9s} {'wrong':>6s} {'flagged':>8s} {'kept err':>9s} {'motion':>7s} "
          f"{'both kept':>9s} {'both err':>9s}  contradicted frames")
    for seed in seeds:
        start = time.perf_counter()
        for name, row in run_seed(seed, args.frames, args.width, args.height):
            wrong = row["error"] > WRONG_PATH_ERROR
            print(f"{seed:4d} {name:12s} {row['registered']:2d}/{args.frames:<2d} {100 * row['error']:8.2f}% {'yes' if wrong else 'no':>6s} "
                  f"{'yes' if row['contradicted'] else 'no':>8s} {100 * row['kept_error']:8.2f}% {row['motion_flags']:7d} "
                  f"{row['both_kept']:9d} {100 * row['both_error']:8.2f}%  {row['contradicted']}")
        print(f"     (seed {seed}: {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
