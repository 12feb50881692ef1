"""Expected errors. The CLI catches these once and maps them to exit codes."""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 3


MAX_MESSAGE = 2000  # characters: a message quoting a hostile value stays a line, never megabytes


class ConfigError(AuditorError):
    """A malformed input file or option. ``location`` names file, line and field.

    ``message`` is cut to ``MAX_MESSAGE`` characters: the last guard for a message that quotes what a
    hostile file holds (callers quote values through ``auditor.yamlio.brief`` in the first place).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + f"... ({len(message) - MAX_MESSAGE:,} more characters not shown)"
        self.file = file
        self.line = line
        self.field = field
        where = []
        if file:
            where.append(file if line is None else f"{file}:{line}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class ConfigProblemsError(ConfigError):
    """Every problem of one file, reported at once (a user fixes them in one pass, not one per run).

    ``problems`` each name their line and field; the first also gives this error its location.
    """

    def __init__(self, problems: list[ConfigError]) -> None:
        if not problems:
            raise ValueError("ConfigProblemsError needs at least one problem")
        self.problems = tuple(problems)
        first = problems[0]
        super().__init__(f"{len(problems)} problems: " + "; ".join(str(p) for p in problems), file=first.file,
                         line=first.line, field=first.field)

    def lines(self) -> list[str]:
        """One line a problem, as the CLI prints them."""
        return [str(p) for p in self.problems]


class MissingData(Exception):  # noqa: N818 - a condition signal, not a failure of the tool
    """A rule needed a value that was not collected; the finding becomes ERROR."""
