"""``podium``: the command line. Exit codes: 0 success, 1 failed run, 2 bad input, 130 Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from podium.cli.explain import (
    cache_entries_table,
    cache_entry_json,
    cache_table,
    schedule_lines,
)
from podium.cli.loader import Target, load_target
from podium.cli.progress import LiveProgress
from podium.cli.render import (
    SUMMARY_ROWS,
    bottlenecks_table,
    dumps,
    graph_dot,
    graph_mermaid,
    graph_text,
    print_logs,
    run_header,
    run_json,
    runs_table,
    tasks_table,
    usage_table,
)
from podium.engine.admission import in_process_gpu_tasks, unfit_tasks
from podium.engine.scheduler import ORDERS
from podium.errors import PodiumError, ResourceUnavailableError, RunError
from podium.model.graph import Graph
from podium.model.params import parse_assignments
from podium.model.records import (
    DONE_STATES,
    RUN_ENDED,
    Batch,
    EventRecord,
    RunRecord,
    RunUpdate,
    TaskRecord,
)
from podium.model.run_result import RunResult
from podium.runner.capacity import machine_capacity, parse_resources
from podium.runner.ownership import owner_gone
from podium.runner.session import (
    DATABASE_NAME,
    Runner,
    check_max_workers,
    open_store,
)
from podium.store.sqlite import SQLiteStore

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 160)


out = _console(stderr=False)
err = _console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


@contextmanager
def bad_input() -> Iterator[None]:
    """Report a podium error as one line on stderr and exit with code 2, no traceback."""
    try:
        yield
    except PodiumError as error:
        fail(str(error))


# -- shared options --------------------------------------------------------------------------

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PODIUM_HOME",
    default=Path(".podium"),
    show_default=True,
    help="Folder of the store (podium.db, results/). Also set by PODIUM_HOME.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead.")
param_option = click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A workflow parameter (repeatable); checked against the parameter's type hint.",
)
synchronous_option = click.option(
    "--synchronous",
    type=click.Choice(["normal", "full"]),
    default="normal",
    envvar="PODIUM_SYNCHRONOUS",
    show_default=True,
    help="SQLite durability: normal survives a crash of podium (kill -9); full also "
    "survives a power cut, at a cost per commit. Also set by PODIUM_SYNCHRONOUS.",
)
workers_option = click.option(
    "--max-workers",
    type=int,
    default=None,
    help="Most attempts at once (thread, coroutine, shell or process; default 32); process "
    "attempts are also bounded by the CPU count.",
)


cache_option = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Run cached tasks again instead of using their cached results (the fresh results "
    "are cached for later runs).",
)
order_option = click.option(
    "--order",
    type=click.Choice(ORDERS),
    default="critical_path",
    show_default=True,
    help="Among ready tasks of equal priority, start first those on the longest expected "
    "remaining path (durations learned from earlier runs), or the first ready (fifo).",
)


resources_option = click.option(
    "--resources",
    "resources",
    default="",
    metavar="NAME=N,...",
    help="What this machine has, over what is detected and the settings file: e.g. "
    "gpu=2,memory_mb=16000,licenses=3 (gpu=N declares devices 0..N-1).",
)


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of every command that drives a run (``run``, ``resume``)."""
    for option in reversed(
        (workers_option, home_option, synchronous_option, cache_option, order_option,
         resources_option, json_option)
    ):  # fmt: skip
        command = option(command)
    return command


def runner_options(
    max_workers: int | None, no_cache: bool, order: str, resources: str
) -> dict[str, Any]:
    """The Runner's keyword options from the command line; exits with code 2 on bad input."""
    with bad_input():
        return dict(
            max_workers=check_max_workers(max_workers),
            use_cache=not no_cache,
            order=order,
            resources=parse_resources(resources),
        )


def existing_store(home: Path) -> SQLiteStore:
    """The store under ``home``; for reading, it must already exist."""
    if not (home / DATABASE_NAME).is_file():
        fail(f"no podium store in {home} (no runs yet; --home or PODIUM_HOME picks another)")
    with bad_input():
        return SQLiteStore(home / DATABASE_NAME)


def load(
    target: str, params: tuple[str, ...] | dict[str, Any], *, from_text: bool = True
) -> tuple[Target, dict[str, Any], Graph]:
    """Load ``FILE[:NAME]`` and build its graph; exits with code 2 on bad input."""
    with bad_input():
        loaded = load_target(target)
        given = parse_assignments(list(params)) if isinstance(params, tuple) else params
        bound = loaded.bind(given, from_text=from_text)
        return loaded, bound, loaded.build(bound)


# -- the commands ----------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="podium")
def main() -> None:
    """podium: run AI workflows in parallel, durably, and resume them after a crash.

    \b
    Examples:
      podium run examples/ml_pipeline.py
      podium run flows.py:train -p epochs=3 --max-workers 8
      podium runs list
      podium logs RUN_ID train[0]
      podium resume RUN_ID
    """


@main.command()
@click.argument("target", metavar="FILE[:NAME]")
@param_option
@run_options
def run(
    target: str,
    params: tuple[str, ...],
    max_workers: int | None,
    home: Path,
    synchronous: str,
    no_cache: bool,
    order: str,
    resources: str,
    as_json: bool,
) -> None:
    """Run a workflow (or a module-level Orchestrator) found in FILE.

    Shows live progress, then a summary. Exit code 0: succeeded; 1: failed;
    2: bad input (nothing was run or stored); 130: interrupted with Ctrl-C.

    \b
    Examples:
      podium run examples/ml_pipeline.py
      podium run flows.py:score -p n=100 -p model=small
      podium run flows.py --no-cache --order fifo
      podium run flows.py --json > result.json
    """
    loaded, bound, graph = load(target, params)
    sys.exit(
        execute(
            home,
            synchronous,
            runner_options(max_workers, no_cache, order, resources),
            len(graph),
            as_json,
            lambda runner: runner.start(graph, source=loaded.source, params=bound),
        )
    )


@main.command()
@click.argument("run_id")
@run_options
def resume(
    run_id: str,
    max_workers: int | None,
    home: Path,
    synchronous: str,
    no_cache: bool,
    order: str,
    resources: str,
    as_json: bool,
) -> None:
    """Finish a run whose process died (or that failed or was cancelled).

    Succeeded tasks keep their results and are not run again; tasks that were in flight run
    again as new attempts with the same idempotency key. Refused while the run's owner is
    alive and heartbeating.

    \b
    Example:
      podium resume 20261123-051200-3fa9c1
    """
    store = existing_store(home)
    with bad_input():
        record = store.get_run(run_id)
        if record.source.startswith("<python>"):
            raise RunError(
                f"run {run_id} was started from Python, not from a file; resume it there with "
                f"workflow.resume({run_id!r})"
            )
    stored = store.load_tasks(run_id)
    store.close()
    _loaded, _bound, graph = load(record.source, record.params, from_text=False)
    sys.exit(
        execute(
            home,
            synchronous,
            runner_options(max_workers or record.max_workers, no_cache, order, resources),
            max(len(graph), len(stored)),
            as_json,
            lambda runner: runner.resume(run_id, graph),
            done=[task.name for task in stored if task.state in DONE_STATES],
        )
    )


def execute(
    home: Path,
    synchronous: str,
    options: dict[str, Any],
    total: int,
    as_json: bool,
    start: Callable[[Runner], Awaitable[RunResult]],
    done: Sequence[str] = (),
) -> int:
    """Run ``start`` with progress and signal handling; print the summary; the exit code.
    ``options`` are the Runner's (max_workers, use_cache, order, ...)."""
    with bad_input():
        store = open_store(home, synchronous=synchronous)
    progress = None if as_json else LiveProgress(total, done=done)
    runner = Runner(store, listeners=[progress] if progress else [], **options)
    interrupted: list[str] = []

    async def drive() -> RunResult:
        loop = asyncio.get_running_loop()

        def on_signal(name: str) -> None:
            if interrupted:  # a second Ctrl-C: leave now, without waiting for anything
                err.print("interrupted again: killing what runs and exiting at once")
                runner.abort()
                sys.stderr.flush()
                os._exit(EXIT_INTERRUPTED)
            interrupted.append(name)
            err.print(f"\n{name}: cancelling the run (press Ctrl-C again to exit at once)")
            runner.cancel(f"interrupted ({name})")

        loop.add_signal_handler(signal.SIGINT, on_signal, "Ctrl-C")
        loop.add_signal_handler(signal.SIGTERM, on_signal, "SIGTERM")
        return await start(runner)

    # With --json, stdout is the JSON document's alone: what tasks running in this process
    # print (threads, coroutines) goes to stderr instead.
    printed = redirect_stdout(sys.stderr) if as_json else nullcontext()
    with bad_input(), progress or nullcontext(), printed:
        result = asyncio.run(drive())
    tasks = store.load_tasks(result.run_id)
    record = store.get_run(result.run_id)
    store_attempts = [] if as_json else store.load_attempts(result.run_id)
    if as_json:
        print(dumps(run_json(record, tasks)))
    else:
        out.print(tasks_table(tasks))
        if len(tasks) <= SUMMARY_ROWS:  # what each task used; for big runs, the extremes only
            out.print(usage_table(tasks, store_attempts))
        out.print(bottlenecks_table(store_attempts))
        explain(store, record, tasks)
        out.print(run_header(record))
    store.close()
    if interrupted:
        err.print(f"run {result.run_id} cancelled: {escape(interrupted[0])}")
        return EXIT_INTERRUPTED
    if result.state == "cancelled":
        err.print(f"run {result.run_id} cancelled")
    return EXIT_OK if result.ok else EXIT_FAILED


@main.command()
@click.argument("target", metavar="FILE[:NAME]")
@param_option
@workers_option
@home_option
@resources_option
def validate(
    target: str, params: tuple[str, ...], max_workers: int | None, home: Path, resources: str
) -> None:
    """Check a workflow without running it: it loads, its parameters fit, the graph is
    acyclic, every dependency exists, and every task's resource request can be met here
    (a task that cannot, but has a fallback, is a warning: it will run its fallback).
    Exit code 2 when it does not.

    \b
    Examples:
      podium validate examples/ml_pipeline.py -p seed=7
      podium validate flows.py --resources gpu=1
    """
    loaded, _bound, graph = load(target, params)
    with bad_input():
        capacity = machine_capacity(
            home, check_max_workers(max_workers), parse_resources(resources)
        )
        unfit = unfit_tasks(graph, capacity)
        for task in unfit:
            if task.fallback is not None:
                err.print(
                    f"warning: task {task.task!r} will run its fallback {task.fallback!r} "
                    f"without trying: {task.reason}",
                    markup=False, highlight=False,
                )  # fmt: skip
        for task in unfit:
            if task.fallback is None:
                raise ResourceUnavailableError(task.task, task.resource, task.asked, task.have)
        for name in in_process_gpu_tasks(graph):
            err.print(
                f"warning: task {name!r} asks for a GPU but runs inside the podium process, "
                f"which cannot give it its own CUDA_VISIBLE_DEVICES (it gets the device ids "
                f"in current_context().gpus); use isolation='process'",
                markup=False, highlight=False,
            )  # fmt: skip
    maps = sum(1 for node in graph if node.kind == "map")
    extra = f", {maps} dynamic map(s) expanded at run time" if maps else ""
    out.print(f"ok: {loaded.workflow_name} ({loaded.path.name}) has {len(graph)} tasks{extra}")


@main.command()
@click.argument("target", metavar="FILE[:NAME]")
@param_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot"]),
    default="text",
    show_default=True,
    help="text tree, Mermaid flowchart, or Graphviz dot.",
)
def graph(target: str, params: tuple[str, ...], fmt: str) -> None:
    """Print a workflow's task graph.

    \b
    Examples:
      podium graph examples/ml_pipeline.py
      podium graph examples/ml_pipeline.py --format dot | dot -Tpng > graph.png
    """
    _loaded, _bound, built = load(target, params)
    render = {"text": graph_text, "mermaid": graph_mermaid, "dot": graph_dot}[fmt]
    print(render(built))


@main.group()
def runs() -> None:
    """List and inspect runs.

    \b
    Examples:
      podium runs list
      podium runs show RUN_ID --json
    """


@runs.command("list")
@home_option
@json_option
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def runs_list(home: Path, as_json: bool, limit: int) -> None:
    """The most recent runs, newest first.

    \b
    Example:
      podium runs list --limit 10
    """
    if not (home / DATABASE_NAME).is_file():
        print("[]") if as_json else out.print(f"no runs yet in {home}")
        return
    store = existing_store(home)
    records = store.list_runs(limit)
    if as_json:
        print(dumps([run_json(record) for record in records]))
    else:
        out.print(runs_table(records))


@runs.command("show")
@click.argument("run_id")
@home_option
@json_option
def runs_show(run_id: str, home: Path, as_json: bool) -> None:
    """One run: its state, parameters, every task instance, what the latest attempt of each
    used (wall, CPU, peak RSS, queue wait), the bottlenecks, the cache's hits and misses
    (with why), the critical path and, while the run is live, its ETA.

    \b
    Example:
      podium runs show 20261123-051200-3fa9c1
    """
    store = existing_store(home)
    with bad_input():
        record = store.get_run(run_id)
    tasks = store.load_tasks(run_id)
    if as_json:
        print(dumps(run_json(record, tasks, store.load_attempts(run_id))))
        return
    out.print(run_header(record))
    out.print(f"source: {record.source}   params: {dumps(record.params)}", markup=False)
    out.print(tasks_table(tasks, limit=None))
    attempts = store.load_attempts(run_id)
    if attempts:
        out.print(usage_table(tasks, attempts))
        out.print(bottlenecks_table(attempts))
    explain(store, record, tasks)


def explain(store: SQLiteStore, record: RunRecord, tasks: list[TaskRecord]) -> None:
    """Print the cache outcomes, the critical path and (for a live run) the ETA."""
    cache = cache_table([event for _, event in store.load_events(record.run_id)])
    if cache is not None:
        out.print(cache)
    history = store.task_durations(record.workflow) if record.ended_at is None else {}
    for line in schedule_lines(record, tasks, history):
        out.print(line, highlight=False)


@main.group()
def cache() -> None:
    """Cached results of tasks declared with ``cache=True``.

    \b
    Examples:
      podium cache list
      podium cache clear prepare
      podium cache clear --expired
    """


@cache.command("list")
@click.argument("task", required=False)
@home_option
@json_option
def cache_list(task: str | None, home: Path, as_json: bool) -> None:
    """Every cache entry (of TASK), newest first: the task, its key, the run its result
    comes from and when it expires.

    \b
    Example:
      podium cache list prepare
    """
    if not (home / DATABASE_NAME).is_file():
        print("[]") if as_json else out.print(f"no cache yet in {home}")
        return
    store = existing_store(home)
    entries = store.cache_entries(task)
    store.close()
    if as_json:
        print(dumps([cache_entry_json(entry) for entry in entries]))
        return
    if not entries:
        out.print("no cache entries" + (f" for task {escape(task)!r}" if task else ""))
        return
    out.print(cache_entries_table(entries, time.time()))


@cache.command("clear")
@click.argument("task", required=False)
@click.option("--expired", is_flag=True, help="Only the entries whose cache_ttl has passed.")
@home_option
def cache_clear(task: str | None, expired: bool, home: Path) -> None:
    """Forget cached results (all, those of TASK, or only the expired ones); the next run
    computes them again. The runs keep their own results.

    \b
    Examples:
      podium cache clear
      podium cache clear prepare --expired
    """
    if not (home / DATABASE_NAME).is_file():
        out.print(f"no cache yet in {home}")
        return
    store = existing_store(home)
    removed = store.clear_cache(task, expired_before=time.time() if expired else None)
    store.close()
    what = "expired " if expired else ""
    scope = f" of task {task!r}" if task else ""
    out.print(f"removed {removed} {what}cache entr{'y' if removed == 1 else 'ies'}{scope}",
              markup=False, highlight=False)  # fmt: skip


@main.command()
@click.argument("run_id")
@click.argument("task", required=False)
@home_option
def logs(run_id: str, task: str | None, home: Path) -> None:
    """The captured logs of a run's attempts (or of one task's), with errors and tracebacks.

    \b
    Examples:
      podium logs RUN_ID
      podium logs RUN_ID "train[1]"
    """
    store = existing_store(home)
    with bad_input():
        store.get_run(run_id)
        attempts = store.load_attempts(run_id, task)
        if task is not None and not attempts:
            names = [t.name for t in store.load_tasks(run_id)]
            if task not in names:
                raise RunError(
                    f"run {run_id} has no task {task!r} (tasks: {', '.join(names[:20])})"
                )
    print_logs(out, attempts)


@main.command()
@click.argument("run_id")
@home_option
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Wait until the run has stopped."
)
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait with --wait."
)
def cancel(run_id: str, home: Path, wait: bool, timeout: float) -> None:
    """Cancel a running run from another terminal: its owner stops it within a second or
    two (nothing further starts; running attempts are cancelled or killed).

    \b
    Example:
      podium cancel 20261123-051200-3fa9c1
    """
    store = existing_store(home)
    with bad_input():
        record = store.get_run(run_id)
    if record.state in RUN_ENDED:
        fail(f"run {run_id} has already ended ({record.state})")
    if not owner_gone(record):
        pass  # the owner is alive: ask it
    else:  # nobody runs it: mark it cancelled here
        now = time.time()
        store.commit(
            Batch(
                run_update=RunUpdate(run_id, "cancelled", ended_at=now),
                events=[EventRecord(run_id, now, "run_cancelled", detail="owner was gone")],
            )
        )
        out.print(f"run {run_id} had no live owner; marked cancelled")
        return
    store.request_cancel(run_id, time.time())
    out.print(
        f"cancel requested for run {run_id} (owner pid {record.owner_pid} on {record.owner_host})"
    )
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = store.get_run(run_id).state
        if state in RUN_ENDED:
            out.print(f"run {run_id} is {state}")
            return
        time.sleep(0.2)
    fail(f"run {run_id} did not stop within {timeout:.0f}s", EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
