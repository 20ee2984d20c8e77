"""``spatialclaw models``: which checkpoints the learned backend would use, and fetching them.

Only typer and the standard library are imported at start; the catalogue loads inside the commands.
"""

from __future__ import annotations

import json
import os
from typing import Optional

import typer

models_app = typer.Typer(
    help="""The learned backend's checkpoints: list them (and which are on disk), download them.

The backends never download: `models pull` is the one way weights arrive (into the Hugging Face
cache, $HF_HUB_CACHE). Gated checkpoints (facebook/sam3) need their terms accepted on the Hub and
a token (--token or $HF_TOKEN).

Examples:

    spatialclaw models list

    spatialclaw models pull --default

    spatialclaw models pull facebook/sam3 apple/DepthPro-hf --token hf_...
""",
    no_args_is_help=True,
)


@models_app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="One JSON object per checkpoint, as a list.")) -> None:
    """Every checkpoint the learned backend knows, by task: on disk or not, and the one it would use."""
    from spatialclaw.primitives.backends.learned.catalogue import catalogue, task_words

    rows = catalogue()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    for task in dict.fromkeys(r.task for r in rows):
        typer.echo(f"{task} ({task_words(task)}):")
        for r in (r for r in rows if r.task == task):
            mark = "*" if r.default else " "
            typer.echo(f"  {mark} {r.model:<58} {r.path or 'not on disk'}")
    typer.echo("* = used now (the first on disk); `spatialclaw models pull --default` fetches the first of each task")
    from spatialclaw.primitives.backends.learned.da3 import package_available

    if not package_available():
        typer.echo("reconstruct: the depth-anything-3 package is not installed, so its checkpoints are not used "
                   "(README: Depth Anything 3)")


@models_app.command("pull")
def pull_models(
    names: Optional[list[str]] = typer.Argument(None, metavar="[NAMES]...", help="Hub ids of checkpoints to fetch."),
    default: bool = typer.Option(False, "--default", help="Fetch the first choice of every task."),
    token: Optional[str] = typer.Option(None, "--token", help="Hugging Face token for gated checkpoints. [env: HF_TOKEN]"),
) -> None:
    """Download checkpoints into the Hugging Face cache (progress on stderr; resumable)."""
    from spatialclaw.errors import ConfigError
    from spatialclaw.primitives.backends.learned.catalogue import default_models, pull

    wanted = list(dict.fromkeys([*(default_models() if default else []), *(names or [])]))
    if not wanted:
        raise ConfigError.nothing_to_pull()
    for model in wanted:
        path = pull(model, token=token or os.environ.get("HF_TOKEN") or None)
        typer.echo(f"{model}: {path}")
