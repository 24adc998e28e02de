"""The four OpenAI Batch API calls a job needs, over the standard library's HTTP client.

Upload a JSONL file (``POST /files``, ``purpose=batch``), create a batch
(``POST /batches``), retrieve it (``GET /batches/{id}``) and read a file
(``GET /files/{id}/content``). These are a handful of calls per job, so they
need no SDK and work whichever transport the model's provider uses for
completions. 429 and 5xx answers are retried (honouring ``Retry-After``);
errors are byllm's, with the key masked.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Mapping

from byllm.errors import AuthenticationError, ProviderError, RateLimitError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_ATTEMPTS = 4
PROVIDER = "openai-batch"


class BatchAPI:
    """An OpenAI-compatible server's Batch API, for one base URL and key."""

    def __init__(self, base_url: str | None, api_key: str | None, *, timeout: float | None = 60.0,
                 headers: Mapping[str, str] | None = None) -> None:
        """``base_url`` defaults to ``OPENAI_BASE_URL``, then OpenAI's own."""
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.headers = dict(headers or {})

    def upload(self, content: bytes, filename: str = "byllm-batch.jsonl") -> str:
        """Upload a JSONL file for a batch; its file id."""
        boundary = f"byllm-{uuid.uuid4().hex}"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self._call("POST", "/files", body, f"multipart/form-data; boundary={boundary}")["id"]

    def create(self, input_file_id: str, endpoint: str, completion_window: str,
               metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Create a batch over an uploaded file; the batch object."""
        payload = {"input_file_id": input_file_id, "endpoint": endpoint, "completion_window": completion_window,
                   "metadata": dict(metadata or {})}
        return self._call("POST", "/batches", json.dumps(payload).encode(), "application/json")

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object: ``status``, ``request_counts``, ``output_file_id``, ``error_file_id``, ..."""
        return self._call("GET", f"/batches/{batch_id}")

    def content(self, file_id: str) -> str:
        """A file's content (an output or error file: JSONL)."""
        return self._call("GET", f"/files/{file_id}/content", raw=True)

    # -- sending ----------------------------------------------------------------------
    def _call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
              *, raw: bool = False) -> Any:
        headers = {**self.headers, "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method=method)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    text = response.read().decode()
                return text if raw else json.loads(text)
            except urllib.error.HTTPError as failure:
                status, detail = failure.code, self._masked(failure.read().decode(errors="replace"))
                if attempt == MAX_ATTEMPTS or not (status == 429 or status >= 500):
                    raise self._error(method, path, status, detail) from None
                wait = _retry_after(failure.headers) or min(0.5 * 2 ** (attempt - 1), 20.0)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as failure:
                if attempt == MAX_ATTEMPTS:
                    raise ProviderError(f"{PROVIDER}: {method} {path} failed: {self._masked(str(failure))}",
                                        provider=PROVIDER, attempts=attempt) from None
                wait = min(0.5 * 2 ** (attempt - 1), 20.0)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _masked(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _error(self, method: str, path: str, status: int, detail: str) -> ProviderError:
        try:
            detail = json.loads(detail)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            detail = detail[:300]
        message = f"{PROVIDER}: {method} {path} answered HTTP {status}: {detail}"
        if status in (401, 403):
            return AuthenticationError(message + "; check the API key", provider=PROVIDER, status=status)
        kind = RateLimitError if status == 429 else ProviderError
        return kind(message, provider=PROVIDER, status=status, attempts=MAX_ATTEMPTS)


def _retry_after(headers: Any) -> float | None:
    from byllm.providers.transport import retry_after_seconds

    try:
        return retry_after_seconds({key.lower(): value for key, value in headers.items()})
    except Exception:  # noqa: BLE001  (an odd header means the usual backoff)
        return None
