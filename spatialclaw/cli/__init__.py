"""The ``spatialclaw`` command line.

One typer app; each sub-command lives in its own module (``exec_cmd.py``, ``ask_cmd.py``, ...)
and registers itself on ``app`` when imported below. ``main()`` is the one place where
exceptions become one-line messages (``--debug`` shows the traceback instead).

Start-up must stay fast: modules here import torch, open3d or transformers only inside the
command that needs them.
"""

from __future__ import annotations

import os
import sys

import typer

from spatialclaw.errors import SpatialClawError

app = typer.Typer(
    name="spatialclaw",
    help="Answer spatial questions about videos and images with a VLM that writes code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

_state = {"debug": bool(os.environ.get("SPATIALCLAW_DEBUG"))}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
) -> None:
    """Answer spatial questions about videos and images with a VLM that writes code."""
    if debug:
        _state["debug"] = True


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``spatialclaw`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["eval", "report"]:
        args = ["eval-report", *args[2:]]
    try:
        app(args=args, prog_name="spatialclaw")
    except SpatialClawError as err:
        if _state["debug"]:
            raise
        fail(str(err), err.exit_code)
    except ImportError as err:
        from spatialclaw.errors import missing_extra

        known = missing_extra(err, "this command")
        if known is None or _state["debug"]:
            raise
        fail(str(known), known.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None


# Sub-commands register themselves on `app` when imported.
from spatialclaw.cli import _commands  # noqa: E402,F401
