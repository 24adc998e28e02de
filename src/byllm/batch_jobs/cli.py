"""``jac batch list | status ID | results ID``: provider batch jobs from the command line."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any

from byllm.batch_jobs.jobs import DEFAULT_POLL_INTERVAL, BatchJob, jobs_folder, list_records, open_job


def run_batch_command(options: Any) -> int:
    """Handle ``jac batch``; the exit status."""
    from byllm.errors import ByLLMError

    try:
        if options.batch_action == "list":
            return _print_list()
        job = open_job(options.job_id, getattr(options, "poll", DEFAULT_POLL_INTERVAL))
        if options.batch_action == "status":
            status = job.status()
            print(json.dumps(asdict(status)) if options.json else
                  f"{job.id}: {status.state}, {status.completed}/{status.total} completed, {status.failed} failed")
            return 0
        return _print_results(job, options.json)
    except ByLLMError as error:
        print(f"jac batch: {error}", file=sys.stderr)
        return 1


def _print_list() -> int:
    records = list_records()
    if not records:
        print(f"no batch jobs in {jobs_folder()}")
    for record in records:
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
        retry = f"  retry of {record.parent}" if record.parent else ""
        print(f"{record.id}  {made}  {record.function or '?'}  {record.model_name}  {len(record.indexes)} items{retry}")
    return 0


def _print_results(job: BatchJob, as_json: bool) -> int:
    from pydantic_core import to_jsonable_python

    from byllm.plugins.cli import printable

    for index, outcome in enumerate(job.results()):
        if isinstance(outcome, BaseException):
            row: dict[str, Any] = {"index": index, "error": f"{type(outcome).__name__}: {outcome}"}
        else:
            row = {"index": index, "value": to_jsonable_python(outcome, fallback=repr)}
        print(json.dumps(row) if as_json else printable(f"{index}\t{row.get('value', row.get('error'))}"))
    return 0
