"""``auditor demo --serve``: the demo estate kept up on loopback until a signal stops it.

:func:`serve` starts the sandbox (:func:`auditor.demo.sandbox.serving_demo`), prints the ``export`` lines a
shell sources to point ``auditor`` (``scan``, ``remediate plan/apply/rollback``), the AWS CLI, boto3 and
azure-identity at it, writes the ``--port-file`` when asked, and waits. SIGINT (Ctrl-C), SIGTERM and SIGHUP
stop it: both servers are closed, the temporary directories (fake ``az``, the throwaway CA) and the port file
are removed. A signal during start-up stops it as soon as the servers are up, never half-way.

The port file is JSON (:func:`auditor.demo.sandbox.sandbox_document`), written atomically once the estate is
seeded and serving (its appearance means "ready") and removed when the sandbox stops.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from auditor.errors import ConfigError

_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def check_port_file(port_file: Path) -> None:
    """Exit 3 (ConfigError) before anything starts when ``port_file`` cannot be written where it is asked."""
    parent = port_file.parent
    if port_file.is_dir():
        raise ConfigError(f"{port_file} is a directory", field="--port-file")
    if not parent.is_dir():
        raise ConfigError(f"the directory of {port_file} does not exist", field="--port-file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"the directory of {port_file} is not writable", field="--port-file")


def serve(port_file: Path | None, emit: Callable[[str], None], say: Callable[[str], None]) -> str:
    """Serve the demo estate until SIGINT, SIGTERM or SIGHUP; return the name of the signal that stopped it.

    ``emit`` gets each ``export`` line (stdout: a shell sources them), ``say`` the messages for a person.
    """
    from auditor.demo.run import require_demo_extra

    require_demo_extra()
    from auditor.demo.sandbox import export_lines, sandbox_document, serving_demo

    with _stopped_by_signals() as stopped, serving_demo() as sandbox:
        if stopped:
            return stopped[0]
        for line in export_lines(sandbox):
            emit(line)
        text = json.dumps(sandbox_document(sandbox, os.getpid()), indent=2) + "\n"
        with _port_file(port_file, text):
            say(f"auditor: demo estate served: AWS (moto) at {sandbox.aws_endpoint}, regions "
                f"{', '.join(sandbox.aws_regions)}; Azure Resource Manager stand-in at {sandbox.arm_endpoint}, "
                f"{len(sandbox.subscriptions)} subscriptions")
            say("auditor: source the export lines (stdout) in the shell that runs auditor, e.g. auditor demo --serve "
                "> sandbox.env here and . ./sandbox.env there; Ctrl-C stops the estate (every change is forgotten)")
            _wait(stopped)
    say(f"auditor: {stopped[0]}: the demo estate stopped; its servers are closed and its temporary files removed")
    return stopped[0]


def _wait(stopped: list[str]) -> None:
    event = threading.Event()
    while not stopped:  # the handlers append; a short wait keeps signal delivery prompt in the main thread
        event.wait(0.2)


@contextmanager
def _stopped_by_signals() -> Iterator[list[str]]:
    """For the block, SIGINT, SIGTERM and SIGHUP append their name to the yielded list instead of ending the
    process (or raising KeyboardInterrupt); the previous handlers are restored afterwards."""
    stopped: list[str] = []

    def handler(signum: int, frame: object) -> None:
        stopped.append(signal.Signals(signum).name)

    previous = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield stopped
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


@contextmanager
def _port_file(port_file: Path | None, text: str) -> Iterator[None]:
    """Write ``text`` to ``port_file`` for the block (atomically), then remove it if it still holds ``text``."""
    if port_file is None:
        yield
        return
    from auditor.atomic import utf8, write_atomically

    data = utf8(text)
    try:
        write_atomically(port_file, data)
    except OSError as e:
        raise ConfigError(f"cannot write {port_file}: {e.strerror or e}", field="--port-file") from e
    try:
        yield
    finally:
        with suppress(OSError):
            if port_file.read_bytes() == data:  # not a file someone else wrote there since
                port_file.unlink()
