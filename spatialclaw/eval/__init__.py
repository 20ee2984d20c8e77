"""Benchmark evaluation: records, scoring, runner and executors."""
