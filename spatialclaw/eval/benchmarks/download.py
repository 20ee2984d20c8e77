"""Fetching a benchmark's dataset repository with ``huggingface_hub.snapshot_download``."""

from __future__ import annotations

from pathlib import Path

from spatialclaw.errors import ConfigError, InputError


def download(hf_id: str, data_root: Path, token: str | None = None) -> Path:
    """Download every file of the dataset repository ``hf_id`` into ``data_root`` (progress bars
    on stderr, resumable: files already there are kept).

    Raises:
        ConfigError: huggingface_hub is missing, the dataset is gated or private and the token does
            not give access (one line saying what to do), or the repository does not exist.
        InputError: the hub cannot be reached.
    """
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError:
        raise ConfigError.no_hub_client() from None
    try:
        path = snapshot_download(repo_id=hf_id, repo_type="dataset", local_dir=str(data_root), token=token)
    except GatedRepoError:
        raise ConfigError.gated_dataset(hf_id) from None
    except RepositoryNotFoundError:
        raise ConfigError.dataset_not_on_hub(hf_id) from None
    except OSError as err:
        raise InputError.download_failed(hf_id, err) from None
    return Path(path)
