"""The benchmark registry: every benchmark module's class, by name, and the ones not supported yet.

``NOT_SUPPORTED`` lists the published table's benchmarks this package cannot load yet, with what
is missing (shown by ``spatialclaw benchmarks``).
"""

from __future__ import annotations

from spatialclaw.errors import ConfigError
from spatialclaw.eval.benchmarks.base import Benchmark
from spatialclaw.eval.benchmarks.blink import BLINK
from spatialclaw.eval.benchmarks.cvbench import CVBench
from spatialclaw.eval.benchmarks.dsi_bench import DSIBench
from spatialclaw.eval.benchmarks.erqa import ERQA
from spatialclaw.eval.benchmarks.mindcube import MindCube
from spatialclaw.eval.benchmarks.mmsi_bench import MMSIBench
from spatialclaw.eval.benchmarks.mmsi_video import MMSIVideoBench
from spatialclaw.eval.benchmarks.omni3d_bench import Omni3DBench
from spatialclaw.eval.benchmarks.omnispatial import OmniSpatial
from spatialclaw.eval.benchmarks.osi_bench import OSIBench
from spatialclaw.eval.benchmarks.pai_bench import PAIBench
from spatialclaw.eval.benchmarks.perceptioncomp import PerceptionComp
from spatialclaw.eval.benchmarks.spar_bench import SPARBench
from spatialclaw.eval.benchmarks.spbench import SPBench, SPBenchMV
from spatialclaw.eval.benchmarks.video_mme import VideoMME
from spatialclaw.eval.benchmarks.video_mme_v2 import VideoMMEv2
from spatialclaw.eval.benchmarks.viewspatial import ViewSpatial
from spatialclaw.eval.benchmarks.vsibench import VSIBench, VSIBenchDebiased
from spatialclaw.eval.benchmarks.vstibench import VSTIBench

_CLASSES: tuple[type[Benchmark], ...] = (
    ERQA, Omni3DBench, OmniSpatial, SPBench, SPBenchMV, MindCube, MMSIBench, SPARBench, BLINK, ViewSpatial,
    MMSIVideoBench, OSIBench, PAIBench, VSIBench, VSIBenchDebiased, VSTIBench, DSIBench,
    CVBench, PerceptionComp, VideoMME, VideoMMEv2,
)

NOT_SUPPORTED: dict[str, tuple[str, str]] = {
    "spatialtree_bench": ("LongfeiLi/SpatialTree-Bench", "per-question metric functions (extra_info.metricfunc: gravity, cognitive maps, "
                          "navigation, affordance masks, GPT judge) and the hierarchy-weighted aggregation are not implemented"),
}


def benchmark_names() -> list[str]:
    """Names of the supported benchmarks, in the published table's order."""
    return [cls.name for cls in _CLASSES]


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``.

    Raises:
        ConfigError: no such benchmark (the message lists the names, and says what is missing
            for the ones not supported yet).
    """
    for cls in _CLASSES:
        if cls.name == name:
            return cls()
    if name in NOT_SUPPORTED:
        hf_id, missing = NOT_SUPPORTED[name]
        raise ConfigError.benchmark_not_supported(name, hf_id, missing)
    raise ConfigError.unknown_benchmark(name, benchmark_names())


def all_benchmarks() -> list[Benchmark]:
    """One instance of every supported benchmark."""
    return [cls() for cls in _CLASSES]
