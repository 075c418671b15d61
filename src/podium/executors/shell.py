"""Shell attempts: a command line in its own process group, output captured line by line."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

from podium.errors import ShellCommandError
from podium.executors.invoke import cancelled, describe
from podium.executors.usage import final_leader_sample, tree_usage, wall_only, watch_tree
from podium.model.attempts import Outcome, Work
from podium.model.shell import render_command

TERMINATE_GRACE = 2.0


def shell_environment(work: Work) -> dict[str, str]:
    """The environment of the command: ours, the task's, and the attempt's identity."""
    env = dict(os.environ)
    env.update(work.env or {})
    env.update(
        PODIUM_RUN_ID=work.run_id,
        PODIUM_TASK=work.task_name,
        PODIUM_ATTEMPT=str(work.attempt),
        PODIUM_IDEMPOTENCY_KEY=work.idempotency_key,
    )
    if work.gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(work.gpus)
    return env


async def run_shell(work: Work, on_start: Callable[[int], None] | None = None) -> Outcome:
    """Run the command; cancelling this coroutine kills the command's whole process group.
    Its process tree is sampled for the Outcome's usage (executors/usage.py)."""
    started = time.time()
    try:
        command = render_command(work.command or "", work.kwargs)
        process = await asyncio.create_subprocess_shell(
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=shell_environment(work),
            cwd=work.cwd,
        )
    except Exception as error:
        ended = time.time()
        return Outcome(
            work, False, error=describe(error), started_at=started, ended_at=ended,
            usage=wall_only(started, ended),
        )  # fmt: skip
    probe = watch_tree(started, process.pid)
    if on_start is not None:
        on_start(process.pid)
    lines: list[str] = []
    stdout: list[str] = []
    try:
        await asyncio.gather(
            _collect(process.stdout, lines, stdout, ""),
            _collect(process.stderr, lines, None, "[stderr] "),
        )
        final_leader_sample(probe)  # before it is reaped, if we are quick enough
        code = await process.wait()
    except asyncio.CancelledError:
        await _terminate(process)
        outcome = cancelled(work, started, "\n".join(lines))
        outcome.usage = tree_usage(probe, outcome.ended_at)
        return outcome
    logs = "\n".join(lines)
    ended = time.time()
    usage = tree_usage(probe, ended)
    if code != 0:
        return Outcome(
            work,
            False,
            error=describe(ShellCommandError(command, code)),
            logs=logs,
            started_at=started,
            ended_at=ended,
            usage=usage,
        )
    return Outcome(
        work, True, "".join(stdout), logs=logs, started_at=started, ended_at=ended, usage=usage
    )


async def _collect(
    stream: asyncio.StreamReader | None, lines: list[str], keep: list[str] | None, prefix: str
) -> None:
    if stream is None:
        return
    async for raw in stream:
        text = raw.decode(errors="replace")
        if keep is not None:
            keep.append(text)
        lines.append(prefix + text.rstrip("\n"))


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process group, then SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, TERMINATE_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), wait)
            break
        except TimeoutError:
            continue
    # the leader may be gone while others of its group linger: make sure they are too
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
