"""Progress reporting, as a small interface the collectors call and the CLI implements."""

from __future__ import annotations

from typing import Protocol

Lane = tuple[str, str]  # (service, region or subscription): a unit of collection work


class Progress(Protocol):
    def add_total(self, n: int) -> None:
        """More work units became known (e.g. a list call returned n resources to describe)."""

    def advance(self, n: int = 1) -> None:
        """n work units finished (successfully or not)."""

    def lane_open(self, lane: Lane) -> None:
        """A lane that had no work has work again."""

    def lane_done(self, lane: Lane, calls: int) -> None:
        """A lane has no work queued or running; ``calls``: the work units it has run so far."""


class ClosingProgress(Progress, Protocol):
    def close(self) -> None:
        """The work is over: finish the bar, stop the heartbeat."""


class NoProgress:
    def add_total(self, n: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None

    def lane_open(self, lane: Lane) -> None:
        return None

    def lane_done(self, lane: Lane, calls: int) -> None:
        return None

    def close(self) -> None:
        return None
