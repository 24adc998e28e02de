"""Logging byLLM plugin: prints each LLM call, its timing and result."""
