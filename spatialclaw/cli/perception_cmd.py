"""``spatialclaw perception``: the perception service on its own.

Only typer and the standard library are imported at start; the service loads inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

perception_app = typer.Typer(
    help="""The perception service: one process that loads each model once for every kernel on the
machine and is the only writer of the shared perception cache.

`ask` and `eval` start one on demand (and `eval` stops it at its end); `serve` runs one on its own,
for runs pointed at it with --perception-service PATH. The socket's folder is made private (0700)
and holds the token file that clients read.

Examples:

    spatialclaw perception serve --socket /run/user/1000/spatialclaw/service.sock --device cuda:0

    spatialclaw ask room.mp4 "How many chairs?" --perception-service /run/user/1000/spatialclaw/service.sock

    spatialclaw perception stats --socket /run/user/1000/spatialclaw/service.sock

    RAY_ADDRESS=auto spatialclaw perception serve --ray --app perception   # one replica per GPU of the cluster

    spatialclaw eval q.jsonl --executor ray --ray-address auto --perception-service ray:perception
""",
    no_args_is_help=True,
)

SOCKET_HELP = "The service's unix socket (default: this user's service for $SPATIALCLAW_CACHE)."


@perception_app.command("serve")
def serve_command(
    socket: Optional[Path] = typer.Option(None, "--socket", help=SOCKET_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help="The shared perception cache it writes (default: $SPATIALCLAW_CACHE/perception)."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", min=1.0, help="Exit after this many seconds without requests (default: run until stopped)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Computations run at once."),
    device: Optional[str] = typer.Option(None, "--device", help="Torch device of the learned models, e.g. cuda:0."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="Torch dtype of the learned models, e.g. float16."),
    ray: bool = typer.Option(False, "--ray", help="Run it as a Ray Serve application instead (one replica per GPU); runs reach it with --perception-service ray:APP."),
    app: str = typer.Option("perception", "--app", help="With --ray: the application's name."),
    replicas: Optional[int] = typer.Option(None, "--replicas", min=1, help="With --ray: replicas (default: one per GPU of the cluster, else 1)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="With --ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray)."),
) -> None:
    """Run a perception service until Ctrl-C, SIGTERM or the idle timeout (--ray: until Ctrl-C or SIGTERM)."""
    import argparse

    from spatialclaw.perception_service.serve import run

    if ray:
        _serve_on_ray(cache, app, ray_address, replicas, workers, {k: v for k, v in (("device", device), ("dtype", dtype)) if v})
        return
    args = argparse.Namespace(socket=socket, cache=cache, idle_timeout=idle_timeout, workers=workers, device=device, dtype=dtype)
    typer.echo(f"perception service on {_folder(socket, cache).socket} (Ctrl-C stops it)", err=True)
    run(args)


@perception_app.command("stats")
def stats_command(
    socket: Optional[Path] = typer.Option(None, "--socket", help=SOCKET_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help="The perception cache whose default service to ask."),
) -> None:
    """Print a running service's models (checkpoint → times loaded) and request counts as JSON."""
    from spatialclaw.errors import ConfigError
    from spatialclaw.perception_service.client import ServiceClient

    folder = _folder(socket, cache)
    stats = ServiceClient(folder).stats()
    if stats is None:
        raise ConfigError.no_service(folder.socket)
    typer.echo(json.dumps(stats, indent=1))


def _serve_on_ray(cache: Path | None, app: str, address: str | None, replicas: int | None, workers: int,
                  options: dict[str, str]) -> None:
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.ray_deployment import serve_on_ray

    cache_root = (cache or cache_dir() / "perception").absolute()
    typer.echo(f"perception service as Ray Serve application {app!r} (runs: --perception-service ray:{app}; Ctrl-C stops it)", err=True)
    serve_on_ray(cache_root, app_name=app, address=address, replicas=replicas, workers=workers, options=options)


def _folder(socket: Path | None, cache: Path | None):  # noqa: ANN202 - a ServiceFolder, imported lazily
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.folder import ServiceFolder, default_folder

    if socket is not None:
        return ServiceFolder(socket.absolute())
    return default_folder((cache or cache_dir() / "perception").absolute())
