"""My custom byLLM plugin (the spec's MybyllmMachine)."""
