"""``shell(...)``: a task that runs a command line as a subprocess.

The command is a template: ``shell("wc -l {path}", path=prepare_handle)`` fills ``{path}``
at run time with the (shell-quoted) result of the upstream task.
"""

from __future__ import annotations

import os
import shlex
import string
import subprocess
from collections.abc import Mapping
from typing import Any

from podium.errors import OptionError, ShellCommandError
from podium.model.building import current_builder


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
        self, command: str, *, name: str | None, env: Mapping[str, str] | None, cwd: str | None
    ) -> None:
        if not isinstance(command, str) or not command.strip():
            raise OptionError("command", command, "a shell task needs a non-empty command line")
        self.command = command
        self.name = name or "shell"
        self.env = dict(env) if env else None
        self.cwd = cwd
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
    **fields: Any,
) -> Any:
    """A shell task: runs ``command`` in its own process group; exit code 0 means success.

    stdout and stderr go to the attempt's log; the result is the command's stdout (a str).
    Inside a workflow, returns a handle; outside one, runs the command and returns stdout.
    ``fields`` fill ``{name}`` placeholders of the command (handles allowed), shell-quoted.
    Raises OptionError for an empty command, ShellCommandError (outside a workflow) on failure.
    """
    spec = ShellTask(command, name=name, env=env, cwd=cwd)
    missing = template_fields(command) - set(fields)
    if missing:
        raise OptionError(
            "command", command, f"no value given for field(s) {', '.join(sorted(missing))}"
        )
    builder = current_builder()
    if builder is None:
        return spec.run_here(**fields)
    return builder.add_call(spec, (), dict(fields), name)  # type: ignore[arg-type]
