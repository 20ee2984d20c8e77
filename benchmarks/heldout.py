"""Accuracy of the classical reconstruction on held-out synthetic rooms (a renderer not our own).

    python benchmarks/heldout.py [--seeds 0 1 2] [--walk 0] [--frames 16] [--video-frames 48]
                                 [--width 320] [--height 240] [--tell-height] [--verbose]

Each seed renders a room and a hand-held walk with `spatialclaw.testing.heldout` (its own
textures, light, lens distortion, exposure and noise; nothing shared with `spatialclaw.synth`),
writes it as an H.264 video of ``--video-frames`` frames, and runs the kernel's ``reconstruct()``
(classical backend) on ``--frames`` frames sampled from it, as a user's video. Per seed it prints:
frames registered, camera path error after a similarity alignment (% of the path), scale
(estimated / true lengths), the fraction of pixels whose depth is within 15 % (also up to scale,
and over the valid frames only), the quality report (ok, scale source, the first words of each
warning), seconds, and the verdict of the "right or flagged" rule (issue 11): right = path error <= 3 %, scale within 15 %, depth right on >= 60 % of the pixels;
flagged = refused, or a warning speaks for each wrong quantity (the assumed-camera-height caveat
speaks for the scale only); SILENT = neither (a pipeline bug to fix). ``--tell-height`` passes the
true camera height as the ``camera_height`` option (the pipeline otherwise assumes 1.5 m).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from spatialclaw.testing.heldout import render_heldout
from spatialclaw.testing.heldout.judge import Trial, judge


def verdict_word(trial: Trial) -> str:
    v = trial.verdict
    if v.right:
        return "right" + (" (flagged)" if v.flagged else "")
    if v.refusal is not None:
        return "refused"
    silent = v.silently_wrong()
    return f"SILENT ({', '.join(silent)})" if silent else "flagged"


def row(seed: int, camera_height: float, trial: Trial) -> str:
    v, a = trial.verdict, trial.verdict.accuracy
    if a is None:
        return f"{seed:4d} {camera_height:5.2f} {'-':>7s} {'-':>7s} {'-':>6s} {'-':>6s} {'-':>6s} {'-':>6s} {'-':>5s} {'-':>20s} {trial.seconds:6.1f}  {verdict_word(trial)}"
    wrong = ",".join(a.wrong()) or "-"
    return (f"{seed:4d} {camera_height:5.2f} {a.registered:3d}/{a.total:<3d} {100 * a.path_error:6.2f}% {a.scale:6.3f} "
            f"{100 * a.depth_fraction:5.1f}% {100 * a.depth_fraction_up_to_scale:5.1f}% {100 * a.depth_fraction_valid:5.1f}% {str(not v.flagged):>5s} "
            f"{v.scale_source:>20s} {trial.seconds:6.1f}  {verdict_word(trial)} (wrong: {wrong}; warned: {warning_tags(v.warnings)})")


def warning_tags(warnings: list[str]) -> str:
    """The first words of each warning (enough to tell the gates apart), or "-"."""
    return "; ".join(" ".join(w.split()[:5]) for w in warnings) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--walk", type=int, default=0)
    parser.add_argument("--frames", type=int, default=16, help="frames sampled for reconstruct()")
    parser.add_argument("--video-frames", type=int, default=48, help="frames in the rendered video")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--tell-height", action="store_true", help="pass the true camera height as camera_height")
    parser.add_argument("--verbose", action="store_true", help="print each warning and refusal in full")
    args = parser.parse_args()
    print(f"{'seed':>4s} {'cam_h':>5s} {'reg':>7s} {'path':>7s} {'scale':>6s} {'depth':>6s} {'~scale':>6s} {'valid':>6s} {'ok':>5s} "
          f"{'scale_source':>20s} {'s':>6s}  verdict")
    silent = 0
    for seed in args.seeds:
        start = time.perf_counter()
        scene = render_heldout(seed, args.walk, frames=args.video_frames, width=args.width, height=args.height)
        rendered = time.perf_counter() - start
        options = {"camera_height": scene.camera_height} if args.tell_height else None
        with tempfile.TemporaryDirectory() as tmp:
            trial = judge(scene, Path(tmp), args.frames, options=options)
        print(row(seed, scene.camera_height, trial), flush=True)
        silent += not trial.verdict.right_or_flagged
        if args.verbose:
            print(f"     rendered in {rendered:.1f} s; fov {scene.camera.hfov_deg:.0f}°, distortion {scene.camera.distortion[0]:+.3f}, "
                  f"blur {scene.look.blur}, path {scene.path_length():.2f} m at {scene.fps:.1f} frames/s")
            if trial.diagnosis:
                print("     " + ", ".join(f"{k} {v:.3f}" for k, v in trial.diagnosis.items()))
            for line in ([trial.verdict.refusal] if trial.verdict.refusal else trial.verdict.warnings):
                print(f"     - {line}")
    print(f"{silent} of {len(args.seeds)} silently wrong (neither right nor flagged)")


if __name__ == "__main__":
    main()
