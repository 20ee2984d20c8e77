"""Benchmark evaluation: records, scoring, runner and executors.

``records`` reads VSI-Bench question files, ``scoring`` scores answers exactly as VSI-Bench does,
``runner`` drives an evaluation (``spatialclaw eval``) over ``executors`` (local processes or Ray)
and ``report`` writes the summary. Only the light modules are imported here.
"""

from spatialclaw.eval.scoring import mean_relative_accuracy, score_prediction, summarise

__all__ = ["mean_relative_accuracy", "score_prediction", "summarise"]
