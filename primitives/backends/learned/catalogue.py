"""The checkpoints the learned backend knows, which are on this machine, and fetching them.

`catalogue` lists every known checkpoint by task with where it is on disk (if it is) and whether
the backend would use it now; `pull` downloads checkpoints into the Hugging Face cache with
``huggingface_hub.snapshot_download`` (progress bars on stderr, resumable). Only the
``spatialclaw models pull`` command downloads: the backends never do.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from spatialclaw.config import hub_cache_dir
from spatialclaw.errors import ConfigError, InputError

from .base import KNOWN_MODELS, TASK_WORDS, Task, find_default_model, find_weights

GATED: dict[str, str] = {
    "facebook/sam3": "Meta's SAM licence",
}
"""Checkpoints whose Hub page asks you to accept terms before downloading."""


@dataclass(frozen=True)
class Checkpoint:
    """One known checkpoint: ``task`` it serves, Hub ``model`` id, ``path`` on disk (None if absent),
    ``default``: the backend would use it for the task now (the first on disk, in preference order)."""

    task: str
    model: str
    path: str | None
    default: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def catalogue(cache_dir: Path | None = None) -> list[Checkpoint]:
    """Every known checkpoint, by task in preference order, with where it is on disk."""
    from .da3 import package_available

    rows = []
    for task, models in KNOWN_MODELS.items():
        usable = task != "reconstruct" or package_available()  # DA3's weights load only with its package
        chosen = find_default_model(task, cache_dir=cache_dir) if usable else None
        for model in models:
            folder = find_weights(model, cache_dir=cache_dir)
            rows.append(Checkpoint(task, model, str(folder) if folder else None, model == chosen))
    return rows


def default_models() -> list[str]:
    """The first choice of every task (what ``models pull --default`` fetches), each once;
    Depth Anything 3's only where its package is installed (without it the weights cannot load)."""
    from .da3 import package_available

    tasks = [task for task in KNOWN_MODELS if task != "reconstruct" or package_available()]
    return list(dict.fromkeys(KNOWN_MODELS[task][0] for task in tasks))


def task_words(task: str) -> str:
    """What a task does, in words (``"text_segment"`` → ``"text-prompted segmentation"``)."""
    return TASK_WORDS.get(task, task)  # type: ignore[call-overload]


def pull(model: str, *, token: str | None = None, cache_dir: Path | None = None) -> Path:
    """Download checkpoint ``model`` (a Hub id) into the Hugging Face cache; the snapshot folder.

    Raises:
        ConfigError: offline mode is on, the checkpoint is gated and the token gives no access
            (one line saying what to do), or it does not exist.
        InputError: the Hub cannot be reached.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise ConfigError.hub_offline(model)
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError:
        raise ConfigError.no_hub_client() from None
    cache = cache_dir if cache_dir is not None else hub_cache_dir()
    try:
        path = snapshot_download(repo_id=model, cache_dir=str(cache), token=token)
    except GatedRepoError:
        terms = GATED.get(model, "its terms")
        raise ConfigError.gated_model(model, terms) from None
    except RepositoryNotFoundError:
        raise ConfigError.model_not_on_hub(model) from None
    except OSError as err:
        raise InputError.download_failed(model, err) from None
    return Path(path)


__all__ = ["Checkpoint", "GATED", "Task", "catalogue", "default_models", "pull", "task_words"]
