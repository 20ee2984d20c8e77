"""Errors the user or the environment caused, each with a one-line message saying what to do.

What the *model* caused (a syntax error in its cell, an exception, a timeout) is never raised
as one of these: it goes back to the model as the step's observation. These are for the
person running SpatialClaw; the CLI prints ``error: <message>`` and exits non-zero, with a
traceback only under ``--debug``.

Message text lives here, in one place, as the classes' constructors.
"""

from __future__ import annotations


class SpatialClawError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""

    exit_code: int = 2


class InputError(SpatialClawError):
    """The input (video, images, RGB-D folder, question file) is missing or unreadable."""


class ConfigError(SpatialClawError):
    """A flag or environment setting is missing or inconsistent."""


class ModelError(SpatialClawError):
    """The VLM endpoint is unreachable, refused the request, or the model is unknown."""


class KernelError(SpatialClawError):
    """The IPython kernel could not be started or keeps dying."""

    exit_code = 3


class PerceptionError(SpatialClawError):
    """A perception backend cannot run (missing weights, too few frames registered, ...)."""


# Optional modules and the extra that installs each (pyproject.toml's optional-dependencies).
EXTRA_OF_MODULE = {"torch": "learned", "transformers": "learned", "tokenizers": "learned",
                   "ray": "ray"}


def missing_extra(err: ImportError, what: str) -> ConfigError | None:
    """The one-line message for ``what`` failing on a missing optional module, or None when the
    module is not one an extra installs (then the error is a bug, not the user's setup)."""
    module = (getattr(err, "name", None) or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return ConfigError(f"{what} needs {module}, which is not installed: pip install 'spatialclaw[{extra}]'")
