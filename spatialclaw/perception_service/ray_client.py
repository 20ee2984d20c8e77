"""`RayServiceClient`: the host's side of the perception service deployed on Ray Serve
(`ray_deployment`), with the interface of `ServiceClient`, so `relay` and eval use it unchanged.

Requests go through a `DeploymentHandle` of the named application, from a process connected to
the Ray cluster: an eval `RayExecutor` worker already is; any other host connects to
``address`` (default ``$RAY_ADDRESS``, else the cluster running on this machine). No token
travels: being inside the cluster is the credential (see `ray_deployment`).
"""

from __future__ import annotations

import os
from typing import Any

from spatialclaw.perception_service.client import REQUEST_TIMEOUT_S, ServiceClient, ServiceTimeout, ServiceUnavailable

NOT_INSTALLED_TEXT = "Ray Serve is not installed here: pip install -e '.[ray-serve]'"
UNREACHABLE_TEXT = "the Ray Serve perception service {app!r} is not answering ({why})"
NO_APP_TEXT = "no Ray Serve application {app!r} runs on the Ray cluster: start it with `spatialclaw perception serve --ray --app {app}`"


class RayServiceClient(ServiceClient):
    """Requests to the Ray Serve application ``app_name``.

    Args:
        app_name: the application's name (``spatialclaw perception serve --ray --app NAME``).
        timeout_s: how long one request may take, seconds.
        address: the Ray cluster to connect to when this process is not connected yet (None:
            ``$RAY_ADDRESS``, else ``"auto"``, the cluster on this machine).
    """

    def __init__(self, app_name: str, timeout_s: float = REQUEST_TIMEOUT_S, address: str | None = None) -> None:
        self.app_name = app_name
        self.timeout_s = timeout_s
        self.address = address
        self._handle: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.app_name!r})"

    def request(self, method: str, args: dict[str, Any] | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """The service's reply (``{"ok": True, "result": ...}`` or ``{"ok": False, "kind", "error"}``).

        Raises:
            ServiceTimeout: no reply within ``timeout_s`` (the request is cancelled).
            ServiceUnavailable: no Ray cluster, no such application, or its replica died.
        """
        handle = self._deployment()
        from ray.exceptions import RayError
        from ray.serve.exceptions import RayServeException

        try:
            response = handle.handle.remote({"method": method, "args": args or {}})
        except (RayError, RayServeException) as err:
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(app=self.app_name, why=_one_line(err))) from None
        try:
            reply = response.result(timeout_s=timeout_s or self.timeout_s)
        except TimeoutError:
            response.cancel()
            raise ServiceTimeout(UNREACHABLE_TEXT.format(app=self.app_name, why="no reply in time")) from None
        except (RayError, RayServeException) as err:
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(app=self.app_name, why=_one_line(err))) from None
        if not isinstance(reply, dict):
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(app=self.app_name, why="the reply is not an object"))
        return reply

    def _deployment(self) -> Any:
        """The application's `DeploymentHandle` (this process joins the cluster first if it has not)."""
        if self._handle is not None:
            return self._handle
        try:
            import ray
            from ray import serve
            from ray.serve.exceptions import RayServeException
        except ImportError:
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(app=self.app_name, why=NOT_INSTALLED_TEXT)) from None
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or "auto"
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ServiceUnavailable(UNREACHABLE_TEXT.format(app=self.app_name, why=f"no Ray cluster at {address}: {_one_line(err)}")) from None
        try:
            self._handle = serve.get_app_handle(self.app_name)
        except RayServeException:
            raise ServiceUnavailable(NO_APP_TEXT.format(app=self.app_name)) from None
        return self._handle


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:300]
