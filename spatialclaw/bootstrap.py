"""Kept so that notebooks written by SpatialClaw 0.1 still replay.

Their first cell runs ``__import__('spatialclaw.bootstrap').bootstrap.run(manifest)``; the code now
lives in :mod:`spatialclaw.kernel.bootstrap`.
"""

from spatialclaw.kernel.bootstrap import report, run

__all__ = ["report", "run"]
