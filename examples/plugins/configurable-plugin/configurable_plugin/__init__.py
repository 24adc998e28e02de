"""Configurable byLLM plugin: registered as an instance carrying its configuration."""
