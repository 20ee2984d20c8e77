"""Adapters for learned models from transformers, one file per model family."""
