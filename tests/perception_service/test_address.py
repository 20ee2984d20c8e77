"""The ``--perception-service`` setting → the client a run uses (no service is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialclaw.errors import ConfigError
from spatialclaw.perception_service.address import service_for
from spatialclaw.perception_service.client import ManagedService, ServiceClient
from spatialclaw.perception_service.ray_client import RayServiceClient


def test_each_setting_gives_its_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPATIALCLAW_PERCEPTION_SERVICE", raising=False)
    cache = tmp_path / "perception"
    assert service_for("off", cache) is None
    assert type(service_for(None, cache)) is ManagedService
    socket_client = service_for(str(tmp_path / "svc" / "service.sock"), cache)
    assert type(socket_client) is ServiceClient and socket_client.folder.socket == tmp_path / "svc" / "service.sock"
    for setting in ("ray:perception", "ray://perception"):
        ray_client = service_for(setting, cache)
        assert isinstance(ray_client, RayServiceClient) and ray_client.app_name == "perception"
    monkeypatch.setenv("SPATIALCLAW_PERCEPTION_SERVICE", "ray:from-env")
    assert service_for(None, cache).app_name == "from-env"


def test_ray_without_an_application_name_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ray:APP needs the Ray Serve application's name"):
        service_for("ray:", tmp_path)
