"""Test helpers that ship with the package, so tests and benchmarks of every part can reuse them."""
