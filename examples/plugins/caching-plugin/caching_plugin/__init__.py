"""Caching byLLM plugin: answers repeated calls from an in-memory cache."""
