"""How long work tells people what it is doing, without the core ever printing.

The core calls a :class:`Reporter`; the CLI passes a Rich one, the API a JSON
one, tests the silent one. (After SQLMesh's ``core/console.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Progress(Protocol):
    def advance(self, amount: float = 1) -> None: ...


class Reporter(Protocol):
    """What the core may say: progress on long work, and short messages."""

    def progress(
        self, description: str, total: float | None = None
    ) -> AbstractContextManager[Progress]: ...

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


class _NullProgress:
    def advance(self, amount: float = 1) -> None:
        return None


class SilentReporter:
    """Says nothing; the default for library calls and tests."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Progress]:
        yield _NullProgress()

    def info(self, message: str) -> None:
        self.messages.append(("info", message))

    def warn(self, message: str) -> None:
        self.messages.append(("warn", message))

