"""The facade: one :class:`Workspace` owns the config, the stores and the engines.

Every CLI command, REST route and notebook call is a short adapter over one of
its methods.

>>> import tempfile
>>> ws = Workspace.init(tempfile.mkdtemp(), name="Doctest Telecom")
>>> ws.config.workspace.name
'Doctest Telecom'
>>> ws.analytics.row_count("responses")
0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokejumper.config import CONFIG_FILE, WorkspaceConfig, config_template, load_config
from smokejumper.errors import WorkspaceError
from smokejumper.reporter import Reporter, SilentReporter

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from smokejumper.drivers.workspace import DriverService
    from smokejumper.frontline import Frontline
    from smokejumper.ingest import IngestSummary
    from smokejumper.metrics import MetricsEngine
    from smokejumper.simulate import DemoSummary
    from smokejumper.smoke.scan import SmokeService
    from smokejumper.store import AnalyticsStore, OperationalStore
    from smokejumper.text.service import TextService

ENV_VAR = "SMOKEJUMPER_WORKSPACE"


def resolve_workspace_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: ``path``, else ``$SMOKEJUMPER_WORKSPACE``, else the current folder."""
    chosen = path if path is not None else os.environ.get(ENV_VAR) or Path.cwd()
    return Path(chosen).expanduser().resolve()


class Workspace:
    """A Smokejumper workspace: a folder with ``smokejumper.toml`` and its stores."""

    def __init__(self, path: str | os.PathLike[str] | None = None,
                 reporter: Reporter | None = None) -> None:
        self.root = resolve_workspace_path(path)
        config_file = self.root / CONFIG_FILE
        if not config_file.is_file():
            raise WorkspaceError(
                f"{self.root} is not a Smokejumper workspace (no {CONFIG_FILE}); "
                "create one with `smokejumper init DIR` or `smokejumper demo`"
            )
        self.config: WorkspaceConfig = load_config(config_file)
        self.reporter: Reporter = reporter or SilentReporter()

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | os.PathLike[str], *, name: str | None = None,
             dimensions: Sequence[str] | None = None, timezone: str = "UTC",
             force: bool = False, reporter: Reporter | None = None) -> Workspace:
        """Create a workspace folder with a commented ``smokejumper.toml`` and empty stores."""
        root = Path(path).expanduser().resolve()
        config_file = root / CONFIG_FILE
        if config_file.exists() and not force:
            raise WorkspaceError(f"{config_file} already exists (use --force to overwrite it)")
        root.mkdir(parents=True, exist_ok=True)
        config_file.write_text(
            config_template(name or root.name, tuple(dimensions) if dimensions else None,
                            timezone),
            encoding="utf-8",
        )
        workspace = cls(root, reporter=reporter)
        workspace.upgrade()
        return workspace

    @classmethod
    def create_demo(cls, path: str | os.PathLike[str], *, size: str = "small", seed: int = 7,
                    incidents: bool = True, force: bool = False,
                    reporter: Reporter | None = None) -> tuple[Workspace, DemoSummary]:
        """Build the demo company's workspace (data, ground truth) and load it."""
        from smokejumper.simulate import build_demo

        return build_demo(Path(path), size=size, seed=seed, incidents=incidents, force=force,
                          reporter=reporter or SilentReporter())

    # -- stores --------------------------------------------------------------------------------
    @cached_property
    def analytics(self) -> AnalyticsStore:
        """The analytical store, schema brought up to date on first use."""
        from smokejumper.store import AnalyticsStore

        store = AnalyticsStore(self.config.stores.analytics, self.root,
                               self.config.analysis.dimensions)
        store.ensure_schema()
        return store

    @cached_property
    def operational(self) -> OperationalStore:
        """The operational store, migrated to the latest revision on first use."""
        from smokejumper.store import OperationalStore

        store = OperationalStore(self.config.stores.operational, self.root)
        store.upgrade()
        return store

    def upgrade(self) -> dict[str, Any]:
        """Bring both stores to the latest schema; return the versions now in force."""
        return {"analytics": self.analytics.ensure_schema(),
                "operational": self.operational.upgrade()}

    def table(self, name: str) -> ir.Table:
        """An Ibis expression over a canonical table (``responses``, ``interactions``...) or
        a derived one the metrics read (``enriched_responses``, ``enriched_interactions``)."""
        from smokejumper.metrics.text import DERIVED

        if name in DERIVED:
            return self.metrics.table(name)  # type: ignore[no-any-return]
        return self.analytics.table(name)

    # -- capabilities --------------------------------------------------------------------------
    def ingest(self, files: Sequence[str | os.PathLike[str]], table: str, *,
               mapping: str | None = None) -> IngestSummary:
        """Load files into a canonical table; every row ends inserted, updated, duplicate
        or rejected, and the summary reconciles."""
        from smokejumper.ingest import ingest_files

        return ingest_files(self, [Path(f) for f in files], table, mapping=mapping)

    @cached_property
    def metrics(self) -> MetricsEngine:
        """The metric engine: ``ws.metrics.compute(["nps"], by=["touchpoint"], grain="month")``."""
        from smokejumper.metrics import MetricsEngine

        return MetricsEngine(self.analytics, self.config)

    @cached_property
    def smoke(self) -> SmokeService:
        """Smoke detection: ``ws.smoke.scan(since="2025-06-01")`` returns alerts."""
        from smokejumper.smoke.scan import SmokeService

        return SmokeService(self)

    @cached_property
    def frontline(self) -> Frontline:
        """Fair rankings, skill profiles, coaching pairs: ``ws.frontline.rank()``."""
        from smokejumper.frontline import Frontline

        return Frontline(self)

    @cached_property
    def drivers(self) -> DriverService:
        """Key driver analysis: ``ws.drivers.analyse(outcome="nps")``."""
        from smokejumper.drivers.workspace import DriverService

        return DriverService(self)

    @cached_property
    def text(self) -> TextService:
        """Text enrichment: ``ws.text.enrich(source="responses", model="vader")``."""
        from smokejumper.text.service import TextService

        return TextService(self)

    def close(self) -> None:
        if "analytics" in self.__dict__:
            self.analytics.close()
        if "operational" in self.__dict__:
            self.operational.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"
