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
