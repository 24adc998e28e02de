"""byLLM plugins written as Pluggy wrappers, so several of them act on the same call."""
