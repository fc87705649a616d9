"""all-MiniLM-L6-v2 (or any BERT-like sentence model with mean pooling) on ONNX Runtime.

The model is exported once from the local folder with ``torch.onnx.export`` (nothing is
downloaded) and cached under ``$SMOKEJUMPER_CACHE`` (default ``~/.cache/smokejumper``),
keyed by a hash of the model folder's files. Texts are tokenised with the folder's fast
tokenizer, run in length-sorted batches, mean-pooled over the attention mask and scaled
to unit length: the same vectors as sentence-transformers (cosine ≥ 0.99999), about
twice as fast on a CPU.

``quantized`` runs an int8 copy (dynamic quantisation of the MatMul weights, per output
channel, made once with ``onnxruntime.quantization`` next to the fp32 export): faster
again, with vectors at cosine ~0.99 (mean) to fp32 ones; ``bench/text_bench.py`` reports
what it changes in sentiment labels and themes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import

CACHE_ENV = "SMOKEJUMPER_CACHE"


def cache_folder() -> Path:
    """Where exported models are kept (``$SMOKEJUMPER_CACHE`` or ``~/.cache/smokejumper``)."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "smokejumper"


def model_digest(folder: Path, contents: bool = False) -> str:
    """A short hash of a model folder's file names and sizes (cheap, changes with the model)
    or, with ``contents``, of what every file holds (also when a retrained model's files
    keep their sizes).

    >>> import tempfile
    >>> len(model_digest(Path(tempfile.mkdtemp())))
    12
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}\n".encode())
        if contents:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def _pooling_is_mean(folder: Path) -> bool:
    config = folder / "1_Pooling" / "config.json"
    if not config.is_file():
        return True
    data = json.loads(config.read_text(encoding="utf-8"))
    return bool(data.get("pooling_mode_mean_tokens", True)) and not any(
        data.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                              "pooling_mode_mean_sqrt_len_tokens"))


def _max_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


def export_onnx(folder: Path, target: Path) -> Path:
    """Export the transformer of ``folder`` to ``target`` (inputs: ids, mask, type ids)."""
    torch = optional_import("torch")
    transformers = optional_import("transformers")
    model = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True)
    model.eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")

    class Hidden(torch.nn.Module):  # type: ignore[misc,name-defined]
        """The transformer called by keyword (its positional order varies by version)."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    import warnings

    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Hidden(), tuple(sample[n] for n in names), str(partial),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
    except ModuleNotFoundError as exc:
        raise TextError(f"exporting to ONNX needs {exc.name}: pip install "
                        "\"smokejumper[text]\"") from exc
    partial.replace(target)
    return target


def quantize_onnx(source: Path, target: Path) -> Path:
    """An int8 copy of ``source``: MatMul weights quantised per output channel, activations
    quantised on the fly (per-channel MatMul-only keeps the vectors far closer to fp32 than
    quantising every op per tensor: cosine mean ~0.99 against ~0.95)."""
    import logging

    quantization = optional_import("onnxruntime.quantization")
    partial = target.with_suffix(".partial")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice is noise here
    try:
        quantization.quantize_dynamic(str(source), str(partial), per_channel=True,
                                      op_types_to_quantize=["MatMul"],
                                      weight_type=quantization.QuantType.QInt8)
    finally:
        root.setLevel(level)
    partial.replace(target)
    return target


def default_threads() -> int:
    """The cores this process may use (``intra_op_num_threads``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxSentenceModel:
    """The subset of ``SentenceTransformer`` the :class:`~.embeddings.Embedder` uses."""

    def __init__(self, folder: Path, threads: int | None = None,
                 quantized: bool = False) -> None:
        if not _pooling_is_mean(folder):
            raise TextError(f"the onnx backend supports mean-pooling models only; {folder} "
                            "uses another pooling")
        ort = optional_import("onnxruntime")
        transformers = optional_import("transformers")
        self.folder = folder
        self.max_length = _max_length(folder)
        self.path = cache_folder() / "onnx" / f"{folder.name}-{model_digest(folder)}.onnx"
        if not self.path.is_file():
            export_onnx(folder, self.path)
        if quantized:
            fp32 = self.path
            self.path = fp32.with_name(fp32.stem + "-int8.onnx")
            if not self.path.is_file():
                quantize_onnx(fp32, self.path)
        self.quantized = quantized
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or default_threads()
        self.session = ort.InferenceSession(str(self.path), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder),
                                                                    local_files_only=True)
        self._dimension: int | None = None

    def get_sentence_embedding_dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.encode(["x"]).shape[1])
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, normalize_embeddings: bool = True,
               **_: Any) -> Any:
        """Unit vectors for ``texts`` (float32), batched by length like sentence-transformers."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: Any = None
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            tokens = self.tokenizer([texts[i] for i in chosen], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np")
            feed = {name: tokens[name].astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = tokens["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize_embeddings:
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[chosen] = pooled
        if out is None:
            return np.zeros((0, 0), dtype=np.float32)
        return out
