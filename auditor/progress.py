"""Progress reporting, as a small interface the collectors call and the CLI implements."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def add_total(self, n: int) -> None:
        """More work units became known (e.g. a list call returned n resources to describe)."""

    def advance(self, n: int = 1) -> None:
        """n work units finished (successfully or not)."""


class NoProgress:
    def add_total(self, n: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None
