"""Errors the user or the environment caused, each with a one-line message saying what to do.

What the *model* caused (a syntax error in its cell, an exception, a timeout) is never raised
as one of these: it goes back to the model as the step's observation. These are for the
person running SpatialClaw; the CLI prints ``error: <message>`` and exits non-zero, with a
traceback only under ``--debug``.

Message text lives here, in one place: the classes' constructors (``ModelError.bad_key(...)``,
as nbclient's ``exceptions.py`` builds its messages) and `LIBRARY_ERRORS`, the table that turns
what a library raises past our code (a full disk, a missing package) into one line, as
huggingface_hub's CLI does.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL


class SpatialClawError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""

    exit_code: int = 2

    def with_note(self, note: str) -> SpatialClawError:
        """The same kind of error with ``note`` appended to its message."""
        return type(self)(f"{self}{note}")


class InputError(SpatialClawError):
    """The input (video, images, RGB-D folder, question file) is missing or unreadable."""


class ConfigError(SpatialClawError):
    """A flag or environment setting is missing or inconsistent."""

    @classmethod
    def no_api_key(cls, url: str) -> ConfigError:
        return cls(
            f"no API key for {url}: pass --api-key or set {ENV_API_KEY} "
            f"(or point --base-url / {ENV_BASE_URL} at a local server)"
        )

    @classmethod
    def unknown_choice(cls, flag: str, value: object, choices: tuple[str, ...] | list[str]) -> ConfigError:
        return cls(f"unknown {flag} {value!r}: use one of {', '.join(choices)}")

    @classmethod
    def output_in_use(cls, out: object) -> ConfigError:
        return cls(f"another spatialclaw eval is writing to {out}; wait for it or choose another --out")

    @classmethod
    def output_has_results(cls, out: object) -> ConfigError:
        return cls(f"{out} already holds results; pass --resume to continue that run, or choose another --out")

    @classmethod
    def resume_changed(cls, out: object, was: str) -> ConfigError:
        return cls(f"--resume with other settings: the run in {out} used {was}; pass the same flags or choose another --out")

    @classmethod
    def too_few_workers(cls, workers: int) -> ConfigError:
        return cls(f"--workers must be at least 1, got {workers}")

    @classmethod
    def ray_unreachable(cls, address: str | None, detail: object) -> ConfigError:
        return cls(f"cannot start or reach Ray at {address or 'a local instance'} ({detail}); check --ray-address")

    @classmethod
    def no_model(cls, served: list[str]) -> ConfigError:
        listed = f" (the server lists: {', '.join(served[:8])})" if served else ""
        return cls(f"no model given: pass --model or set {ENV_MODEL}{listed}")


class ModelError(SpatialClawError):
    """The VLM endpoint is unreachable, refused the request, or the model is unknown.

    ``where`` in the constructors names the endpoint, e.g. ``"the VLM server at http://host/v1"``.
    """

    @classmethod
    def bad_key(cls, where: str) -> ModelError:
        return cls(f"{where} refused the API key (HTTP 401): check --api-key / {ENV_API_KEY}")

    @classmethod
    def forbidden(cls, where: str, model: str) -> ModelError:
        return cls(f"{where} denied access to model '{model}' (HTTP 403): check that --api-key / {ENV_API_KEY} may use it")

    @classmethod
    def unknown_model(cls, where: str, model: str) -> ModelError:
        return cls(
            f"{where} has no model '{model}' or no chat-completions route (HTTP 404): check --model / "
            f"{ENV_MODEL} (the exact served name) and --base-url / {ENV_BASE_URL} (it usually ends in /v1)"
        )

    @classmethod
    def timed_out(cls, where: str, timeout_s: float, attempts: int) -> ModelError:
        return cls(
            f"{where} did not answer within {timeout_s:g} s ({attempts} attempts): check that it is up "
            "and not overloaded, or raise the request timeout"
        )

    @classmethod
    def check_timed_out(cls, where: str, timeout_s: float) -> ModelError:
        return cls(f"{where} did not answer within {timeout_s:g} s: check that it is up and --base-url / {ENV_BASE_URL}")

    @classmethod
    def not_running(cls, where: str, cause: str) -> ModelError:
        return cls(f"cannot reach {where} ({cause}): start it, or fix --base-url / {ENV_BASE_URL}")

    @classmethod
    def unreachable(cls, where: str, attempts: int) -> ModelError:
        return cls(f"cannot reach {where} ({attempts} attempts): check that it is running and --base-url / {ENV_BASE_URL}")

    @classmethod
    def http_status(cls, where: str, status: int, server_message: str, *, retried: bool, attempts: int) -> ModelError:
        hint = f"gave up after {attempts} attempts" if retried else "check --model and the request size"
        return cls(f"{where} answered HTTP {status} ({server_message}): {hint}")

    @classmethod
    def failed(cls, where: str, detail: str) -> ModelError:
        return cls(f"{where} failed: {' '.join(detail.split())}")

    @classmethod
    def local_model(cls, path_or_id: str, is_folder: bool, detail: str) -> ModelError:
        where = "folder" if is_folder else "model id"
        return cls(
            f"cannot load the local model {where} '{path_or_id}' ({' '.join(detail.split())[:160]}): pass --model "
            "hf:PATH to a transformers image-text-to-text checkpoint (config, weights, processor with a chat template)"
        )

    @classmethod
    def closed(cls, model: str) -> ModelError:
        return cls(f"the local model {model} was closed (its weights released): make a new client to ask it again")


class KernelError(SpatialClawError):
    """The IPython kernel could not be started or keeps dying."""

    exit_code = 3


class PerceptionError(SpatialClawError):
    """A perception backend cannot run (missing weights, too few frames registered, ...)."""


# Optional modules and the extra that installs each (pyproject.toml's optional-dependencies).
EXTRA_OF_MODULE = {"torch": "learned", "transformers": "learned", "tokenizers": "learned", "ray": "ray"}


def missing_extra(err: ImportError, what: str) -> ConfigError | None:
    """The one-line message for ``what`` failing on a missing optional module, or None when the
    module is not one an extra installs (then the error is a bug, not the user's setup)."""
    module = (getattr(err, "name", None) or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return ConfigError(f"{what} needs {module}, which is not installed: pip install 'spatialclaw[{extra}]'")


# ----------------------------------------------------------------------------- evaluation

EVAL_NEEDS_ONE_SOURCE_TEXT = "give either a questions file or --benchmark NAME, not both and not neither"
RAY_MISSING_TEXT = "--executor ray needs Ray: pip install 'spatialclaw[ray]'"
RAY_ADDRESS_WITHOUT_RAY_TEXT = "--ray-address needs --executor ray"
EVAL_ALL_FAILED_TEXT = " (the first {count} questions all failed; fix this and rerun with --resume)"
WORKER_DIED_TEXT = "the worker process died while running this question"


# ----------------------------------------------------------------------------- library errors


def _os_error(err: OSError) -> str:
    where = f" {err.filename}" if err.filename else ""
    if err.errno == errno.ENOSPC:
        return f"no space left on the device{where}: free some space, or point --out / SPATIALCLAW_CACHE elsewhere"
    if isinstance(err, PermissionError):
        return f"permission denied{where.rstrip()}: check the folder's permissions, or choose another --out / SPATIALCLAW_CACHE"
    if isinstance(err, FileNotFoundError):
        return f"not found:{where}: check the path"
    return f"{err.strerror or err}{where}: check the disk and the path"


def _missing_module(err: ImportError) -> str | None:
    known = missing_extra(err, "this command")
    return None if known is None else str(known)


def _memory(err: MemoryError) -> str:
    return "out of memory: use fewer frames (--frames), a smaller model, or a machine with more memory"


# Most specific first: the first row whose type matches gives the line.
LIBRARY_ERRORS: tuple[tuple[type[BaseException], Callable[[Any], str | None]], ...] = (
    (ImportError, _missing_module),
    (MemoryError, _memory),
    (OSError, _os_error),
)


def library_error_message(err: BaseException) -> str | None:
    """The one-line message for an exception a library raised past our code, or None when it is
    not one of `LIBRARY_ERRORS` (a bug: the traceback is the right report; so is a missing module
    that no extra installs).

    >>> library_error_message(PermissionError(13, "Permission denied", "/runs"))
    "permission denied /runs: check the folder's permissions, or choose another --out / SPATIALCLAW_CACHE"
    >>> library_error_message(ValueError("a bug")) is None
    True
    """
    for kind, message in LIBRARY_ERRORS:
        if isinstance(err, kind):
            return message(err)
    return None
