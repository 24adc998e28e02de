"""Example byLLM provider plugin: ``Model("acme/<model>")`` talks to the ACME gateway."""
