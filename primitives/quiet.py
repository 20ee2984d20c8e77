"""Keep native libraries' console output (COLMAP's glog, ffmpeg, OpenCV) out of the cell.

ipykernel forwards whatever is written to file descriptors 1 and 2 into the cell's output, so
C++ libraries that print straight to stderr reach the model. `native_output_silenced` points
both descriptors at ``/dev/null`` while a backend runs; Python's own ``print`` and ``warnings``
go through ``sys.stdout`` / ``sys.stderr`` objects and are not affected.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def native_output_silenced() -> Iterator[None]:
    """Within the block, bytes written to fds 1 and 2 by native code are dropped."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    saved = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:
                continue
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
