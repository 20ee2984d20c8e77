"""The ``--perception-service`` setting → the client a run uses (`service_for`), and the end of
a run's use of it (`finish_run`):

- ``"auto"`` (``ask`` and ``eval``'s default, unless ``$SPATIALCLAW_PERCEPTION_SERVICE`` says
  otherwise): the machine's shared service for this perception cache (`ManagedService`), started
  by the first request that needs it and stopping itself after `DEFAULT_IDLE_S` seconds without
  requests;
- ``"off"``: no service (the kernel computes everything itself, nothing is shared);
- ``"ray:APP"``: the Ray Serve application APP (``spatialclaw perception serve --ray``), for
  several GPUs or machines (`RayServiceClient`);
- a socket path: a service started elsewhere (``spatialclaw perception serve --socket PATH``);
  its token is read from the ``token`` file next to the socket.
"""

from __future__ import annotations

import os
from pathlib import Path

from spatialclaw.config import ENV_PERCEPTION_SERVICE
from spatialclaw.errors import ConfigError
from spatialclaw.perception_service.client import DEFAULT_IDLE_S, OFF, ManagedService, ServiceClient, ServiceUnavailable
from spatialclaw.perception_service.folder import ServiceFolder, default_folder

RAY_SCHEME = "ray:"


def service_for(setting: str | None, cache_root: Path, *, idle_timeout_s: float = DEFAULT_IDLE_S) -> ServiceClient | None:
    """The service a run uses: ``"auto"`` (start on demand), ``"off"``, ``"ray:APP"`` or a socket
    path; None means ``$SPATIALCLAW_PERCEPTION_SERVICE``, else ``"auto"``.

    Raises:
        ConfigError: ``"ray:"`` without an application name.
    """
    value = (setting or os.environ.get(ENV_PERCEPTION_SERVICE) or "auto").strip()
    if value.lower() in OFF:
        return None
    if value.lower() == "auto":
        return ManagedService(default_folder(cache_root), cache_root, idle_timeout_s=idle_timeout_s)
    if value.startswith(RAY_SCHEME):
        from spatialclaw.perception_service.ray_client import RayServiceClient

        app_name = value[len(RAY_SCHEME):].strip("/ ")
        if not app_name:
            raise ConfigError.no_app_name()
        return RayServiceClient(app_name)
    return ServiceClient(ServiceFolder(Path(value).expanduser().absolute()))


def finish_run(setting: str | None, cache_root: Path) -> dict[str, int]:
    """At the end of a run (eval): the service's model loads (checkpoint → times), and a service
    started on demand is stopped (a later request starts it again). {} without a service."""
    service = service_for(setting, cache_root)
    stats = service.stats() if service is not None else None
    if stats is None:
        return {}
    if isinstance(service, ManagedService):
        try:
            service.request("shutdown")
        except ServiceUnavailable:
            pass
    loads = stats.get("model_loads")
    return {str(k): int(v) for k, v in loads.items() if isinstance(v, int)} if isinstance(loads, dict) else {}
