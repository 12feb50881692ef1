"""Output formats: each renders a ScanResult to one file in the output directory.

The formats are the table :data:`auditor.outputs.formats.FORMATS` (``--format`` name, file, renderer
module); ``write_outputs`` renders and writes those asked, ``check_out_dir`` checks the directory first.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from auditor.atomic import LONE_SURROGATE, utf8, write_atomically
from auditor.errors import ConfigError
from auditor.model import ScanResult
from auditor.outputs.formats import OutputFormat, by_name


@dataclass(frozen=True, slots=True)
class OutputFailure:
    """An asked format that is not in the output directory, and why."""

    name: str  # the --format value
    path: Path  # where it should have been written
    reason: str  # one line: what failed (rendering or writing) and the error
    rescued: Path | None = None  # where it was written instead, when only the output directory failed


@dataclass(frozen=True, slots=True)
class Outputs:
    """What ``write_outputs`` did: the files written, the formats that failed, the links it replaced."""

    written: tuple[Path, ...]
    failed: tuple[OutputFailure, ...] = ()
    replaced_links: tuple[tuple[Path, str], ...] = ()  # (the output, the target the symbolic link there had)


Content = bytes | Callable[[], Iterator[bytes]]  # rendered, or a streaming format's pieces (each call anew)


def write_outputs(result: ScanResult, formats: Sequence[str], out_dir: Path) -> Outputs:
    """Render each format (duplicates ignored) and write it into ``out_dir``.

    Every format is rendered before anything is written (a streaming format, findings.json, is rendered
    into its temporary file as it is written, after the others), and each file is replaced atomically
    (``auditor.atomic``), so a failure never leaves a half-written report beside a fresh one. One format
    failing (a bug in its renderer, a file that cannot be written) costs only that format: the others are
    written, and the failure is returned, never raised. Outputs the output directory could not take are
    written into a new private temporary directory instead (``OutputFailure.rescued``): collected findings
    are never lost to a late failure. Lone surrogates (which no UTF-8 file can hold) are written as U+FFFD.
    """
    registry = by_name()
    unknown = [name for name in formats if name not in registry]
    if unknown:
        available = ", ".join(sorted(registry))
        raise ConfigError(f"unknown output format {unknown[0]!r}; available: {available}", field="--format")
    failed: list[OutputFailure] = []
    rendered: list[tuple[str, Path, Content]] = []
    for output in (registry[name] for name in dict.fromkeys(formats)):
        path = out_dir / output.filename
        if output.streaming:  # rendered as it is written, below
            rendered.append((output.name, path, _streamed(output, result)))
            continue
        try:
            rendered.append((output.name, path, utf8(output.render(result))))
        except Exception as exc:  # noqa: BLE001 - a renderer's bug is reported, and costs only its format
            failed.append(OutputFailure(output.name, path, f"could not be rendered: {_error_text(exc)}"))
    written: list[Path] = []
    links: list[tuple[Path, str]] = []
    unwritten: list[tuple[str, Path, Content, str]] = []
    for name, path, data in rendered:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            link = write_atomically(path, _bytes(data))
        except _RenderError as exc:
            failed.append(OutputFailure(name, path, f"could not be rendered: {_error_text(exc.error)}"))
            continue
        except OSError as exc:
            unwritten.append((name, path, data, f"could not be written: {_error_text(exc)}"))
            continue
        written.append(path)
        if link is not None:
            links.append((path, link))
    failed += _rescue(unwritten)
    return Outputs(tuple(written), tuple(failed), tuple(links))


class _RenderError(Exception):
    """A streaming format's renderer failed while its file was written (not the file: the renderer)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _streamed(output: OutputFormat, result: ScanResult) -> Callable[[], Iterator[bytes]]:
    def pieces() -> Iterator[bytes]:
        produced = iter(output.chunks(result))
        while True:
            try:
                text = next(produced)
            except StopIteration:
                return
            except Exception as exc:
                raise _RenderError(exc) from exc
            yield utf8(text)

    return pieces


def _bytes(data: Content) -> bytes | Iterator[bytes]:
    return data if isinstance(data, bytes) else data()


def check_out_dir(out_dir: Path) -> None:
    """Before any API call: ``out_dir`` is, or can be created as, a directory that takes a new file.

    ConfigError (exit 3) naming ``--out`` otherwise, so that a scan never runs for minutes only to find
    that its results have nowhere to go. The check creates what is missing and creates and removes a temporary
    file in ``out_dir`` (as an output's). It then removes ``out_dir`` if it made it, but keeps any parent it
    made: N shard jobs commonly check ``shared/shard-K`` at once, and removing a parent another job has just
    found (or is about to create its own directory in) would fail that job. A parent another job creates at the
    same moment is taken as found.
    """
    missing = []
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        where = "exists and is not a directory" if existing == out_dir else f"{existing} is not a directory"
        raise ConfigError(f"cannot hold the outputs: {where}", file=str(out_dir), field="--out")
    made = False
    try:
        for directory in reversed(missing):
            try:
                directory.mkdir()
            except FileExistsError:
                if not directory.is_dir():
                    raise
            else:
                made = directory == out_dir
        fd, probe = tempfile.mkstemp(prefix=".auditor-probe.", suffix=".tmp", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"cannot write the outputs there: {exc.strerror or exc}", file=str(out_dir),
                          field="--out") from exc
    finally:
        if made:
            with suppress(OSError):
                out_dir.rmdir()


def _error_text(exc: BaseException) -> str:
    """One line naming the error, cut short (the message may quote hostile text)."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:200] + "..."
    return f"{type(exc).__name__}: {LONE_SURROGATE.sub('?', text)}" if text else type(exc).__name__


def _rescue(unwritten: Sequence[tuple[str, Path, Content, str]]) -> list[OutputFailure]:
    """Write what the output directory did not take into a new private directory (mode 0700)."""
    if not unwritten:
        return []
    try:
        rescue_dir: Path | None = Path(tempfile.mkdtemp(prefix="auditor-unwritten-"))
    except OSError:
        rescue_dir = None
    failures = []
    for name, path, data, reason in unwritten:
        rescued = None
        if rescue_dir is not None:
            try:
                write_atomically(rescue_dir / path.name, _bytes(data))
                rescued = rescue_dir / path.name
            except (OSError, _RenderError):
                rescued = None
        failures.append(OutputFailure(name, path, reason, rescued))
    return failures
