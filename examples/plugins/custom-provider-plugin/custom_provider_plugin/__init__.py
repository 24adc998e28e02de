"""Custom provider byLLM plugin: serves the custom://echo and custom://random models."""
