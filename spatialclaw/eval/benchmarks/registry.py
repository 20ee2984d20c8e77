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
from spatialclaw.eval.benchmarks.omnispatial import OmniSpatial
from spatialclaw.eval.benchmarks.osi_bench import OSIBench
from spatialclaw.eval.benchmarks.pai_bench import PAIBench
from spatialclaw.eval.benchmarks.perceptioncomp import PerceptionComp
from spatialclaw.eval.benchmarks.spar_bench import SPARBench
from spatialclaw.eval.benchmarks.video_mme import VideoMME
from spatialclaw.eval.benchmarks.viewspatial import ViewSpatial
from spatialclaw.eval.benchmarks.vsibench import VSIBench, VSIBenchDebiased
from spatialclaw.eval.benchmarks.vstibench import VSTIBench

_CLASSES: tuple[type[Benchmark], ...] = (
    ERQA, OmniSpatial, MindCube, MMSIBench, SPARBench, BLINK, ViewSpatial, OSIBench, PAIBench,
    VSIBench, VSIBenchDebiased, VSTIBench, DSIBench, CVBench, PerceptionComp, VideoMME,
)

NOT_SUPPORTED: dict[str, tuple[str, str]] = {
    "omni3d_bench": ("dmarsili/Omni3D-Bench", "layout and scoring (numeric / yes-no / multiple choice mix) not established from the card or official code"),
    "spbench": ("hongxingli/SPBench", "layout not established (VLMEvalKit's spbench.py reads a converted TSV, not the released files)"),
    "spatialtree_bench": ("LongfeiLi/SpatialTree-Bench", "per-question metric functions (extra_info.metricfunc) and judge-based open answers not implemented"),
    "mmsi_video_bench": ("rbler/MMSI-Video-Bench", "released layout (video_list / frames_list / ref_images) not established from the card"),
    "video_mme_v2": ("MME-Benchmarks/Video-MME-v2", "group-based non-linear scoring (relevance / logic scores) not implemented"),
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
        raise ConfigError(f"benchmark {name!r} ({hf_id}) is not supported yet: {missing}")
    raise ConfigError(f"unknown benchmark {name!r}: choose one of {', '.join(benchmark_names())} (spatialclaw benchmarks lists them)")


def all_benchmarks() -> list[Benchmark]:
    """One instance of every supported benchmark."""
    return [cls() for cls in _CLASSES]
