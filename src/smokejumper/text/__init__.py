"""Understand what customers write: redaction, sentiment, themes, and their evaluation.

Importing this package is light: heavy libraries (torch, sentence-transformers,
scikit-learn, numpy) load only when a model is used.

- :mod:`~smokejumper.text.redact`: mask personal data (``redact``).
- :mod:`~smokejumper.text.sentiment`: VADER and a taught embedding model.
- :mod:`~smokejumper.text.embeddings`: all-MiniLM-L6-v2 (or a local folder), offline.
- :mod:`~smokejumper.text.themes`: taxonomy, zero-shot hybrid and keyword taggers.
- :mod:`~smokejumper.text.evaluate` and :mod:`~smokejumper.text.tasks`: metrics and
  ``smokejumper text eval``.
- :mod:`~smokejumper.text.registry`: text models by name, built-in or third party.

>>> from smokejumper.text import redact
>>> redact("mail me: a.b@example.com").text
'mail me: [EMAIL]'
"""

from __future__ import annotations

from smokejumper.text.redact import RedactionConfig, RedactionPattern, RedactionResult, redact

__all__ = ["RedactionConfig", "RedactionPattern", "RedactionResult", "redact"]
