"""Build the demo workspace: generate the company, write its Parquet files and ground truth,
load the files through the ordinary ingest path, and summarise what was built."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from smokejumper.errors import WorkspaceError
from smokejumper.reporter import Reporter, SilentReporter
from smokejumper.simulate import model as m
from smokejumper.simulate.generate import SIDECAR_NAMES, TABLE_NAMES, Simulation
from smokejumper.simulate.taxonomy import demo_themes_toml
from smokejumper.simulate.truth import TRUTH_FILE, ground_truth

if TYPE_CHECKING:
    import pandas as pd

    from smokejumper.workspace import Workspace

DATA_DIR = "data"
#: what a forced rebuild removes (only the embedded default stores and what the demo wrote)
REBUILT = ("analytics.duckdb", "analytics.duckdb.wal", "operational.db", DATA_DIR, "rejects",
           TRUTH_FILE)


@dataclass
class Company:
    """The demo company in memory: canonical tables, truth sidecars and the ground truth."""

    tables: dict[str, pa.Table]
    sidecars: dict[str, pa.Table]
    truth: dict[str, Any]
    simulation: Simulation = field(repr=False)

    def frame(self, name: str) -> pd.DataFrame:
        """A table (canonical or sidecar) as a pandas DataFrame."""
        table = self.tables[name] if name in self.tables else self.sidecars[name]
        return table.to_pandas()


def generate_company(size: str = "small", seed: int = 7, incidents: bool = True,
                     reporter: Reporter | None = None, customers: int | None = None) -> Company:
    """Generate the demo company in memory, touching no disk (use small or medium here;
    :func:`build_demo` streams the large one to disk block by block). ``customers``
    scales the customer base down (or up) while keeping the size's staff.

    >>> company = generate_company("small", seed=7, customers=500)
    >>> company.tables["customers"].num_rows
    500
    >>> [i["segment"] for i in company.truth["incidents"]][0]
    {'touchpoint': 'app'}
    """
    sim = Simulation(size, seed, incidents, customers=customers)
    parts: dict[str, list[pa.Table]] = {}
    with (reporter or SilentReporter()).progress("Generating the demo company",
                                                 total=sim.n_blocks) as progress:
        for block in sim.blocks():
            for name, table in block.items():
                parts.setdefault(name, []).append(table)
            progress.advance(1)
    tables = {name: pa.concat_tables(parts[name]) for name in TABLE_NAMES}
    sidecars = {name: pa.concat_tables(parts[name]) for name in SIDECAR_NAMES}
    return Company(tables, sidecars, ground_truth(sim), sim)


@dataclass(frozen=True)
class DemoSummary:
    """What ``smokejumper demo`` built and where it is."""

    workspace: str
    name: str
    size: str
    seed: int
    incidents_planted: bool
    period_start: str
    period_end: str
    rows: dict[str, int]
    touchpoints: tuple[str, ...]
    channels: tuple[str, ...]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    teams: int
    agents: int
    sites: int
    incidents: tuple[dict[str, Any], ...]
    data_dir: str
    ground_truth: str
    seconds: dict[str, float]
    next_commands: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


def _clear(root: Path) -> None:
    for name in REBUILT:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _themes_toml() -> str:
    return demo_themes_toml()


def write_company(sim: Simulation, data_dir: Path, reporter: Reporter) -> dict[str, int]:
    """Stream every block of the simulation into one Parquet file per table."""
    data_dir.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    rows: dict[str, int] = {}
    try:
        with reporter.progress("Generating the demo company", total=sim.n_blocks) as progress:
            for block in sim.blocks():
                for name, table in block.items():
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(data_dir / f"{name}.parquet",
                                                         table.schema)
                    writers[name].write_table(table)
                    rows[name] = rows.get(name, 0) + table.num_rows
                progress.advance(1)
    finally:
        for writer in writers.values():
            writer.close()
    return rows


def build_demo(directory: Path, *, size: str = "small", seed: int = 7, incidents: bool = True,
               force: bool = False,
               reporter: Reporter | None = None) -> tuple[Workspace, DemoSummary]:
    """Create the demo workspace at ``directory`` and load the demo company into it."""
    from smokejumper.config import CONFIG_FILE
    from smokejumper.workspace import Workspace

    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    root = Path(directory).expanduser().resolve()
    sim = Simulation(size, seed, incidents)  # validates the size before touching the disk
    if (root / CONFIG_FILE).exists():
        if not force:
            raise WorkspaceError(f"{root / CONFIG_FILE} already exists (use --force to "
                                 "rebuild the demo there)")
        _clear(root)
    name = f"{m.COMPANY_NAME} (demo)"
    Workspace.init(root, name=name, dimensions=m.DIMENSIONS, force=force,
                   reporter=reporter).close()
    with (root / CONFIG_FILE).open("a", encoding="utf-8") as config:
        config.write(_themes_toml())
    ws = Workspace(root, reporter=reporter)

    data_dir = root / DATA_DIR
    written = write_company(sim, data_dir, reporter)
    truth = ground_truth(sim)
    truth_path = root / TRUTH_FILE
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    generated = time.perf_counter()

    with reporter.progress("Loading the demo into the store", total=len(TABLE_NAMES)) as progress:
        for table in TABLE_NAMES:
            loaded = ws.ingest([data_dir / f"{table}.parquet"], table)
            rejected = getattr(loaded, "rejected", 0)
            if rejected:
                reporter.warn(f"{rejected} {table} rows were rejected on load")
            progress.advance(1)
    rows = {table: ws.analytics.row_count(table) for table in TABLE_NAMES}
    for table in TABLE_NAMES:
        if rows[table] != written.get(table, 0):
            reporter.warn(f"{table}: {written.get(table, 0)} rows generated, "
                          f"{rows[table]} in the store")
    finished = time.perf_counter()

    staff = sim.staff
    summary = DemoSummary(
        workspace=str(root),
        name=name,
        size=sim.size.name,
        seed=sim.seed,
        incidents_planted=bool(sim.incidents),
        period_start=m.PERIOD_START.isoformat(),
        period_end=m.PERIOD_END.isoformat(),
        rows=rows,
        touchpoints=m.TOUCHPOINTS,
        channels=m.CHANNELS,
        regions=m.REGIONS,
        segments=m.SEGMENTS,
        teams=staff.n_teams,
        agents=staff.n_agents,
        sites=len(set(staff.team_site)),
        incidents=tuple({k: i[k] for k in ("name", "segment", "theme", "start", "end", "effect")}
                        for i in truth["incidents"]),
        data_dir=str(data_dir),
        ground_truth=str(truth_path),
        seconds={"generate": round(generated - started, 2),
                 "load": round(finished - generated, 2),
                 "total": round(finished - started, 2)},
        next_commands=(
            f"smokejumper -w {root} info",
            f"smokejumper -w {root} metrics nps csat --by touchpoint --grain month",
            f"smokejumper -w {root} metrics nps --by region,touchpoint --grain week",
            f"smokejumper -w {root} metrics fcr aht --by team_id",
        ),
    )
    return ws, summary
