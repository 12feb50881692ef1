"""The commands' console options: ``--quiet``, ``--verbose`` and ``--log-format``, handed over as one ``console``.

One decorator adds the three options, builds the :class:`~auditor.console.Console` and routes Python
logging through it while the command runs, so every command that scans or renders prints the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from auditor.console import LOG_FORMATS, Console


def console_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet, --verbose and --log-format, handed to the command as one ``console`` (a Console)."""
    @functools.wraps(f)
    def command(*args: Any, quiet: bool, verbose: bool, log_format: str, **kwargs: Any) -> Any:
        if quiet and verbose:
            raise click.UsageError("--quiet and --verbose contradict each other: choose one")
        console = Console(log_format=log_format, verbose=verbose, quiet=quiet)
        with console.capturing_logs():
            return f(*args, console=console, **kwargs)

    options = [
        click.option("--quiet", is_flag=True,
                     help="No progress and no summary (errors an SDK logs still show)."),
        click.option("--verbose", is_flag=True,
                     help="Also every finished lane of work on a terminal, and the SDKs' warnings (retries)."),
        click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
                     help="Console lines as text or as JSON lines (one object a line: time, level, event, "
                          "message and the event's fields), for log pipelines."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
