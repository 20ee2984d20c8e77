"""``spatialclaw ask``: answer one question about a video, images or an RGB-D folder.

Only typer and the standard library are imported at start; the agent, the kernel and the model
client are imported inside the command, so ``spatialclaw --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from spatialclaw.errors import INTERRUPTED_ASK_TEXT, INTERRUPTED_ASK_UNSAVED_TEXT, ConfigError
from spatialclaw.cli.options import (
    API_KEY_HELP,
    BASE_URL_HELP,
    FRAMES_HELP,
    MAX_STEPS_HELP,
    MODEL_HELP,
    PERCEPTION_HELP,
    PERCEPTION_SERVICE_HELP,
    SANDBOX_CHOICES,
    SANDBOX_HELP,
    SHOW_FRAMES_HELP,
    TIMEOUT_HELP,
    check_choice,
    check_perception,
)

NO_INPUT = "none"

ASK_HELP = f"""Answer QUESTION about INPUT: a VLM writes Python cells that run in a kernel preloaded with
INPUT's frames and the perception and geometry primitives, until it calls `answer(...)`.

INPUT is a video file, an image, a folder of images, or an RGB-D folder (ScanNet layout);
`{NO_INPUT}` for no input. `--input` adds more inputs (multi-view images, several videos): the
kernel's `frames` holds them all in order, `inputs` describes each, `Frame.source` says which. The model is any OpenAI-compatible server (vLLM, SGLang, Ollama,
llama.cpp server, hosted APIs) or `hf:PATH_OR_ID` for a local transformers model. Settings come
from the flags, else `SPATIALCLAW_MODEL`, `OPENAI_BASE_URL`, `OPENAI_API_KEY`. Every run writes
trajectory.json, trajectory.ipynb and trajectory.html to `--out` (default `runs/TIME-QUESTION`);
open the page with `spatialclaw view DIR`.

Examples:

    spatialclaw ask room.mp4 "How far is the sofa from the TV, in metres?" --model qwen2.5-vl-7b --base-url http://127.0.0.1:8000/v1

    spatialclaw ask room.mp4 "Is the lamp left or right of the bed?" --option "A. left" --option "B. right"

    spatialclaw ask scans/scene0000_00 "How many chairs are there?" --perception gt --max-steps 8 --json

    spatialclaw ask photo.jpg "What is on the table?" --model hf:/models/SmolVLM-Instruct

    spatialclaw ask view1.jpg "Where is the chair in view 2?" --input view2.jpg -o "A. left" -o "B. right"

    spatialclaw ask clip1.mp4 "Do both videos show the same room?" --input clip2.mp4
"""


def ask_command(
    input_path: str = typer.Argument(..., metavar="INPUT", help=f"Video, image, image folder or RGB-D folder; `{NO_INPUT}` for none."),
    question: str = typer.Argument(..., metavar="QUESTION", help="The question, in quotes."),
    also: Optional[list[str]] = typer.Option(
        None, "--input", "-i", help="Another input of the question (a view, an image, a video), after INPUT; repeat for each."
    ),
    option: Optional[list[str]] = typer.Option(
        None, "--option", "-o", help='A multiple-choice option, e.g. "A. left"; repeat for each option.'
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: Optional[str] = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    api_key: Optional[str] = typer.Option(None, "--api-key", help=API_KEY_HELP),
    perception: Optional[str] = typer.Option(None, "--perception", help=PERCEPTION_HELP),
    sandbox: Optional[str] = typer.Option(None, "--sandbox", help=SANDBOX_HELP),
    perception_service: Optional[str] = typer.Option(None, "--perception-service", metavar="ADDRESS", help=PERCEPTION_SERVICE_HELP),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, help=FRAMES_HELP),
    show_frames: Optional[int] = typer.Option(None, "--show-frames", min=0, help=SHOW_FRAMES_HELP),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help=MAX_STEPS_HELP),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1.0, help=TIMEOUT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Trajectory folder (default runs/TIME-QUESTION)."),
    as_json: bool = typer.Option(
        False, "--json", help='Print one JSON object {"answer", "steps", "usage", "trajectory"} and nothing else on stdout.'
    ),
) -> None:
    """Answer QUESTION about INPUT with a VLM that writes code."""
    check_perception(perception)
    check_choice("--sandbox", sandbox, SANDBOX_CHOICES)
    from spatialclaw.agent.loop import Agent
    from spatialclaw.agent.progress import ConsoleProgress
    from spatialclaw.config import RunConfig
    from spatialclaw.models import check_endpoint, make_client

    config = RunConfig(
        perception=perception,
        sandbox=sandbox,
        frames=frames,
        show_frames=show_frames,
        max_steps=max_steps,
        cell_timeout=timeout,
        perception_service=perception_service,
    )
    client = make_client(model, base_url=base_url, api_key=api_key, local_default=True)
    check_endpoint(client)
    progress = ConsoleProgress()
    agent = Agent(client, config, on_event=progress)
    source: str | list[str] | None = None if input_path == NO_INPUT else input_path
    if also:
        if source is None:
            raise ConfigError.input_before_more(NO_INPUT)
        source = [input_path, *also]
    if source is not None:
        progress.console.print(f"[dim]loading {source} and starting the kernel ...[/dim]")
    from spatialclaw.agent.loop import default_run_dir

    out = out if out is not None else default_run_dir(question)
    try:
        result = agent.run(source, question, option or None, out=out)
    except KeyboardInterrupt:
        progress.close()
        saved = (out / "trajectory.json").is_file()
        typer.echo(INTERRUPTED_ASK_TEXT.format(out=out) if saved else INTERRUPTED_ASK_UNSAVED_TEXT, err=True)
        raise SystemExit(130) from None
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    answer = repr(result.answer) if result.answered else "no answer"
    usage = result.usage
    typer.echo(f"answer: {answer}")
    typer.echo(
        f"{len(result.steps)} steps, {usage['prompt_tokens']} + {usage['completion_tokens']} tokens, "
        f"{result.duration_s:.1f} s; trajectory: {result.trajectory_dir / 'trajectory.html'}"
    )
