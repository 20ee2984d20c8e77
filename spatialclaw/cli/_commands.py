"""Imports every sub-command module so that each registers itself on the app."""

# Add one line per command module.
from spatialclaw.cli import exec_cmd  # noqa: F401  (exec, info)
from spatialclaw.cli import synth_cmd  # noqa: F401  (synth)
from spatialclaw.cli import eval_cmd  # noqa: F401  (eval)
