"""Definitions that must be refused before anything runs."""

from podium import Orchestrator, Task, task, workflow


@task
def step(x: int) -> int:
    return x


@workflow
def typed(n: int = 1):
    return step(n)


@workflow
def duplicated():
    return [step(1, name="same"), step(2, name="same")]


cycle = Orchestrator("cycle")
cycle.add_task(Task("alpha", ["gamma"]))
cycle.add_task(Task("beta", ["alpha"]))
cycle.add_task(Task("gamma", ["beta"]))

unknown = Orchestrator("unknown")
unknown.add_task(Task("alpha", ["missing_step"]))
