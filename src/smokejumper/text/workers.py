"""Enrichment on several CPU cores.

With lexicon models (VADER sentiment, keyword themes or none) every text is pure CPU work in
Python, which one process runs on one core. :class:`WorkerPool` spreads each page's texts
over worker processes instead: the page is cut into one slice per worker, each worker runs
:func:`~smokejumper.text.enrich.enrich_texts` on its slice with its own copy of the models,
and the results come back in order, so a run gives exactly the rows one process gives.
Reading pages and writing rows stay in the calling process.

Models that embed text (``embedding``, ``setfit``, ``hybrid``) stay in one process: their
work is the encoder's, which already uses every core (or the GPU), and each worker would
load a copy of it. The workers start with the first page that has enough texts to share
(``MIN_TEXTS_PER_WORKER`` each), so a small run never pays for starting them. Models that
cannot be copied into another process (one registered from a notebook, say) run in the
calling process, with a warning, and so does the rest of a run whose workers stopped.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smokejumper.reporter import Reporter, SilentReporter

if TYPE_CHECKING:
    from smokejumper.text.enrich import EnrichmentModels, TextEnrichment

#: a page shares its texts only when each worker gets at least this many
MIN_TEXTS_PER_WORKER = 200
#: workers when the request names none: the machine's cores, at most this many
MAX_AUTO_WORKERS = 8


def auto_workers() -> int:
    """The machine's cores (those this process may use), at most ``MAX_AUTO_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_WORKERS))


def shareable(models: EnrichmentModels) -> bool:
    """Whether the models are lexicon models of this package (nothing embeds text)."""
    for model in (models.sentiment, models.themes):
        if model is None:
            continue
        if getattr(model, "embedder", None) is not None:
            return False
        if not type(model).__module__.startswith("smokejumper."):
            return False
    return True


class WorkerPool:
    """Runs :func:`~smokejumper.text.enrich.enrich_texts` for one run's models, on
    ``workers`` processes when the models allow it (see the module docstring), else here.

    The workers are plain ``python -m smokejumper.text.workers`` processes that read
    pickled requests on their standard input and answer on their standard output, so
    nothing of the calling program is imported again in them (a script needs no
    ``if __name__ == "__main__"`` guard). ``processes`` holds the ids of the processes
    that enriched texts (the caller's own when none did); use the pool as a context
    manager so that the workers stop with the run.
    """

    def __init__(self, models: EnrichmentModels, workers: int,
                 reporter: Reporter | None = None) -> None:
        self.models = models
        self.workers = workers if workers > 1 and shareable(models) else 1
        self.reporter = reporter or SilentReporter()
        self.processes: set[int] = set()
        self._started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self.close(kill=kind is not None)  # after an error a worker may be mid-answer

    def close(self, kill: bool = False) -> None:
        """Stop the workers (if any were started): they end when their input does, or at
        once with ``kill`` (one may be stuck writing an answer nobody will read)."""
        started, self._started = self._started, []
        for process in started:
            if kill:
                process.kill()
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

    def enrich(self, texts: Sequence[str], transcripts: bool = False
               ) -> list[TextEnrichment]:
        """The enrichment of each text, in order. An error a model raised in a worker is
        raised here, as it would be in this process."""
        from smokejumper.text.enrich import enrich_texts

        if not texts:
            return []
        slices = self._slices(texts)
        if len(slices) > 1 and self._start():
            working = self._started[:len(slices)]
            try:
                for process, piece in zip(working, slices, strict=True):
                    _send(process, (piece, transcripts))
                answers = [_receive(process) for process in working]
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                self._give_up(f"the enrichment workers stopped ({exc or type(exc).__name__})")
            except BaseException:
                self.close(kill=True)  # answers may be left unread: no worker is used again
                self.workers = 1
                raise
            else:
                for failed, value in answers:
                    if failed:
                        raise value
                self.processes.update(process.pid for process in working)
                return [result for _, results in answers for result in results]
        self.processes.add(os.getpid())
        return enrich_texts(texts, self.models, transcripts)

    def _slices(self, texts: Sequence[str]) -> list[list[str]]:
        count = min(self.workers, len(texts) // MIN_TEXTS_PER_WORKER)
        if count < 2:
            return [list(texts)]
        size, extra = divmod(len(texts), count)
        slices, start = [], 0
        for index in range(count):
            end = start + size + (index < extra)
            slices.append(list(texts[start:end]))
            start = end
        return slices

    def _start(self) -> bool:
        """Start the workers (once); False when this run enriches in this process."""
        if self.workers < 2:
            return False
        if self._started:
            return True
        try:
            blob = pickle.dumps(self.models)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            self._give_up(f"the models cannot be copied to worker processes ({exc})")
            return False
        # the workers import this very package, wherever it was imported from here (last:
        # an installed package is found first where it is installed)
        package_root = str(Path(__file__).resolve().parents[2])
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [*filter(None, [os.environ.get("PYTHONPATH")]), package_root])}
        try:
            for _ in range(self.workers):  # all start at once; each reads its models
                self._started.append(subprocess.Popen(
                    [sys.executable, "-m", "smokejumper.text.workers"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment))
            for process in self._started:
                _send(process, blob, pickled=True)
        except OSError as exc:
            self._give_up(f"the enrichment workers could not start ({exc})")
            return False
        return True

    def _give_up(self, why: str) -> None:
        self.reporter.warn(f"{why}; enriching in this process")
        self.close(kill=True)
        self.workers = 1


# -- the two ends of a pipe: 8-byte length, then a pickle ------------------------------------------

def _send(process: subprocess.Popen[bytes], message: Any, pickled: bool = False) -> None:
    assert process.stdin is not None
    _write(process.stdin, message if pickled else pickle.dumps(message,
                                                               pickle.HIGHEST_PROTOCOL))


def _receive(process: subprocess.Popen[bytes]) -> Any:
    assert process.stdout is not None
    return _read(process.stdout)


def _write(stream: IO[bytes], blob: bytes) -> None:
    stream.write(struct.pack("<Q", len(blob)))
    stream.write(blob)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("a worker ended before answering")
    (size,) = struct.unpack("<Q", head)
    blob = stream.read(size)
    if len(blob) < size:
        raise EOFError("a worker ended before answering")
    return pickle.loads(blob)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A worker's loop: the models first, then (texts, transcripts) requests, each answered
    with (False, the texts' enrichments) or, when a model raised, (True, the error), until
    the input ends."""
    from smokejumper.text.enrich import enrich_texts

    try:
        models = _read(requests)
    except EOFError:
        return
    while True:
        try:
            texts, transcripts = _read(requests)
        except EOFError:
            return
        try:
            answer = pickle.dumps((False, enrich_texts(texts, models, transcripts)),
                                  pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, who raises it
            answer = _error_answer(exc)
        _write(answers, answer)


def _error_answer(exc: Exception) -> bytes:
    try:
        return pickle.dumps((True, exc), pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an error that does not pickle: its text
        from smokejumper.errors import TextError

        return pickle.dumps((True, TextError(f"{type(exc).__name__}: {exc}")),
                            pickle.HIGHEST_PROTOCOL)


def _main() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run; its end stops us
    # the answers get their own descriptor; whatever else writes to the standard output
    # (a library's print, a C extension) goes to the standard error instead
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    _main()


__all__ = ["MAX_AUTO_WORKERS", "MIN_TEXTS_PER_WORKER", "WorkerPool", "auto_workers", "serve",
           "shareable"]
