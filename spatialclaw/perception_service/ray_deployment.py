"""The perception service as a Ray Serve application, for several GPUs or machines.

Each replica owns one `PerceptionService` (one `ModelPool`, so each model loads once per
replica) and answers the same named methods with the same checks (`protocol.checked_request`);
results go into the shared perception cache and the reply names the key, as on the socket. With
GPUs in the cluster each replica takes one (``num_gpus=1``: Ray sets its ``CUDA_VISIBLE_DEVICES``),
and there are as many replicas as GPUs unless ``replicas`` says otherwise; without, one CPU
replica. The cache folder must be on storage that every node and every host reads at the same
path (as for eval's `RayExecutor`).

Who may ask: only a process inside the Ray cluster, through a `DeploymentHandle`
(`ray_client.RayServiceClient`); no service token travels. The application runs no HTTP proxy and
no route (``proxy_location="Disabled"``, ``route_prefix=None``), so nothing outside the cluster
reaches it, and joining the cluster is already the credential: whoever joins can run any code on
its nodes, so a second token would guard nothing. Guard the cluster itself: Ray's token
authentication (on by default for a local cluster of this Ray; ``RAY_AUTH_MODE=token`` and the
token in ``~/.ray/auth_token`` or ``$RAY_AUTH_TOKEN`` on every node) and its ports reachable only
from its machines. A sandboxed kernel has no network (`spatialclaw.kernel.sandbox`), so it
reaches the service only through its host's relay.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

DEFAULT_APP = "perception"
DEPLOYMENT_NAME = "PerceptionService"
SHUTDOWN_TEXT = "a Ray Serve perception service is stopped by its `spatialclaw perception serve --ray` (Ctrl-C), not by a request"


class PerceptionReplica:
    """One replica: a socketless `PerceptionService` writing the shared cache ``cache_root``.

    Args:
        cache_root: the shared perception cache (``$SPATIALCLAW_CACHE/perception``), a path every node sees.
        workers: computations this replica runs at once.
        options: backend settings (``device``, ``dtype``); they do not enter cache keys.
    """

    def __init__(self, cache_root: str, workers: int = 2, options: dict[str, Any] | None = None) -> None:
        from spatialclaw.perception_service.server import PerceptionService

        Path(cache_root).mkdir(parents=True, exist_ok=True)
        self.service = PerceptionService(None, Path(cache_root), workers=workers, options=options)

    async def handle(self, message: Any) -> dict[str, Any]:
        """The reply to one request ``{"method", "args"}`` (never raises); computed on a thread,
        so the replica keeps taking requests meanwhile."""
        if isinstance(message, dict) and message.get("method") == "shutdown":
            return {"ok": False, "kind": "refused", "error": SHUTDOWN_TEXT}
        return await asyncio.to_thread(self.service.answer, message)


def cluster_gpus() -> int:
    """Whole GPUs in the Ray cluster this process is connected to."""
    import ray

    return int(ray.cluster_resources().get("GPU", 0))


def deployment_options(gpus: int, replicas: int | None = None, workers: int = 2) -> dict[str, Any]:
    """``serve.deployment`` options for a cluster with ``gpus`` whole GPUs: ``replicas`` replicas
    (default one per GPU, else 1), each on one GPU where there are any, else on one CPU."""
    resources = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
    return {"name": DEPLOYMENT_NAME, "num_replicas": replicas or max(1, gpus), "ray_actor_options": resources,
            "max_ongoing_requests": max(8, 4 * workers)}


def application(cache_root: Path, *, replicas: int | None = None, workers: int = 2,
                options: dict[str, Any] | None = None) -> Any:
    """The Ray Serve application (``serve.run`` it), laid out by `deployment_options` for the
    cluster this process is connected to."""
    from ray import serve

    deployment = serve.deployment(PerceptionReplica, **deployment_options(cluster_gpus(), replicas, workers))
    return deployment.bind(str(Path(cache_root).absolute()), workers, dict(options or {}))


def start(cache_root: Path, *, app_name: str = DEFAULT_APP, replicas: int | None = None, workers: int = 2,
          options: dict[str, Any] | None = None) -> Any:
    """Deploy the application on the Ray cluster this process is connected to; returns its
    `DeploymentHandle` once every replica runs (a model loads at its first request)."""
    from ray import serve

    serve.start(proxy_location="Disabled")
    app = application(cache_root, replicas=replicas, workers=workers, options=options)
    return serve.run(app, name=app_name, route_prefix=None)


def serve_on_ray(cache_root: Path, *, app_name: str = DEFAULT_APP, address: str | None = None, replicas: int | None = None,
                 workers: int = 2, options: dict[str, Any] | None = None) -> int:
    """``spatialclaw perception serve --ray``: connect to the cluster at ``address`` (else
    ``$RAY_ADDRESS``, else start a local Ray), deploy, and serve until SIGTERM or SIGINT; then
    delete the application from a cluster it joined, or stop the Ray it started. Returns 0."""
    from spatialclaw.errors import ConfigError

    try:
        import ray
        from ray import serve
    except ImportError:
        raise ConfigError.no_ray_serve() from None
    connected_here = not ray.is_initialized()
    address = address or os.environ.get("RAY_ADDRESS")
    own_ray = connected_here and not address  # a local Ray this process starts, and stops
    if connected_here:
        try:
            ray.init(address=address, log_to_driver=False, **({} if address else {"include_dashboard": False}))
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError.ray_unreachable(address, err) from None
    stop = threading.Event()
    try:
        start(cache_root, app_name=app_name, replicas=replicas, workers=workers, options=options)
        for signum in (signal.SIGTERM, signal.SIGINT):  # ray.init's own handler exits at once
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(1.0):
            pass
    finally:
        if not own_ray:  # a cluster it joined keeps running: take the application off it
            serve.delete(app_name)
        if connected_here:  # its own Ray goes with Serve in it (Ctrl-C may have stopped Ray's processes already)
            ray.shutdown()
    return 0

