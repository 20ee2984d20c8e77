"""VLM clients: OpenAI-compatible endpoints and local transformers models."""
