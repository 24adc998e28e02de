"""Provider batch jobs: many ``by llm()`` calls sent as one job at the provider's batch price.

``byllm.batch.submit(classify, reviews)`` builds each call's request exactly as
a live call would (same prompt, schema, parameters), writes them in the
provider's batch format (the OpenAI Batch API: one JSONL line per call),
uploads the file, creates the batch and returns a :class:`BatchJob`::

    job = byllm.batch.submit(classify, reviews)
    job.status()            # BatchStatus(state='in_progress', total=..., completed=..., failed=...)
    values = job.results()  # waits; typed values in item order, failed items as typed errors
    again = job.retry_failed()  # resubmits only the failed items; its results() is the whole list

Each item becomes a finished :class:`~byllm.call.CallRecord` (the call log,
usage and tracing see it through ``llm_call_finished``), with its cost at the
batch price (half the list price). With the cache on, items already cached are
answered from it and not submitted, and every answer is stored in it.

Jobs are remembered in ``$XDG_DATA_HOME/byllm/batches`` (no keys stored), so
``jac batch list | status ID | results ID`` (:mod:`byllm.batch_jobs.cli`) works
from another process.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from byllm.batch_jobs import DEFAULT_POLL_INTERVAL
from byllm.errors import ConfigurationError, MalformedReplyError, OutputConversionError, ProviderError

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.meaning import FunctionMeaning
    from byllm.providers.base import CompletionReply, CompletionRequest

logger = logging.getLogger(__name__)

BATCH_PRICE_FACTOR = 0.5  # OpenAI's Batch API costs half the list price
ENDPOINT = "/v1/chat/completions"
TERMINAL_STATES = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class BatchStatus:
    """Where a job stands: the provider's state and its request counts."""

    state: str
    total: int
    completed: int
    failed: int

    @property
    def done(self) -> bool:
        """Whether the provider has finished with the job (successfully or not)."""
        return self.state in TERMINAL_STATES


@dataclass
class StoredItem:
    """One call of a job as remembered on disk: its position, request and batch line."""

    index: int
    request: dict[str, Any]
    line: dict[str, Any] | None  # None: answered from the cache, not submitted


@dataclass
class JobRecord:
    """What is remembered about a job (no credentials): enough to check on it from another process."""

    id: str
    batch_id: str | None
    model_name: str
    base_url: str | None
    function: str | None  # "module:qualified name" when importable
    size: int
    created_at: float
    parent: str | None = None
    indexes: list[int] = field(default_factory=list)  # positions in the first job's items


# -- the store of jobs -----------------------------------------------------------------
def jobs_folder() -> Path:
    """Where jobs are remembered (``$XDG_DATA_HOME/byllm/batches``)."""
    from byllm.settings import user_data_dir

    return user_data_dir() / "batches"


def _save(record: JobRecord, items: list[StoredItem]) -> None:
    folder = jobs_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{record.id}.requests.jsonl").open("w") as handle:
        for item in items:
            handle.write(json.dumps(asdict(item)) + "\n")
    (folder / f"{record.id}.json").write_text(json.dumps(asdict(record), indent=1))


def load_record(job_id: str) -> JobRecord:
    """The remembered job ``job_id``."""
    path = jobs_folder() / f"{job_id}.json"
    if not path.is_file():
        raise ConfigurationError(f"no batch job {job_id!r} in {jobs_folder()}; `jac batch list` shows the known jobs")
    return JobRecord(**json.loads(path.read_text()))


def _load_items(job_id: str) -> list[StoredItem]:
    with (jobs_folder() / f"{job_id}.requests.jsonl").open() as handle:
        return [StoredItem(**json.loads(line)) for line in handle if line.strip()]


def list_records() -> list[JobRecord]:
    """Every remembered job, newest first."""
    folder = jobs_folder()
    if not folder.is_dir():
        return []
    records = [JobRecord(**json.loads(path.read_text())) for path in folder.glob("*.json")]
    return sorted(records, key=lambda record: record.created_at, reverse=True)


# -- requests ------------------------------------------------------------------------
def _request_data(request: CompletionRequest) -> dict[str, Any]:
    return {"model": request.model, "messages": request.messages, "output_schema": request.output_schema,
            "output_name": request.output_name, "params": request.params}


def _request_from(data: dict[str, Any]) -> CompletionRequest:
    from byllm.providers.base import CompletionRequest

    return CompletionRequest(**data)


def _batch_provider(model: Model) -> Any:
    """The model's provider, when it speaks the OpenAI chat protocol the Batch API takes (any transport)."""
    from byllm.providers.openai_provider import OpenAICompatibleProvider

    provider = model.provider
    if not isinstance(provider, OpenAICompatibleProvider):
        raise ConfigurationError(
            f"batch jobs need an OpenAI-compatible provider (OpenAI's Batch API); {model.model_name!r} is served "
            f"by {getattr(provider, 'name', type(provider).__name__)!r}. Use byllm.map for it instead"
        )
    return provider


def _client(model: Model) -> Any:
    """The Batch API of the model's server, with its key."""
    from byllm.batch_jobs.openai_api import BatchAPI

    connection = _batch_provider(model).connection()
    return BatchAPI(connection.base_url, connection.api_key, timeout=connection.timeout, headers=connection.headers)


def _cache_active() -> bool:
    from jaclang.runtimelib import machine

    return machine.plugin_manager.get_plugin("byllm-cache") is not None


# -- submitting ----------------------------------------------------------------------
def submit(fn: Callable[..., Any], items: Iterable[Any], *more_items: Iterable[Any],
           completion_window: str = "24h", poll_interval: float = DEFAULT_POLL_INTERVAL) -> BatchJob:
    """Send ``fn`` over ``items`` (zipped with ``more_items``) as one provider batch job."""
    from byllm.call import TypedCall
    from byllm.meaning import describe_function
    from byllm.scale.shipping import capture_call, importable_reference

    calls = list(zip(items, *more_items)) if more_items else [(item,) for item in items]
    model: Model | None = None
    caller: Callable[..., Any] | None = None
    requests: list[CompletionRequest] = []
    for arguments in calls:
        call_model, call_caller, call_args = capture_call(fn, *arguments)
        if model is None:
            model, caller = call_model, call_caller
            _batch_provider(model)
        elif call_model.model_name != model.model_name or call_model.settings != model.settings:
            raise ConfigurationError("every item of a batch job must use the same model and provider settings")
        requests.append(TypedCall(call_model, call_caller, call_args).request)
    if model is None or caller is None:
        raise ConfigurationError("a batch job needs at least one item")
    meaning = describe_function(caller)
    reference = importable_reference(fn)
    record = JobRecord(id="", batch_id=None, model_name=model.model_name, base_url=_batch_provider(model).base_url,
                       function=":".join(reference) if reference else None, size=len(calls), created_at=time.time(),
                       indexes=list(range(len(calls))))
    job = BatchJob(record, model, meaning, requests, poll_interval=poll_interval)
    job.send(completion_window)
    return job


class BatchJob:
    """A submitted batch job: :meth:`status`, :meth:`wait`, :meth:`results`, :meth:`retry_failed`."""

    def __init__(self, record: JobRecord, model: Model, meaning: FunctionMeaning, requests: list[CompletionRequest],
                 *, poll_interval: float = DEFAULT_POLL_INTERVAL, parent: BatchJob | None = None) -> None:
        """A job over ``requests`` (one per position of ``record.indexes``); :func:`submit` builds it."""
        from byllm.output import output_type

        self.record = record
        self.model = model
        self.meaning = meaning
        self.output = output_type(meaning.return_type)
        self.requests = requests
        self.poll_interval = poll_interval
        self.parent = parent
        self.answered: dict[int, Any] = {}  # position -> value or error, once known
        self.replies: dict[int, CompletionReply] = {}
        self._announced = False
        self._last_status: BatchStatus | None = None

    @property
    def id(self) -> str:
        """The job's id (the provider's batch id, or ``cached-...`` when every item came from the cache)."""
        return self.record.id

    def __repr__(self) -> str:
        return f"BatchJob({self.id!r}, {self.meaning.qualified_name}, {self.record.size} items)"

    # -- sending -------------------------------------------------------------------------
    def send(self, completion_window: str = "24h") -> None:
        """Upload the requests not answered from the cache and create the batch."""
        provider = _batch_provider(self.model)
        stored: list[StoredItem] = []
        lines: list[str] = []
        for position, request in enumerate(self.requests):
            cached = self._from_cache(request)
            if cached is not None:
                self.replies[position] = cached
                stored.append(StoredItem(position, _request_data(request), None))
                continue
            line = {"custom_id": str(position), "method": "POST", "url": ENDPOINT,
                    "body": provider.wire_body(request, stream=False)}
            stored.append(StoredItem(position, _request_data(request), line))
            lines.append(json.dumps(line))
        if lines:
            client = _client(self.model)
            uploaded = client.upload(("\n".join(lines) + "\n").encode())
            batch = client.create(uploaded, ENDPOINT, completion_window,
                                  metadata={"byllm_function": self.meaning.qualified_name[:500]})
            self.record.batch_id = batch["id"]
            self.record.id = batch["id"]
        else:
            import uuid

            self.record.id = f"cached-{uuid.uuid4().hex[:12]}"
        _save(self.record, stored)

    def _from_cache(self, request: CompletionRequest) -> CompletionReply | None:
        if not _cache_active():
            return None
        from byllm.plugins.cache import lookup

        return lookup(self.model, request)

    # -- checking --------------------------------------------------------------------------
    def status(self) -> BatchStatus:
        """Ask the provider where the job stands."""
        if self.record.batch_id is None:
            return BatchStatus("completed", len(self.requests), len(self.requests), 0)
        batch = _client(self.model).retrieve(self.record.batch_id)
        counts = batch.get("request_counts") or {}
        self._batch = batch
        self._last_status = BatchStatus(batch["status"], counts.get("total") or 0, counts.get("completed") or 0,
                                        counts.get("failed") or 0)
        return self._last_status

    def wait(self, timeout: float | None = None) -> BatchStatus:
        """Poll every ``poll_interval`` seconds until the provider has finished (or ``timeout`` passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status.done:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"batch job {self.id} still {status.state} after {timeout} s")
            time.sleep(self.poll_interval)

    # -- results ---------------------------------------------------------------------------
    def results(self, timeout: float | None = None) -> list[Any]:
        """Typed values in item order (waiting for the job), each failed item's place holding its error.

        For a job from :meth:`retry_failed`, the whole original list: the first
        job's values with the retried items' outcomes in their places.
        """
        if not self._announced:
            status = self.wait(timeout)
            self._collect(status)
            self._announced = True
        mine = {self.record.indexes[position]: outcome for position, outcome in self.answered.items()}
        if self.parent is None:
            return [mine[index] for index in range(self.record.size)]
        merged = self.parent.results()
        for index, outcome in mine.items():
            merged[index] = outcome
        return merged

    def failed_indexes(self) -> list[int]:
        """Positions (in the first job's items) whose outcome is an error."""
        return [index for index, outcome in enumerate(self.results()) if isinstance(outcome, BaseException)]

    def retry_failed(self, completion_window: str = "24h") -> BatchJob:
        """Submit the failed items again, alone; the new job's :meth:`results` is the whole list."""
        root = self
        while root.parent is not None:
            root = root.parent
        failed = self.failed_indexes()
        if not failed:
            return self
        requests = [root.requests[index] for index in failed]
        record = JobRecord(id="", batch_id=None, model_name=self.record.model_name, base_url=self.record.base_url,
                           function=self.record.function, size=root.record.size, created_at=time.time(),
                           parent=self.id, indexes=failed)
        retry = BatchJob(record, self.model, self.meaning, requests, poll_interval=self.poll_interval, parent=self)
        retry.send(completion_window)
        return retry

    def _collect(self, status: BatchStatus) -> None:
        """Read the output and error files, type every item, and announce each as a finished call."""
        lines: dict[int, dict[str, Any]] = {}
        batch = getattr(self, "_batch", None)
        if batch is not None:
            client = _client(self.model)
            for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
                if file_id:
                    for text in client.content(file_id).splitlines():
                        if text.strip():
                            entry = json.loads(text)
                            lines[int(entry["custom_id"])] = entry
        for position, request in enumerate(self.requests):
            if position in self.replies:  # answered from the cache
                outcome = self._typed(self.replies[position])
            elif position in lines:
                outcome = self._outcome(position, request, lines[position])
            else:
                outcome = ProviderError(f"batch job {self.id} ended {status.state!r} without an answer for item "
                                        f"{self.record.indexes[position]}; retry_failed() submits it again",
                                        provider="openai-batch")
            self.answered[position] = outcome
            self._announce(request, self.replies.get(position), outcome)

    def _outcome(self, position: int, request: CompletionRequest, entry: dict[str, Any]) -> Any:
        """One output or error line as a typed value or a typed error."""
        response = entry.get("response") or {}
        status = response.get("status_code")
        body = response.get("body")
        if status != 200 or entry.get("error"):
            detail = entry.get("error") or (body or {}).get("error") or body
            message = detail.get("message") if isinstance(detail, dict) else detail
            return ProviderError(f"batch item failed (HTTP {status}): {message}", provider="openai-batch",
                                 status=status if isinstance(status, int) else None)
        try:
            reply = _batch_provider(self.model).reply_from_wire(body, request)
        except Exception as error:  # noqa: BLE001  (a reply the provider cannot read is this item's failure)
            return MalformedReplyError(f"batch item reply is not a completion: {type(error).__name__}: {error}",
                                       provider="openai-batch")
        self.replies[position] = reply
        self._store_in_cache(request, reply)
        return self._typed(reply)

    def _typed(self, reply: CompletionReply) -> Any:
        from byllm.output import ReplyMismatch

        try:
            return self.output.check(reply.value) if reply.has_value else self.output.parse(reply.text)
        except ReplyMismatch as mismatch:
            return OutputConversionError(
                f"{self.meaning.qualified_name}: the batch reply does not fit the return type {self.output.name}. "
                f"{mismatch.feedback}. Raw reply: {reply.text[:500]!r}",
                raw_output=reply.value if reply.has_value else reply.text, expected_type=self.output.annotation,
                attempts=[reply.text])

    def _store_in_cache(self, request: CompletionRequest, reply: CompletionReply) -> None:
        if _cache_active():
            from byllm.plugins.cache import store

            store(self.model, request, reply)

    def _announce(self, request: CompletionRequest, reply: CompletionReply | None, outcome: Any) -> None:
        """One finished call record per item, priced at the batch price, through ``llm_call_finished``."""
        from byllm.call import Attempt, CallRecord, announce_finished

        failed = isinstance(outcome, BaseException)
        attempt = Attempt(messages=request.messages, reply=reply.text if reply else None,
                          usage=reply.usage if reply else None, cached=bool(reply and reply.cached),
                          error=outcome if failed and reply is None else None)
        record = CallRecord(function=self.meaning.qualified_name, meaning=self.meaning,
                            model_name=self.model.model_name, params=dict(request.params), attempts=[attempt],
                            value=None if failed else outcome, error=outcome if failed else None, finished=True,
                            model=self.model)
        record.totals()
        if record.cost is not None:
            record.cost *= BATCH_PRICE_FACTOR
        self.model.remember(record)
        announce_finished(record)


# -- jobs from another process (jac batch) ---------------------------------------------------
def open_job(job_id: str, poll_interval: float = DEFAULT_POLL_INTERVAL) -> BatchJob:
    """A remembered job, rebuilt for checking and reading (the key comes from this process's environment)."""
    from byllm.llm import Model
    from byllm.meaning import describe_function

    import os

    record = load_record(job_id)
    # The key is this process's: OPENAI_API_KEY goes to OpenAI or to OPENAI_BASE_URL only (see docs/providers.md).
    same_server = not record.base_url or record.base_url == os.environ.get("OPENAI_BASE_URL")
    model = Model(record.model_name) if same_server else Model(record.model_name, base_url=record.base_url)
    caller = _remembered_function(record)
    items = _load_items(job_id)
    requests = [_request_from(item.request) for item in items]
    meaning = describe_function(caller) if caller is not None else _text_meaning()
    parent = open_job(record.parent, poll_interval) if record.parent else None
    job = BatchJob(record, model, meaning, requests, poll_interval=poll_interval, parent=parent)
    if caller is None:
        job.output = _TextOutput()
    return job


def _remembered_function(record: JobRecord) -> Callable[..., Any] | None:
    if not record.function:
        return None
    import inspect

    from byllm.scale.shipping import import_function

    try:
        return inspect.unwrap(import_function(*record.function.split(":", 1)))
    except (ImportError, AttributeError) as error:
        logger.warning("batch job %s: cannot import %s (%s); showing replies as text", record.id, record.function, error)
        return None


def _text_meaning() -> FunctionMeaning:
    from byllm.meaning import describe_function

    def reply_text() -> str:
        """The reply as text."""

    return describe_function(reply_text)


class _TextOutput:
    """Replies as text, for a job whose function cannot be imported here."""

    name = "str"
    annotation = str

    @staticmethod
    def check(value: Any) -> Any:
        return value

    @staticmethod
    def parse(text: str) -> str:
        return text
