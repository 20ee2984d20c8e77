"""The service's folder is this user's and private, or the service does not use it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from spatialclaw.errors import ConfigError
from spatialclaw.perception_service.folder import ServiceFolder, default_folder, ensure_private, read_token, write_token


def test_a_fresh_folder_is_made_private_and_its_token_is_the_owners_only(tmp_path: Path) -> None:
    folder = ServiceFolder(tmp_path / "a" / "service.sock")
    ensure_private(folder.root)
    token = write_token(folder)
    assert oct(folder.root.stat().st_mode & 0o777) == "0o700" and oct(folder.token.stat().st_mode & 0o777) == "0o600"
    assert read_token(folder) == token and len(token) == 64 and write_token(folder) != token


def test_an_open_folder_or_a_symlink_is_refused(tmp_path: Path) -> None:
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    os.chmod(open_folder, 0o755)
    with pytest.raises(ConfigError, match="not a private folder"):
        ensure_private(open_folder)
    private = tmp_path / "private"
    ensure_private(private)
    (tmp_path / "link").symlink_to(private)
    with pytest.raises(ConfigError, match="not a private folder"):
        ensure_private(tmp_path / "link")


def test_the_default_folder_is_one_per_user_and_cache(tmp_path: Path) -> None:
    one, other = default_folder(tmp_path / "a"), default_folder(tmp_path / "b")
    assert one.root != other.root and one.root.parent == other.root.parent
    assert one.root.parent.name == f"spatialclaw-{os.getuid()}" and len(str(one.socket)) - len(tempfile.gettempdir()) < 60
    assert default_folder(tmp_path / "a") == one
