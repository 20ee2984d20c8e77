"""The benchmarks of the published table: one module per benchmark (its files, rows → records,
scoring and aggregation), the shared record type (`base`), the released-file readers
(`storage`), the shared scoring rules (`rules`) and the registry (`registry`)."""

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.registry import NOT_SUPPORTED, all_benchmarks, benchmark_names, get_benchmark

__all__ = ["Benchmark", "Defaults", "MediaRef", "NOT_SUPPORTED", "Record", "all_benchmarks", "benchmark_names", "get_benchmark"]
