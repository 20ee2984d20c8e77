"""The model `spatialclaw ask` uses when no endpoint is configured and this machine has a GPU.

`DEFAULT_LOCAL_VLM` is the one place that names it: an open instruct VLM under a permissive
licence that one GPU holds, run in-process through transformers (`HFLocalClient`). It is
downloaded into the Hugging Face cache on first use (huggingface_hub's progress bars, after a
line saying so and how to choose another model); with ``HF_HUB_OFFLINE`` set only the cache is
used. Without CUDA or Apple MPS, or without torch, nothing happens here and the caller keeps its
one-line "configure an endpoint" message.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

from spatialclaw.errors import CHOOSE_ANOTHER_MODEL_TEXT, ConfigError

# Qwen2.5-VL-7B-Instruct: Apache-2.0 (its model card); 8.3 B parameters, ~16.6 GB of bf16 weights,
# so one 24 GB GPU holds it with room for the ~10k-token first request.
DEFAULT_LOCAL_VLM = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_LOCAL_VLM_GB = 16.6


def local_accelerator() -> str | None:
    """``"cuda"`` or ``"mps"`` when torch is installed and sees that device, else None
    (torch is imported only when it is installed)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else None


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for the cache only (read now, not at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def fetch(model_id: str, device: str, announce: Callable[[str], None]) -> str:
    """The local folder of ``model_id``: from the Hugging Face cache, else downloaded into it.

    Raises:
        ConfigError: ``HF_HUB_OFFLINE`` is set and the model is not cached, or the download failed.
    """
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from spatialclaw.config import hub_cache_dir

    cache = hub_cache_dir()
    try:
        folder = huggingface_hub.snapshot_download(model_id, cache_dir=cache, local_files_only=True)
        announce(f"no model endpoint configured: using the local default model {model_id} on {device} ({CHOOSE_ANOTHER_MODEL_TEXT})")
        return folder
    except LocalEntryNotFoundError:
        if hub_offline():
            raise ConfigError.default_model_offline(model_id, cache) from None
    announce(
        f"no model endpoint configured and a {device} device found: downloading the default local model {model_id} "
        f"(about {DEFAULT_LOCAL_VLM_GB:g} GB, once, into {cache}); {CHOOSE_ANOTHER_MODEL_TEXT}"
    )
    try:
        return huggingface_hub.snapshot_download(model_id, cache_dir=cache)
    except (OSError, ValueError) as err:  # network, disk, or the hub refusing
        detail = " ".join(str(err).split())[:160]
        raise ConfigError.default_model_download_failed(model_id, detail) from None


def default_local_client(announce: Callable[[str], None]) -> Any | None:
    """`HFLocalClient` of `DEFAULT_LOCAL_VLM` on this machine's GPU, or None when there is none."""
    device = local_accelerator()
    if device is None:
        return None
    folder = fetch(DEFAULT_LOCAL_VLM, device, announce)
    from spatialclaw.models.hf_local import HFLocalClient

    return HFLocalClient(folder, device=device, name=DEFAULT_LOCAL_VLM)
