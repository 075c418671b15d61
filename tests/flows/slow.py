"""Long attempts of every kind: thread, process, coroutine, shell. For cancel tests."""

import asyncio
import time

from podium import shell, task, workflow


@task
def quick() -> int:
    return 1


@task
def in_thread(x: int) -> None:
    time.sleep(60)


@task(isolation="process")
def in_process(x: int) -> None:
    time.sleep(60)


@task
async def in_coroutine(x: int) -> None:
    await asyncio.sleep(60)


@task
def never(*inputs: object) -> None:
    raise AssertionError("must never start")


@workflow
def slow():
    first = quick()
    running = [
        in_thread(first),
        in_process(first),
        in_coroutine(first),
        shell("sleep 60 & sleep 60; wait", name="in_shell", x=first),
    ]
    return never(*running)
