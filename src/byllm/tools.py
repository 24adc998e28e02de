"""Tools and the agent loop behind ``by llm(tools=[...])``.

Each tool's JSON schema comes from its signature (Pydantic), its docstring or
``sem`` text and its parameters' ``sem`` texts. The loop sends the tools plus a
``finish_tool`` whose ``final_output`` argument has the function's return type,
runs the tool calls the model asks for (several from one reply at once), feeds
results, and a tool's exception, back as text, and stops at a valid
``finish_tool`` call or after ``max_iterations`` model turns.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping

import pydantic

from byllm.call import ToolTurn, TypedCall
from byllm.errors import ConfigurationError, MaxIterationsError
from byllm.meaning import describe_function, underlying_function
from byllm.output import ReplyMismatch
from byllm.prompt import format_value
from byllm.providers.base import CompletionReply, CompletionRequest, Message, ToolCall, ToolSpec
from byllm.schema import SemJsonSchema

if TYPE_CHECKING:
    from byllm.call import TypedCall
    from byllm.llm import Model

logger = logging.getLogger(__name__)

FINISH_TOOL = "finish_tool"
FINISH_ARGUMENT = "final_output"
DEFAULT_MAX_ITERATIONS = 10
MAX_PARALLEL_TOOLS = 16
TOOL_INSTRUCTIONS = (
    "You may call the tools provided to gather what you need. When you have the final output, "
    f"call `{FINISH_TOOL}` with it as `{FINISH_ARGUMENT}`."
)
# Where providers keep tool-call arguments that were not a JSON object (see openai_provider).
UNPARSED_ARGUMENTS = "__unparsed_arguments__"
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class MockToolCall:
    """A scripted tool call for the mock model: ``Model("mockllm", outputs=[MockToolCall(f, {...}), ...])``.

    ``tool`` is the tool function (or its name, e.g. ``"finish_tool"``); ``args``
    are the arguments the "model" passes.
    """

    tool: Callable[..., Any] | str
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The name the tool is called by."""
        return self.tool if isinstance(self.tool, str) else tool_name(self.tool)


def mock_tool_calls(output: Any) -> list[MockToolCall] | None:
    """The scripted calls in a mock output (one ``MockToolCall`` or a list of them), else ``None``."""
    if isinstance(output, MockToolCall):
        return [output]
    if isinstance(output, (list, tuple)) and output and all(isinstance(item, MockToolCall) for item in output):
        return list(output)
    return None


def tool_name(function: Callable[..., Any]) -> str:
    """The name a tool is offered under (its function name)."""
    return underlying_function(function).__name__


class Tool:
    """One callable offered to the model, with its schema and argument validator."""

    def __init__(self, function: Callable[..., Any]) -> None:
        if not callable(function):
            raise ConfigurationError(f"tools=[...] takes functions or methods, got {function!r}")
        self.function = function
        self.name = tool_name(function)
        if not _TOOL_NAME.match(self.name) or self.name == FINISH_TOOL:
            raise ConfigurationError(
                f"tool name {self.name!r} is not allowed: use letters, digits, '_' or '-' (max 64) and not {FINISH_TOOL!r}"
            )
        self.arguments_model, self.spec = _tool_schema(underlying_function(function))
        self.is_async = inspect.iscoroutinefunction(underlying_function(function)) or inspect.iscoroutinefunction(
            function
        )

    def bind(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments (raises ``pydantic.ValidationError``)."""
        validated = self.arguments_model.model_validate(dict(arguments))
        return {name: getattr(validated, name) for name in type(validated).model_fields}

    def keywords_or_error(self, arguments: Mapping[str, Any]) -> dict[str, Any] | str:
        """Validated keyword arguments, or the text telling the model what is wrong with them."""
        if UNPARSED_ARGUMENTS in arguments:
            return (f"Error: the arguments for {self.name} are not a JSON object: "
                    f"{str(arguments[UNPARSED_ARGUMENTS])[:200]!r}. Call it again with a JSON object.")
        try:
            return self.bind(arguments)
        except pydantic.ValidationError as error:
            return _invalid_arguments(self.name, error)

    def run(self, arguments: Mapping[str, Any]) -> str:
        """Call the tool; the result (or the failure) as text for the model."""
        keywords = self.keywords_or_error(arguments)
        if isinstance(keywords, str):
            return keywords
        try:
            result = self.function(**keywords)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
        except Exception as error:  # the model should see any tool failure and may recover
            logger.info("tool %s raised %s: %s", self.name, type(error).__name__, error)
            return f"Error: {self.name} raised {type(error).__name__}: {error}"
        return result_text(result)

    async def arun(self, arguments: Mapping[str, Any]) -> str:
        """Async form of :meth:`run`: coroutine tools are awaited, others run in a thread."""
        keywords = self.keywords_or_error(arguments)
        if isinstance(keywords, str):
            return keywords
        try:
            if self.is_async:
                result = await self.function(**keywords)
            else:
                result = await asyncio.to_thread(self.function, **keywords)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as error:  # the model should see any tool failure and may recover
            logger.info("tool %s raised %s: %s", self.name, type(error).__name__, error)
            return f"Error: {self.name} raised {type(error).__name__}: {error}"
        return result_text(result)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _invalid_arguments(name: str, error: pydantic.ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}" for item in error.errors()[:8]
    )
    return f"Error: invalid arguments for {name}: {problems}. Call it again with arguments that fit its schema."


def result_text(result: Any) -> str:
    """A tool's return value as the model sees it."""
    return result if isinstance(result, str) else format_value(result)


@lru_cache(maxsize=1024)
def _tool_schema(function: Callable[..., Any]) -> tuple[type[pydantic.BaseModel], ToolSpec]:
    """The argument model and :class:`ToolSpec` of a function (cached per function)."""
    meaning = describe_function(function)
    signature = inspect.signature(function)
    fields: dict[str, Any] = {}
    for parameter in meaning.parameters:
        declared = signature.parameters[parameter.name]
        if declared.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = Any if parameter.annotation is inspect.Parameter.empty else parameter.annotation
        default = ... if declared.default is inspect.Parameter.empty else declared.default
        fields[parameter.name] = (annotation, pydantic.Field(default, description=parameter.description))
    model = pydantic.create_model(f"{meaning.name}_arguments", **fields)
    parameters = model.model_json_schema(schema_generator=SemJsonSchema)
    parameters.pop("title", None)
    for property_schema in parameters.get("properties", {}).values():
        property_schema.pop("title", None)
    description = meaning.description or f"The function {meaning.name}."
    if meaning.return_description:
        description += f"\nReturns: {meaning.return_description}"
    return model, ToolSpec(name=meaning.name, description=description, parameters=parameters)


def finish_tool_spec(call: TypedCall) -> ToolSpec:
    """The ``finish_tool`` whose ``final_output`` argument has the function's return type."""
    output = call.output
    schema = dict(output.schema) if output.schema is not None else {"type": "string"}
    definitions = schema.pop("$defs", None)
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {FINISH_ARGUMENT: schema},
        "required": [FINISH_ARGUMENT],
    }
    if definitions:
        parameters["$defs"] = definitions
    description = (
        f"Finish {call.meaning.name}: call this once you have the final output, passing it as "
        f"`{FINISH_ARGUMENT}` (type {output.name})."
    )
    return ToolSpec(name=FINISH_TOOL, description=description, parameters=parameters)


def resolve_tools(tools: Any) -> dict[str, Tool]:
    """The ``tools=[...]`` parameter as tools by name (duplicate names are an error)."""
    if callable(tools):
        tools = [tools]
    if not isinstance(tools, (list, tuple)):
        raise ConfigurationError(f"tools must be a list of functions, got {type(tools).__name__}")
    resolved: dict[str, Tool] = {}
    for function in tools:
        tool = Tool(function)
        if tool.name in resolved:
            raise ConfigurationError(f"two tools are named {tool.name!r}: tool names must be unique")
        resolved[tool.name] = tool
    return resolved


def max_iterations(model: Model) -> int:
    """The model turns the loop may take (``max_iterations``, default 10)."""
    value = model.param("max_iterations")
    limit = DEFAULT_MAX_ITERATIONS if value is None else value
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ConfigurationError(f"max_iterations must be a positive integer, got {value!r}")
    return limit


class ToolLoop:
    """The state of one tool-using call: the typed call, its tools and the turns so far."""

    def __init__(self, model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> None:
        self.tools = resolve_tools(model.param("tools"))
        self.limit = max_iterations(model)
        self.model = model
        # The finish tool carries the output schema; forcing structured output
        # (response_format, Anthropic's forced tool) would stop the model calling tools.
        self.call = TypedCall(model, caller, args, with_tools=True)
        request = self.call.request
        request.tools = [tool.spec for tool in self.tools.values()] + [finish_tool_spec(self.call)]
        messages = [dict(message) for message in request.messages]
        if messages and messages[0].get("role") == "system":
            messages[0]["content"] = f"{messages[0]['content']}\n{TOOL_INSTRUCTIONS}"
        else:
            messages.insert(0, {"role": "system", "content": TOOL_INSTRUCTIONS})
        self._set_messages(messages)

    def _set_messages(self, messages: list[Message]) -> None:
        self.call.set_messages(messages)

    def take_reply(self, reply: CompletionReply) -> tuple[list[ToolCall], ToolCall | None]:
        """Add a tool-calling reply to the conversation; return the tool calls to run and the finish call, if any."""
        assistant: Message = {
            "role": "assistant",
            "content": reply.text or None,
            "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
                for call in reply.tool_calls
            ],
        }
        self._set_messages([*self.call.request.messages, assistant])
        finish = next((call for call in reply.tool_calls if call.name == FINISH_TOOL), None)
        return [call for call in reply.tool_calls if call.name != FINISH_TOOL], finish

    def unknown_tool_text(self, call: ToolCall) -> str:
        """What the model is told when it calls a tool that does not exist."""
        known = ", ".join([*self.tools, FINISH_TOOL])
        return f"Error: there is no tool named {call.name!r}; the tools are: {known}."

    def add_results(self, results: list[tuple[ToolCall, str]]) -> None:
        """Append tool results as ``tool`` messages, in the order the model asked."""
        self.call.record.tool_turns.extend(ToolTurn(call.name, dict(call.arguments), text) for call, text in results)
        messages = [
            {"role": "tool", "tool_call_id": call.id, "content": text} for call, text in results
        ]
        self._set_messages([*self.call.request.messages, *messages])

    def finish(self, call: ToolCall, reply: CompletionReply) -> tuple[bool, Any, str]:
        """Try to end with a ``finish_tool`` call: ``(done, value, feedback for the model)``."""
        if FINISH_ARGUMENT not in call.arguments:
            return False, None, f"Error: {FINISH_TOOL} needs the argument {FINISH_ARGUMENT!r}."
        final = call.arguments[FINISH_ARGUMENT]
        try:
            value = self.call.output.check(final)
        except ReplyMismatch as mismatch:
            return False, None, f"Error: {mismatch.feedback}. Call {FINISH_TOOL} again with a corrected output."
        return True, value, ""

    def give_up(self) -> MaxIterationsError:
        """The error for a loop that reached its limit."""
        return MaxIterationsError(
            f"{self.call.meaning.qualified_name}: the tool loop reached max_iterations={self.limit} without "
            f"a final output (no valid {FINISH_TOOL} call); raise max_iterations or check the tools' results"
        )


def run_tool_loop(model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> Any:
    """Answer one call of ``caller`` letting the model use ``model.param("tools")``."""
    loop = ToolLoop(model, caller, args)
    try:
        for _turn in range(loop.limit):
            reply = loop.call.complete()
            if not reply.tool_calls:
                done, value = loop.call.accept(reply)
                if done:
                    return loop.call.finish(value=value)
                continue
            calls, finish = loop.take_reply(reply)
            results = _run_calls(loop, calls)
            if finish is not None:
                done, value, feedback = loop.finish(finish, reply)
                if done:
                    loop.add_results(results)
                    return loop.call.finish(value=value)
                results.append((finish, feedback))
            loop.add_results(results)
        raise loop.give_up()
    except BaseException as error:
        loop.call.finish(error=error)
        raise


async def arun_tool_loop(model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> Any:
    """Async form of :func:`run_tool_loop` (tool calls of one reply run concurrently)."""
    loop = ToolLoop(model, caller, args)
    try:
        for _turn in range(loop.limit):
            reply = await loop.call.acomplete()
            if not reply.tool_calls:
                done, value = loop.call.accept(reply)
                if done:
                    return loop.call.finish(value=value)
                continue
            calls, finish = loop.take_reply(reply)
            texts = await asyncio.gather(*(_arun_one(loop, call) for call in calls))
            results = list(zip(calls, texts))
            if finish is not None:
                done, value, feedback = loop.finish(finish, reply)
                if done:
                    loop.add_results(results)
                    return loop.call.finish(value=value)
                results.append((finish, feedback))
            loop.add_results(results)
        raise loop.give_up()
    except BaseException as error:
        loop.call.finish(error=error)
        raise


def _run_one(loop: ToolLoop, call: ToolCall) -> str:
    tool = loop.tools.get(call.name)
    return tool.run(call.arguments) if tool is not None else loop.unknown_tool_text(call)


async def _arun_one(loop: ToolLoop, call: ToolCall) -> str:
    tool = loop.tools.get(call.name)
    return await tool.arun(call.arguments) if tool is not None else loop.unknown_tool_text(call)


def _run_calls(loop: ToolLoop, calls: list[ToolCall]) -> list[tuple[ToolCall, str]]:
    """Run the tool calls of one reply, concurrently when there are several."""
    if len(calls) <= 1:
        return [(call, _run_one(loop, call)) for call in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), MAX_PARALLEL_TOOLS)) as pool:
        texts = list(pool.map(lambda call: _run_one(loop, call), calls))
    return list(zip(calls, texts))
