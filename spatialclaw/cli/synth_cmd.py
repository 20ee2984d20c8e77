"""``spatialclaw synth``: render a synthetic benchmark (rooms, RGB-D folders, videos, questions)."""

from __future__ import annotations

from pathlib import Path

import typer

SYNTH_HELP = """Render synthetic indoor rooms with exact ground truth and VSI-Bench-style questions.

Each room is walked through by a camera and written as an RGB-D folder in the ScanNet layout
(`OUT/synth/SCENE/`: colour, depth, poses, intrinsics, instance masks, `scene.json`) and as
an H.264 video (`OUT/synth/SCENE.mp4`). `OUT/questions.jsonl` holds questions of all eight
VSI-Bench task types with exact answers. The same `--seed` gives the same benchmark. With
`--moving K`, K objects per room slide along straight lines at constant speeds (exact per-frame
positions in `scene.json`) and questions about motion are added.

Examples:

    spatialclaw synth bench/ --scenes 10

    spatialclaw synth bench/ --scenes 2 --frames 16 --width 320 --height 240 --seed 7

    spatialclaw synth moving/ --scenes 4 --moving 2     # two objects per room slide across the floor

    spatialclaw eval bench/questions.jsonl --data-root bench/ --perception gt --out runs/gt
"""


def synth_command(
    out: Path = typer.Argument(..., metavar="OUT", help="Folder to write the benchmark into."),
    scenes: int = typer.Option(10, "--scenes", min=1, help="Number of rooms."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the whole benchmark."),
    frames: int = typer.Option(32, "--frames", min=2, help="Frames rendered per room."),
    width: int = typer.Option(640, "--width", min=16, help="Image width in pixels (even)."),
    height: int = typer.Option(480, "--height", min=16, help="Image height in pixels (even)."),
    moving: int = typer.Option(
        0, "--moving", min=0,
        help="Objects per room that move across the floor at constant speeds (adds questions about motion; 0 = static rooms).",
    ),
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from spatialclaw.synth.benchmark import make_benchmark

    from spatialclaw.terminal import progress_console, shows_progress

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=progress_console(),
        transient=True,
        disable=not shows_progress(),
    ) as progress:
        task = progress.add_task("rendering", total=scenes * frames)

        def on_frame(scene_name: str, _index: int) -> None:
            progress.update(task, advance=1, description=f"rendering {scene_name}")

        questions = make_benchmark(out, scenes=scenes, seed=seed, frames=frames, width=width, height=height, moving=moving, on_frame=on_frame)
    n = sum(1 for _ in questions.open(encoding="utf-8"))
    typer.echo(f"wrote {scenes} scene(s) under {out / 'synth'} and {n} questions to {questions}")
