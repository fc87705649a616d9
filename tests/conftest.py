"""Shared fixtures: real engines (Spark local, a throwaway PostgreSQL) and seeded data.

* Tests that use ``spark_url`` are marked ``spark``; ``postgres_url`` /
  ``make_postgres_url`` → ``postgres``; ``engine_store`` is parametrised over
  duckdb / spark / postgres with the same marks. ``-m "not spark and not postgres"`` runs
  the fast part only.
* A missing Java or PostgreSQL skips those tests locally, and FAILS them when ``$CI`` is
  set, so CI cannot pass by skipping.
* ``$SMOKEJUMPER_TEST_POSTGRES_URL`` (``postgresql://user:pw@host:port/db``) points the
  suite at an existing server; otherwise a cluster is created with initdb in a temporary
  folder on a free port (as the ``postgres`` OS user when running as root) and removed at
  the end. Each test session gets its own database(s).
* Spark's catalog is one per process: ``engine_store`` owns the canonical tables of
  Spark's default database for the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

#: dimensions of the seeded stores (the workspace default)
DIMENSIONS = ("touchpoint", "channel", "region", "segment", "team_id")
POSTGRES_ENV = "SMOKEJUMPER_TEST_POSTGRES_URL"


# -- markers ----------------------------------------------------------------------------------

_FIXTURE_MARKS = {"spark_url": "spark", "postgres_url": "postgres",
                  "make_postgres_url": "postgres"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the real components their fixtures start."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _FIXTURE_MARKS.items():
            if fixture in names:
                item.add_marker(getattr(pytest.mark, marker))


def unavailable(reason: str) -> None:
    """Skip a test whose real component is missing here; in CI (``$CI`` set), fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# -- Spark ------------------------------------------------------------------------------------

def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://local[2]``, with the session started once (UTC, quiet) for all tests."""
    if _java() is None:
        unavailable("Java is not installed (Spark needs it): apt-get install "
                    "openjdk-17-jre-headless")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable('pyspark is not installed: pip install "smokejumper[spark]"')
    from smokejumper.store.spark import _SESSIONS, spark_session

    # quicker small jobs and quiet output; only applies when this fixture starts the JVM
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS",
        "--conf spark.ui.showConsoleProgress=false --driver-java-options "
        "'-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' pyspark-shell")
    master = "local[2]"
    session = spark_session(master, tmp_path_factory.mktemp("spark") / "spark-warehouse")
    yield f"spark://{master}"
    _SESSIONS.pop(master, None)
    session.stop()


# -- PostgreSQL -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    maintenance_db: str

    def url(self, database: str) -> str:
        return (f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/"
                f"{database}")

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, dbname=self.maintenance_db,
                               autocommit=True)


def _postgres_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_cluster(bindir: Path) -> tuple[PostgresServer, Callable[[], None]]:
    """initdb + pg_ctl start in a temporary folder; returns the server and its stopper."""
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            unavailable("running as root needs runuser to start PostgreSQL as 'postgres'")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root needs a 'postgres' OS user to start PostgreSQL")
        prefix = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="sj-pg-"))
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password + "\n")
    if as_root:
        for path in (folder, folder / "pw"):
            shutil.chown(path, "postgres")
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], cwd=folder, capture_output=True, text=True,
                              timeout=120)

    done = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
               "--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
               f"--pwfile={folder / 'pw'}")
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {done.stderr.strip()}", pytrace=False)
    for _ in range(3):  # the free port may be taken between probe and start
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        done = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                   "-o", options, "start")
        if done.returncode == 0:
            break
    else:
        detail = log.read_text() if log.exists() else done.stderr
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {detail.strip()[-2000:]}", pytrace=False)

    def stop() -> None:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)

    return PostgresServer("127.0.0.1", port, "postgres", password, "postgres"), stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server of ``$SMOKEJUMPER_TEST_POSTGRES_URL``, else a throwaway local cluster."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable('psycopg is not installed: pip install "smokejumper[postgres]"')
    given = os.environ.get(POSTGRES_ENV)
    if given:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(given)
        yield PostgresServer(parts.hostname or "127.0.0.1", parts.port or 5432,
                             unquote(parts.username or "postgres"),
                             unquote(parts.password or ""),
                             parts.path.lstrip("/") or "postgres")
        return
    bindir = _postgres_bindir()
    if bindir is None:
        unavailable(f"PostgreSQL is not installed (apt-get install postgresql) and "
                    f"${POSTGRES_ENV} is not set")
    assert bindir is not None
    server, stop = _start_cluster(bindir)
    try:
        yield server
    finally:
        stop()


@pytest.fixture(scope="session")
def make_postgres_url(postgres_server: PostgresServer) -> Iterator[Callable[[str], str]]:
    """A factory: ``make_postgres_url("label")`` creates a fresh database, returns its URL;
    the databases are dropped at the end of the session."""
    created: list[str] = []
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def make(label: str = "db") -> str:
        name = f"sj_{worker}_{label}_{uuid.uuid4().hex[:8]}".lower()
        with postgres_server.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return postgres_server.url(name)

    yield make
    try:
        with postgres_server.connect() as connection:
            for name in created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # the server may already be gone; its folder is removed anyway
        pass


@pytest.fixture(scope="session")
def postgres_url(make_postgres_url: Callable[[str], str]) -> str:
    """URL of a database of its own for this test session."""
    return make_postgres_url("session")


# -- seeded canonical data ------------------------------------------------------------------

TOUCHPOINTS = ("call_centre", "store", "web", "app")
TEAMS = ("t1", "t2", "t3")


def _times(rng: np.random.Generator, size: int, start: str, days: int) -> pd.Series:
    seconds = rng.integers(0, days * 86_400, size)
    return pd.Series(pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"))


def _some_missing(rng: np.random.Generator, values: Any, share: float) -> list[Any]:
    """Python values (int, bool, str, float) with ``share`` of them None."""
    out = [v.item() if hasattr(v, "item") else v for v in values]
    return [None if rng.random() < share else v for v in out]


def canonical_frames(seed: int = 42) -> dict[str, pd.DataFrame]:
    """Small seeded canonical tables (customers 60, interactions 500, responses 600),
    with missing values, ties, period boundaries and a few rows outside every group."""
    rng = np.random.default_rng(seed)
    n_customers, n_interactions, n_responses = 60, 500, 600
    customer_ids = [f"c{i:03d}" for i in range(n_customers)]
    joined = _times(rng, n_customers, "2024-01-01", 425)
    churn_at = joined + pd.to_timedelta(rng.integers(1, 300 * 86_400, n_customers), unit="s")
    churned = [c if rng.random() < 0.4 and c < pd.Timestamp("2025-04-01") else None
               for c in churn_at]
    customers = pd.DataFrame({
        "customer_id": customer_ids,
        "segment": _some_missing(rng, rng.choice(["consumer", "business"], n_customers), 0.1),
        "region": rng.choice(["north", "south"], n_customers).tolist(),
        "tenure_months": _some_missing(rng, rng.integers(0, 60, n_customers).astype(float),
                                       0.1),
        "revenue": _some_missing(rng, np.round(rng.gamma(2, 300, n_customers), 2), 0.1),
        "joined_at": [None if rng.random() < 0.1 else j for j in joined],
        "churned_at": churned,
    })

    ts = _times(rng, n_interactions, "2024-11-01", 151)
    ts[:4] = pd.to_datetime(["2024-12-29 23:59:59", "2024-12-30 00:00:00",
                             "2025-01-01 00:00:00", "2025-03-31 23:59:59"])
    owner = rng.choice(customer_ids, n_interactions)
    owner[5], ts[5] = owner[6], ts[6]  # a tie: same customer, same second
    order_value = np.where(rng.random(n_interactions) < 0.3,
                           np.round(rng.gamma(2, 40, n_interactions), 2), 0.0)
    interactions = pd.DataFrame({
        "interaction_id": [f"i{i:04d}" for i in range(n_interactions)],
        "ts": ts,
        "customer_id": owner,
        "touchpoint": rng.choice(TOUCHPOINTS, n_interactions).tolist(),
        "channel": rng.choice(["phone", "chat", "visit"], n_interactions).tolist(),
        "agent_id": [f"a{i:02d}" for i in rng.integers(0, 12, n_interactions)],
        "team_id": _some_missing(rng, rng.choice(TEAMS, n_interactions), 0.02),
        "handle_time_s": _some_missing(rng, np.round(rng.gamma(3, 120, n_interactions), 1),
                                       0.05),
        "resolved": _some_missing(rng, rng.random(n_interactions) < 0.7, 0.1),
        "contact_reason": rng.choice(["billing", "cancellation", "technical", "sales"],
                                     n_interactions).tolist(),
        "order_value": _some_missing(rng, order_value, 0.05),
        "upsell": _some_missing(rng, rng.random(n_interactions) < 0.15, 0.1),
        "region": rng.choice(["north", "south"], n_interactions).tolist(),
        "segment": rng.choice(["consumer", "business"], n_interactions).tolist(),
    })

    rts = _times(rng, n_responses, "2024-11-01", 151)
    rts[:3] = pd.to_datetime(["2024-12-29 23:59:59", "2024-12-30 00:00:00",
                              "2024-12-31 23:59:59"])
    touchpoint = _some_missing(rng, rng.choice(TOUCHPOINTS, n_responses), 0.01)
    responses = pd.DataFrame({
        "response_id": [f"r{i:04d}" for i in range(n_responses)],
        "ts": rts,
        "customer_id": rng.choice(customer_ids, n_responses).tolist(),
        "source": rng.choice(["survey", "review"], n_responses, p=[0.8, 0.2]).tolist(),
        "touchpoint": touchpoint,
        "channel": rng.choice(["phone", "chat", "visit"], n_responses).tolist(),
        "team_id": rng.choice(TEAMS, n_responses).tolist(),
        "nps": _some_missing(rng, rng.choice(11, n_responses, p=_nps_weights()), 0.08),
        "csat": _some_missing(rng, rng.integers(1, 6, n_responses), 0.3),
        "ces": _some_missing(rng, rng.integers(1, 8, n_responses), 0.5),
        "region": rng.choice(["north", "south"], n_responses).tolist(),
        "segment": _some_missing(rng, rng.choice(["consumer", "business"], n_responses), 0.05),
    })
    return {"customers": customers, "interactions": interactions, "responses": responses}


def _nps_weights() -> list[float]:
    weights = np.array([2, 1, 1, 2, 2, 3, 4, 8, 10, 9, 8], dtype=float)
    return (weights / weights.sum()).tolist()


#: Python type of each Ibis column type, for :func:`load_frames`
_PYTHON_TYPES: dict[str, type] = {"int64": int, "float64": float, "boolean": bool,
                                  "string": str}


def load_frames(store: Any, frames: dict[str, pd.DataFrame]) -> None:
    """Insert frames into a store's existing canonical tables through the Ibis backend.

    Columns are put in the table's order, missing ones added empty, and every value made
    the Python type of its column (None where missing), in a memtable that carries the
    table's schema. Engine gaps this avoids: PostgreSQL refuses a memtable with an all-NULL
    column of unknown type, and on PySpark an int64 column holding floats (pandas' usual
    form of integers with missing values) is written as all NULLs (see
    test_metric_engines.py::test_float_valued_integer_columns_insert).
    """
    import ibis

    for name, frame in frames.items():
        schema = store.table(name).schema()
        data = pd.DataFrame(index=frame.index)
        for column, dtype in schema.items():
            values = frame[column] if column in frame.columns else pd.Series(None,
                                                                              index=frame.index)
            if dtype.is_timestamp():
                data[column] = pd.to_datetime(values).astype("datetime64[us]")
            else:
                cast = _PYTHON_TYPES[str(dtype)]
                data[column] = pd.Series([None if pd.isna(v) else cast(v) for v in values],
                                         index=frame.index, dtype=object)
        store.backend.insert(name, ibis.memtable(data, schema=schema))


@pytest.fixture(scope="session")
def canonical_data() -> dict[str, pd.DataFrame]:
    """The seeded frames loaded into every ``engine_store`` (for hand computations)."""
    return canonical_frames()


ENGINE_PARAMS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("spark", id="spark", marks=pytest.mark.spark),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session", params=ENGINE_PARAMS)
def engine_store(request: pytest.FixtureRequest, canonical_data: dict[str, pd.DataFrame],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An AnalyticsStore on DuckDB, Spark or PostgreSQL with ``canonical_data`` loaded
    (schema created by ``ensure_schema``, so it is the real one). Read-only for tests."""
    from smokejumper.store import AnalyticsStore

    kind = request.param
    if kind == "duckdb":
        url = "duckdb://"
    elif kind == "spark":
        url = request.getfixturevalue("spark_url")
    else:
        url = request.getfixturevalue("make_postgres_url")("canonical")
    store = AnalyticsStore(url, tmp_path_factory.mktemp(f"store-{kind}"), DIMENSIONS)
    store.ensure_schema()
    load_frames(store, canonical_data)
    yield store
    store.close()


@pytest.fixture(scope="session")
def duckdb_store(canonical_data: dict[str, pd.DataFrame]) -> Iterator[Any]:
    """An in-memory DuckDB AnalyticsStore with ``canonical_data`` loaded, for the fast
    tests that need one engine only. Read-only for tests."""
    from smokejumper.store import AnalyticsStore

    store = AnalyticsStore("duckdb://", dimensions=DIMENSIONS)
    store.ensure_schema()
    load_frames(store, canonical_data)
    yield store
    store.close()


# -- the demo company -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def small_demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo workspace (seed 7, with incidents), built once per test session.

    Read-only for tests: open it with ``Workspace(small_demo_path)`` and close it again.
    A test that writes (alerts, enrichments, ingest) uses ``small_demo_copy``."""
    from smokejumper.simulate import build_demo

    root = tmp_path_factory.mktemp("small-demo") / "demo"
    ws, _ = build_demo(root, size="small")
    ws.close()
    return root


@pytest.fixture
def small_demo_copy(small_demo_path: Path, tmp_path: Path) -> Path:
    """A private copy of the small demo workspace that the test may change."""
    target = tmp_path / "demo"
    shutil.copytree(small_demo_path, target)
    return target
