"""Options that several commands share: their choices, help text and one check."""

from __future__ import annotations

from collections.abc import Sequence

from spatialclaw.config import DEFAULTS
from spatialclaw.errors import ConfigError

SANDBOX_CHOICES = ("auto", "bwrap", "none")

PERCEPTION_HELP = (
    "Perception backends: auto, gt, learned or classical; or per family, e.g. reconstruction=gt,segmentation=classical."
    f" [default: {DEFAULTS.perception}]"
)
SANDBOX_HELP = f"Isolation of the kernel: auto (bubblewrap where it works, else limits only), bwrap, or none. [default: {DEFAULTS.sandbox}]"
# Run settings shared by ask and eval; their defaults are `spatialclaw.config.DEFAULTS`.
FRAMES_HELP = f"Frames sampled uniformly from the input. [default: {DEFAULTS.frames}]"
SHOW_FRAMES_HELP = f"Key frames shown to the model in its first message. [default: {DEFAULTS.show_frames}]"
MAX_STEPS_HELP = f"Cells the model may run before it must answer. [default: {DEFAULTS.max_steps}]"
TIMEOUT_HELP = f"Seconds one cell may run before it is interrupted. [default: {DEFAULTS.cell_timeout:g}]"
MODEL_HELP = "Served model name, or hf:PATH_OR_ID for a local model. [env: SPATIALCLAW_MODEL]"
BASE_URL_HELP = "OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1. [env: OPENAI_BASE_URL]"
PERCEPTION_SERVICE_HELP = (
    "Where perception is computed and shared: auto (this machine's perception service, started on demand), "
    "off (in the kernel, never shared), the socket of `spatialclaw perception serve`, or ray:APP "
    "(the Ray Serve application of `spatialclaw perception serve --ray`, for several GPUs or machines)."
)
API_KEY_HELP = "API key for the server. [env: OPENAI_API_KEY]"


def check_choice(flag: str, value: str | None, choices: Sequence[str]) -> None:
    """Raise a one-line `ConfigError` unless ``value`` is None (not given) or one of ``choices``."""
    if value is not None and value not in choices:
        raise ConfigError.unknown_choice(flag, value, tuple(choices))


def check_perception(value: str | None) -> None:
    """Raise a one-line error unless ``value`` is None (not given) or a perception setting the primitives accept."""
    if value is None:
        return
    from spatialclaw.errors import PerceptionError
    from spatialclaw.primitives.backends import parse_perception

    try:
        parse_perception(value)
    except PerceptionError as err:
        raise ConfigError.bad_perception_flag(err) from None
