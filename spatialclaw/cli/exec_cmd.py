"""``spatialclaw exec`` (run cells in a preloaded kernel) and ``spatialclaw info`` (describe an input).

Only typer and the standard library are imported here at start; the kernel and the input
loaders are imported inside the commands, so ``spatialclaw --help`` stays fast.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from spatialclaw.cli.options import (
    API_KEY_HELP,
    BASE_URL_HELP,
    FRAMES_HELP,
    MODEL_HELP,
    PERCEPTION_HELP,
    PERCEPTION_SERVICE_HELP,
    SANDBOX_CHOICES,
    SANDBOX_HELP,
    TIMEOUT_HELP,
    check_choice,
    check_perception,
)
from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, setting
from spatialclaw.errors import ConfigError

NO_INPUT = "none"
SHOWN_PATHS = 5  # `info` lists this many input paths, then how many more

EXEC_HELP = f"""Run Python cells in one kernel preloaded with INPUT's frames and the primitives.

INPUT is a video file, one or more images, a folder of images, or an RGB-D folder (ScanNet
layout); `{NO_INPUT}` starts a kernel without input (empty `frames`). The cells run in order in
the same kernel: every `-c` first, then every `--file`. Each cell's text is printed; its images are
saved as PNG files (under `--out`, else a new temporary folder) and their paths printed. An error
in a cell is part of the output (exit status 0); an unreadable input is a one-line error.

The primitives that ask the model (`ask_vlm`, `locate`, and classical `segment`, which points
with `locate`) use the model given as for `spatialclaw ask` (`--model`, `--base-url`,
`--api-key`, or their environment variables); without one they say so.

Examples:

    spatialclaw exec room.mp4 -c "print(len(frames), frames[0])"

    spatialclaw exec room.mp4 --frames 8 -c "show(frames[0], frames[-1])" --out shots/

    spatialclaw exec scans/scene0000_00 --perception gt --file cell.py --json

    spatialclaw exec {NO_INPUT} -c "x = 2" -c "print(x * 21)"

    spatialclaw exec room.mp4 --perception classical -c "print(objects3d('sofa'))" --model qwen2.5-vl-7b --base-url http://127.0.0.1:8000/v1
"""

INFO_HELP = """Describe INPUT: its kind, frame count, resolution, frame rate, and whether depth, camera
poses and instance masks are present.

Examples:

    spatialclaw info room.mp4

    spatialclaw info scans/scene0000_00 --json
"""


def _inputs(inputs: list[str]) -> str | list[str]:
    """The INPUT arguments as `load_input` takes them; a stray ``true``/``false`` is a flag written with a value."""
    for word in inputs:
        if word.lower() in ("true", "false") and not Path(word).exists():
            raise ConfigError.flag_as_input(word)
    return inputs[0] if len(inputs) == 1 else inputs


def _cells(code: list[str], files: list[Path]) -> list[str]:
    cells = list(code)
    for path in files:
        try:
            cells.append(path.read_text())
        except OSError as err:
            raise ConfigError.unreadable_cell_file(path, err.strerror)
    if not cells:
        raise ConfigError.no_cells()
    return cells


def _nested_handlers(model: str | None, base_url: str | None, api_key: str | None) -> dict[str, Any]:
    """Handlers for the kernel's nested model calls (``ask_vlm``, ``locate``): through the model
    configured as for ``ask``, or, when none is, handlers that say so in one line."""
    if not (setting(model, ENV_MODEL) or setting(base_url, ENV_BASE_URL) or setting(api_key, ENV_API_KEY)):

        def refuse(method: str) -> Any:
            def handler(_payload: dict) -> Any:
                raise ConfigError.exec_no_model(method)

            return handler

        return {method: refuse(method) for method in ("ask_vlm", "locate")}
    from spatialclaw.agent.loop import Agent
    from spatialclaw.models import check_endpoint, make_client

    client = make_client(model, base_url=base_url, api_key=api_key)
    check_endpoint(client)
    return Agent(client).host_handlers()


def _cell_record(index: int, result: Any, out_dir: Path | None) -> tuple[dict, Path | None]:
    """The cell as a JSON-able dict, its images written to ``out_dir`` (created on first use)."""
    paths = []
    from spatialclaw.images import image_suffix

    for k, data in enumerate(result.images, start=1):
        if out_dir is None:
            out_dir = Path(tempfile.mkdtemp(prefix="spatialclaw-exec-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"cell{index}-{k}{image_suffix(data)}"
        path.write_bytes(data)
        paths.append(str(path))
    error = result.error
    record = {
        "text": result.text,
        "images": paths,
        "error": None if error is None else {"ename": error.ename, "evalue": error.evalue, "traceback": error.traceback},
        "timed_out": result.timed_out,
        "duration_s": round(result.duration_s, 4),
        "answered": result.answered,
        "answer": result.answer,
        "restarted": result.restarted,
        "notices": result.notices,
    }
    return record, out_dir


def _print_cell(index: int, record: dict) -> None:
    typer.echo(f"── cell {index} ({record['duration_s']:.2f} s) ──")
    if record["text"]:
        typer.echo(record["text"], nl=not record["text"].endswith("\n"))
    for path in record["images"]:
        typer.echo(f"image: {path}")
    if record["answered"]:
        typer.echo(f"answer: {record['answer']!r}")
    for notice in record["notices"]:
        typer.echo(f"notice: {notice}")
    error = record["error"]
    if error is not None:
        summary = f"{error['ename']}: {error['evalue']}"
        if error["traceback"]:
            typer.echo(error["traceback"])
        if not error["traceback"].rstrip().endswith(summary):
            typer.echo(summary)


def exec_command(
    inputs: list[str] = typer.Argument(..., metavar="INPUT", help=f"Video, image(s), image folder, RGB-D folder, or '{NO_INPUT}'."),
    code: list[str] = typer.Option([], "-c", "--code", help="A cell of Python code; repeat for several cells."),
    files: list[Path] = typer.Option([], "--file", help="A Python file run as one cell (after the -c cells); repeatable."),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, help=FRAMES_HELP),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.0, help="Sample at this rate (frames per second) instead of --frames."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.1, help=TIMEOUT_HELP),
    perception: Optional[str] = typer.Option(None, "--perception", help=PERCEPTION_HELP),
    as_json: bool = typer.Option(False, "--json", help='Print one JSON object: {"frames": N, "sandbox": {...}, "cells": [...]}.'),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the cells' images (default: a new temporary folder)."),
    sandbox: Optional[str] = typer.Option(None, "--sandbox", help=SANDBOX_HELP),
    perception_service: str = typer.Option("off", "--perception-service", metavar="ADDRESS", help=PERCEPTION_SERVICE_HELP + " [default: off]"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help=MODEL_HELP + " For ask_vlm, locate and classical segment."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    api_key: Optional[str] = typer.Option(None, "--api-key", help=API_KEY_HELP),
) -> None:
    check_perception(perception)
    check_choice("--sandbox", sandbox, SANDBOX_CHOICES)
    cells = _cells(code, files)
    handlers = _nested_handlers(model, base_url, api_key)

    from spatialclaw.config import RunConfig
    from spatialclaw.kernel.session import KernelSession

    config = RunConfig(perception=perception, sandbox=sandbox, frames=frames, fps=fps, cell_timeout=timeout).resolved()
    source = None
    if inputs != [NO_INPUT]:
        from spatialclaw.inputs.load import load_input

        source = load_input(_inputs(inputs), **config.sampling(), progress=not as_json)
        if fps is not None and source.source_fps and fps > source.source_fps:
            typer.echo(
                f"note: --fps {fps:g} is above the video's {source.source_fps:.3g} fps: "
                f"sampled every frame ({len(source.frames)})",
                err=True,
            )

    records = []
    out_dir = out
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.address import service_for

    service = service_for(perception_service, cache_dir() / "perception")
    with KernelSession(
        source, perception=config.perception, cell_timeout=config.cell_timeout, sandbox=config.sandbox, host_handlers=handlers,
        perception_service=service,
    ) as session:
        if not as_json:
            typer.echo(session.describe_setup(), err=True)
        for index, cell in enumerate(cells, start=1):
            record, out_dir = _cell_record(index, session.execute(cell), out_dir)
            records.append(record)
            if not as_json:
                _print_cell(index, record)
        frame_count = session.frame_count
        sandbox_info = session.sandbox_info
        perception_info = session.perception_info
    if as_json:
        document = {"frames": frame_count, "perception": perception_info, "sandbox": sandbox_info, "cells": records}
        typer.echo(json.dumps(document, indent=1))


def info_command(
    inputs: list[str] = typer.Argument(..., metavar="INPUT", help="Video, image(s), image folder or RGB-D folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the description as one JSON object."),
) -> None:
    from spatialclaw.inputs.load import describe_input

    description = describe_input(_inputs(inputs))
    if as_json:
        typer.echo(json.dumps(description, indent=1, default=str))
        return
    mixed = str(description.get("resolution") or "").startswith("mixed")
    for key, value in description.items():
        if mixed and key in ("width", "height"):
            continue  # one width and height would describe only the first image
        if key == "paths" and len(value) > SHOWN_PATHS:
            value = [*value[:SHOWN_PATHS], f"... and {len(value) - SHOWN_PATHS} more (--json lists them all)"]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        typer.echo(f"{key}: {shown}")
