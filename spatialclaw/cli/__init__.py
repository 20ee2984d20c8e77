"""The ``spatialclaw`` command line.

One typer app; each sub-command is a plain function in its own module (``exec_cmd.py``,
``ask_cmd.py``, ...), registered on the app here, in `COMMANDS`, and nowhere else. ``main()`` is
the one place where exceptions become one-line messages: our own (`spatialclaw.errors`) and
what a library raised past our code (`spatialclaw.errors.LIBRARY_ERRORS`); ``--debug`` shows the
traceback instead.

Start-up must stay fast: modules here import torch, open3d or transformers only inside the
command that needs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from spatialclaw.cli import (
    ask_cmd, benchmarks_cmd, eval_cmd, eval_report_cmd, exec_cmd, models_cmd, perception_cmd, synth_cmd, view_cmd,
)
from spatialclaw.errors import INTERRUPTED_TEXT, SpatialClawError, library_error_message

DEBUG_ENV = "SPATIALCLAW_DEBUG"

# name, function, typer's command settings: the order of `spatialclaw --help`.
COMMANDS: tuple[tuple[str, Callable[..., Any], dict[str, Any]], ...] = (
    ("exec", exec_cmd.exec_command, {"help": exec_cmd.EXEC_HELP}),
    ("info", exec_cmd.info_command, {"help": exec_cmd.INFO_HELP}),
    ("synth", synth_cmd.synth_command, {"help": synth_cmd.SYNTH_HELP}),
    ("ask", ask_cmd.ask_command, {"help": ask_cmd.ASK_HELP}),
    ("view", view_cmd.view_command, {"help": view_cmd.VIEW_HELP}),
    ("eval", eval_cmd.eval_command, {"help": eval_cmd.EVAL_HELP}),
    # `spatialclaw eval report` is routed here by `main` (eval takes a questions file first).
    ("eval-report", eval_report_cmd.eval_report, {"hidden": True}),
)
# name, command group.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("benchmarks", benchmarks_cmd.benchmarks_app),
    ("models", models_cmd.models_app),
    ("perception", perception_cmd.perception_app),
)


def _root(
    debug: bool = typer.Option(False, "--debug", help=f"Show full tracebacks instead of one-line errors. [env: {DEBUG_ENV}]"),
) -> None:
    """Answer spatial questions about videos and images with a VLM that writes code."""


def _debug(args: list[str]) -> bool:
    """Whether ``--debug`` is among the options before the command, or ``$SPATIALCLAW_DEBUG`` is set."""
    root_options = []
    for arg in args:
        if not arg.startswith("-"):
            break
        root_options.append(arg)
    return "--debug" in root_options or bool(os.environ.get(DEBUG_ENV))


def _flags_take_no_value() -> None:
    """typer 0.2x labels on/off flags ``<bool>`` in help, as if ``--json true`` were the way to
    write them; a flag takes no value, so its help shows none."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "flags_take_no_value", False):
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich.flags_take_no_value = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _build_app() -> typer.Typer:
    _flags_take_no_value()
    app = typer.Typer(
        name="spatialclaw",
        help="Answer spatial questions about videos and images with a VLM that writes code.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="markdown",
    )
    app.callback()(_root)
    for name, function, settings in COMMANDS:
        app.command(name, **settings)(function)
    for name, group in GROUPS:
        app.add_typer(group, name=name)
    return app


app = _build_app()


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``spatialclaw`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["eval", "report"]:
        args = ["eval-report", *args[2:]]
    debug = _debug(args)
    try:
        app(args=args, prog_name="spatialclaw")
    except SpatialClawError as err:
        if debug:
            raise
        fail(str(err), err.exit_code)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_TEXT, err=True)
        raise SystemExit(130) from None
    except Exception as err:  # noqa: BLE001 - a library's error: one line if we know it, else the traceback
        message = library_error_message(err)
        if debug or message is None:
            raise
        fail(message)
