"""Running one service from a command line: its options, and the process's life."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Sequence

from spatialclaw.perception_service.folder import ServiceFolder, default_folder, ensure_private


def add_options(parser: argparse.ArgumentParser) -> None:
    """The service's options (shared by ``spatialclaw perception serve``)."""
    parser.add_argument("--socket", type=Path, default=None,
                        help="the unix socket to listen on; its folder is made private (0700) and holds the token file "
                             "(default: this user's service for the perception cache)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="the shared perception cache it writes (default: $SPATIALCLAW_CACHE/perception)")
    parser.add_argument("--idle-timeout", type=float, default=None, metavar="S",
                        help="exit after S seconds without requests (default: run until stopped)")
    parser.add_argument("--workers", type=int, default=2, help="computations run at once (default: 2)")
    parser.add_argument("--device", default=None, help="torch device of the learned models, e.g. cuda:0 (default: auto)")
    parser.add_argument("--dtype", default=None, help="torch dtype of the learned models, e.g. float16 (default: the model's)")


def run(args: argparse.Namespace) -> int:
    """Serve until stopped (SIGTERM, SIGINT, ``shutdown`` or the idle timeout); returns the exit code."""
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.server import PerceptionService

    cache_root = (args.cache or cache_dir() / "perception").absolute()
    folder = ServiceFolder(args.socket.absolute()) if args.socket else default_folder(cache_root)
    if args.socket is None:
        ensure_private(folder.root.parent)
    options = {k: v for k, v in (("device", args.device), ("dtype", args.dtype)) if v}
    service = PerceptionService(folder, cache_root, workers=args.workers, idle_timeout_s=args.idle_timeout, options=options)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.shutdown())
    service.serve()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spatialclaw.perception_service", description=__doc__)
    add_options(parser)
    return run(parser.parse_args(argv))
