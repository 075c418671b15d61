"""A small workflow of every kind of task, for the CLI tests."""

import asyncio

from podium import current_context, shell, task, workflow


@task
def load(n: int) -> list[int]:
    current_context().logger.info("loading %d items", n)
    return list(range(n))


@task(isolation="process")
def square(x: int) -> int:
    return x * x


@task
async def total(values: list[int]) -> int:
    await asyncio.sleep(0.01)
    return sum(values)


@workflow
def basic(n: int = 3):
    values = load(n)
    squares = square.map(values)
    summed = total(squares)
    echoed = shell("echo total={value}", name="echo", value=summed)
    return {"total": summed, "echo": echoed}
