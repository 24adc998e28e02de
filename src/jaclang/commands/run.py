"""``jac run [OPTIONS] PROGRAM [ARGS...]``: run a Jac program; exit with its status.

``PROGRAM`` is a ``.jac`` file (``hello`` finds ``hello.jac``), a folder (its
``main.jac``) or ``-`` (the program is read from stdin). The graph reachable
from the program's ``root`` is kept between runs in ``.jac/data/<name>.db``
beside the program (``$JAC_DATA_DIR`` overrides the folder); ``jac run --fresh``
or ``JAC_FRESH=1`` starts from an empty graph.

``--verbose``, ``--usage`` and ``--model NAME`` are for programs with ``by llm()``
functions: they print each call's prompts and replies (``BYLLM_VERBOSE=1``),
the run's tokens and cost at exit, and replace every model of the run
(``BYLLM_MODEL=NAME``).
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from jaclang.commands.arguments import (
    FAILURE,
    INTERRUPTED,
    SUCCESS,
    USAGE_ERROR,
    UsageError,
    main_file_of,
    report_usage_error,
    resolve_jac_file,
)

TYPE_CHECKING = False  # typing's own constant, without importing typing at every start
if TYPE_CHECKING:
    import argparse
    from typing import Any

STDIN_NAME = "<stdin>"
ONE_LINE_USAGE = "jac run [--fresh] [--verbose] [--usage] [--model NAME] FILE.jac|FOLDER|- [ARGS...]"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    import argparse

    parser = subparsers.add_parser(
        "run",
        help="run a Jac program",
        description="Run a Jac program: a .jac file (the .jac may be left out), a folder's main.jac, "
        "or - to read the program from stdin.",
        usage=ONE_LINE_USAGE,
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty graph: discard the stored graph of root (also JAC_FRESH=1)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print each by llm() call's prompts and replies (BYLLM_VERBOSE=1)"
    )
    parser.add_argument("--usage", action="store_true", help="print the tokens and cost of the run's model calls at exit")
    parser.add_argument(
        "--model", metavar="NAME", help="use model NAME for every by llm() call of the run (BYLLM_MODEL=NAME)"
    )
    parser.add_argument("file", nargs="?", help="the program: FILE.jac, FILE (FILE.jac), FOLDER (its main.jac) or -")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program (sys.argv[1:])")
    parser.set_defaults(handler=run_command)


def plain_options(arguments: list[str]) -> SimpleNamespace | None:
    """The options of ``jac run PROGRAM [ARGS...]`` (no option before PROGRAM), read without the argument parser.

    They are the parser's (a test compares them): PROGRAM is the first argument,
    ARGS all the others, every option at its default. ``None`` for any other
    command line, and for one with ``--`` among ARGS (argparse drops some of
    them), so that the parser reads it.
    """
    if not arguments or arguments[0].startswith("-") or "--" in arguments:
        return None
    return SimpleNamespace(
        command="run",
        fresh=False,
        verbose=False,
        usage=False,
        model=None,
        file=arguments[0],
        args=arguments[1:],
        handler=run_command,
    )


def run_command(options: argparse.Namespace | SimpleNamespace) -> int:
    """Run the program as ``__main__``; usage errors and syntax errors exit 2, uncaught errors 1."""
    if options.file is None:
        print(f"jac run: no program given; usage: {ONE_LINE_USAGE}", file=sys.stderr)
        return USAGE_ERROR
    try:
        path = program_path(options.file)
    except UsageError as error:
        return report_usage_error("run", error)
    configure_models(verbose=options.verbose, model=options.model)
    usage_counter = UsageCounter.start() if options.usage else None
    try:
        if path == STDIN_NAME:
            sys.argv = ["-", *options.args]
            return run_program(STDIN_NAME, source=sys.stdin.read())
        sys.argv = [path, *options.args]
        fresh = options.fresh or os.environ.get("JAC_FRESH", "").lower() in ("1", "true", "yes", "on")
        return run_program(path, persist=True, fresh=fresh)
    finally:
        if usage_counter is not None:
            print(usage_counter.report(), file=sys.stderr)


def program_path(argument: str) -> str:
    """The file ``jac run ARGUMENT`` runs (``<stdin>`` for ``-``); a :class:`UsageError` says why there is none."""
    if argument == "-":
        return STDIN_NAME
    if os.path.isdir(argument):
        return main_file_of(argument)
    return resolve_jac_file(argument)


def configure_models(verbose: bool, model: str | None) -> None:
    """Turn ``--verbose`` / ``--model`` into byllm's ``BYLLM_VERBOSE`` / ``BYLLM_MODEL`` for this run."""
    if not verbose and not model:
        return
    if verbose:
        os.environ["BYLLM_VERBOSE"] = "1"
    if model:
        os.environ["BYLLM_MODEL"] = model
    settings = sys.modules.get("byllm.settings")  # already read by a plugin at start-up: read it again
    reload_settings = getattr(settings, "reload_settings", None)
    if reload_settings is not None:
        reload_settings()


def run_program(path: str, persist: bool = False, fresh: bool = False, source: str | None = None) -> int:
    """Run a Jac file (or ``source``, read from stdin) as the main program; return its exit status.

    With ``persist``, the graph under ``root`` is loaded from the program's graph
    file when first used, and committed in one transaction when the program ends,
    whether it returns, exits or raises (as upstream ``jac run`` does). It is not
    committed when the program is interrupted (Ctrl-C) or killed, or did not
    compile: the stored graph then stays as it was.
    """
    if not persist:
        return _run_main(path, source)[0]
    from jaclang.runtimelib import graph_file

    chosen = graph_file.file_for(path)
    if fresh:
        graph_file.discard(chosen)
    graph_file.persist_to(chosen)
    status, ended = _run_main(path, source)
    graph_file.persist_to(None)
    context = sys.modules.get("jaclang.runtimelib.osp.context")  # loaded only if the program used the graph
    if context is None:
        return status
    try:
        if ended:
            context.finish_run()
        else:
            context.abandon_run()
    except Exception as error:  # the graph could not be saved: say where and why
        print(f"jac run: the graph of {path} was not saved: {error}", file=sys.stderr)
        return status or FAILURE
    return status


def _run_main(path: str, source: str | None = None) -> tuple[int, bool]:
    """Run the program; its exit status, and whether it ran to an end (not a syntax error or Ctrl-C)."""
    from jaclang.compiler.errors import JacSyntaxError
    from jaclang.runtimelib.importer import run_jac_file

    try:
        if source is None:
            run_jac_file(path, "__main__")
        else:
            run_jac_source(source, path)
    except JacSyntaxError as error:
        if error.filename == os.path.abspath(path):
            error.filename = path  # report the main file as the user named it
        print(error.format(), file=sys.stderr)
        return USAGE_ERROR, False
    except SystemExit as exit_request:
        return exit_status(exit_request), True
    except KeyboardInterrupt:
        print("KeyboardInterrupt", file=sys.stderr)
        return INTERRUPTED, False
    except BaseException as error:  # report any uncaught error of the user's program
        from jaclang.runtimelib.tracebacks import format_user_traceback

        sys.stdout.flush()
        print(format_user_traceback(error), file=sys.stderr, end="")
        return FAILURE, True
    finally:
        sys.stdout.flush()
    return SUCCESS, True


def run_jac_source(source: str, filename: str) -> None:
    """Compile and run Jac ``source`` as ``__main__`` (for ``jac run -``; its imports resolve from the current folder)."""
    import linecache
    import types

    from jaclang.compiler import compile_jac

    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # for tracebacks
    code = compile_jac(source, filename)
    if not sys.path or sys.path[0] != os.getcwd():
        sys.path.insert(0, os.getcwd())
    module = types.ModuleType("__main__")
    module.__file__ = filename
    sys.modules["__main__"] = module
    exec(code, module.__dict__)


def exit_status(exit_request: SystemExit) -> int:
    """The status ``sys.exit(code)`` asks for (a message means status 1, as in Python)."""
    code = exit_request.code
    if code is None:
        return SUCCESS
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return FAILURE


class UsageCounter:
    """``jac run --usage``: the tokens and cost of the run's ``by llm()`` calls.

    Read from byllm's usage plugin (``byllm.plugins.usage.run_usage()``) when it is
    loaded; otherwise from the call records this counter collects itself on the
    ``llm_call_finished`` hook.
    """

    def __init__(self) -> None:
        self.records: list[Any] = []

    @classmethod
    def start(cls) -> UsageCounter:
        """A counter registered on the plugin manager for the run (a no-op without byllm's hooks)."""
        from jaclang.runtimelib.machine import hookimpl, plugin_manager

        counter = cls()

        class RecordCollector:
            """Keeps every finished call record of the run."""

            @staticmethod
            @hookimpl
            def llm_call_finished(record: Any) -> None:
                counter.records.append(record)

        if hasattr(plugin_manager.hook, "llm_call_finished"):
            plugin_manager.register(RecordCollector(), name="jac-run-usage")
        return counter

    def report(self) -> str:
        """The run's usage: one totals line, then one line per model when there are several (or no price)."""
        totals, by_model = self._usage_from_plugin() or self._usage_from_records()
        calls, input_tokens, output_tokens, cost = totals
        if not calls:
            return "usage: no model calls"
        call_word = "call" if calls == 1 else "calls"
        lines = [f"usage: {calls} {call_word}, {_tokens_and_cost(input_tokens, output_tokens, cost)}"]
        if len(by_model) > 1 or cost is None:
            lines += [f"  {model}: {_tokens_and_cost(*numbers)}" for model, numbers in by_model.items()]
        if cost is None:
            lines.append(UNPRICED_HINT)
        return "\n".join(lines)

    @staticmethod
    def _usage_from_plugin() -> tuple[tuple[int, int, int, float | None], dict[str, tuple[int, int, float | None]]] | None:
        """Totals and per-model numbers from byllm's usage plugin, or ``None`` when it is not loaded."""
        from jaclang.runtimelib.machine import plugin_manager

        if plugin_manager.get_plugin("byllm-usage") is None:
            return None  # not installed, or blocked with JAC_DISABLED_PLUGINS
        try:
            from byllm.plugins.usage import run_usage
        except ImportError:
            return None
        run = run_usage()
        cost = None if run.unpriced_tokens else run.cost
        by_model = {
            model: (usage.input_tokens, usage.output_tokens, usage.cost) for model, usage in run.by_model.items()
        }
        return (run.calls, run.input_tokens, run.output_tokens, cost), by_model

    def _usage_from_records(self) -> tuple[tuple[int, int, int, float | None], dict[str, tuple[int, int, float | None]]]:
        """Totals and per-model numbers summed from the collected call records."""
        by_model: dict[str, tuple[int, int, float | None]] = {}
        for record in self.records:
            input_tokens, output_tokens, cost = by_model.get(record.model_name, (0, 0, 0.0))
            by_model[record.model_name] = (
                input_tokens + record.usage.input_tokens,
                output_tokens + record.usage.output_tokens,
                None if cost is None or record.cost is None else cost + record.cost,
            )
        costs = [cost for _, _, cost in by_model.values()]
        total_cost = None if None in costs else sum(cost for cost in costs if cost is not None)
        totals = (
            len(self.records),
            sum(numbers[0] for numbers in by_model.values()),
            sum(numbers[1] for numbers in by_model.values()),
            total_cost,
        )
        return totals, by_model


# The wording of byllm.plugins.usage.format_cost, which jaclang cannot import (byllm may be absent).
UNPRICED = "unpriced"
UNPRICED_HINT = "  (unpriced: no price known for the model; set one under [byllm.prices] in jac.toml)"


def _tokens_and_cost(input_tokens: int, output_tokens: int, cost: float | None) -> str:
    cost_text = UNPRICED if cost is None else f"${cost:.6f}"
    return f"{input_tokens:,} tokens in, {output_tokens:,} out, {cost_text}"
