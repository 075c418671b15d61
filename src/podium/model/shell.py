"""``shell(...)``: a task that runs a command line as a subprocess.

The command is a template: ``shell("wc -l {path}", path=prepare_handle)`` fills ``{path}``
at run time with the (shell-quoted) result of the upstream task.
"""

from __future__ import annotations

import os
import shlex
import string
import subprocess
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from podium.errors import OptionError, ShellCommandError
from podium.model.building import current_builder
from podium.model.caching import NO_CACHING, Caching
from podium.model.policy import Policy, make_policy
from podium.model.resources import make_request


def render_command(template: str, fields: Mapping[str, Any]) -> str:
    """The command line with each ``{field}`` replaced by its shell-quoted value."""
    try:
        return template.format(**{key: shlex.quote(str(value)) for key, value in fields.items()})
    except (KeyError, IndexError) as error:
        raise OptionError("command", template, f"no value given for field {error}") from None


def template_fields(template: str) -> set[str]:
    """The ``{field}`` names a command template uses."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field}
    except ValueError as error:
        raise OptionError("command", template, f"malformed template: {error}") from None


class ShellTask:
    """A command line to run; the TaskDef-like object behind each ``shell()`` call."""

    isolation = "shell"
    is_coroutine = False
    tags: tuple[str, ...] = ()

    def __init__(
        self,
        command: str,
        *,
        name: str | None,
        env: Mapping[str, str] | None,
        cwd: str | None,
        policy: Policy | None = None,
        caching: Caching = NO_CACHING,
        resources: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(command, str) or not command.strip():
            raise OptionError("command", command, "a shell task needs a non-empty command line")
        self.command = command
        self.name = name or "shell"
        self.env = dict(env) if env else None
        self.cwd = cwd
        self.policy = policy if policy is not None else Policy()
        self.caching = caching
        self.resources: dict[str, float] = make_request(resources, task=self.name)
        self.fallback = None
        self.fn = self.run_here

    def run_here(self, **fields: Any) -> str:
        """Run the command now, in this process; return its stdout (raises ShellCommandError)."""
        command = render_command(self.command, fields)
        completed = subprocess.run(
            command,
            shell=True,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env} if self.env else None,
            cwd=self.cwd,
            check=False,
        )
        if completed.returncode != 0:
            raise ShellCommandError(command, completed.returncode)
        return completed.stdout


def shell(
    command: str,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    retries: int = 0,
    retry_delay: float | timedelta = 1.0,
    backoff: float = 2.0,
    max_delay: float | timedelta | None = None,
    jitter: float = 0.0,
    retry_on: type[BaseException] | Iterable[type[BaseException]] = (Exception,),
    timeout: float | timedelta | None = None,
    priority: int = 0,
    trigger_rule: str = "all_success",
    cache: bool = False,
    cache_ttl: float | timedelta | None = None,
    cache_version: str | int | None = None,
    resources: Mapping[str, float] | None = None,
    **fields: Any,
) -> Any:
    """A shell task: runs ``command`` in its own process group; exit code 0 means success.

    stdout and stderr go to the attempt's log; the result is the command's stdout (a str).
    Inside a workflow, returns a handle; outside one, runs the command and returns stdout.
    ``fields`` fill ``{name}`` placeholders of the command (handles allowed), shell-quoted;
    the policy options (``retries``, ``retry_delay``, ``backoff``, ``max_delay``, ``jitter``,
    ``retry_on``, ``timeout``, ``priority``, ``trigger_rule``; see ``@task``), the cache
    options (``cache``, ``cache_ttl``, ``cache_version``) and ``resources`` are not fields.
    A GPU request exports the granted devices as ``CUDA_VISIBLE_DEVICES`` to the command.
    Raises OptionError for an empty command or an invalid option, ShellCommandError (outside
    a workflow) on failure.
    """
    policy = make_policy(
        retries=retries,
        retry_delay=retry_delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        retry_on=retry_on,
        timeout=timeout,
        priority=priority,
        trigger_rule=trigger_rule,
    )
    caching = Caching.create(cache, cache_ttl, cache_version, task=name or "shell")
    spec = ShellTask(
        command, name=name, env=env, cwd=cwd, policy=policy, caching=caching,
        resources=resources,
    )  # fmt: skip
    missing = template_fields(command) - set(fields)
    if missing:
        raise OptionError(
            "command", command, f"no value given for field(s) {', '.join(sorted(missing))}"
        )
    builder = current_builder()
    if builder is None:
        return spec.run_here(**fields)
    return builder.add_call(spec, (), dict(fields), name)  # type: ignore[arg-type]
