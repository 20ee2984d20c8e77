"""The kernel's environment: built from an allowlist, never copied from the host's.

The kernel gets the host variables it needs by name (locale, thread counts, which GPUs) and
the ones SpatialClaw sets for it (its home, temporary and config folders, the caches, figures
inline, Hugging Face offline). Nothing else passes: not ``PYTHONPATH`` (it could point the
kernel at the host's current folder), not ``SPATIALCLAW_*`` settings, and never a name that
looks like a credential, even one on the allowlist (`looks_secret` is checked last).

    env = kernel_environment(os.environ, home=workdir, tmp="/tmp", cache=cache, config=mpl_dir)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

# Host variables the kernel may keep, by exact name or (ending in "_") by prefix.
PASSED_NAMES = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
    "CUDA_HOME", "CUDA_PATH", "LD_LIBRARY_PATH",
})
PASSED_PREFIXES = ("LC_",)

# A name that says "credential": key, token, secret, password, PAT, auth, cookie, session id.
_SECRET_NAME = re.compile(
    r"(KEY|TOKEN|SECRET|PASSW|PASSPHRASE|PWD|CREDENTIAL|COOKIE|SESSID|SIGNATURE|PRIVATE"
    r"|(^|_)AUTH|(^|_)PAT($|_)|(^|_)PASS($|_)|(^|_)DSN($|_))",
    re.IGNORECASE,
)

FIGURES_INLINE = "module://matplotlib_inline.backend_inline"


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name looks like it holds a credential.

    >>> [looks_secret(n) for n in ("OPENAI_API_KEY", "GH_PAT", "SPATIALCLAW_VLM_KEY", "LANG")]
    [True, True, True, False]
    """
    return bool(_SECRET_NAME.search(name))


def passed_from_host(host_env: Mapping[str, str]) -> dict[str, str]:
    """The host variables on the allowlist whose names do not look like credentials."""
    kept = {
        name: value
        for name, value in host_env.items()
        if name in PASSED_NAMES or name.startswith(PASSED_PREFIXES)
    }
    return {name: value for name, value in kept.items() if not looks_secret(name) and "\0" not in value}


def kernel_environment(
    host_env: Mapping[str, str] | None = None,
    *,
    home: Path,
    tmp: Path,
    cache: Path,
    config: Path,
    hub_cache: Path | None = None,
) -> dict[str, str]:
    """The kernel's whole environment.

    Args:
        host_env: the host's environment (``os.environ`` if None); only allowlisted names pass.
        home: the kernel's ``$HOME`` (its working directory).
        tmp: its ``$TMPDIR``.
        cache: its view of the SpatialClaw cache (``$SPATIALCLAW_CACHE``).
        config: a per-session folder for matplotlib's and other libraries' configuration
            (``$MPLCONFIGDIR``, ``$XDG_CONFIG_HOME``, ``$XDG_CACHE_HOME``): never shared between sessions.
        hub_cache: the Hugging Face hub cache the kernel reads (``$HF_HUB_CACHE``), if any.
    """
    env = passed_from_host(os.environ if host_env is None else host_env)
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        SPATIALCLAW_CACHE=str(cache),
        MPLCONFIGDIR=str(Path(config) / "matplotlib"),
        XDG_CONFIG_HOME=str(config),
        XDG_CACHE_HOME=str(Path(config) / "cache"),
        MPLBACKEND=FIGURES_INLINE,
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    if hub_cache is not None:
        env["HF_HUB_CACHE"] = str(hub_cache)
    return {name: value for name, value in env.items() if not looks_secret(name)}

