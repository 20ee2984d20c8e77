"""Imports every sub-command module so that each registers itself on the app."""

# Add one line per command module.
from spatialclaw.cli import exec_cmd  # noqa: F401  (exec, info)
from spatialclaw.cli import synth_cmd  # noqa: F401  (synth)
from spatialclaw.cli import ask_cmd  # noqa: F401  (ask)
from spatialclaw.cli import view_cmd  # noqa: F401  (view)
from spatialclaw.cli import eval_cmd  # noqa: F401  (eval)
from spatialclaw.cli import benchmarks_cmd  # noqa: F401  (benchmarks, benchmarks show, benchmarks download)
from spatialclaw.cli import eval_report_cmd  # noqa: F401  (eval report)
