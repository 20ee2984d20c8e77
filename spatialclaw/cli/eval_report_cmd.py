"""``spatialclaw eval report RUN_DIR...``: one table over several evaluation runs (Markdown + PNG).

Registered as the hidden command ``eval-report``; ``spatialclaw eval report`` is routed to it by
`spatialclaw.cli.main` (``eval`` itself takes a questions file as its first argument).
"""

from __future__ import annotations

from pathlib import Path

import typer


def eval_report(
    run_dirs: list[Path] = typer.Argument(..., metavar="RUN_DIR...", help="Output folders of spatialclaw eval runs."),
    out: Path = typer.Option(Path("."), "--out", help="Folder for table.md and table.png."),
) -> None:
    """Write one table over the runs: a row per benchmark, a column per model, overall scores in percent."""
    from spatialclaw.eval.table import write_table

    path = write_table(run_dirs, out)
    typer.echo(path.read_text(), nl=False)
    typer.echo(f"table: {path}  image: {path.with_suffix('.png')}")
