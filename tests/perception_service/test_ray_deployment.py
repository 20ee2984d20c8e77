"""The perception service on Ray Serve: a request through a DeploymentHandle lands in the shared
cache exactly as the in-process service computes it, a replica loads its model once, bad
requests are refused, and a run's ``ray:APP`` setting reaches it through the unchanged relay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("ray.serve", reason="Ray Serve is not installed (pip install -e '.[ray-serve]')")

from spatialclaw.perception_service.address import service_for  # noqa: E402
from spatialclaw.perception_service.ray_client import RayServiceClient  # noqa: E402
from spatialclaw.perception_service.relay import relay  # noqa: E402
from spatialclaw.perception_service.server import PerceptionService  # noqa: E402

pytestmark = pytest.mark.slow
SAM3 = "facebook/sam3"
APP = "perception-test"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A Hugging Face cache with a tiny SAM 3, a small video, its frames file and a shared cache."""
    from spatialclaw.inputs.frame_cache import save_frames
    from spatialclaw.inputs.load import load_input
    from spatialclaw.synth import make_test_scene
    from spatialclaw.testing import tiny_models

    root = tmp_path_factory.mktemp("ray-world")
    tiny_models.write_hf_cache(root / "hub", {SAM3: tiny_models.sam3})
    make_test_scene(root, frames=6, width=128, height=96)
    video = root / "synth" / "synth_0.mp4"
    save_frames(root / "frames.npz", load_input(video, frames=6).frames)
    return {"hub": root / "hub", "video": video, "frames": root / "frames.npz", "cache": root / "shared" / "perception"}


@pytest.fixture(scope="module")
def app(world: dict[str, Path]) -> Iterator[RayServiceClient]:
    """A local Ray (2 CPUs) running the application with one CPU replica; shut down after the module."""
    import ray
    from ray import serve

    from spatialclaw.perception_service import ray_deployment

    env = {"HF_HUB_CACHE": str(world["hub"]), "HF_HUB_OFFLINE": "1"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        ray_deployment.start(world["cache"], app_name=APP, replicas=1, workers=2)
        yield RayServiceClient(APP, timeout_s=300)
    finally:
        serve.shutdown()
        ray.shutdown()


def segment_args(world: dict[str, Path], positions: list[int], **changes: object) -> dict:
    return {"backend": "learned", "positions": positions, "query": "chair", "frames_file": str(world["frames"]),
            "source_kind": "video", "source_path": str(world["video"]), "source_files": [], **changes}


def test_a_request_lands_in_the_shared_cache_as_the_in_process_service_computes_it(
        app: RayServiceClient, world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [app.request("segment", segment_args(world, p)) for p in ([0, 1, 2], [3, 4])]
    assert all(r["ok"] for r in replies), replies
    stats = app.call("stats")
    assert stats["model_loads"] == {SAM3: 1} and stats["computed"] == 2  # two requests, one load on the replica

    monkeypatch.setenv("HF_HUB_CACHE", str(world["hub"]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local = PerceptionService(None, tmp_path / "perception")
    expected = local.answer({"method": "segment", "args": segment_args(world, [0, 1, 2])})
    key = replies[0]["result"]["key"]
    assert expected["ok"] and expected["result"]["key"] == key
    served, computed = (np.load(root / "segmentation" / f"{key}.npz") for root in (world["cache"], tmp_path / "perception"))
    assert sorted(served.files) == sorted(computed.files)
    for name in served.files:  # masks exactly; boxes and scores up to float rounding (Ray gives a replica
        # OMP_NUM_THREADS=1, so torch sums in another order than this process's threads)
        if np.issubdtype(served[name].dtype, np.floating):
            assert np.allclose(served[name], computed[name], rtol=1e-4, atol=1e-4), name
        else:
            assert np.array_equal(served[name], computed[name]), name
    assert served.files and any(served[name].size for name in served.files)


def test_bad_requests_are_refused_and_the_replica_goes_on(app: RayServiceClient, world: dict[str, Path]) -> None:
    before = app.call("stats")["refused"]
    bad = [
        ("run_code", {}),
        ("segment", segment_args(world, ["0"])),
        ("segment", segment_args(world, [0], query=7)),
        ("segment", segment_args(world, [99])),  # past the frames file's 6 frames
        ("segment", segment_args(world, [0], frames_file="relative/frames.npz")),
        ("segment", {**segment_args(world, [0]), "family": "segmentation"}),
        ("shutdown", {}),
    ]
    for method, args in bad:
        reply = app.request(method, args)
        assert reply["ok"] is False and reply["kind"] == "refused", (method, reply)
    stats = app.call("stats")
    assert stats["refused"] - before == len(bad) - 1  # shutdown is refused before the service sees it
    assert isinstance(app.call("ping")["pid"], int)


def test_a_runs_ray_setting_reaches_the_application_through_the_relay(app: RayServiceClient, world: dict[str, Path]) -> None:
    client = service_for(f"ray:{APP}", world["cache"])
    assert isinstance(client, RayServiceClient) and client.app_name == APP
    inputs = {"frames_file": str(world["frames"]), "source_kind": "video", "source_path": str(world["video"]), "source_files": []}
    payload = {"family": "segmentation", "backend": "learned", "positions": [1, 2], "query": "chair"}
    reply = relay(client, payload, 6, inputs)
    assert (world["cache"] / "segmentation" / f"{reply['key']}.npz").is_file()
    missing = relay(RayServiceClient("no-such-app"), payload, 6, inputs)
    assert "no Ray Serve application 'no-such-app'" in missing["unavailable"]


def test_a_ray_worker_in_the_cluster_reaches_it_as_an_eval_worker_does(app: RayServiceClient, world: dict[str, Path]) -> None:
    import ray

    @ray.remote(num_cpus=1)
    def worker_relay(setting: str, cache: str, payload: dict, inputs: dict) -> dict:
        from spatialclaw.perception_service.address import service_for
        from spatialclaw.perception_service.relay import relay

        return relay(service_for(setting, Path(cache)), payload, 6, inputs)

    inputs = {"frames_file": str(world["frames"]), "source_kind": "video", "source_path": str(world["video"]), "source_files": []}
    payload = {"family": "segmentation", "backend": "learned", "positions": [4, 5], "query": "chair"}
    reply = ray.get(worker_relay.remote(f"ray:{APP}", str(world["cache"]), payload, inputs), timeout=240)
    assert (world["cache"] / "segmentation" / f"{reply['key']}.npz").is_file()
    assert app.call("stats")["model_loads"] == {SAM3: 1}  # the replica's one load served the worker too


def test_one_replica_per_gpu_unless_told_and_one_cpu_replica_without_gpus() -> None:
    from spatialclaw.perception_service.ray_deployment import deployment_options

    four = deployment_options(4)
    assert four["num_replicas"] == 4 and four["ray_actor_options"]["num_gpus"] == 1
    assert deployment_options(4, replicas=2)["num_replicas"] == 2
    none = deployment_options(0)
    assert none["num_replicas"] == 1 and "num_gpus" not in none["ray_actor_options"]
    assert deployment_options(0, replicas=3)["num_replicas"] == 3
