"""The vectors that ``enrich --adapt N`` embedded its sample with, kept in the workspace so
that the next run adapting to the same sample (:mod:`smokejumper.text.adaptation_pool`)
reads them instead of embedding every text again: on a CPU that is most of the time an
adaptation takes.

One file per embedding model and runtime, ``cache/adaptation-<model>-<tag>.npz`` under
the workspace: the SHA-256 of each text embedded while adapting (its text is not kept)
and its vector. The tag is a digest of the model folder's files and of the runtime
settings, so vectors of another model are never read. The file is a cache: deleting it
costs the next run the embedding time and changes no result; a file that cannot be read is
left aside with a warning.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokejumper.reporter import Reporter, SilentReporter

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.text.embeddings import Embedder

#: the folder, under the workspace, that holds the kept vectors
FOLDER = Path("cache")


def vectors_path(folder: Path, embedder: Embedder) -> Path:
    """Where ``embedder``'s kept vectors live: named by its model, tagged by the contents
    of every file of the model folder (subfolders too) and the runtime settings that change
    a vector (backend, normalisation; not the device: a GPU's vectors differ from a CPU's
    by rounding only)."""
    from smokejumper.text.onnx_backend import model_digest

    config = embedder.config
    tag = hashlib.sha256(repr((model_digest(embedder.model_path, contents=True),
                               config.backend, config.normalize)).encode()).hexdigest()[:12]
    return folder / f"adaptation-{embedder.model_id}-{tag}.npz"


def read_vectors(path: Path, reporter: Reporter | None = None) -> dict[bytes, np.ndarray]:
    """The vectors kept at ``path`` by text key (none when there is no file; a file that
    cannot be read is left aside with a warning)."""
    import numpy as np

    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, vectors = data["keys"], data["vectors"]
        if keys.ndim != 2 or keys.shape[1] != 32 or vectors.ndim != 2 or \
                len(keys) != len(vectors) or vectors.dtype != np.float32:
            raise ValueError("keys and vectors do not match")
    except Exception as exc:  # noqa: BLE001 - a cache: whatever is wrong, embed again
        (reporter or SilentReporter()).warn(
            f"kept adaptation vectors in {path} cannot be read "
            f"({type(exc).__name__}: {exc}); embedding again")
        return {}
    return {key.tobytes(): vector for key, vector in zip(keys, vectors, strict=True)}


def write_vectors(path: Path, vectors: Mapping[bytes, np.ndarray]) -> None:
    """Keep ``vectors`` at ``path`` (written aside, then moved in place)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.frombuffer(b"".join(vectors), dtype=np.uint8).reshape(len(vectors), 32)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        with partial.open("wb") as handle:
            np.savez(handle, keys=keys,
                     vectors=np.stack(list(vectors.values())).astype(np.float32, copy=False))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def kept_vectors(folder: Path | None, embedders: Sequence[Embedder],
                 reporter: Reporter | None = None) -> Iterator[None]:
    """While the block runs, each of ``embedders`` takes the vectors kept in ``folder``
    for the texts it is asked to embed; when the block ends without an error, the vectors
    of every text embedded in it are kept for the next run (in place of the old ones, so
    the file holds the last adaptation's texts only). Nothing is kept with no ``folder``.
    """
    if folder is None or not embedders:
        yield
        return
    runs: list[tuple[Path, Mapping[bytes, Any], dict[bytes, Any]]] = []
    with ExitStack() as stack:
        for embedder in embedders:
            path = vectors_path(folder, embedder)
            kept = read_vectors(path, reporter)
            runs.append((path, kept, stack.enter_context(embedder.keeping(kept))))
        yield
    for path, before, recorded in runs:
        if recorded and recorded.keys() != before.keys():
            write_vectors(path, recorded)


__all__ = ["FOLDER", "kept_vectors", "read_vectors", "vectors_path", "write_vectors"]
