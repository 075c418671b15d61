"""One branch fails; its dependents are upstream_failed; the other branch succeeds."""

from podium import current_context, task, workflow


@task
def start() -> int:
    return 1


@task
def explode(x: int) -> int:
    current_context().logger.warning("about to fail")
    raise ValueError(f"boom {x}")


@task
def after(x: int) -> int:
    return x


@task
def independent(x: int) -> int:
    return x + 1


@workflow
def failing():
    first = start()
    return [after(explode(first)), independent(first)]
