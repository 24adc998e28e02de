"""Every hook byllm adds to the ``jac`` plugin manager, documented once.

Added when the manager is built (this class is the ``byllm`` entry of the
``jac.hookspecs`` entry-point group); byllm's default implementation of each
hook is :class:`byllm.plugin.ByllmMachine`. The plugin guide (docs/plugins.md)
is written from these docstrings.

The path of one ``by llm()`` call::

    call_llm (jaclang)            once per call: answer it, or wrap whoever does
      -> Model.invoke              prompt, typed output, retries, tools, streams
        -> llm_complete / llm_acomplete   once per completion (retry, tool turn, stream)
          -> llm_provider          once per model: who serves its name
      -> llm_call_finished         once per call, with the finished CallRecord
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable

from jaclang.runtimelib.machine import hookspec

if TYPE_CHECKING:
    from byllm.call import CallRecord
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest


class ByllmSpec:
    """Hook specifications of byllm."""

    @staticmethod
    @hookspec(firstresult=True)
    def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply:
        """Answer one completion of a synchronous call (firstresult).

        Fires for every completion: the first attempt, each retry after a reply
        that did not fit, each tool-loop turn, and streamed requests
        (``request.stream`` is true; answer those with a
        :class:`~byllm.providers.base.StreamingReply`). Return a
        :class:`~byllm.providers.base.CompletionReply` to answer (a cache, a mock),
        or ``None`` to pass; byllm's implementation runs last and asks the
        model's provider. Set ``cached=True`` on a reply that did not come from
        the provider.
        """

    @staticmethod
    @hookspec(firstresult=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Awaitable[CompletionReply]:
        """Answer one completion of an ``async def`` call: return an awaitable of the reply (firstresult).

        The async twin of :meth:`llm_complete`, with the same rules; a streamed
        reply must be readable with ``async for``. Return ``None`` to pass.
        """

    @staticmethod
    @hookspec(firstresult=True)
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """Return the provider serving ``model_name``, or ``None`` to let others answer (firstresult).

        Fires when a model's provider is first needed: on its first completion, or
        already when the ``Model`` is created for a name byllm does not recognise
        (so a misspelt name is reported at once). ``config`` holds the
        model's provider settings (``api_key``, ``base_url``, ``headers``, ...).
        A provider implements ``complete(request)`` and optionally ``acomplete``,
        ``stream`` and ``astream`` (see :mod:`byllm.providers.base`).
        """

    @staticmethod
    @hookspec
    def llm_call_finished(record: CallRecord) -> None:
        """Observe one finished ``by llm()`` call (every plugin; return value ignored).

        Fires exactly once per call that reached byllm, after its value or error
        is known: for a stream once the last chunk was read, for an async call in
        the event loop's thread (do not block there). ``record`` holds every
        completion attempt, tool turn, usage and cost totals, value or error.
        Usage counting, the call log and tracing are implemented on this hook.
        A plugin raising here is logged and does not change the call's outcome.
        """
