"""Options that several commands share: their choices, help text and one check."""

from __future__ import annotations

from collections.abc import Sequence

from spatialclaw.errors import ConfigError

SANDBOX_CHOICES = ("auto", "bwrap", "none")

PERCEPTION_HELP = (
    "Perception backends: auto, gt, learned or classical; or per family, e.g. reconstruction=gt,segmentation=classical."
)
SANDBOX_HELP = "Isolation of the kernel: auto (bubblewrap where it works, else limits only), bwrap, or none."


def check_choice(flag: str, value: str, choices: Sequence[str]) -> None:
    """Raise a one-line `ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"unknown {flag} {value!r}: use one of {', '.join(choices)}")


def check_perception(value: str) -> None:
    """Raise a one-line error unless ``value`` is a perception setting the primitives accept."""
    from spatialclaw.errors import PerceptionError
    from spatialclaw.primitives.backends import parse_perception

    try:
        parse_perception(value)
    except PerceptionError as err:
        raise ConfigError(f"--perception: {err}") from None
