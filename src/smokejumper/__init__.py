"""Smokejumper: an open-source customer-experience platform.

>>> import smokejumper
>>> smokejumper.__version__
'0.1.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smokejumper.errors import SmokejumperError

__version__ = "0.1.0"
__all__ = ["SmokejumperError", "Workspace", "__version__"]

if TYPE_CHECKING:
    from smokejumper.workspace import Workspace


def __getattr__(name: str) -> Any:
    # The facade is imported on first use so that `import smokejumper` stays light.
    if name == "Workspace":
        from smokejumper.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'smokejumper' has no attribute {name!r}")
