"""Perception backends: ground truth, classical (no weights) and learned (transformers)."""
