"""``spatialclaw view``: open a run's trajectory page in a browser, or serve it over HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from spatialclaw.agent.trajectory import HTML_NAME, JSON_NAME, LIVE_REFRESH_S
from spatialclaw.errors import ConfigError, InputError

VIEW_HELP = """Show the trajectory page of a run folder (what `spatialclaw ask --out DIR` wrote).

Opens DIR/trajectory.html in the local browser when there is one. With `--port`, or where no
browser can be opened (a server over SSH), serves DIR on 127.0.0.1 and prints the URL to open
(forward the port over SSH: `ssh -L 8765:127.0.0.1:8765 host`); Ctrl-C stops it.

A run still in progress can be watched live: the page is written when the run starts and after
every step, reloads itself every few seconds while the run goes on, and says when it has ended.

Examples:

    spatialclaw view runs/20250101-120000-how-far-is-the-sofa

    spatialclaw view runs/latest-run --port 8765
"""


def _has_display() -> bool:
    if os.name == "nt" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve(folder: Path, port: int, *, announce=typer.echo) -> None:  # noqa: ANN001
    """Serve ``folder`` on 127.0.0.1:``port`` (0 picks a free port) until interrupted."""
    import functools
    import http.server

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - no access log on the terminal
            return

    handler = functools.partial(QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise ConfigError.port_in_use(port, err.strerror) from None
    with server:
        announce(f"serving {folder} at http://127.0.0.1:{server.server_address[1]}/{HTML_NAME} (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def view_command(
    folder: Path = typer.Argument(..., metavar="DIR", help="A run folder holding trajectory.html."),
    port: Optional[int] = typer.Option(None, "--port", min=0, max=65535, help="Serve on 127.0.0.1:PORT instead of opening a browser."),
) -> None:
    """Open or serve a run's trajectory page."""
    page = folder / HTML_NAME
    if not page.is_file():
        raise InputError.no_trajectory_page(page)
    import webbrowser

    if _still_running(folder):
        typer.echo(
            f"the run is still going: the page shows each step as it lands (it reloads every {LIVE_REFRESH_S} s) "
            "and says when the run has ended"
        )
    if port is None and _has_display() and webbrowser.open(page.resolve().as_uri()):
        typer.echo(f"opened {page}")
        return
    serve(folder.resolve(), 8765 if port is None else port)


def _still_running(folder: Path) -> bool:
    """Whether the run in ``folder`` has not ended yet (its trajectory.json has no duration)."""
    import json

    try:
        return json.loads((folder / JSON_NAME).read_text()).get("duration_s") is None
    except (OSError, ValueError, AttributeError):
        return False
