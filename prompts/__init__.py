"""Prompt templates, as files (installed as ``spatialclaw.prompts``)."""
