"""The ``smokejumper`` command line: thin adapters over :class:`smokejumper.Workspace`."""

from smokejumper.cli.app import app, main

__all__ = ["app", "main"]
