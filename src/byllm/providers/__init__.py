"""Model providers: the mock, OpenAI-compatible servers, Anthropic, LiteLLM."""
