"""``mtllm.llms``: the model classes of mtllm's 2024 releases, for programs written against them.

``OpenAI()``, ``Anthropic()``, ``Gemini()``, ``Groq()``, ``Ollama()`` and ``TogetherAI()`` are byllm
models of those providers (``model_name=`` and mtllm's defaults; ``temperature``, ``max_tokens`` and
the other :class:`~byllm.llm.Model` options). ``BaseLLM`` is a model answered by its own
``__infer__(meaning_in, **kwargs)``: subclass it and return the reply text. ``FakeLLM`` answers from
``responses`` (prompt text -> reply) or its ``default``. Replies may use mtllm's ``[Output] value``
form; mtllm's ``method=`` call option (``"Reason"``, ...) is accepted and byllm's one prompt is sent.
"""

from __future__ import annotations

import json
from typing import Any

from byllm.errors import MockExhaustedError
from byllm.llm import Model
from byllm.providers.base import CompletionReply, CompletionRequest, Message

OUTPUT_MARK = "[Output]"

__all__ = ["Anthropic", "BaseLLM", "FakeLLM", "Gemini", "Groq", "Ollama", "OpenAI", "TogetherAI"]


class _MtllmCallOptions:
    """mtllm's ``by llm(method=...)`` is accepted; byllm sends its one prompt whatever the method."""

    def __call__(self, *, method: str | None = None, **options: Any) -> Model:
        """This model configured for one call; ``method`` is accepted and not used."""
        return super().__call__(**options)  # type: ignore[misc]


class BaseLLM(_MtllmCallOptions, Model):
    """A model answered by its own ``__infer__(meaning_in, **kwargs)``, which returns the reply text."""

    def __init__(self, verbose: bool = False, max_tries: int = 10, type_check: bool = False, **options: Any) -> None:
        """mtllm's signature: ``verbose`` prints the messages; ``max_tries`` and ``type_check`` are accepted."""
        options.setdefault("model_name", type(self).__name__)
        super().__init__(provider=InferProvider(self), verbose=verbose or None, **options)

    def __infer__(self, meaning_in: str, **kwargs: Any) -> str:
        """The reply to the prompt text ``meaning_in`` (``kwargs``: the call's sampling parameters)."""
        raise NotImplementedError(f"{type(self).__name__} must define __infer__(meaning_in, **kwargs)")

    def __getstate__(self) -> dict[str, Any]:
        """The model's configuration and the subclass's own attributes (``default``, ``responses``, ...)."""
        own = {name: value for name, value in vars(self).items() if name not in _MODEL_ATTRIBUTES}
        return {**super().__getstate__(), "own_attributes": own}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the model, then its own attributes."""
        state = dict(state)
        own = state.pop("own_attributes", {})
        super().__setstate__(state)
        vars(self).update(own)


# What Model itself keeps on an instance (its __getstate__ carries the configuration among them).
_MODEL_ATTRIBUTES = frozenset({"model_name", "settings", "defaults", "call_params", "_shared", "_resolved"})


class FakeLLM(BaseLLM):
    """mtllm's scripted model: the reply for the exact prompt text in ``responses``, else ``default``."""

    def __init__(self, verbose: bool = False, max_tries: int = 10, type_check: bool = False, *,
                 default: str | None = None, responses: dict[str, str] | None = None,
                 responses_file: str | None = None, print_prompt: bool = False, **options: Any) -> None:
        """``responses_file``: a JSON file of prompt text -> reply; ``print_prompt`` prints each prompt."""
        super().__init__(verbose, max_tries, type_check, **options)
        if responses is None and responses_file:
            with open(responses_file, encoding="utf-8") as handle:
                responses = json.load(handle)
        self.responses: dict[str, str] = dict(responses or {})
        self.default = default
        self.print_prompt = print_prompt

    def __infer__(self, meaning_in: str, **kwargs: Any) -> str:
        """The scripted reply for ``meaning_in``."""
        if self.print_prompt:
            print(meaning_in)
        if meaning_in in self.responses:
            return self.responses[meaning_in]
        if self.default is not None:
            return self.default
        raise MockExhaustedError("FakeLLM has no response for this prompt and no default: pass default=... or "
                                 f"responses={{prompt: reply}}. The prompt was:\n{meaning_in}")


class InferProvider:
    """Answers a :class:`BaseLLM`'s completions with its ``__infer__``."""

    name = "mtllm"

    def __init__(self, model: BaseLLM) -> None:
        self.model = model

    def __repr__(self) -> str:
        return f"InferProvider({type(self.model).__name__}.__infer__)"

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """The text ``__infer__`` returns for the request's prompt, from its ``[Output]`` mark on if it has one."""
        text = self.model.__infer__(prompt_text(request.messages), **request.params)
        return CompletionReply(output_part(str(text)), model=self.model.model_name)


def prompt_text(messages: list[Message]) -> str:
    """The conversation as one text, each message's text parts in order (mtllm passed one prompt string)."""
    texts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        if content:
            texts.append(str(content))
    return "\n\n".join(texts)


def output_part(text: str) -> str:
    """What follows the last ``[Output]`` mark (mtllm's ``[Reasoning] ... [Output] value``), else the text."""
    head, mark, value = text.rpartition(OUTPUT_MARK)
    return value.strip() if mark else text


class _Hosted(_MtllmCallOptions, Model):
    """A provider's model under mtllm's class name: ``OpenAI(model_name="gpt-4o", temperature=0.2)``."""

    prefix = ""
    default_model = ""

    def __init__(self, verbose: bool = False, max_tries: int = 10, type_check: bool = False, **options: Any) -> None:
        """mtllm's signature; the other options are :class:`~byllm.llm.Model`'s."""
        model_name = str(options.pop("model_name", self.default_model))
        super().__init__(self.prefix + model_name, verbose=verbose or None, **options)


class OpenAI(_Hosted):
    """OpenAI (``OPENAI_API_KEY``); mtllm's default model ``gpt-4o-mini``."""

    prefix, default_model = "openai/", "gpt-4o-mini"


class Anthropic(_Hosted):
    """Anthropic (``ANTHROPIC_API_KEY``); mtllm's default model ``claude-3-sonnet-20240229``."""

    prefix, default_model = "anthropic/", "claude-3-sonnet-20240229"


class Gemini(_Hosted):
    """Google Gemini's OpenAI-compatible API (``GEMINI_API_KEY``); default ``gemini-1.5-flash``."""

    prefix, default_model = "gemini/", "gemini-1.5-flash"


class Groq(_Hosted):
    """Groq (``GROQ_API_KEY``); mtllm's default model ``mixtral-8x7b-32768``."""

    prefix, default_model = "groq/", "mixtral-8x7b-32768"


class Ollama(_Hosted):
    """A local Ollama server (``host=`` or the default port); mtllm's default model ``phi3``."""

    prefix, default_model = "ollama/", "phi3"


class TogetherAI(_Hosted):
    """Together AI (``TOGETHER_API_KEY``); default ``mistralai/Mistral-7B-Instruct-v0.3``."""

    prefix, default_model = "together/", "mistralai/Mistral-7B-Instruct-v0.3"
