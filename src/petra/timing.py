"""Where a unit's wall time goes: named parts timed exclusively, so a part inside another (scoring
inside a fine-tuning) counts once, as itself, and the parts add up to the time they cover."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

UNTIMED = "other"  # the unit's wall time no part covered


class TimeProfile:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._open: list[list] = []  # [name, start, seconds of the parts inside it]
        self._born = perf_counter()

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        entry = [name, perf_counter(), 0.0]
        self._open.append(entry)
        try:
            yield
        finally:
            self._open.pop()
            elapsed = perf_counter() - entry[1]
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - entry[2]
            if self._open:
                self._open[-1][2] += elapsed

    def skip(self, seconds: float) -> None:
        """Leave the last ``seconds`` out of every open part and of the wall time: time spent on other
        work (a unit of a run.ensemble group waiting while the others go on)."""
        for entry in self._open:
            entry[1] += seconds
        self._born += seconds

    def table(self) -> dict[str, float]:
        """Seconds per part, and under ``other`` the wall time since creation no part covered."""
        covered = sum(self.seconds.values())
        return {**self.seconds, UNTIMED: max(0.0, perf_counter() - self._born - covered)}
